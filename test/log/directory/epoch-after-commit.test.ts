/**
 * What happens when something fails around an epoch's commit (log/directory/directory.ts, runEpoch): a step after
 * the commit (the witnesses' cosigning, the store's purge of erased bytes, the epoch metric) that throws is
 * reported (`onAfterCommitError`) and the epoch stands: its jobs are answered as committed, the directory serves
 * it, a revocation it logged stops the credential, an enrolment it logged is in the next head's credential set,
 * and the next epoch follows it. A commit that reported an error but landed (the storage contract allows it)
 * stops the directory (`directory_broken`) instead of numbering its next epoch as the stored one; a restart
 * reads the store again and serves what landed. A restart serves the last epoch with the checkpoint its
 * witnesses cosigned, as before the restart (it served the log's own, which a client requiring cosignatures
 * refuses, until the next epoch).
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { AfterCommitStep } from '../../../log/directory/directory-options.js';
import { proveLookup } from '../../../log/directory/proof-builder.js';
import { decodeEntry } from '../../../verifier/formats/entries.js';
import { entriesOf, parties, serverOf } from '../../attacks/malicious.js';
import {
  enrolProvider,
  identityKey,
  openTestDirectory,
  publish,
  statementFor,
  type TestDirectory,
} from '../../helpers/directory.js';
import { makeLeaf } from '../../helpers/pki.js';

/** How `p` settled: 'committed' or its error's code. */
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'committed',
    (e) => (e as { code?: string }).code ?? 'untyped',
  );

/** The epoch numbers of the log's heads, in order. */
async function headEpochs(t: TestDirectory): Promise<number[]> {
  return (await entriesOf(t)).map(decodeEntry).flatMap((e) => (e.type === 'epoch' ? [e.epoch] : []));
}

async function audited(t: TestDirectory): Promise<string> {
  return outcome(parties.auditor(serverOf(t), { enrolment: { trustedRoots: [t.root.der] } }).audit());
}

describe('a step that fails after the epoch committed', () => {
  it('the witnesses’ cosigning: the epoch stands, served with the log’s own checkpoint, and is reported', async () => {
    const fault = { on: false };
    const reported: AfterCommitStep[] = [];
    const t = await openTestDirectory({
      cosign: async (checkpoint) => {
        if (fault.on) throw new Error('witness client bug');
        return checkpoint;
      },
      onAfterCommitError: (step) => reported.push(step),
    });
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat.sign(statementFor(chat, 'kept@chat.example', 1, [identityKey()], t.clock.now)));
    const s = chat.sign(statementFor(chat, 'late@chat.example', 1, [identityKey()], t.clock.now));
    const accepted = await t.dir.submit(s.statement, s.signature);
    fault.on = true;
    const snapshot = await t.dir.closeEpoch();
    fault.on = false;
    expect(reported).toEqual(['cosign']);
    expect(await outcome(accepted.committed)).toBe('committed');
    const stored = (await t.dir.store.latestEpoch())!.epoch;
    expect([snapshot?.epoch, t.dir.epoch]).toEqual([stored, stored]);
    expect(t.dir.servedSnapshot.checkpoint).toBe(t.log.head.checkpoint);
    for (const account of ['kept@chat.example', 'late@chat.example']) {
      const proof = await proveLookup(t.dir, 'chat.example', account);
      expect(t.verifier.verifyLookup(proof, 'chat.example', account).status).toBe('present');
    }
    await t.dir.closeEpoch();
    expect(await headEpochs(t)).toEqual([0, 1, 2, 3, 4]);
    expect(await audited(t)).toBe('committed');
  });

  it('the purge of erased bytes (a full disk while truncating the WAL): owed to the next epoch, the enrolment of the same epoch kept', async () => {
    const reported: AfterCommitStep[] = [];
    const t = await openTestDirectory({ onAfterCommitError: (step) => reported.push(step) });
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat.sign(statementFor(chat, 'gone@chat.example', 1, [identityKey()], t.clock.now)));
    const store = t.dir.store as unknown as { afterErasure(): boolean };
    const purge = store.afterErasure.bind(store);
    let purges = 0;
    store.afterErasure = () => {
      purges++;
      throw new Error('SQLITE_FULL: database or disk is full');
    };
    const erased = chat.sign({ ...statementFor(chat, 'gone@chat.example', 2, [], t.clock.now), status: 'deleted' });
    const accepted = await t.dir.submit(erased.statement, erased.signature);
    const leaf = await makeLeaf(t.root, { dnsNames: ['talk.example'] });
    const { committed: enrolled } = await t.dir.enrol([leaf.der]);
    await t.dir.closeEpoch(false);
    expect(reported).toEqual(['purge']);
    expect([await outcome(accepted.committed), await outcome(enrolled)]).toEqual(['committed', 'committed']);
    expect(t.dir.credentials.all()).toHaveLength(2);
    // The purge is owed: the next epoch (a heartbeat) tries it again.
    store.afterErasure = () => {
      purges++;
      return purge();
    };
    await t.dir.closeEpoch(true);
    expect(purges).toBe(2);
    expect(t.dir.servedSnapshot.head.credentialCount).toBe(2);
    expect(await audited(t)).toBe('committed');
  });

  it('a revocation the epoch logged stops the credential, though the cosigning failed', async () => {
    const fault = { on: false };
    const t = await openTestDirectory({
      cosign: async (checkpoint) => {
        if (fault.on) throw new Error('witness client bug');
        return checkpoint;
      },
    });
    const chat = await enrolProvider(t, 'chat.example');
    const revoked = t.dir.revoke('chat.example', t.dir.credentials.all()[0].fingerprint, 'key compromise');
    fault.on = true;
    await t.dir.closeEpoch();
    fault.on = false;
    expect(await outcome(revoked)).toBe('committed');
    const s = chat.sign(statementFor(chat, 'after@chat.example', 1, [identityKey()], t.clock.now));
    expect(await outcome(t.dir.submit(s.statement, s.signature))).toBe('cert_revoked');
  });
});

describe('a commit that reported an error but landed', () => {
  it('stops the directory before it writes a second head of the same epoch; a restart serves what landed', async () => {
    const db = new Database(':memory:');
    const t = await openTestDirectory({ db });
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat.sign(statementFor(chat, 'a@chat.example', 1, [identityKey()], t.clock.now)));
    // The storage commits, then reports an error (an fsync error after the WAL frames were written).
    const storage = (t.log as unknown as { opts: { storage: { commit(c: unknown): Promise<void> } } }).opts.storage;
    const commit = storage.commit.bind(storage);
    let landedButFailed = true;
    storage.commit = async (c) => {
      await commit(c);
      if (landedButFailed) {
        landedButFailed = false;
        throw new Error('disk I/O error');
      }
    };
    const s = chat.sign(statementFor(chat, 'b@chat.example', 1, [identityKey()], t.clock.now));
    const accepted = await t.dir.submit(s.statement, s.signature);
    await expect(t.dir.closeEpoch(false)).rejects.toThrow('disk I/O error');
    expect(await outcome(accepted.committed)).toBe('epoch_failed');
    const landed = (await t.dir.store.latestEpoch())!;
    expect(landed.epoch).toBe(t.dir.epoch + 1);
    // No further write: the next epoch would repeat the landed one's number over the reloaded log.
    await expect(t.dir.closeEpoch(true)).rejects.toThrow(
      `the directory stopped: epoch ${landed.epoch} failed (disk I/O error), yet the store holds epoch ${landed.epoch}; restart it`,
    );
    const again = chat.sign(statementFor(chat, 'c@chat.example', 1, [identityKey()], t.clock.now));
    expect(await outcome(t.dir.submit(again.statement, again.signature))).toBe('directory_broken');
    expect((await t.dir.store.latestEpoch())!.epoch).toBe(landed.epoch);
    // Restarted, the directory is at the landed epoch, whose statement is served, and the log audits.
    const restarted = await t.reopen();
    expect(restarted.dir.epoch).toBe(landed.epoch);
    const proof = await proveLookup(restarted.dir, 'chat.example', 'b@chat.example');
    expect(restarted.verifier.verifyLookup(proof, 'chat.example', 'b@chat.example').status).toBe('present');
    await restarted.dir.closeEpoch(true);
    expect(await headEpochs(restarted)).toEqual([0, 1, 2, 3, 4]);
    expect(await audited(restarted)).toBe('committed');
  });
});

describe('a restart', () => {
  it('serves the last epoch with the checkpoint its witnesses cosigned', async () => {
    const db = new Database(':memory:');
    const line = `\u2014 witness.example/w1 ${Buffer.alloc(76, 5).toString('base64')}\n`;
    const cosign = async (checkpoint: string) => checkpoint + line;
    const t = await openTestDirectory({ db, cosign });
    await enrolProvider(t, 'chat.example');
    const served = t.dir.servedSnapshot.checkpoint;
    expect(served.endsWith(line)).toBe(true);
    const restarted = await t.reopen();
    expect(restarted.dir.servedSnapshot.checkpoint).toBe(served);
    // A served row of another tree than the log's head (a store copied around) is not taken.
    restarted.dir.store.setServed(
      restarted.dir.epoch,
      served.replace(/^(.*\n)(\d+)\n/, (_m, o, n) => `${o}${Number(n) + 1}\n`),
    );
    const again = await restarted.reopen();
    expect(again.dir.servedSnapshot.checkpoint).toBe(t.log.head.checkpoint);
  });
});
