/**
 * The scale run's kept build (`npm run bench -- --only cold --scale-dir DIR`, bench/scale-bench.ts): a build
 * stopped part way resumes after its last committed epoch, its time summed over the runs; a complete one is
 * handed back without a rebuild; a folder holding another size is refused. The directory it leaves is one the
 * real directory opens and serves: every account built once, under its own name.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataDir } from '../../api/node/data-dir.js';
import { Directory } from '../../log/directory/directory.js';
import { proveLookup } from '../../log/directory/proof-builder.js';
import { SqliteDirectoryStore } from '../../log/directory/sqlite-store.js';
import { LogAppender } from '../../log/merkle/appender.js';
import { LogReader } from '../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../log/merkle/sqlite-storage.js';
import { BATCH } from '../../bench/scale-build.js';
import { buildScaleDirectory, builtDataDir } from '../../bench/scale-bench.js';

const root = mkdtempSync(join(tmpdir(), 'kt-scale-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The data directory opened as the server opens it; its account count, and a lookup's version (0: absent). */
async function opened(dataDir: string) {
  const data = openDataDir(dataDir, undefined, () => {});
  const storage = new SqliteLogStorage(data.dbPath);
  const log = await LogAppender.open({ storage, signer: data.signer, origin: data.origin });
  const store = new SqliteDirectoryStore(storage.db);
  const reader = new LogReader(storage, () => log.head);
  const directory = await Directory.open({ log, reader, store, vrfSecretKey: data.vrfSecretKey, trustedRoots: [] });
  const version = async (i: number) =>
    (await proveLookup(directory, 'chat.example', `user${i}@chat.example`)).present?.version ?? 0;
  const { n, names } = storage.db
    .prepare('SELECT count(*) AS n, count(DISTINCT label) AS names FROM dir_accounts')
    .get() as { n: number; names: number };
  return {
    accounts: n,
    distinct: names,
    version,
    close: async () => {
      await log.close();
      await storage.close();
    },
  };
}

describe('a kept scale build', () => {
  const keep = join(root, 'kept');
  const accounts = 2 * BATCH;

  it('resumes a build stopped after its first epoch, and sums its time', async () => {
    // A first run that stopped after one epoch of accounts, with its record written.
    const data = openDataDir(join(keep, 'data'), 'bench.example/kt', () => {});
    const first = await buildScaleDirectory(BATCH, 0, data);
    first.db.close();
    writeFileSync(join(keep, 'build.json'), JSON.stringify({ accounts: BATCH, buildMs: 60_000, runs: 1 }));

    const built = await builtDataDir(accounts, 'unused-', keep);
    expect(built.buildRuns).toBe(2);
    expect(built.buildMs).toBeGreaterThan(60_000);
    const record = JSON.parse(readFileSync(join(keep, 'build.json'), 'utf8'));
    expect(record).toMatchObject({ accounts, runs: 2, bytes: built.bytes });

    const d = await opened(built.dataDir);
    try {
      expect(d.accounts).toBe(accounts);
      expect(d.distinct).toBe(accounts);
      for (const i of [0, BATCH - 1, BATCH, accounts - 1]) expect(await d.version(i)).toBe(1);
      expect(await d.version(accounts)).toBe(0);
    } finally {
      await d.close();
    }
  });

  it('hands a complete build back without building, and refuses another size', async () => {
    const before = JSON.parse(readFileSync(join(keep, 'build.json'), 'utf8'));
    const again = await builtDataDir(accounts, 'unused-', keep);
    expect(again.buildMs).toBe(before.buildMs);
    expect(again.bytes).toBe(before.bytes);
    await expect(builtDataDir(accounts + BATCH, 'unused-', keep)).rejects.toThrow(/complete build of 40000 accounts/);
  });

  it('refuses a partial build larger than asked for, and a damaged record', async () => {
    const other = join(root, 'other');
    const data = openDataDir(join(other, 'data'), 'bench.example/kt', () => {});
    const built = await buildScaleDirectory(BATCH, 0, data);
    built.db.close();
    await expect(builtDataDir(BATCH / 2, 'unused-', other)).rejects.toThrow(/more than 10000/);
    writeFileSync(join(other, 'build.json'), '{"accounts":"many"}');
    await expect(builtDataDir(BATCH, 'unused-', other)).rejects.toThrow(/not a scale build's record/);
  });
});
