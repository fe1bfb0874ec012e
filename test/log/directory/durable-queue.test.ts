/**
 * The durable queue of receipted statements (log/directory/durable-queue.ts, docs/PROTOCOL.md section 16): an
 * accepted statement's row is stored before `submit` returns, replayed in acceptance order by a directory
 * opened again on the same store (as after a crash that lost the memory), deleted in the transaction of the
 * epoch that commits it, and kept when that epoch fails. Rows of statements accepted in the same moment
 * are written together (group commit): one transaction each, all or none, none acknowledged before it
 * commits, the queue's room counting them.
 */
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../../wasm-free-crypto/bytes.js';
import { proveLookup } from '../../../log/directory/proof-builder.js';
import { DEFAULT_RECEIPT_DEADLINE_MS } from '../../../log/directory/durable-queue.js';
import {
  enrolProvider,
  identityKey,
  openTestDirectory,
  statementFor,
  type TestDirectory,
  type TestProvider,
} from '../../helpers/directory.js';
import { rejectionCode } from '../../helpers/error-code.js';

function submitSigned(t: TestDirectory, s: { statement: Uint8Array; signature: Uint8Array }) {
  return t.dir.submit(s.statement, s.signature);
}

function sign(t: TestDirectory, p: TestProvider, account: string, version: number) {
  return p.sign(statementFor(p, `${account}@chat.example`, version, [identityKey()], t.clock.now));
}

async function expectServed(t: TestDirectory, account: string, statement: Uint8Array): Promise<void> {
  const result = t.verifier.verifyLookup(
    await proveLookup(t.dir, 'chat.example', `${account}@chat.example`),
    'chat.example',
    `${account}@chat.example`,
  );
  expect(result.status).toBe('present');
  const proof = await proveLookup(t.dir, 'chat.example', `${account}@chat.example`);
  expect(equalBytes(proof.present!.statement!, statement)).toBe(true);
}

describe('the durable queue of receipted statements', () => {
  it('stores each accepted statement before submit returns, and replays the queue in order after a restart', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const a1 = sign(t, chat, 'a', 1);
    const b1 = sign(t, chat, 'b', 1);
    const a2 = sign(t, chat, 'a', 2);
    const accepted = [];
    for (const s of [a1, b1, a2]) accepted.push(await t.dir.submit(s.statement, s.signature));
    expect(accepted[0].deadline - accepted[0].acceptedAt).toBe(DEFAULT_RECEIPT_DEADLINE_MS);
    const rows = await t.dir.store.queued();
    expect(rows.map((r) => [r.version, r.acceptedAt, r.deadline])).toEqual(
      accepted.map((a) => [a.version, a.acceptedAt, a.deadline]),
    );
    expect(rows.map((r) => r.statement)).toEqual([a1, b1, a2].map((s) => s.statement));

    // A restart: a new directory on the same store, the old one's memory gone (it never closes an epoch).
    const restarted = await t.reopen();
    expect(restarted.dir.queueDepth).toBe(3);
    // Meanwhile, another statement for a queued (label, version) is refused; the same one answers the same.
    expect(await rejectionCode(submitSigned(restarted, sign(t, chat, 'b', 1)))).toBe('version_conflict');
    expect(await rejectionCode(submitSigned(restarted, sign(t, chat, 'a', 2)))).toBe('version_conflict');
    const again = await restarted.dir.submit(b1.statement, b1.signature);
    expect([again.acceptedAt, again.deadline]).toEqual([accepted[1].acceptedAt, accepted[1].deadline]);
    expect(restarted.dir.queueDepth).toBe(3);

    await restarted.dir.closeEpoch(false);
    expect((await again.committed).epoch).toBe(restarted.dir.epoch);
    await expectServed(restarted, 'a', a2.statement);
    await expectServed(restarted, 'b', b1.statement);
    expect(await restarted.dir.store.queued()).toEqual([]);
    expect(await rejectionCode(submitSigned(restarted, sign(t, chat, 'b', 1)))).toBe('version_conflict');
  });

  it('keeps the rows of a failed epoch, which commit in the next one, first in line', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const first = sign(t, chat, 'first', 1);
    const accepted = await t.dir.submit(first.statement, first.signature);
    const store = t.dir.store as unknown as { epochWriter: unknown };
    const writer = store.epochWriter;
    store.epochWriter = () => () => {
      throw new Error('disk full');
    };
    await expect(t.dir.closeEpoch()).rejects.toThrow('disk full');
    expect(await rejectionCode(accepted.committed)).toBe('epoch_failed');
    expect((await t.dir.store.queued()).length).toBe(1);
    // The statement is still queued: a conflicting one is refused, the same one answers its new outcome.
    expect(await rejectionCode(submitSigned(t, sign(t, chat, 'first', 1)))).toBe('version_conflict');
    const second = sign(t, chat, 'second', 1);
    await t.dir.submit(second.statement, second.signature);
    store.epochWriter = writer;
    const retried = await t.dir.submit(first.statement, first.signature);
    await t.dir.closeEpoch();
    const committed = await retried.committed;
    await expectServed(t, 'first', first.statement);
    await expectServed(t, 'second', second.statement);
    const secondIndex = (await t.dir.store.version(
      (
        await t.dir.labelFor('chat.example', 'second@chat.example')
      ).label,
      1,
    ))!.logIndex;
    expect(committed.logIndex).toBeLessThan(secondIndex); // acceptance order kept
    expect(await t.dir.store.queued()).toEqual([]);
  });

  it('commits a receipted statement after a restart even though its credential was revoked since', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const fingerprint = t.dir.credentials.all()[0].fingerprint;
    const kept = sign(t, chat, 'kept', 1);
    await t.dir.submit(kept.statement, kept.signature);
    const restarted = await t.reopen();
    const revoked = restarted.dir.revoke('chat.example', fingerprint, 'key compromise');
    expect(await rejectionCode(submitSigned(restarted, sign(t, chat, 'new', 1)))).toBe('cert_revoked');
    await restarted.dir.closeEpoch();
    await revoked;
    await expectServed(restarted, 'kept', kept.statement);
    expect(await rejectionCode(submitSigned(restarted, sign(t, chat, 'new', 1)))).toBe('cert_revoked');
  });

  it('keeps statements deferred by the per-epoch limit first in line, also across a restart', async () => {
    const first = await openTestDirectory({ maxEpochUpdates: 2 });
    const chat = await enrolProvider(first, 'chat.example');
    const signed = [1, 2, 3, 4, 5].map((i) => sign(first, chat, `q${i}`, 1));
    for (const s of signed.slice(0, 3)) await submitSigned(first, s);
    await first.dir.closeEpoch(false); // q1 and q2; q3 waits
    expect((await first.dir.store.queued()).map((r) => r.statement)).toEqual([signed[2].statement]);
    for (const s of signed.slice(3)) await submitSigned(first, s);
    const t = await first.reopen();
    expect((await t.dir.store.queued()).map((r) => r.statement)).toEqual(signed.slice(2).map((s) => s.statement));
    await t.dir.closeEpoch(false); // q3 first, then q4; q5 waits
    await expectServed(t, 'q3', signed[2].statement);
    await expectServed(t, 'q4', signed[3].statement);
    expect((await t.dir.store.queued()).map((r) => r.statement)).toEqual([signed[4].statement]);
    await t.dir.closeEpoch(false);
    await expectServed(t, 'q5', signed[4].statement);
  });

  it('refuses to open a queue row naming a credential the store does not hold', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const s = sign(t, chat, 'x', 1);
    await t.dir.submit(s.statement, s.signature);
    t.db.prepare('UPDATE dir_queue SET credential = 999').run();
    expect(await rejectionCode(t.reopen())).toBe('corrupt_directory');
  });
});

describe('the group commit of queue rows', () => {
  /** The store's `enqueue`, wrapped to record each call's rows, and made to fail while `failing` is set. */
  function recordWrites(t: TestDirectory) {
    const calls: number[] = [];
    const state = { failing: false };
    const enqueue = t.dir.store.enqueue.bind(t.dir.store);
    t.dir.store.enqueue = (rows) => {
      calls.push(rows.length);
      if (state.failing) throw new Error('disk full');
      return enqueue(rows);
    };
    return { calls, state };
  }

  it('writes the rows of concurrent submissions in shared transactions, each acknowledged once stored', async () => {
    const t = await openTestDirectory({ maxQueue: 1000 });
    const chat = await enrolProvider(t, 'chat.example');
    const { calls } = recordWrites(t);
    const signed = Array.from({ length: 50 }, (_, i) => sign(t, chat, `g${i}`, 1));
    const accepted = await Promise.all(
      signed.map(async (s) => {
        const a = await submitSigned(t, s);
        // acknowledged only once its row is stored
        expect((await t.dir.store.queued()).some((r) => equalBytes(r.statement, s.statement))).toBe(true);
        return a;
      }),
    );
    // Validation yields to the event loop, so the rows come in a few groups, each one transaction.
    expect(calls.reduce((a, b) => a + b, 0)).toBe(50);
    expect(calls.length).toBeLessThan(50);
    expect(Math.max(...calls)).toBeGreaterThan(1);
    const hexes = (xs: Uint8Array[]) => xs.map((x) => Buffer.from(x).toString('hex')).sort();
    expect(hexes((await t.dir.store.queued()).map((r) => r.statement))).toEqual(hexes(signed.map((s) => s.statement)));
    const again = await submitSigned(t, signed[7]); // identical: the same receipt times
    expect([again.acceptedAt, again.deadline]).toEqual([accepted[7].acceptedAt, accepted[7].deadline]);
    await t.dir.closeEpoch(false);
    for (const i of [0, 49]) await expectServed(t, `g${i}`, signed[i].statement);
  });

  it('refuses, beyond the queue’s room, the statements whose rows are still being written, storing none of them', async () => {
    const t = await openTestDirectory({ maxQueue: 5 });
    const chat = await enrolProvider(t, 'chat.example');
    const codes = await Promise.all(
      Array.from({ length: 8 }, (_, i) => rejectionCode(submitSigned(t, sign(t, chat, `r${i}`, 1)))),
    );
    expect(codes.filter((c) => c === 'no error')).toHaveLength(5);
    expect(codes.filter((c) => c === 'queue_full')).toHaveLength(3);
    expect(await t.dir.store.queued()).toHaveLength(5);
    expect(t.dir.queueDepth).toBe(5);
  });

  it('fails every statement of a transaction that did not commit, stores none, and stops until restarted', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const { state } = recordWrites(t);
    state.failing = true;
    const signed = [sign(t, chat, 'f1', 1), sign(t, chat, 'f2', 1)];
    const codes = await Promise.all(signed.map((s) => rejectionCode(submitSigned(t, s))));
    expect(codes).toEqual(['directory_broken', 'directory_broken']);
    expect(await t.dir.store.queued()).toEqual([]);
    state.failing = false;
    expect(await rejectionCode(submitSigned(t, signed[0]))).toBe('directory_broken');
    const restarted = await t.reopen();
    await submitSigned(restarted, signed[0]);
    await restarted.dir.closeEpoch(false);
    await expectServed(restarted, 'f1', signed[0].statement);
  });
});
