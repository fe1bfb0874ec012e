/**
 * What the directory tells its server about epochs (log/directory/directory.ts), for the metrics and the log:
 * each committed epoch's duration (`onEpochCommitted`, the epoch-duration histogram), and each epoch the
 * Node server's timer fails to close (`start`'s `onFailure`, the `epoch_failed` log line).
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Directory } from '../../../log/directory/directory.js';
import { SqliteDirectoryStore } from '../../../log/directory/sqlite-store.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import { randomBytes } from '../../../wasm-free-crypto/random.js';
import { logSigner, ORIGIN } from '../../helpers/log.js';
import { makeRoot } from '../../helpers/pki.js';

async function openDirectory(onEpochCommitted?: (ms: number) => void) {
  const db = new Database(':memory:');
  const storage = new SqliteLogStorage(db);
  const log = await LogAppender.open({ storage, signer: logSigner(), origin: ORIGIN });
  const dir = await Directory.open({
    log,
    reader: new LogReader(storage, () => log.head),
    store: new SqliteDirectoryStore(db),
    vrfSecretKey: randomBytes(32),
    trustedRoots: [(await makeRoot()).der],
    onEpochCommitted,
  });
  return { db, dir };
}

describe("the directory's epoch observers", () => {
  it('tell the duration of every committed epoch, and of none that failed', async () => {
    const observed: number[] = [];
    const { db, dir } = await openDirectory((ms) => observed.push(ms));
    const before = observed.length; // opening an empty directory may commit its first epoch
    await dir.closeEpoch(true);
    await dir.closeEpoch(true);
    expect(observed).toHaveLength(before + 2);
    expect(observed.at(-1)).toBe(dir.lastEpochMs);
    for (const ms of observed) expect(ms).toBeGreaterThanOrEqual(0);
    db.close();
    await expect(dir.closeEpoch(true)).rejects.toThrow();
    expect(observed).toHaveLength(before + 2);
  });

  it("hand each epoch the timer fails to close to start's onFailure, and keep ticking", async () => {
    const { db, dir } = await openDirectory();
    const failures: unknown[] = [];
    db.close(); // every commit now fails
    dir.start({ epochIntervalMs: 10, heartbeatMs: 0 }, (e) => failures.push(e));
    await new Promise((r) => setTimeout(r, 200));
    await dir.stop(); // nothing is queued: stops the timer
    expect(failures.length).toBeGreaterThanOrEqual(2);
    for (const e of failures) expect(e).toBeInstanceOf(Error);
  });
});
