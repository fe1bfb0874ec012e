/**
 * The directory end to end as values: enrolment, publication, epochs, lookups (of providers not enrolled too), history,
 * discovery, erasure, restart; an epoch that fails, also after its map rows were written inside its transaction (the
 * store then reopens at the signed epoch, its stored map agreeing with the signed root).
 */
import { describe, expect, it, vi } from 'vitest';
import { equalBytes } from '../../../wasm-free-crypto/bytes.js';
import { signSync } from '../../../wasm-free-crypto/signatures.js';
import { HISTORY_ZERO } from '../../../verifier/formats/directory-hashes.js';
import { proveDiscovery, proveHistory, proveLookup, proveMonitorCheck } from '../../../log/directory/proof-builder.js';
import { continuityMessage } from '../../../verifier/formats/statement-binary.js';
import { enrolProvider, identityKey, openTestDirectory, publish, statementFor } from '../../helpers/directory.js';

describe('directory', () => {
  it('starts at epoch 0 with an empty map, as the last entry of its first checkpoint', async () => {
    const t = await openTestDirectory();
    expect(t.log.head.size).toBe(1);
    const { snap } = await t.dir.snapshot();
    expect(snap.epoch).toBe(0);
    const { head } = t.verifier.epoch({
      checkpoint: snap.checkpoint,
      headIndex: snap.headIndex,
      headEntry: snap.headEntry,
      headProof: snap.headProof,
    });
    expect(head.count).toBe(0);
  });

  it('publishes, looks up (present and absent) and verifies with only the pins', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const key = identityKey();
    const done = await publish(t, chat.sign(statementFor(chat, 'alice@chat.example', 1, [key], t.clock.now)));
    expect(done.epoch).toBe(2);
    const proof = await proveLookup(t.dir, 'chat.example', 'alice@CHAT.example');
    const result = t.verifier.verifyLookup(proof, 'chat.example', 'alice@chat.example');
    expect(result.status).toBe('present');
    expect(result.statement!.keys[0].publicKey).toEqual(key.publicKey);
    const absent = await proveLookup(t.dir, 'chat.example', 'bob@chat.example');
    expect(t.verifier.verifyLookup(absent, 'chat.example', 'bob@chat.example').status).toBe('absent');
  });

  it('rotates keys with continuity, proves the history, erases on deletion, and discovers across providers', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const talk = await enrolProvider(t, 'talk.example', 'p256');
    const k1 = identityKey('id1');
    const k2 = identityKey('id2');
    await publish(t, chat.sign(statementFor(chat, 'tel:+15550100000', 1, [k1], t.clock.now)));
    const v2 = statementFor(chat, 'tel:+15550100000', 2, [k2], t.clock.now);
    v2.continuity = { keyId: 'id1', signature: signSync('ed25519', k1.seed, continuityMessage(v2)) };
    await publish(t, chat.sign(v2));
    await publish(t, talk.sign(statementFor(talk, 'tel:+15550100000', 1, [identityKey()], t.clock.now)));

    const h = await proveHistory(t.dir, 'chat.example', 'tel:+1 555 010 0000', 0);
    const verified = t.verifier.verifyHistory(h, 'chat.example', 'tel:+15550100000', HISTORY_ZERO);
    expect(verified.statements.map((s) => s!.version)).toEqual([1, 2]);
    const remembered = verified.lookup.historyHash!;

    await publish(t, chat.sign({ ...statementFor(chat, 'tel:+15550100000', 3, [], t.clock.now), status: 'deleted' }));
    const after = t.verifier.verifyHistory(
      await proveHistory(t.dir, 'chat.example', 'tel:+15550100000', 2),
      'chat.example',
      'tel:+15550100000',
      remembered,
    );
    expect(after.lookup.status).toBe('deleted');
    const full = await proveHistory(t.dir, 'chat.example', 'tel:+15550100000', 0);
    expect(full.versions.every((v) => v.commitment && !v.statement && !v.opening)).toBe(true);
    expect(t.verifier.verifyHistory(full, 'chat.example', 'tel:+15550100000', HISTORY_ZERO).statements).toHaveLength(3);

    const found = await proveDiscovery(t.dir, 'tel:+1 555 010 0000');
    const results = t.verifier.verifyDiscovery(found, 'tel:+15550100000');
    expect([...results].map(([p, r]) => [p, r.status])).toEqual([
      ['chat.example', 'deleted'],
      ['talk.example', 'present'],
    ]);
    const leftOut = { ...found, lookups: found.lookups.slice(1) };
    expect(() => t.verifier.verifyDiscovery(leftOut, 'tel:+15550100000')).toThrow(/left out/);
    const fewerCredentials = { ...found, credentials: found.credentials.slice(1), lookups: found.lookups.slice(1) };
    expect(() => t.verifier.verifyDiscovery(fewerCredentials, 'tel:+15550100000')).toThrow(/credential set/);
    expect(() =>
      t.verifier.verifyDiscovery({ ...found, lookups: [found.lookups[0], found.lookups[0]] }, 'tel:+15550100000'),
    ).toThrow(/repeated/);
  });

  it('proves a provider not enrolled, counts a revoked one as enrolled, and answers its history and daily check', async () => {
    const t = await openTestDirectory();
    const before = await proveLookup(t.dir, 'chat.example', 'amy@chat.example'); // epoch 0: nobody is enrolled
    expect(t.verifier.verifyLookup(before, 'chat.example', 'amy@chat.example')).toMatchObject({
      status: 'not_enrolled',
      providers: [],
    });
    const chat = await enrolProvider(t, 'chat.example');
    const typo = await proveLookup(t.dir, 'chat.exmaple', 'amy@chat.example');
    expect(typo.notEnrolled!.credentials).toEqual([t.dir.credentials.all()[0].entryBytes]);
    expect(t.dir.credentials.all()[0].entry.providerId).toBe(chat.id);
    expect(t.verifier.verifyLookup(typo, 'chat.exmaple', 'amy@chat.example')).toMatchObject({
      status: 'not_enrolled',
      providers: ['chat.example'],
    });
    const history = await proveHistory(t.dir, 'chat.exmaple', 'amy@chat.example', 0);
    expect(t.verifier.verifyHistory(history, 'chat.exmaple', 'amy@chat.example', HISTORY_ZERO)).toMatchObject({
      lookup: { status: 'not_enrolled' },
      statements: [],
    });
    await expect(proveHistory(t.dir, 'chat.exmaple', 'amy@chat.example', 1)).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/not enrolled/),
    });
    await expect(proveMonitorCheck(t.dir, 'chat.exmaple', 'amy@chat.example', 1)).rejects.toMatchObject({
      code: 'bad_request',
    });
    // A provider whose every credential is revoked stays enrolled: its entries are in the credential set.
    const revoked = t.dir.revoke('chat.example', t.dir.credentials.all()[0].fingerprint, 'key compromise');
    await t.dir.closeEpoch();
    await revoked;
    const absent = await proveLookup(t.dir, 'chat.example', 'amy@chat.example');
    expect(absent.absent!.enrolment.position).toBe(0);
    expect(t.verifier.verifyLookup(absent, 'chat.example', 'amy@chat.example').status).toBe('absent');
  });

  it('chains a rotation from the account row read at acceptance, or from the leaf an epoch committed since', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat.sign(statementFor(chat, 'alice@chat.example', 1, [identityKey()], t.clock.now)));
    const walks = vi.spyOn((t.dir as unknown as { map: { get(l: Uint8Array): unknown } }).map, 'get');
    // Version 2: no epoch between its acceptance and its plan, so the plan takes the row read at acceptance.
    await publish(t, chat.sign(statementFor(chat, 'alice@chat.example', 2, [identityKey()], t.clock.now)));
    expect(walks).not.toHaveBeenCalled();
    // Versions 3 and 4 accepted together (4 read with version 2 committed and 3 queued); 4 is held back from 3's
    // epoch, so that an epoch commits the label between 4's acceptance and its plan: the plan takes version 3's
    // leaf, which that epoch left in the map's memo, not the row read at acceptance (version 2, after which
    // version 4 would not follow), and walks no path.
    const sign = (v: number) => chat.sign(statementFor(chat, 'alice@chat.example', v, [identityKey()], t.clock.now));
    const [s3, s4] = [sign(3), sign(4)];
    const accepted3 = await t.dir.submit(s3.statement, s3.signature);
    const accepted4 = await t.dir.submit(s4.statement, s4.signature);
    const queue = (t.dir as unknown as { queue: { jobs: unknown[] } }).queue.jobs; // job-queue.ts
    const held = queue.splice(1);
    await t.dir.closeEpoch(false);
    await accepted3.committed;
    queue.push(...held);
    await t.dir.closeEpoch(false);
    await accepted4.committed;
    expect(walks).not.toHaveBeenCalled();
    const h = await proveHistory(t.dir, 'chat.example', 'alice@chat.example', 0);
    const verified = t.verifier.verifyHistory(h, 'chat.example', 'alice@chat.example', HISTORY_ZERO);
    expect(verified.statements.map((st) => st!.version)).toEqual([1, 2, 3, 4]);
  });

  it('keeps the row read at acceptance across epochs of other labels, and walks the map for a read older than its memo', async () => {
    const first = await openTestDirectory();
    const chat = await enrolProvider(first, 'chat.example');
    const sign = (account: string, v: number) =>
      chat.sign(statementFor(chat, account, v, [identityKey()], first.clock.now));
    await publish(first, sign('alice@chat.example', 1));
    const t = await first.reopen(); // its map's memo of committed leaves starts empty: alice is not in it
    const map = (t.dir as unknown as { map: { get(l: Uint8Array): unknown; failed(): void } }).map;
    const walks = vi.spyOn(map, 'get');
    const queue = (t.dir as unknown as { queue: { jobs: unknown[] } }).queue.jobs; // job-queue.ts
    // Alice's version 2 waits while two epochs commit bob and carol: neither touched her label, so the row read
    // at acceptance still holds, and no path is walked, by her plan or by the checks of later submissions.
    const s2 = sign('alice@chat.example', 2);
    const accepted2 = await t.dir.submit(s2.statement, s2.signature);
    const held = queue.splice(0);
    await publish(t, sign('bob@chat.example', 1));
    await publish(t, sign('carol@chat.example', 1));
    queue.push(...held);
    await t.dir.closeEpoch(false);
    await accepted2.committed;
    expect(walks).not.toHaveBeenCalled();
    // Version 3 waits across a failed epoch, which empties the memo (as one too full to hold every label does):
    // what was read before it may be stale, so the plan walks her path.
    const s3 = sign('alice@chat.example', 3);
    const accepted3 = await t.dir.submit(s3.statement, s3.signature);
    const held3 = queue.splice(0);
    map.failed(); // what runEpoch does when an epoch fails
    queue.push(...held3);
    await t.dir.closeEpoch(false);
    await accepted3.committed;
    expect(walks).toHaveBeenCalled();
    const h = await proveHistory(t.dir, 'chat.example', 'alice@chat.example', 0);
    const verified = t.verifier.verifyHistory(h, 'chat.example', 'alice@chat.example', HISTORY_ZERO);
    expect(verified.statements.map((st) => st!.version)).toEqual([1, 2, 3]);
  });

  it('reopens from storage with the same map and serves the same verified lookups', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    for (let i = 0; i < 5; i++)
      await publish(t, chat.sign(statementFor(chat, `user${i}@chat.example`, 1, [identityKey()], t.clock.now)));
    const before = t.dir.mapRoot();
    const t2 = await t.reopen();
    expect(equalBytes(t2.dir.mapRoot(), before)).toBe(true);
    expect(
      t2.verifier.verifyLookup(
        await proveLookup(t2.dir, 'chat.example', 'user3@chat.example'),
        'chat.example',
        'user3@chat.example',
      ).status,
    ).toBe('present');
    await publish(t2, chat.sign(statementFor(chat, 'user3@chat.example', 2, [identityKey()], t2.clock.now)));
    expect(
      t2.verifier.verifyLookup(
        await proveLookup(t2.dir, 'chat.example', 'user3@chat.example'),
        'chat.example',
        'user3@chat.example',
      ).statement!.version,
    ).toBe(2);
  });

  it('answers a resubmission with the same outcome, queued or committed', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const signed = chat.sign(statementFor(chat, 'dup@chat.example', 1, [identityKey()], t.clock.now));
    const a = await t.dir.submit(signed.statement, signed.signature);
    const b = await t.dir.submit(signed.statement, signed.signature);
    expect(t.dir.queueDepth).toBe(1);
    await t.dir.closeEpoch();
    const [ca, cb] = await Promise.all([a.committed, b.committed]);
    expect(cb.logIndex).toBe(ca.logIndex);
    const c = await t.dir.submit(signed.statement, signed.signature);
    expect((await c.committed).logIndex).toBe(ca.logIndex);
  });

  it('closes epochs on its timer when work is pending, sends heartbeats, and closes the last epoch on stop', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const start = (await t.dir.snapshot()).snap.epoch;
    t.dir.start({ epochIntervalMs: 10, heartbeatMs: 40 });
    const signed = chat.sign(statementFor(chat, 'timer@chat.example', 1, [identityKey()], t.clock.now));
    const accepted = await t.dir.submit(signed.statement, signed.signature);
    expect((await accepted.committed).epoch).toBeGreaterThan(start);
    const afterPublish = (await t.dir.snapshot()).snap.epoch;
    t.clock.now += 1000; // the heartbeat is due on the directory's clock
    await new Promise((r) => setTimeout(r, 100));
    expect((await t.dir.snapshot()).snap.epoch).toBeGreaterThan(afterPublish);
    const last = chat.sign(statementFor(chat, 'last@chat.example', 1, [identityKey()], t.clock.now));
    const pending = await t.dir.submit(last.statement, last.signature);
    await t.dir.stop();
    expect(t.dir.queueDepth).toBe(0);
    await expect(pending.committed).resolves.toMatchObject({ epoch: expect.any(Number) });
  });

  it('answers epoch_failed and keeps the committed map when an epoch cannot be committed', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat.sign(statementFor(chat, 'kept@chat.example', 1, [identityKey()], t.clock.now)));
    const before = t.dir.mapRoot();
    const store = t.dir.store as any;
    const original = store.epochWriter.bind(store);
    store.epochWriter = () => () => {
      throw new Error('disk full');
    };
    const signed = chat.sign(statementFor(chat, 'lost@chat.example', 1, [identityKey()], t.clock.now));
    const accepted = await t.dir.submit(signed.statement, signed.signature);
    const counted = t.dir.epochsCommitted;
    await expect(t.dir.closeEpoch()).rejects.toThrow('disk full');
    await expect(accepted.committed).rejects.toMatchObject({ code: 'epoch_failed' });
    expect(equalBytes(t.dir.mapRoot(), before)).toBe(true);
    // Counted as if it committed (a failure may follow the store's commit): reads made before it are made again.
    expect(t.dir.epochsCommitted).toBe(counted + 1);
    store.epochWriter = original;
    const again = await t.dir.submit(signed.statement, signed.signature);
    await t.dir.closeEpoch();
    await again.committed;
    expect(
      t.verifier.verifyLookup(
        await proveLookup(t.dir, 'chat.example', 'lost@chat.example'),
        'chat.example',
        'lost@chat.example',
      ).status,
    ).toBe('present');
  });

  it("keeps the stored map at the signed epoch when the epoch's transaction fails after writing its rows, and reopens there", async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat.sign(statementFor(chat, 'kept@chat.example', 1, [identityKey()], t.clock.now)));
    const signedRoot = t.dir.mapRoot();
    const signedEpoch = t.dir.epoch;
    const store = t.dir.store as any;
    const original = store.epochWriter.bind(store);
    let rowsWritten = 0;
    // The epoch's writes run, map rows included, then its transaction fails before it commits (a crash).
    store.epochWriter = (w: { map?: unknown[] }) => {
      const write = original(w);
      return () => {
        write();
        rowsWritten = w.map?.length ?? 0;
        throw new Error('power lost after the map rows');
      };
    };
    const signed = chat.sign(statementFor(chat, 'queued@chat.example', 1, [identityKey()], t.clock.now));
    const accepted = await t.dir.submit(signed.statement, signed.signature);
    accepted.committed.catch(() => undefined);
    await expect(t.dir.closeEpoch()).rejects.toThrow('power lost');
    expect(rowsWritten).toBeGreaterThan(0);
    // The process starts again over the same file: the stored map is the signed epoch's, not the lost one's.
    const again = await t.reopen();
    expect([again.dir.epoch, equalBytes(again.dir.mapRoot(), signedRoot)]).toEqual([signedEpoch, true]);
    const kept = await proveLookup(again.dir, 'chat.example', 'kept@chat.example');
    expect(again.verifier.verifyLookup(kept, 'chat.example', 'kept@chat.example').status).toBe('present');
    // The receipted statement's queue row was durable: the next epoch commits it.
    await again.dir.closeEpoch();
    const queued = await proveLookup(again.dir, 'chat.example', 'queued@chat.example');
    expect(again.verifier.verifyLookup(queued, 'chat.example', 'queued@chat.example').status).toBe('present');
  });
});
