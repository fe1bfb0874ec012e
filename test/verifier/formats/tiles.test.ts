/**
 * Tests for verifier/formats/tiles.ts: the 300-record tlog-tiles vector tree (from FiloSottile/sunlight) rebuilt
 * byte for byte and read back through a tile-backed HashReader; strict tile and entry bundle paths;
 * newTiles against tilesForSize over growth sequences; stored-hash placement across tile levels;
 * entry bundle encoding.
 */
import { describe, expect, it } from 'vitest';
import { fromBase64, toHex, utf8 } from '../../../wasm-free-crypto/bytes.js';
import {
  EMPTY_TREE_HASH,
  LogError,
  checkRecord,
  checkTree,
  proveRecord,
  proveTree,
  recordHash,
  storedHashIndex,
  treeHash,
} from '../../../verifier/formats/tlog.js';
import {
  TILE_WIDTH,
  decodeEntryBundle,
  encodeEntryBundle,
  entryBundlePath,
  hashFromTileData,
  newTiles,
  parseTilePath,
  readTileData,
  tileForStoredHashIndex,
  tileHashReader,
  tilePath,
  tilesForSize,
  type Tile,
} from '../../../verifier/formats/tiles.js';
import { vectorBytes } from '../../helpers/vectors.js';
import { MemoryHashStore } from '../../helpers/log.js';

function buildTree(size: number): MemoryHashStore {
  const store = new MemoryHashStore();
  for (let i = 0; i < size; i++) store.append(utf8(`record ${i}`));
  return store;
}

const VECTOR_ROOT = fromBase64('gw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=');
const VECTOR_TILES = ['tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1'];
const store = buildTree(600); // records 0..599

describe('tiles-300 vector tree', () => {
  it('rebuilds the three tiles byte for byte and the root', () => {
    expect(tilesForSize(300).map(tilePath)).toEqual(VECTOR_TILES);
    for (const t of tilesForSize(300))
      expect(toHex(readTileData(t, store))).toBe(toHex(vectorBytes(`tiles-300/${tilePath(t)}`)));
    expect(treeHash(300, store)).toEqual(VECTOR_ROOT);
    const checkpoint = new TextDecoder().decode(vectorBytes('tiles-300/checkpoint'));
    expect(checkpoint.split('\n')[1]).toBe('300');
  });

  it('a tile-backed HashReader gives the same root and valid proofs', () => {
    const fetched: string[] = [];
    const reader = tileHashReader(300, (t: Tile) => {
      fetched.push(tilePath(t));
      return vectorBytes(`tiles-300/${tilePath(t)}`);
    });
    expect(treeHash(300, reader)).toEqual(VECTOR_ROOT);
    for (const n of [0, 1, 127, 255, 256, 287, 288, 298, 299]) {
      const proof = proveRecord(300, n, reader);
      expect(proof).toEqual(proveRecord(300, n, store));
      checkRecord(proof, 300, VECTOR_ROOT, n, recordHash(utf8(`record ${n}`)));
    }
    for (const n of [1, 100, 256, 257, 299]) {
      const proof = proveTree(300, n, reader);
      checkTree(proof, 300, VECTOR_ROOT, n, treeHash(n, store));
    }
    expect(new Set(fetched)).toEqual(new Set(VECTOR_TILES));
    expect(() => reader.readHashes([storedHashIndex(0, 300)])).toThrow(LogError);
    expect(() => reader.readHashes([storedHashIndex(8, 1)])).toThrow(LogError);
    const short = tileHashReader(300, (t) => vectorBytes(`tiles-300/${tilePath(t)}`).slice(32));
    expect(() => treeHash(300, short)).toThrow(LogError);
  });
});

describe('stored hashes in tiles', () => {
  it('every stored hash of trees up to 600 is found in its tile', () => {
    for (const size of [1, 255, 256, 257, 300, 511, 512, 513, 600]) {
      const tiles = new Map(tilesForSize(size).map((t) => [tilePath(t), readTileData(t, store)]));
      const reader = tileHashReader(size, (t) => tiles.get(tilePath(t))!);
      const count = 2 * size - [...size.toString(2)].filter((c) => c === '1').length;
      const all = Array.from({ length: count }, (_, i) => i);
      expect(reader.readHashes(all)).toEqual(store.readHashes(all));
      expect(treeHash(size, reader)).toEqual(treeHash(size, store));
    }
    expect(
      treeHash(
        0,
        tileHashReader(0, () => new Uint8Array(0)),
      ),
    ).toEqual(EMPTY_TREE_HASH);
  });

  it('places hashes as documented and rejects mismatched tiles', () => {
    expect(tileForStoredHashIndex(storedHashIndex(0, 300))).toEqual({
      tile: { level: 0, n: 1, width: 45 },
      offset: 44,
    });
    expect(tileForStoredHashIndex(storedHashIndex(5, 8), 300)).toEqual({
      tile: { level: 0, n: 1, width: 44 },
      offset: 0,
    });
    expect(tileForStoredHashIndex(storedHashIndex(3, 36), 300)).toEqual({
      tile: { level: 0, n: 1, width: 44 },
      offset: 32,
    });
    expect(tileForStoredHashIndex(storedHashIndex(3, 36))).toEqual({ tile: { level: 0, n: 1, width: 40 }, offset: 32 });
    expect(tileForStoredHashIndex(storedHashIndex(8, 0), 300)).toEqual({
      tile: { level: 1, n: 0, width: 1 },
      offset: 0,
    });
    expect(tileForStoredHashIndex(storedHashIndex(7, 1), 70_000)).toEqual({
      tile: { level: 0, n: 0, width: 256 },
      offset: 128,
    });
    expect(() => tileForStoredHashIndex(storedHashIndex(5, 9), 300)).toThrow(LogError);
    const t0 = { level: 0, n: 0, width: 256 };
    const data = readTileData(t0, store);
    expect(hashFromTileData(t0, data, storedHashIndex(7, 0))).toEqual(treeHash(128, store));
    expect(hashFromTileData(t0, data, storedHashIndex(2, 5))).toEqual(store.readHashes([storedHashIndex(2, 5)])[0]);
    // A level-8 hash lives in the level-1 tile; it is not recomputed from the full tile below it.
    expect(() => hashFromTileData(t0, data, storedHashIndex(8, 0))).toThrow(LogError);
    expect(() => hashFromTileData(t0, data.slice(32), storedHashIndex(0, 3))).toThrow(LogError);
    expect(() => hashFromTileData(t0, data, storedHashIndex(0, 256))).toThrow(LogError);
    expect(() => hashFromTileData({ level: 0, n: 0, width: 3 }, data.slice(0, 96), storedHashIndex(2, 0))).toThrow(
      LogError,
    );
  });
});

describe('tile paths', () => {
  it('formats and parses canonical paths', () => {
    const cases: [Tile | { entries: true; n: number; width: number }, string][] = [
      [{ level: 0, n: 0, width: 256 }, 'tile/0/000'],
      [{ level: 0, n: 1, width: 44 }, 'tile/0/001.p/44'],
      [{ level: 1, n: 0, width: 1 }, 'tile/1/000.p/1'],
      [{ level: 0, n: 1234067, width: 256 }, 'tile/0/x001/x234/067'],
      [{ level: 63, n: 1000, width: 255 }, 'tile/63/x001/000.p/255'],
      [{ level: 2, n: 999, width: 256 }, 'tile/2/999'],
      [{ level: 0, n: 2 ** 53 - 1, width: 256 }, 'tile/0/x009/x007/x199/x254/x740/991'],
      [{ entries: true, n: 0, width: 256 }, 'tile/entries/000'],
      [{ entries: true, n: 1, width: 44 }, 'tile/entries/001.p/44'],
      [{ entries: true, n: 1234067, width: 7 }, 'tile/entries/x001/x234/067.p/7'],
    ];
    for (const [t, path] of cases) {
      expect('entries' in t ? entryBundlePath(t.n, t.width) : tilePath(t)).toBe(path);
      expect(parseTilePath(path)).toEqual(t);
    }
  });

  it('rejects non-canonical paths', () => {
    const bad = [
      '',
      'tile',
      'tile/0',
      '/tile/0/000',
      'tile/0/000/',
      'tile//0/000',
      'tile/0//000',
      'tiles/0/000',
      'tile/00/000',
      'tile/01/000',
      'tile/64/000',
      'tile/-1/000',
      'tile/+1/000',
      'tile/a/000',
      'tile/0/00',
      'tile/0/0000',
      'tile/0/1',
      'tile/0/abc',
      'tile/0/x000',
      'tile/0/x001',
      'tile/0/001/002',
      'tile/0/x000/001',
      'tile/0/x1/001',
      'tile/0/X001/001',
      'tile/0/x001/x002',
      'tile/0/x001//002',
      'tile/0/000.p/0',
      'tile/0/000.p/256',
      'tile/0/000.p/007',
      'tile/0/000.p/',
      'tile/0/000.p',
      'tile/0/000.p/1/2',
      'tile/0/000.p/-1',
      'tile/0/000.p/1.5',
      'tile/0/000.q/1',
      'tile/0/x001.p/1/002',
      'tile/0/000.p/1.p/2',
      'tile/0/x001/x002/x003/x004/x005/x006/007',
      'tile/0/x009/x007/x199/x254/x740/992',
      'tile/entries/00',
      'tile/entries/000.p/256',
      'tile/entries',
      'tile/entry/000',
      'tile/0/000 ',
      ' tile/0/000',
    ];
    for (const path of bad) expect(() => parseTilePath(path), path).toThrow(LogError);
    expect(() => tilePath({ level: 64, n: 0, width: 256 })).toThrow(LogError);
    expect(() => tilePath({ level: 0, n: 0, width: 0 })).toThrow(LogError);
    expect(() => tilePath({ level: 0, n: -1, width: 1 })).toThrow(LogError);
    expect(() => entryBundlePath(0, 257)).toThrow(LogError);
  });
});

describe('tile sets', () => {
  const key = (t: Tile): string => tilePath(t);

  it('tilesForSize matches the spec examples', () => {
    expect(tilesForSize(0)).toEqual([]);
    expect(tilesForSize(256).map(key)).toEqual(['tile/0/000', 'tile/1/000.p/1']);
    const big = tilesForSize(70_000);
    const summary = (level: number) => big.filter((t) => t.level === level).map((t) => t.width);
    expect(summary(0)).toEqual([...Array(273).fill(256), 112]);
    expect(summary(1)).toEqual([256, 17]);
    expect(summary(2)).toEqual([1]);
    expect(big.length).toBe(277);
  });

  it('newTiles is the difference of tilesForSize over growth sequences', () => {
    const sequences = [
      [0, 1, 2, 255, 256, 257, 300, 511, 512, 600, 65535, 65536, 65537, 70_000, 70_000, 140_000],
      [0, 100, 256, 256 * 256, 256 * 256 * 3 + 5],
      [0, 256 ** 3 - 1, 256 ** 3, 256 ** 3 + 256],
    ];
    for (const seq of sequences) {
      for (let i = 1; i < seq.length; i++) {
        const before = new Set(tilesForSize(seq[i - 1]).map(key));
        const want = tilesForSize(seq[i])
          .map(key)
          .filter((k) => !before.has(k));
        expect(newTiles(seq[i - 1], seq[i]).map(key)).toEqual(want);
      }
      expect(newTiles(0, seq[seq.length - 1])).toEqual(tilesForSize(seq[seq.length - 1]));
    }
    expect(() => newTiles(5, 4)).toThrow(LogError);
    expect(() => newTiles(-1, 4)).toThrow(LogError);
  });
});

describe('entry bundles', () => {
  it('round trips', () => {
    const entries = [utf8('record 0'), new Uint8Array(0), new Uint8Array(65535).fill(7), utf8('x')];
    const bundle = encodeEntryBundle(entries);
    expect(bundle.length).toBe(2 * 4 + 8 + 0 + 65535 + 1);
    expect(toHex(bundle.slice(0, 10))).toBe('00087265636f72642030');
    expect(decodeEntryBundle(bundle)).toEqual(entries);
    const full = Array.from({ length: TILE_WIDTH }, (_, i) => utf8(`record ${i}`));
    expect(decodeEntryBundle(encodeEntryBundle(full))).toEqual(full);
  });

  it('rejects malformed bundles', () => {
    const bundle = encodeEntryBundle([utf8('abc'), utf8('de')]);
    for (let cut = 1; cut < bundle.length; cut++) {
      if (cut === 5) continue; // a whole first entry is a valid bundle
      expect(() => decodeEntryBundle(bundle.slice(0, cut)), `cut ${cut}`).toThrow(LogError);
    }
    expect(decodeEntryBundle(bundle.slice(0, 5))).toEqual([utf8('abc')]);
    expect(() => decodeEntryBundle(new Uint8Array([...bundle, 0]))).toThrow(LogError);
    expect(() => decodeEntryBundle(new Uint8Array([...bundle, 0, 5, 1]))).toThrow(LogError);
    expect(() => decodeEntryBundle(new Uint8Array(0))).toThrow(LogError);
    const tooMany = new Uint8Array(2 * (TILE_WIDTH + 1)); // 257 empty entries
    expect(() => decodeEntryBundle(tooMany)).toThrow(LogError);
    expect(decodeEntryBundle(tooMany.slice(2))).toHaveLength(TILE_WIDTH);
    expect(() => encodeEntryBundle([])).toThrow(LogError);
    expect(() => encodeEntryBundle(Array.from({ length: 257 }, () => new Uint8Array(0)))).toThrow(LogError);
    expect(() => encodeEntryBundle([new Uint8Array(65536)])).toThrow(LogError);
  });
});
