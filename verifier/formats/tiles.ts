/**
 * C2SP tlog-tiles v0.1.0 (c2sp.org/tlog-tiles@v0.1.0) over the stored-hash numbering of tlog.ts,
 * modelled on Go's golang.org/x/mod/sumdb/tlog tile.go with the tile height fixed at 8. The n-th tile
 * at level l holds, for i = 0..width-1, MTH(D[(n·256+i)·256^l : (n·256+i+1)·256^l]), i.e. the stored
 * hashes at tree level 8l; a full tile has 256 of them (8,192 bytes), the rightmost partial tile of a
 * tree of size s has floor(s/256^l) mod 256. Stored hashes at levels that are not multiples of 8 live
 * in no tile: they are recomputed from the 2^(level mod 8) consecutive tile entries below them
 * (`tileForStoredHashIndex` says where, `hashFromTileData` does it). Proofs over tiles read from any
 * source (the log's storage, a bucket, HTTP) run the proof once over a recording reader (which hashes a
 * proof reads does not depend on their values), read each tile holding one once, then compute the proof
 * from them (`withTileSource`). Paths, entry bundles and their parsers are strict: only the canonical
 * encoding is accepted. Errors are `LogError`s.
 */
import { concatBytes } from '../../wasm-free-crypto/bytes.js';
import {
  HASH_SIZE,
  LogError,
  nodeHash,
  splitStoredHashIndex,
  storedHashCount,
  storedHashIndex,
  type Hash,
  type HashReader,
} from './tlog.js';

/** Tree levels per tile. */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile, and entries in a full entry bundle. */
export const TILE_WIDTH = 256;

/** A tile: its level l (tree level 8l), its index n within the level, and its width 1..256 (256 = full). */
export interface Tile {
  level: number;
  n: number;
  width: number;
}

/** A parsed entry bundle path `tile/entries/<N>[.p/<W>]`. */
export interface EntryBundleRef {
  entries: true;
  n: number;
  width: number;
}

const MAX_TILE_LEVEL = 63;
const MAX_ENTRY_LENGTH = 0xffff;

function checkCount(x: number, what: string): void {
  if (!Number.isSafeInteger(x) || x < 0)
    throw new LogError('bad_index', `${what} must be a non-negative safe integer, got ${String(x)}`);
}

function checkTile(t: Tile): void {
  if (!Number.isInteger(t.level) || t.level < 0 || t.level > MAX_TILE_LEVEL)
    throw new LogError('bad_tile', `bad tile level ${String(t.level)}`);
  checkCount(t.n, 'tile index');
  if (!Number.isInteger(t.width) || t.width < 1 || t.width > TILE_WIDTH)
    throw new LogError('bad_tile', `bad tile width ${String(t.width)}`);
}

// ---- paths ----

/** `<N>` of the spec: zero-padded 3-digit elements, all but the last prefixed with 'x' (1234067 -> x001/x234/067). */
function encodeTileIndex(n: number): string {
  let s = String(n % 1000).padStart(3, '0');
  for (n = Math.floor(n / 1000); n > 0; n = Math.floor(n / 1000)) s = `x${String(n % 1000).padStart(3, '0')}/${s}`;
  return s;
}

function widthSuffix(width: number): string {
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

/** The path of a tile, `tile/<L>/<N>[.p/<W>]`, without a leading slash. */
export function tilePath(t: Tile): string {
  checkTile(t);
  return `tile/${t.level}/${encodeTileIndex(t.n)}${widthSuffix(t.width)}`;
}

/** The path of an entry bundle, `tile/entries/<N>[.p/<W>]`, without a leading slash. */
export function entryBundlePath(n: number, width: number): string {
  checkTile({ level: 0, n, width });
  return `tile/entries/${encodeTileIndex(n)}${widthSuffix(width)}`;
}

function badPath(path: string, why: string): LogError {
  return new LogError('bad_tile_path', `bad tile path ${JSON.stringify(path.slice(0, 100))}: ${why}`);
}

/** Parses `<N>` from its path elements: x-prefixed 3-digit groups then a bare one, no leading zero group. */
function parseTileIndex(path: string, elems: string[]): number {
  if (elems.length === 0 || elems.length > 6) throw badPath(path, 'bad number of index elements');
  let n = 0;
  elems.forEach((e, i) => {
    const last = i === elems.length - 1;
    if (!(last ? /^[0-9]{3}$/ : /^x[0-9]{3}$/).test(e)) throw badPath(path, `bad index element ${JSON.stringify(e)}`);
    n = n * 1000 + Number(last ? e : e.slice(1));
  });
  if (elems.length > 1 && elems[0] === 'x000') throw badPath(path, 'index has a leading zero group');
  if (!Number.isSafeInteger(n)) throw badPath(path, 'index out of range');
  return n;
}

/**
 * Parses a tile or entry bundle path (no leading slash), accepting only what `tilePath` and
 * `entryBundlePath` produce: level 0..63 and width 1..255 without leading zeros, canonical `<N>`.
 */
export function parseTilePath(path: string): Tile | EntryBundleRef {
  const parts = path.split('/');
  if (parts.length < 3 || parts[0] !== 'tile') throw badPath(path, 'must start with tile/');
  const entries = parts[1] === 'entries';
  if (!entries && !/^(0|[1-9][0-9]?)$/.test(parts[1])) throw badPath(path, 'bad level');
  const level = entries ? 0 : Number(parts[1]);
  if (level > MAX_TILE_LEVEL) throw badPath(path, 'level above 63');
  let elems = parts.slice(2);
  let width = TILE_WIDTH;
  if (elems.length >= 2 && elems[elems.length - 2].endsWith('.p')) {
    const w = elems[elems.length - 1];
    if (!/^[1-9][0-9]{0,2}$/.test(w) || Number(w) >= TILE_WIDTH) throw badPath(path, 'bad partial width');
    width = Number(w);
    elems = elems.slice(0, -1);
    elems[elems.length - 1] = elems[elems.length - 1].slice(0, -2);
  }
  const n = parseTileIndex(path, elems);
  return entries ? { entries: true, n, width } : { level, n, width };
}

// ---- which tiles ----

/**
 * Where stored hash `index` lives. The hash at tree level L covers the 2^(L mod 8) consecutive entries
 * of the tile at level floor(L/8) starting at `offset`; for L a multiple of 8 it is the entry itself.
 * Without `treeSize` the tile is the narrowest one containing those entries (Go's TileForIndex); with
 * it, the tile as it exists in the tree of that size (full, or the rightmost partial tile), and the
 * hash must be complete in that tree ('bad_index' otherwise).
 */
export function tileForStoredHashIndex(index: number, treeSize?: number): { tile: Tile; offset: number } {
  const { level, n } = splitStoredHashIndex(index);
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const span = 2 ** (level - tileLevel * TILE_HEIGHT);
  const first = n * span; // first covered entry, counted along the tile level
  const tileN = Math.floor(first / TILE_WIDTH);
  const offset = first - tileN * TILE_WIDTH;
  let width = offset + span;
  if (treeSize !== undefined) {
    checkCount(treeSize, 'tree size');
    if (index >= storedHashCount(treeSize))
      throw new LogError('bad_index', `stored hash ${index} is not in a tree of size ${treeSize}`);
    width = Math.min(TILE_WIDTH, Math.floor(treeSize / TILE_WIDTH ** tileLevel) - tileN * TILE_WIDTH);
  }
  return { tile: { level: tileLevel, n: tileN, width }, offset };
}

/** The MTH of `count` (a power of two) tile entries starting at entry `start`. */
function tileSubtreeHash(data: Uint8Array, start: number, count: number): Hash {
  if (count === 1) return data.slice(start * HASH_SIZE, (start + 1) * HASH_SIZE);
  const h = count / 2;
  return nodeHash(tileSubtreeHash(data, start, h), tileSubtreeHash(data, start + h, h));
}

/**
 * The stored hash `storedIndex` from the bytes of tile `t` (exactly width·32 bytes), recomputing it
 * from the entries below it when its level is not a multiple of 8 (Go's HashFromTile).
 */
export function hashFromTileData(t: Tile, data: Uint8Array, storedIndex: number): Hash {
  checkTile(t);
  if (data.length !== t.width * HASH_SIZE)
    throw new LogError('bad_tile', `tile ${tilePath(t)} has ${data.length} bytes, want ${t.width * HASH_SIZE}`);
  const { tile, offset } = tileForStoredHashIndex(storedIndex);
  if (tile.level !== t.level || tile.n !== t.n || tile.width > t.width) {
    throw new LogError('bad_index', `stored hash ${storedIndex} is in ${tilePath(tile)}, not ${tilePath(t)}`);
  }
  return tileSubtreeHash(data, offset, tile.width - offset);
}

/**
 * The tiles that are new or changed when the tree grows from oldSize to newSize, by level then index
 * (Go's NewTiles): at each level, from the tile that was partial (or absent) up to the new rightmost.
 */
export function newTiles(oldSize: number, newSize: number): Tile[] {
  checkCount(oldSize, 'old tree size');
  checkCount(newSize, 'new tree size');
  if (oldSize > newSize) throw new LogError('bad_index', `old size ${oldSize} exceeds new size ${newSize}`);
  const tiles: Tile[] = [];
  for (let level = 0; Math.floor(newSize / TILE_WIDTH ** level) > 0; level++) {
    const oldN = Math.floor(oldSize / TILE_WIDTH ** level); // complete hashes at tree level 8·level
    const newN = Math.floor(newSize / TILE_WIDTH ** level);
    if (oldN === newN) continue;
    const lastFull = Math.floor(newN / TILE_WIDTH);
    for (let n = Math.floor(oldN / TILE_WIDTH); n < lastFull; n++) tiles.push({ level, n, width: TILE_WIDTH });
    if (newN % TILE_WIDTH > 0) tiles.push({ level, n: lastFull, width: newN % TILE_WIDTH });
  }
  return tiles;
}

/**
 * Every tile of a tree of the given size, by level then index: at level l, floor(s/256^(l+1)) full
 * tiles and, if floor(s/256^l) mod 256 > 0, one partial tile of that width. (Lists every level-0 tile,
 * so it is meant for small trees and tests; use `newTiles` to follow a growing tree.)
 */
export function tilesForSize(size: number): Tile[] {
  checkCount(size, 'tree size');
  const tiles: Tile[] = [];
  for (let level = 0; size >= TILE_WIDTH ** level; level++) {
    const hashes = Math.floor(size / TILE_WIDTH ** level);
    const full = Math.floor(hashes / TILE_WIDTH);
    for (let n = 0; n < full; n++) tiles.push({ level, n, width: TILE_WIDTH });
    if (hashes % TILE_WIDTH > 0) tiles.push({ level, n: full, width: hashes % TILE_WIDTH });
  }
  return tiles;
}

// ---- tile data ----

/** The bytes of tile t (width·32) read from stored hashes: level 8·t.level, hashes t.n·256 .. +width-1. */
export function readTileData(t: Tile, r: HashReader): Uint8Array {
  checkTile(t);
  const indexes: number[] = [];
  for (let i = 0; i < t.width; i++) indexes.push(storedHashIndex(t.level * TILE_HEIGHT, t.n * TILE_WIDTH + i));
  const hashes = r.readHashes(indexes);
  if (hashes.length !== indexes.length || hashes.some((h) => h.length !== HASH_SIZE)) {
    throw new LogError('bad_hash', `hash reader returned bad hashes for ${tilePath(t)}`);
  }
  return concatBytes(...hashes);
}

/**
 * A HashReader for the tree of the given size backed by its tiles, fetched synchronously by
 * `fetchTile` (each tile at most once per readHashes call). It checks tile lengths but authenticates
 * nothing: callers must check what they compute (a tree hash, a proof) against a verified checkpoint.
 */
export function tileHashReader(size: number, fetchTile: (t: Tile) => Uint8Array): HashReader {
  const limit = storedHashCount(size);
  return {
    readHashes(indexes: number[]): Hash[] {
      const fetched = new Map<string, Uint8Array>();
      return indexes.map((index) => {
        checkCount(index, 'stored hash index');
        if (index >= limit) throw new LogError('bad_index', `stored hash ${index} is not in a tree of size ${size}`);
        const { tile } = tileForStoredHashIndex(index, size);
        const path = tilePath(tile);
        let data = fetched.get(path);
        if (data === undefined) {
          data = fetchTile(tile);
          fetched.set(path, data);
        }
        return hashFromTileData(tile, data, index);
      });
    },
  };
}

// ---- entry bundles ----

/** An entry bundle: each entry as a big-endian uint16 length then its bytes; 1 to 256 entries. */
export function encodeEntryBundle(entries: Uint8Array[]): Uint8Array {
  if (entries.length === 0 || entries.length > TILE_WIDTH)
    throw new LogError('bad_bundle', `a bundle holds 1 to 256 entries, not ${entries.length}`);
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    if (e.length > MAX_ENTRY_LENGTH) throw new LogError('bad_bundle', `entry of ${e.length} bytes exceeds 65535`);
    parts.push(new Uint8Array([e.length >> 8, e.length & 0xff]), e);
  }
  return concatBytes(...parts);
}

/** Decodes an entry bundle strictly: no truncated entry, no trailing bytes, 1 to 256 entries. */
export function decodeEntryBundle(bundle: Uint8Array): Uint8Array[] {
  if (bundle.length === 0) throw new LogError('bad_bundle', 'empty entry bundle');
  const entries: Uint8Array[] = [];
  let pos = 0;
  while (pos < bundle.length) {
    if (entries.length === TILE_WIDTH) throw new LogError('bad_bundle', 'entry bundle has more than 256 entries');
    if (pos + 2 > bundle.length) throw new LogError('bad_bundle', 'truncated entry length');
    const length = (bundle[pos] << 8) | bundle[pos + 1];
    pos += 2;
    if (pos + length > bundle.length) throw new LogError('bad_bundle', 'truncated entry');
    entries.push(bundle.slice(pos, pos + length));
    pos += length;
  }
  return entries;
}

/** The stored-hash indexes `compute` reads (it runs over zero hashes). */
function indexesRead<T>(compute: (r: HashReader) => T): number[] {
  const read: number[] = [];
  compute({ readHashes: (indexes) => (read.push(...indexes), indexes.map(() => new Uint8Array(HASH_SIZE))) });
  return read;
}

/** Runs `compute` over the tiles of the tree of `size` it needs, each read first by `getTile`, once. */
export async function withTileSource<T>(
  getTile: (t: Tile) => Promise<Uint8Array>,
  size: number,
  compute: (r: HashReader) => T,
): Promise<T> {
  const tiles = new Map<string, Tile>();
  for (const index of indexesRead(compute)) {
    const { tile } = tileForStoredHashIndex(index, size);
    tiles.set(tilePath(tile), tile);
  }
  const data = new Map<string, Uint8Array>();
  await Promise.all([...tiles].map(async ([path, t]) => data.set(path, await getTile(t))));
  return compute(tileHashReader(size, (t) => data.get(tilePath(t))!));
}
