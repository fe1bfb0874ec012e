/**
 * Regressions for attacks and races found in review: forged enrolments (caught by the enrolment check),
 * withheld history versions, statements signed by a key revoked in the same epoch, lookups racing
 * back-to-back epochs, idempotency with several queued versions, duplicate queued enrolments, malformed
 * continuity signatures, and a failed epoch that cannot be undone.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { signSync } from '../../../wasm-free-crypto/signatures.js';
import { HISTORY_ZERO } from '../../../verifier/formats/directory-hashes.js';
import { proveHistory, proveLookup } from '../../../log/directory/proof-builder.js';
import { continuityMessage } from '../../../verifier/formats/statement-binary.js';
import { checkEnrolment } from '../../../verifier/enrolment/enrolment-check.js';
import { MapReplay } from '../../../verifier/verification/map-replay.js';
import { decodeEntryBundle } from '../../../verifier/formats/tiles.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import { enrolProvider, identityKey, openTestDirectory, publish, statementFor } from '../../helpers/directory.js';
import { makeLeaf } from '../../helpers/pki.js';
import { rejectionCode } from '../../helpers/error-code.js';

describe('directory attacks and races', () => {
  it('catches an enrolment that states another key than its certificate, and passes honest ones', async () => {
    const t = await openTestDirectory();
    await enrolProvider(t, 'chat.example');
    await enrolProvider(t, 'talk.example', 'p256');
    const storage = new SqliteLogStorage(t.db);
    const reader = new LogReader(storage, () => t.log.head);
    const replay = new MapReplay();
    const size = t.log.head.size;
    const entries = decodeEntryBundle((await reader.entryBundle(0, size))!);
    entries.forEach((e, i) => replay.apply(i, e));
    expect(replay.enrolments).toHaveLength(2);
    for (const { entry } of replay.enrolments) await checkEnrolment(entry, [t.root.der], t.clock.now);
    const honest = replay.enrolments[0].entry;
    const attacker = await makeLeaf(t.root, { dnsNames: ['chat.example'] });
    expect(
      await rejectionCode(checkEnrolment({ ...honest, publicKey: attacker.publicKey }, [t.root.der], t.clock.now)),
    ).toBe('bad_enrolment');
    expect(
      await rejectionCode(checkEnrolment({ ...honest, providerId: 'talk.example' }, [t.root.der], t.clock.now)),
    ).toBe('bad_enrolment');
    expect(await rejectionCode(checkEnrolment(honest, [], t.clock.now))).toBe('bad_enrolment');
  });

  it('refuses a history that withholds a version the account never deleted', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    for (let v = 1; v <= 3; v++)
      await publish(t, chat.sign(statementFor(chat, 'h@chat.example', v, [identityKey()], t.clock.now)));
    const proof = await proveHistory(t.dir, 'chat.example', 'h@chat.example', 0);
    const reader = new LogReader(new SqliteLogStorage(t.db), () => t.log.head);
    const bundle = decodeEntryBundle((await reader.entryBundle(0, t.log.head.size))!);
    const v2Commitment = bundle
      .map((b) => b)
      .find((b) => b[0] === 0x02 && b[40] === 2)!
      .slice(41, 73);
    const withheld = { ...proof, versions: [proof.versions[0], { version: 2, commitment: v2Commitment }] };
    expect(
      await rejectionCode(() => t.verifier.verifyHistory(withheld, 'chat.example', 'h@chat.example', HISTORY_ZERO)),
    ).toBe('bad_history');
    expect(
      await rejectionCode(() => t.verifier.verifyHistory(proof, 'chat.example', 'h@chat.example', HISTORY_ZERO)),
    ).toBe('no error');
  });

  it('commits a statement accepted before a revocation of its credential, and refuses those after it', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const fingerprint = t.dir.credentials.all()[0].fingerprint;
    const early = chat.sign(statementFor(chat, 'early@chat.example', 1, [identityKey()], t.clock.now));
    const accepted = await t.dir.submit(early.statement, early.signature);
    const revoked = t.dir.revoke('chat.example', fingerprint, 'compromise');
    // Once the revocation is queued, the credential signs nothing new, even before it commits.
    const late = chat.sign(statementFor(chat, 'late@chat.example', 1, [identityKey()], t.clock.now));
    expect(await rejectionCode(t.dir.submit(late.statement, late.signature))).toBe('cert_revoked');
    // The statement accepted earlier commits in the same epoch as the revocation (its receipt is kept).
    await t.dir.closeEpoch();
    await revoked;
    expect((await accepted.committed).epoch).toBe(t.dir.epoch);
    const proof = await proveLookup(t.dir, 'chat.example', 'early@chat.example');
    expect(t.verifier.verifyLookup(proof, 'chat.example', 'early@chat.example').status).toBe('present');
    expect(await rejectionCode(t.dir.submit(late.statement, late.signature))).toBe('cert_revoked');
    const after = await proveLookup(t.dir, 'chat.example', 'late@chat.example');
    expect(t.verifier.verifyLookup(after, 'chat.example', 'late@chat.example').status).toBe('absent');
  });

  it('serves lookups only from committed epochs while epochs run back to back', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat.sign(statementFor(chat, 'race@chat.example', 1, [identityKey()], t.clock.now)));
    const failures: string[] = [];
    const lookups: Promise<void>[] = [];
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 5; i++) {
        const s = chat.sign(statementFor(chat, `r${round}-${i}@chat.example`, 1, [identityKey()], t.clock.now));
        await t.dir.submit(s.statement, s.signature);
      }
      const epochs = [t.dir.closeEpoch(), t.dir.closeEpoch()];
      for (let k = 0; k < 5; k++) {
        lookups.push(
          proveLookup(t.dir, 'chat.example', 'race@chat.example')
            .then(
              (p) => void t.verifier.verifyLookup(p, 'chat.example', 'race@chat.example'),
              (e) => void failures.push(String(e)),
            )
            .catch((e) => void failures.push(String(e))),
        );
      }
      await Promise.all(epochs);
    }
    await Promise.all(lookups);
    expect(failures).toEqual([]);
  });

  it('answers a resubmission of a queued version even when a later version is queued too', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat.sign(statementFor(chat, 'm@chat.example', 1, [identityKey()], t.clock.now)));
    const v2 = chat.sign(statementFor(chat, 'm@chat.example', 2, [identityKey()], t.clock.now));
    const v3 = chat.sign(statementFor(chat, 'm@chat.example', 3, [identityKey()], t.clock.now));
    const a = await t.dir.submit(v2.statement, v2.signature);
    await t.dir.submit(v3.statement, v3.signature);
    const again = await t.dir.submit(v2.statement, v2.signature);
    expect(t.dir.queueDepth).toBe(2);
    await t.dir.closeEpoch();
    expect((await again.committed).logIndex).toBe((await a.committed).logIndex);
  });

  it('refuses a second queued enrolment of the same certificate and a second queued revocation', async () => {
    const t = await openTestDirectory();
    const leaf = await makeLeaf(t.root, { dnsNames: ['dup.example'] });
    const first = await t.dir.enrol([leaf.der]);
    expect(await rejectionCode(t.dir.enrol([leaf.der]))).toBe('already_enrolled');
    await t.dir.closeEpoch();
    await first.committed;
    const fp = t.dir.credentials.all()[0].fingerprint;
    void t.dir.revoke('dup.example', fp, 'one');
    expect(await rejectionCode(() => t.dir.revoke('dup.example', fp, 'two'))).toBe('unknown_credential');
    await t.dir.closeEpoch();
  });

  it('answers bad_continuity for a malformed continuity signature', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const k1 = identityKey('id1');
    await publish(t, chat.sign(statementFor(chat, 'c@chat.example', 1, [k1], t.clock.now)));
    const v2 = statementFor(chat, 'c@chat.example', 2, [identityKey('id2')], t.clock.now);
    v2.continuity = {
      keyId: 'id1',
      signature: signSync('ed25519', k1.seed, continuityMessage({ ...v2 })).subarray(0, 40),
    };
    const s = chat.sign(v2);
    expect(await rejectionCode(t.dir.submit(s.statement, s.signature))).toBe('bad_continuity');
  });

  // A submission reads the committed version with its name, once; if an epoch commits a version of the
  // account after that read (the rival was not yet queued when it checked the queue), the last check reads
  // the map again instead of trusting the read.
  it('refuses a version an epoch committed while the submission was being validated', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const k1 = identityKey('id1');
    await publish(t, chat.sign(statementFor(chat, 'r@chat.example', 1, [k1], t.clock.now)));
    const withContinuity = (keyId: string) => {
      const v2 = statementFor(chat, 'r@chat.example', 2, [identityKey(keyId)], t.clock.now);
      v2.continuity = { keyId: 'id1', signature: signSync('ed25519', k1.seed, continuityMessage({ ...v2 })) };
      return chat.sign(v2);
    };
    const rival = withContinuity('rival');
    const late = withContinuity('late');
    // While the late one's continuity check reads version 1, the rival is queued and its epoch commits.
    const outcome = t.dir.committedOutcome.bind(t.dir);
    let armed = true;
    t.dir.committedOutcome = async (label, version) => {
      if (armed) {
        armed = false;
        await publish(t, rival);
      }
      return outcome(label, version);
    };
    const epochs = t.dir.epochsCommitted;
    expect(await rejectionCode(t.dir.submit(late.statement, late.signature))).toBe('version_conflict');
    expect(armed).toBe(false);
    expect(t.dir.epochsCommitted).toBe(epochs + 1);
    expect((await proveLookup(t.dir, 'chat.example', 'r@chat.example')).present?.version).toBe(2);
    expect(t.dir.queueDepth).toBe(0);
    // Once committed, the rival sent again is a duplicate (the store is read for a version not above it).
    const again = await t.dir.submit(rival.statement, rival.signature);
    expect(again.version).toBe(2);
    expect((await again.committed).epoch).toBe(t.dir.epoch);
    expect(await rejectionCode(t.dir.submit(late.statement, late.signature))).toBe('version_conflict');
  });
});

describe('a submission read while its own statement commits', () => {
  it('is answered as the duplicate it is, not as a conflict', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat.sign(statementFor(chat, 'd@chat.example', 1, [identityKey()], t.clock.now)));
    const v2 = chat.sign(statementFor(chat, 'd@chat.example', 2, [identityKey()], t.clock.now));
    // The name is read (version 1), then the same statement, sent before, commits in an epoch.
    const labelFor = t.dir.labelFor.bind(t.dir);
    let armed = true;
    t.dir.labelFor = async (...args: Parameters<typeof labelFor>) => {
      const named = await labelFor(...args);
      if (armed) {
        armed = false;
        await publish(t, v2);
      }
      return named;
    };
    const again = await t.dir.submit(v2.statement, v2.signature);
    expect(armed).toBe(false);
    expect(again.version).toBe(2);
    expect((await again.committed).epoch).toBe(t.dir.epoch);
    expect(t.dir.queueDepth).toBe(0);
  });
});

/** A test directory in an SQLite file `kt.db` of a new folder. */
async function directoryOnDisk() {
  const dir = mkdtempSync(join(tmpdir(), 'kt-erase-'));
  const db = new Database(join(dir, 'kt.db'));
  return { dir, db, t: await openTestDirectory({ db }) };
}

describe('erasure on disk', () => {
  it('leaves no byte of an erased statement in the SQLite files', async () => {
    const { dir, db, t } = await directoryOnDisk();
    const chat = await enrolProvider(t, 'chat.example');
    const secret = identityKey();
    await publish(t, chat.sign(statementFor(chat, 'gone@chat.example', 1, [secret], t.clock.now)));
    await publish(t, chat.sign({ ...statementFor(chat, 'gone@chat.example', 2, [], t.clock.now), status: 'deleted' }));
    const files = ['kt.db', 'kt.db-wal'].map((f) => join(dir, f)).filter((f) => existsSync(f));
    const needle = Buffer.from(secret.publicKey);
    expect(files.filter((f) => readFileSync(f).includes(needle))).toEqual([]);
    db.close();
  });

  // A reader holding the WAL (a reader process, or, like it, the Node server's WAL checkpointer mid-copy)
  // makes SQLite answer busy to the truncation: the directory truncates again after its next epochs.
  it('truncates the WAL after a later epoch if another connection held it after the erasing one', async () => {
    const { dir, db, t } = await directoryOnDisk();
    db.pragma('busy_timeout = 20');
    const chat = await enrolProvider(t, 'chat.example');
    const secret = identityKey();
    await publish(t, chat.sign(statementFor(chat, 'held@chat.example', 1, [secret], t.clock.now)));
    const reader = new Database(join(dir, 'kt.db'), { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM dir_accounts').get(); // a snapshot that holds the WAL
    const truncations: boolean[] = [];
    const afterErasure = t.dir.store.afterErasure.bind(t.dir.store);
    t.dir.store.afterErasure = () => {
      const done = afterErasure();
      truncations.push(done);
      return done;
    };
    await publish(t, chat.sign({ ...statementFor(chat, 'held@chat.example', 2, [], t.clock.now), status: 'deleted' }));
    expect(truncations).toEqual([false]);
    reader.exec('COMMIT');
    reader.close();
    await t.dir.closeEpoch(true); // a heartbeat: no erasure of its own, the owed truncation again
    expect(truncations).toEqual([false, true]);
    await t.dir.closeEpoch(true);
    expect(truncations).toEqual([false, true]); // nothing owed any more
    const wal = join(dir, 'kt.db-wal');
    expect(existsSync(wal) && readFileSync(wal).includes(Buffer.from(secret.publicKey))).toBe(false);
    db.close();
  });
});
