/**
 * Proofs from the store by a reader that is not the sequencer (log/directory/directory-reader.ts), over a
 * second connection to the sequencer's SQLite file: lookups (present, absent, deleted, of a provider not
 * enrolled), histories over erased versions, discoveries and daily checks equal the sequencer's and verify
 * with only the pins; while the sequencer commits epochs back to back every reader proof verifies and the
 * epochs it serves never go back; an epoch whose witnesses have not answered is not served (the reader
 * waits, then answers busy), and the cosigned checkpoint is what it serves; the served epoch is decoded once
 * and again when its checkpoint changes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { randomBytes } from '../../../wasm-free-crypto/random.js';
import { HISTORY_ZERO } from '../../../verifier/formats/directory-hashes.js';
import { DirectoryReader } from '../../../log/directory/directory-reader.js';
import {
  proveDiscovery,
  proveHistory,
  proveLookup,
  proveMonitorCheck,
  type ProofSource,
} from '../../../log/directory/proof-builder.js';
import { SqliteDirectoryStore } from '../../../log/directory/sqlite-store.js';
import { inlineVrfProver } from '../../../log/directory/vrf-prover.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import { enrolProvider, openTestDirectory, publishVersion } from '../../helpers/directory.js';

async function onFile(cosign?: (checkpoint: string) => Promise<string>) {
  const path = join(mkdtempSync(join(tmpdir(), 'kt-reader-')), 'kt.db');
  const vrfSecretKey = randomBytes(32);
  const t = await openTestDirectory({ db: new Database(path), vrfSecretKey, cosign });
  return { t, path, vrfSecretKey };
}

/** A reader on its own connection to the file, as another process has. */
async function readerOn(path: string, vrfSecretKey: Uint8Array, servedWaitMs?: number): Promise<DirectoryReader> {
  const db = new Database(path);
  const storage = new SqliteLogStorage(db);
  const log = new LogReader(storage, () => storage.loadHeadSync()!);
  return DirectoryReader.open({
    store: new SqliteDirectoryStore(db, { reader: true }),
    vrfProver: inlineVrfProver(vrfSecretKey),
    entryBundle: (n, width) => log.entryBundle(n, width),
    mapCacheRows: 16,
    servedWaitMs,
  });
}

describe('a reader of the store', () => {
  it('proves the absence at a provider after an epoch without enrolment (its credentials read anew)', async () => {
    const { t, path, vrfSecretKey } = await onFile();
    const chat = await enrolProvider(t, 'chat.example');
    await enrolProvider(t, 'talk.example');
    await publishVersion(t, chat, 'alice@example.org', 1);
    const reader = await readerOn(path, vrfSecretKey);
    const first = await proveLookup(reader, 'chat.example', 'carol@example.org');
    expect(t.verifier.verifyLookup(first, 'chat.example', 'carol@example.org').status).toBe('absent');
    // A new epoch with no enrolment: the set's size is the same, its objects are the reader's new ones. The
    // position was found by object in the set kept for that size, and the lookup failed `internal` (a 500).
    await publishVersion(t, chat, 'bob@example.org', 1);
    for (const provider of ['talk.example', 'chat.example']) {
      const proof = await proveLookup(reader, provider, 'carol@example.org');
      expect(t.verifier.verifyLookup(proof, provider, 'carol@example.org').status, provider).toBe('absent');
    }
  });

  it("builds the sequencer's proofs, equal and verified: lookups, histories, discoveries, daily checks", async () => {
    const { t, path, vrfSecretKey } = await onFile();
    const chat = await enrolProvider(t, 'chat.example');
    const talk = await enrolProvider(t, 'talk.example');
    for (let v = 1; v <= 3; v++) await publishVersion(t, chat, 'alice@example.org', v);
    await publishVersion(t, talk, 'alice@example.org', 1);
    await publishVersion(t, chat, 'bob@example.org', 1);
    await publishVersion(t, chat, 'bob@example.org', 2, true); // erases version 1's statement
    const reader = await readerOn(path, vrfSecretKey);
    const both = async <T>(prove: (source: ProofSource) => Promise<T>): Promise<T> => {
      const [ours, theirs] = [await prove(t.dir), await prove(reader)];
      expect(theirs).toEqual(ours);
      return theirs;
    };
    for (const [provider, account, status] of [
      ['chat.example', 'alice@example.org', 'present'],
      ['talk.example', 'alice@example.org', 'present'],
      ['chat.example', 'bob@example.org', 'deleted'],
      ['chat.example', 'carol@example.org', 'absent'],
      ['nobody.example', 'alice@example.org', 'not_enrolled'],
    ]) {
      const proof = await both((s) => proveLookup(s, provider, account));
      expect(t.verifier.verifyLookup(proof, provider, account).status).toBe(status);
    }
    const history = await both((s) => proveHistory(s, 'chat.example', 'bob@example.org', 0));
    expect(history.versions[0].commitment).toBeDefined(); // erased: the commitment read from the log
    t.verifier.verifyHistory(history, 'chat.example', 'bob@example.org', HISTORY_ZERO);
    const discovery = await both((s) => proveDiscovery(s, 'alice@example.org'));
    expect([...t.verifier.verifyDiscovery(discovery, 'alice@example.org').values()].map((r) => r.status)).toEqual([
      'present',
      'present',
    ]);
    await both((s) => proveMonitorCheck(s, 'chat.example', 'alice@example.org', 3));
    await both((s) => proveMonitorCheck(s, 'chat.example', 'alice@example.org', 1));
  });

  it('serves only committed epochs, never going back, while the sequencer commits epochs back to back', async () => {
    const { t, path, vrfSecretKey } = await onFile();
    const chat = await enrolProvider(t, 'chat.example');
    const accounts = Array.from({ length: 12 }, (_, i) => `user${i}@chat.example`);
    for (const a of accounts) await publishVersion(t, chat, a, 1);
    const reader = await readerOn(path, vrfSecretKey);
    let writing = true;
    const writer = (async () => {
      for (let v = 2; v <= 8; v++) for (const a of accounts.slice(0, 6)) await publishVersion(t, chat, a, v);
      writing = false;
    })();
    let lastEpoch = 0;
    let proofs = 0;
    while (writing) {
      for (const a of accounts) {
        const result = t.verifier.verifyLookup(await proveLookup(reader, 'chat.example', a), 'chat.example', a);
        expect(result.status).toBe('present');
        expect(result.epoch).toBeGreaterThanOrEqual(lastEpoch);
        lastEpoch = result.epoch;
        proofs++;
        await new Promise((r) => setImmediate(r)); // the sequencer's group commit waits for a timer
      }
    }
    await writer;
    expect(proofs).toBeGreaterThan(12);
    const last = await proveLookup(reader, 'chat.example', accounts[0]);
    expect(t.verifier.verifyLookup(last, 'chat.example', accounts[0]).statement?.version).toBe(8);
  });

  it("waits for an epoch's cosignatures before serving it, and serves the cosigned checkpoint", async () => {
    let hold = false;
    let release: (() => void) | null = null;
    const cosign = async (checkpoint: string) => {
      if (hold) await new Promise<void>((r) => (release = r));
      return checkpoint; // the witnesses' lines would be added here
    };
    const { t, path, vrfSecretKey } = await onFile(cosign);
    const reader = await readerOn(path, vrfSecretKey, 200);
    const before = (await reader.snapshot()).snap.epoch;
    hold = true;
    const closing = t.dir.closeEpoch(true); // committed, waiting for its witnesses
    await new Promise((r) => setTimeout(r, 20));
    expect(release).not.toBeNull();
    await expect(reader.snapshot()).rejects.toMatchObject({ code: 'busy' });
    const waiting = reader.snapshot();
    (release as unknown as () => void)();
    await closing;
    expect((await waiting).snap.epoch).toBe(before + 1);
    expect((await reader.snapshot()).snap.checkpoint).toBe((await t.dir.snapshot()).snap.checkpoint);
  });

  it("decodes the served epoch once, and again when its served checkpoint changes (the epoch's row does not)", async () => {
    const { t, path, vrfSecretKey } = await onFile();
    const chat = await enrolProvider(t, 'chat.example');
    await publishVersion(t, chat, 'alice@example.org', 1);
    const reader = await readerOn(path, vrfSecretKey);
    const first = (await reader.snapshot()).snap;
    expect((await reader.snapshot()).snap).toBe(first); // kept while nothing changed
    // The same epoch served under another checkpoint (as a later cosignature would give it): read anew.
    const cosigned = `${first.checkpoint}\n— witness.example/w abcd\n`;
    const other = new SqliteDirectoryStore(new Database(path), { reader: true });
    other.setServed(first.epoch, cosigned);
    const again = (await reader.snapshot()).snap;
    expect(again.epoch).toBe(first.epoch);
    expect(again.checkpoint).toBe(cosigned);
    const proof = await proveLookup(reader, 'chat.example', 'alice@example.org');
    expect(proof.epoch.checkpoint).toBe(cosigned);
    // A new epoch is read as such.
    await publishVersion(t, chat, 'alice@example.org', 2);
    const next = await proveLookup(reader, 'chat.example', 'alice@example.org');
    expect(t.verifier.verifyLookup(next, 'chat.example', 'alice@example.org').statement?.version).toBe(2);
  });
});
