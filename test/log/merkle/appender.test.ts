/** The log writer: vectors, independent recomputation, reloads, faults, concurrency, refusals. */
import { describe, expect, it } from 'vitest';
import { toBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { AppendError, LogAppender, MAX_ENTRY_BYTES } from '../../../log/merkle/appender.js';
import { openCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { MemoryLogStorage } from '../../doubles/memory-log-storage.js';
import { StorageConflictError, type LogStorage } from '../../../log/merkle/storage.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import { decodeEntryBundle, tileHashReader, tilesForSize, type Tile } from '../../../verifier/formats/tiles.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import {
  proveTree,
  recordHash,
  treeHash,
  verifyConsistency,
  verifyInclusion,
  type Hash,
} from '../../../verifier/formats/tlog.js';
import { logSigner, ORIGIN, prng, records, rootOf } from '../../helpers/log.js';
import { vectorBytes } from '../../helpers/vectors.js';

const TILES_300_ROOT = 'gw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=';

async function newLog<S extends LogStorage = MemoryLogStorage>(
  storage: S = new MemoryLogStorage() as unknown as S,
  signer = logSigner(),
) {
  const log = await LogAppender.open({ storage, signer, origin: ORIGIN });
  return { log, storage, signer, reader: new LogReader(storage, () => log.head) };
}

/** Reads every tile of the published tree through the reader, synchronously usable afterwards. */
async function fetchAllTiles(reader: LogReader, size: number): Promise<Map<string, Uint8Array>> {
  const tiles = new Map<string, Uint8Array>();
  for (const t of tilesForSize(size)) {
    const data = await reader.tile(t);
    expect(data, `tile ${t.level}/${t.n}.p/${t.width}`).not.toBeNull();
    tiles.set(`${t.level}/${t.n}/${t.width}`, data!);
  }
  return tiles;
}

async function expectServesTree(reader: LogReader, entries: Uint8Array[]): Promise<void> {
  const size = entries.length;
  const tiles = await fetchAllTiles(reader, size);
  const hr = tileHashReader(size, (t: Tile) => tiles.get(`${t.level}/${t.n}/${t.width}`)!);
  expect(toBase64(treeHash(size, hr))).toBe(toBase64(rootOf(entries)));
  for (let n = 0; n * 256 < size; n++) {
    const width = Math.min(256, size - n * 256);
    const bundle = await reader.entryBundle(n, width);
    expect(decodeEntryBundle(bundle!)).toEqual(entries.slice(n * 256, n * 256 + width));
  }
}

describe('LogAppender', () => {
  it('starts a new log with a signed empty checkpoint', async () => {
    const { log, signer } = await newLog();
    expect(log.head.size).toBe(0);
    const opened = openCheckpoint(log.head.checkpoint, ORIGIN, parseVerifierKey(signer.verifierKey));
    expect(toBase64(opened.checkpoint.rootHash)).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  it('reproduces the tiles-300 vectors byte for byte, however the 300 records are batched', async () => {
    for (const split of [[300], [1, 255, 44], [256, 44], Array(300).fill(1), [7, 100, 149, 1, 43]]) {
      const { log, reader } = await newLog();
      let next = 0;
      for (const n of split) {
        await log.append(records(next, n));
        next += n;
      }
      expect(toBase64(log.checkpoint.rootHash)).toBe(TILES_300_ROOT);
      expect(await reader.tile({ level: 0, n: 0, width: 256 })).toEqual(vectorBytes('tiles-300/tile/0/000'));
      expect(await reader.tile({ level: 0, n: 1, width: 44 })).toEqual(vectorBytes('tiles-300/tile/0/001.p/44'));
      expect(await reader.tile({ level: 1, n: 0, width: 1 })).toEqual(vectorBytes('tiles-300/tile/1/000.p/1'));
      expect(await reader.tile({ level: 0, n: 1, width: 45 })).toBeNull();
      expect(await reader.tile({ level: 0, n: 1, width: 256 })).toBeNull();
      expect(await reader.tile({ level: 1, n: 0, width: 2 })).toBeNull();
      await expectServesTree(reader, records(0, 300));
    }
  });

  it('matches independent recomputation after every batch of random sizes, and stays consistent', async () => {
    const { log, reader, signer } = await newLog();
    const rand = prng(7);
    const all: Uint8Array[] = [];
    const past: { size: number; root: Hash }[] = [];
    while (all.length < 3000) {
      const batch = Array.from({ length: 1 + Math.floor(rand() * 300) }, () =>
        utf8(`e${all.length}-${rand()}`).subarray(0, 1 + Math.floor(rand() * 40)),
      );
      const result = await log.append(batch);
      expect(result.firstIndex).toBe(all.length);
      all.push(...batch);
      const cp = openCheckpoint(result.head.checkpoint, ORIGIN, parseVerifierKey(signer.verifierKey)).checkpoint;
      expect(cp.size).toBe(all.length);
      expect(cp.rootHash).toEqual(rootOf(all));
      verifyInclusion(cp.size - 1, cp.size, recordHash(batch[batch.length - 1]), result.lastEntryProof, cp.rootHash);
      past.push({ size: cp.size, root: cp.rootHash });
    }
    await expectServesTree(reader, all);
    const now = await fetchAllTiles(reader, all.length);
    const hr = tileHashReader(all.length, (t: Tile) => now.get(`${t.level}/${t.n}/${t.width}`)!);
    for (const { size, root } of past) {
      // The partial tiles of every earlier checkpoint are still served and still give its root...
      const then = await fetchAllTiles(reader, size);
      expect(
        treeHash(
          size,
          tileHashReader(size, (t: Tile) => then.get(`${t.level}/${t.n}/${t.width}`)!),
        ),
      ).toEqual(root);
      // ...and every earlier checkpoint is consistent with the newest one.
      verifyConsistency(size, all.length, proveTree(all.length, size, hr), root, log.checkpoint.rootHash);
    }
  });

  it('rebuilds its tree from storage and continues exactly where it stopped, across tile levels', async () => {
    const storage = new MemoryLogStorage();
    const signer = logSigner();
    const all = records(0, 70_000);
    let log = (await newLog(storage, signer)).log;
    for (let i = 0; i < all.length; ) {
      const n = Math.min(all.length - i, i < 65_000 ? 5000 : 137);
      await log.append(all.slice(i, i + n));
      i += n;
      if (i % 10_000 === 0 || i > 65_000) log = (await newLog(storage, signer)).log;
    }
    expect(log.head.size).toBe(70_000);
    expect(log.checkpoint.rootHash).toEqual(rootOf(all));
    const widths = tilesForSize(70_000)
      .filter((t) => t.width < 256)
      .map((t) => `${t.level}:${t.width}`);
    expect(widths).toEqual(['0:112', '1:17', '2:1']);
    const reader = new LogReader(storage, () => log.head);
    await expectServesTree(reader, all);
  });

  it('leaves the log unchanged when a commit fails, and recovers on the next batch', async () => {
    for (const fault of ['failNextCommit', 'tearNextCommit'] as const) {
      const { log, storage, reader } = await newLog();
      await log.append(records(0, 100));
      const before = log.head;
      storage.faults[fault] = true;
      await expect(log.append(records(1000, 200))).rejects.toThrow(/injected fault/);
      expect(log.head).toEqual(before);
      expect(await storage.loadHead()).toEqual(before);
      // Torn writes past the head are not served.
      expect(await reader.tile({ level: 0, n: 0, width: 101 })).toBeNull();
      expect(await reader.entryBundle(0, 101)).toBeNull();
      await log.append(records(100, 200));
      expect(log.checkpoint.rootHash).toEqual(rootOf(records(0, 300)));
      await expectServesTree(reader, records(0, 300));
    }
  });

  it('copies entries: a caller reusing its buffers or array cannot change what was appended', async () => {
    const { log, storage, signer, reader } = await newLog();
    const buffer = utf8('hello');
    const batch = [buffer];
    const pending = log.append(batch);
    batch.push(utf8('sneaked in'));
    await pending;
    buffer[0] = 0x58; // 'X'
    await log.append([utf8('world')]);
    expect(decodeEntryBundle((await reader.entryBundle(0, 2))!)).toEqual([utf8('hello'), utf8('world')]);
    expect(log.head.size).toBe(2);
    await expect(LogAppender.open({ storage, signer, origin: ORIGIN })).resolves.toBeDefined();
  });

  it('runs withinCommit inside the commit, and a throwing one aborts the batch', async () => {
    for (const storage of [new MemoryLogStorage(), new SqliteLogStorage(':memory:')]) {
      const { log } = await newLog(storage);
      const seen: number[] = [];
      await log.append(records(0, 3), { withinCommit: ({ head }) => seen.push(head.size) });
      expect(seen).toEqual([3]);
      await expect(
        log.append(records(3, 3), {
          withinCommit: () => {
            throw new Error('directory refused');
          },
        }),
      ).rejects.toThrow('directory refused');
      expect(log.head.size).toBe(3);
      expect((await storage.loadHead())!.size).toBe(3);
      await log.append(records(3, 2));
      expect(log.checkpoint.rootHash).toEqual(rootOf(records(0, 5)));
    }
  });

  it('serializes concurrent appends', async () => {
    const { log } = await newLog();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(records(i * 10, 10))));
    expect(results.map((r) => r.firstIndex).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i * 10),
    );
    expect(log.head.size).toBe(200);
  });

  it('refuses a second writer that lost the race, then recovers by reloading', async () => {
    const storage = new MemoryLogStorage();
    const signer = logSigner();
    const a = (await newLog(storage, signer)).log;
    const b = (await newLog(storage, signer)).log;
    await a.append(records(0, 10));
    await expect(b.append(records(0, 5))).rejects.toBeInstanceOf(StorageConflictError);
    const r = await b.append(records(10, 5));
    expect(r.firstIndex).toBe(10);
    expect(b.checkpoint.rootHash).toEqual(rootOf(records(0, 15)));
  });

  it('refuses bad batches with typed errors and without touching the log', async () => {
    const { log, storage } = await newLog();
    const codeOf = async (p: Promise<unknown>) =>
      p.then(
        () => 'no error',
        (e) => (e as AppendError).code,
      );
    expect(await codeOf(log.append([]))).toBe('empty_batch');
    expect(await codeOf(log.append([new Uint8Array(MAX_ENTRY_BYTES + 1)]))).toBe('entry_too_large');
    expect(await codeOf(log.append(['text' as unknown as Uint8Array]))).toBe('bad_entry');
    expect(storage.commits).toBe(1);
    const r = await log.append([new Uint8Array(MAX_ENTRY_BYTES), new Uint8Array(0)]);
    expect(r.head.size).toBe(2);
  });

  it('refuses to open a log whose stored tiles or key do not match its checkpoint', async () => {
    const { log, storage, signer } = await newLog();
    await log.append(records(0, 300));
    await expect(LogAppender.open({ storage, signer: logSigner(), origin: ORIGIN })).rejects.toMatchObject({
      code: 'corrupt_log',
    });
    const tile = storage.tiles.get('0/1')!;
    tile[5] ^= 1;
    await expect(LogAppender.open({ storage, signer, origin: ORIGIN })).rejects.toMatchObject({ code: 'corrupt_log' });
    tile[5] ^= 1;
    storage.bundles.get(1)![10] ^= 1;
    await expect(LogAppender.open({ storage, signer, origin: ORIGIN })).rejects.toMatchObject({ code: 'corrupt_log' });
    await expect(
      LogAppender.open({ storage, signer: logSigner('other.example/log'), origin: ORIGIN }),
    ).rejects.toMatchObject({ code: 'bad_config' });
  });
});
