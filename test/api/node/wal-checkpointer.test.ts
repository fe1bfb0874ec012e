/**
 * The WAL checkpointer (api/node/wal-checkpointer.ts) and the storage's external checkpoints
 * (log/merkle/sqlite-storage.ts): commits leave the WAL to the thread, the thread copies it into the file,
 * nothing is lost across a reopen, and a thread that fails hands checkpoints back to the writer.
 */
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonLogger } from '../../../api/app/logger.js';
import { startServer } from '../../../api/node/server.js';
import { WalCheckpointer } from '../../../api/node/wal-checkpointer.js';
import { SqliteLogStorage, WalCheckpointConnection } from '../../../log/merkle/sqlite-storage.js';

const PAGE = 4096;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dbPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'kt-wal-')), 'log.db');
}

/** Commits `pages` pages of distinct blobs (one page each) in one transaction, as an epoch's commit does. */
function commitPages(storage: SqliteLogStorage, pages: number, from = 0): void {
  storage.db.exec('CREATE TABLE IF NOT EXISTS filler (n INTEGER PRIMARY KEY, data BLOB NOT NULL)');
  const put = storage.db.prepare('INSERT INTO filler (n, data) VALUES (?, ?)');
  storage.db.transaction(() => {
    for (let n = from; n < from + pages; n++) put.run(n, new Uint8Array(PAGE - 200).fill(n & 0xff));
  })();
}

function walBytes(path: string): number {
  return existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting until ${what}`);
}

describe('external WAL checkpoints', () => {
  it("leaves a commit's pages in the WAL: the committing connection does not checkpoint", async () => {
    const path = dbPath();
    const storage = new SqliteLogStorage(path, { checkpoints: 'external' });
    cleanups.push(() => storage.close());
    expect(storage.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    commitPages(storage, 1500);
    expect(walBytes(path)).toBeGreaterThan(1500 * PAGE); // inline checkpoints would have copied them at 1,000
    const inline = new SqliteLogStorage(dbPath());
    cleanups.push(() => inline.close());
    expect(inline.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  });

  it('a checkpoint connection copies every page into the file, and they are there after a reopen', async () => {
    const path = dbPath();
    const storage = new SqliteLogStorage(path, { checkpoints: 'external' });
    commitPages(storage, 1200);
    const connection = new WalCheckpointConnection(path);
    const result = connection.checkpoint();
    expect(result).toEqual({ walPages: result.walPages, checkpointedPages: result.walPages, busy: false });
    expect(result.walPages).toBeGreaterThan(1200);
    connection.close();
    await storage.close();
    const again = new SqliteLogStorage(path);
    cleanups.push(() => again.close());
    const rows = again.db.prepare('SELECT count(*) AS n, sum(length(data)) AS bytes FROM filler').get();
    expect(rows).toEqual({ n: 1200, bytes: 1200 * (PAGE - 200) });
  });

  it('refuses a file that does not exist, and one not in WAL mode', () => {
    expect(() => new WalCheckpointConnection(join(tmpdir(), 'kt-wal-none', 'log.db'))).toThrow();
    const path = dbPath();
    const storage = new SqliteLogStorage(path);
    storage.db.pragma('journal_mode = DELETE');
    cleanups.push(() => storage.close());
    expect(() => new WalCheckpointConnection(path)).toThrow(/not in WAL mode/);
  });
});

describe('WalCheckpointer', () => {
  it("checkpoints the writer's commits from its thread", async () => {
    const path = dbPath();
    const storage = new SqliteLogStorage(path, { checkpoints: 'external' });
    const logged: string[] = [];
    const checkpointer = WalCheckpointer.start({
      dbPath: path,
      storage,
      logger: jsonLogger((l) => logged.push(l)),
      intervalMs: 20,
    });
    await checkpointer.ready;
    cleanups.push(() => storage.close());
    cleanups.push(() => checkpointer.close());
    expect(checkpointer.running).toBe(true);
    commitPages(storage, 1500);
    await until(() => checkpointer.stats.pages >= 1500, 'the thread copied the commit');
    commitPages(storage, 300, 1500); // the WAL starts again from its beginning once everything was copied
    await until(() => checkpointer.stats.checkpoints >= 2, 'the thread copied the second commit');
    expect(walBytes(path)).toBeLessThan(1600 * PAGE);
    expect(storage.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    expect(logged).toEqual([]);
    await checkpointer.close();
    expect(checkpointer.running).toBe(false);
  });

  it('a thread that fails is logged and the writer checkpoints inline again', async () => {
    const path = dbPath();
    const storage = new SqliteLogStorage(path, { checkpoints: 'external' });
    cleanups.push(() => storage.close());
    const logged: string[] = [];
    const checkpointer = WalCheckpointer.start({
      dbPath: join(tmpdir(), 'kt-wal-none', 'log.db'), // the thread cannot open it
      storage,
      logger: jsonLogger((l) => logged.push(l)),
    });
    await checkpointer.ready;
    expect(checkpointer.running).toBe(false);
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0])).toMatchObject({ event: 'wal_checkpointer_stopped' });
    expect(storage.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    // Checkpointed at the end of each commit, as SQLite does: the second commit reuses the WAL from its start.
    commitPages(storage, 1500);
    commitPages(storage, 1500, 1500);
    expect(walBytes(path)).toBeLessThan(1600 * PAGE);
    await checkpointer.close(); // nothing to stop
  });

  it('is stopped with the database when the server fails to start', async () => {
    const first = await startServer({
      dataDir: mkdtempSync(join(tmpdir(), 'kt-wal-server-')),
      host: '127.0.0.1',
      port: 0,
      logger: jsonLogger(() => {}),
    });
    cleanups.push(() => first.close());
    const port = Number(new URL(first.url).port);
    const dir = mkdtempSync(join(tmpdir(), 'kt-wal-server-'));
    await expect(startServer({ dataDir: dir, host: '127.0.0.1', port, logger: jsonLogger(() => {}) })).rejects.toThrow(
      /EADDRINUSE/,
    );
    // Every connection to the file closed, the thread's too: the last one's close removed the WAL.
    expect(existsSync(join(dir, 'log.db'))).toBe(true);
    expect(existsSync(join(dir, 'log.db-wal'))).toBe(false);
  });

  it('runs in the Node server, and the WAL is gone after it closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-wal-server-'));
    const server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, logger: jsonLogger(() => {}) });
    await server.walCheckpointer.ready;
    expect(server.walCheckpointer.running).toBe(true);
    expect((await fetch(`${server.url}/log/checkpoint`)).status).toBe(200);
    await server.close();
    expect(server.walCheckpointer.running).toBe(false);
    expect(existsSync(join(dir, 'log.db-wal'))).toBe(false);
  });
});
