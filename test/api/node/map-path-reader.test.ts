/**
 * The Node server's map path reader (api/node/map-path-reader.ts): its thread reads, on a connection of its own,
 * the same rows the sequencer's connection holds on each label's path; a thread that cannot read is logged and
 * refuses what is asked; the Node server runs one for its directory, and stops it when it closes or fails to start.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonLogger } from '../../../api/app/logger.js';
import { MapPathThread } from '../../../api/node/map-path-reader.js';
import { startServer } from '../../../api/node/server.js';
import { pathRows } from '../../../log/directory/map-prefetch.js';
import { SqliteDirectoryStore } from '../../../log/directory/sqlite-store.js';
import { toHex } from '../../../wasm-free-crypto/bytes.js';
import { enrolProvider, identityKey, openTestDirectory, statementFor } from '../../helpers/directory.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const asText = (rows: { key: Uint8Array; value: Uint8Array }[]) =>
  rows.map((r) => `${toHex(r.key)}=${toHex(r.value)}`).sort();

describe('the map path reader thread', () => {
  it("reads the rows the sequencer's connection holds on each path, and refuses reads once closed", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'kt-paths-')), 'log.db');
    const t = await openTestDirectory({ db: new Database(path) });
    cleanups.push(() => void t.db.close());
    const chat = await enrolProvider(t, 'chat.example');
    const accepted = [];
    for (let i = 0; i < 1200; i++) {
      const s = chat.sign(statementFor(chat, `user${i}@chat.example`, 1, [identityKey()], t.clock.now));
      accepted.push(await t.dir.submit(s.statement, s.signature));
    }
    await t.dir.closeEpoch(false);
    await Promise.all(accepted.map((a) => a.committed));
    const labels = (t.db.prepare('SELECT label FROM dir_accounts LIMIT 200').all() as { label: Uint8Array }[]).map(
      (r) => new Uint8Array(r.label),
    );
    const logged: string[] = [];
    const thread = MapPathThread.start({ dbPath: path, logger: jsonLogger((l) => logged.push(l)) });
    cleanups.push(() => thread.close());
    const rows = await thread.readPaths(labels);
    expect(rows.length).toBeGreaterThan(0);
    expect(asText(rows)).toEqual(asText(pathRows(new SqliteDirectoryStore(t.db), labels)));
    await thread.close();
    await expect(thread.readPaths(labels)).rejects.toThrow(/stopped/);
    expect(logged).toEqual([]);
  }, 60_000);

  it('is logged and refuses what is asked when it cannot read the database', async () => {
    const logged: string[] = [];
    const thread = MapPathThread.start({
      dbPath: join(tmpdir(), 'kt-paths-none', 'log.db'), // no such file: the first read fails
      logger: jsonLogger((l) => logged.push(l)),
    });
    cleanups.push(() => thread.close());
    await expect(thread.readPaths([new Uint8Array(32)])).rejects.toThrow(/stopped/);
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0])).toMatchObject({ event: 'map_path_reader_stopped' });
    await expect(thread.readPaths([new Uint8Array(32)])).rejects.toThrow(/stopped/);
  });

  it('runs in the Node server, which stops it when it closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-paths-server-'));
    const server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, logger: jsonLogger(() => {}) });
    expect(server.directory?.readsMapAhead).toBe(true);
    await server.close();
    const logOnly = await startServer({
      dataDir: dir,
      host: '127.0.0.1',
      port: 0,
      logOnly: true,
      logger: jsonLogger(() => {}),
    });
    expect(logOnly.directory ?? null).toBeNull();
    await logOnly.close();
  });
});
