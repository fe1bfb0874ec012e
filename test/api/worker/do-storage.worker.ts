/**
 * DoLogStorage on a real Durable Object's SQLite storage (inside workerd): the commit's compare-and-swap,
 * atomic rollback of tiles, bundles, head and `withinCommit` writes, and a sequencer that restarts from
 * what it stored. Also the refusals of the test Worker's append route (test/api/worker/log-only-worker.ts).
 */
import { abortAllDurableObjects, runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { DoLogStorage } from '../../../api/worker/do-log-storage.js';
import { StorageConflictError } from '../../../log/merkle/storage.js';
import { toBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';

const get = (path: string, init?: RequestInit) => exports.default.fetch(new Request(`https://kt.example${path}`, init));
const append = (body: unknown) => get('/__test/append', { method: 'POST', body: JSON.stringify(body) });

/** Runs `fn` on the storage of a fresh (non-sequencer) instance of the Durable Object class. */
function withScratchStorage<R>(name: string, fn: (storage: DurableObjectStorage) => R | Promise<R>): Promise<R> {
  return runInDurableObject(env.LOG.get(env.LOG.idFromName(name)), (_instance, state) => fn(state.storage));
}

const bytes = (...b: number[]) => new Uint8Array(b);

describe('DoLogStorage', () => {
  it('commits tiles, bundles and head together and reads them back', async () => {
    await withScratchStorage('storage-roundtrip', async (storage) => {
      storage.sql.exec('DROP TABLE IF EXISTS log_head'); // the sequencer already wrote an empty head here
      const s = new DoLogStorage(storage);
      expect(await s.loadHead()).toBeNull();
      await s.commit({
        expectedSize: 0,
        head: { size: 2, checkpoint: 'cp 2\n' },
        tiles: [{ level: 0, index: 0, data: bytes(1, 2, 3) }],
        bundles: [{ level: 0, index: 0, data: bytes(0, 1, 9) }],
      });
      expect(await s.loadHead()).toEqual({ size: 2, checkpoint: 'cp 2\n' });
      expect(await s.readTile(0, 0)).toEqual(bytes(1, 2, 3));
      expect(await s.readEntryBundle(0)).toEqual(bytes(0, 1, 9));
      expect(await s.readTile(1, 0)).toBeUndefined();
      expect(await s.readEntryBundle(1)).toBeUndefined();
      // A view into a larger buffer stores only its own bytes.
      const big = bytes(7, 7, 4, 5, 7);
      await s.commit({
        expectedSize: 2,
        head: { size: 3, checkpoint: 'cp 3\n' },
        tiles: [{ level: 0, index: 0, data: big.subarray(2, 4) }],
        bundles: [],
      });
      expect(await s.readTile(0, 0)).toEqual(bytes(4, 5));
      // Reopening over the same storage sees the same state.
      expect(await new DoLogStorage(storage).loadHead()).toEqual({ size: 3, checkpoint: 'cp 3\n' });
    });
  });

  it('refuses a commit against another head and rolls back a failed one entirely', async () => {
    await withScratchStorage('storage-rollback', async (storage) => {
      const s = new DoLogStorage(storage);
      const head0 = await s.loadHead();
      expect(head0?.size).toBe(0);
      storage.sql.exec('CREATE TABLE IF NOT EXISTS above (k TEXT PRIMARY KEY)');
      const write = {
        head: { size: 1, checkpoint: 'cp 1\n' },
        tiles: [{ level: 0, index: 0, data: bytes(1) }],
        bundles: [{ level: 0, index: 0, data: bytes(0, 0) }],
      };

      await expect(s.commit({ expectedSize: 5, ...write })).rejects.toBeInstanceOf(StorageConflictError);

      const failing = () => {
        storage.sql.exec("INSERT INTO above (k) VALUES ('written before the failure')");
        throw new Error('the layer above refused');
      };
      await expect(s.commit({ expectedSize: 0, ...write, withinCommit: failing })).rejects.toThrow(
        'the layer above refused',
      );
      expect(await s.loadHead()).toEqual(head0);
      expect(await s.readTile(0, 0)).toBeUndefined();
      expect(await s.readEntryBundle(0)).toBeUndefined();
      expect(storage.sql.exec('SELECT k FROM above').toArray()).toEqual([]);

      await s.commit({
        expectedSize: 0,
        ...write,
        withinCommit: () => storage.sql.exec("INSERT INTO above (k) VALUES ('landed')"),
      });
      expect(storage.sql.exec('SELECT k FROM above').toArray()).toEqual([{ k: 'landed' }]);
      expect((await s.loadHead())?.size).toBe(1);
    });
  });
});

describe('the sequencer', () => {
  it('restarts from its stored log and keeps appending', async () => {
    expect((await append(['cmVjb3JkIDA=', 'cmVjb3JkIDE='])).status).toBe(200);
    const before = await (await get('/log/checkpoint')).text();
    // Stubs break when their object is aborted: take a new one each time.
    const sequencer = () => env.LOG.get(env.LOG.idFromName('log'));
    const marked = (instance: object) => (instance as { restartMarker?: true }).restartMarker === true;
    await runInDurableObject(
      sequencer(),
      (instance) => void ((instance as { restartMarker?: true }).restartMarker = true),
    );
    expect(await runInDurableObject(sequencer(), marked)).toBe(true);
    await abortAllDurableObjects();
    expect(await runInDurableObject(sequencer(), marked)).toBe(false); // a new instance, opened from storage
    expect(await (await get('/log/checkpoint')).text()).toBe(before);
    const res = await append([toBase64(utf8('record 2'))]);
    expect(await res.json()).toMatchObject({ firstIndex: 2, size: 3 });
    expect(await (await get('/healthz')).json()).toEqual({ ok: true, treeSize: 3 });
  });
});

describe("the test Worker's append route", () => {
  it('refuses bad bodies and bad entries', async () => {
    for (const body of [{}, 'AA==', [1], ['not base64!']]) {
      const res = await append(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json()) as object).toHaveProperty('error.code');
    }
    expect((await get('/__test/append', { method: 'POST', body: '{' })).status).toBe(400);
    expect((await append([])).status).toBe(400); // empty batch
    expect((await get('/__test/append')).status).toBe(405);
  });
});
