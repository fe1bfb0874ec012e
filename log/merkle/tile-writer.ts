/**
 * What the log's writer keeps of its tiled Merkle tree (C2SP tlog-tiles): the tree's frontier
 * (verifier/formats/frontier.ts: the roots of its perfect subtrees, RFC 9162 section 2.1.1), the rightmost
 * tile at each tile level and the entries of the rightmost entry bundle. Pushing an entry costs one leaf
 * hash plus, amortized, one node hash: every subtree of height 8t that an append completes is the next
 * hash of the level-t tile. The writer records every tile and bundle it changes, for the next commit.
 */
import { concatBytes, equalBytes } from '../../wasm-free-crypto/bytes.js';
import { Frontier } from '../../verifier/formats/frontier.js';
import { decodeEntryBundle, encodeEntryBundle, TILE_HEIGHT, TILE_WIDTH } from '../../verifier/formats/tiles.js';
import { HASH_SIZE, LogError, recordHash, rootFromLeafHashes, type Hash } from '../../verifier/formats/tlog.js';
import type { LogStorage, TileWrite } from './storage.js';

/** Number of level-`8t` hashes in a tree of `size` leaves (the hashes tile level `t` holds). */
function hashesAtTileLevel(size: number, t: number): number {
  return Math.floor(size / TILE_WIDTH ** t);
}

export class TileWriter {
  private frontier = new Frontier();
  private tiles: Hash[][] = [];
  private bundle: Uint8Array[] = [];
  private tileWrites = new Map<string, TileWrite>();
  private bundleWrites = new Map<number, TileWrite>();
  private dirtyLevels = new Set<number>();
  private bundleDirty = false;
  /** Adds the subtrees of tile height that an append completes to their tiles (no closure per push). */
  private readonly collectTileHashes = (height: number, hash: Hash): void => {
    if (height % TILE_HEIGHT === 0) this.pushTileHash(height / TILE_HEIGHT, hash, this.frontier.size + 1);
  };

  get size(): number {
    return this.frontier.size;
  }

  /** Appends one entry: to the rightmost bundle, its leaf hash to the level-0 tile, and to the frontier. */
  push(entry: Uint8Array): void {
    this.pushBundleEntry(entry, this.size + 1);
    this.frontier.push(entry, this.collectTileHashes);
  }

  /**
   * The inclusion proof (RFC 9162 2.1.3.1, bottom-up) of the NEXT entry to be pushed, in the tree that
   * pushing it makes: the perfect subtrees of the current tree, smallest first. (For the last leaf of a
   * tree of size n, PATH(n-1, D[0:n]) recurses into the right part each time and collects the left one.)
   */
  nextLeafInclusionProof(): Hash[] {
    return this.frontier.hashes().reverse();
  }

  /** MTH of the whole tree (RFC 9162 section 2.1.1). */
  root(): Hash {
    return this.frontier.root();
  }

  /** An independent copy to build the next batch on, with no pending writes. */
  clone(): TileWriter {
    const c = new TileWriter();
    c.frontier = new Frontier(this.size, this.frontier.hashes());
    c.tiles = this.tiles.map((t) => t.slice());
    c.bundle = this.bundle.slice();
    return c;
  }

  /** The tiles and bundles changed since the last call, as full current contents. */
  takeWrites(): { tiles: TileWrite[]; bundles: TileWrite[] } {
    for (const t of this.dirtyLevels) {
      const count = hashesAtTileLevel(this.size, t);
      this.tileWrites.set(`${t}/${Math.floor(count / TILE_WIDTH)}`, {
        level: t,
        index: Math.floor(count / TILE_WIDTH),
        data: concatBytes(...this.tiles[t]),
      });
    }
    if (this.bundleDirty) {
      const index = Math.floor(this.size / TILE_WIDTH);
      this.bundleWrites.set(index, { level: 0, index, data: encodeEntryBundle(this.bundle) });
    }
    const out = { tiles: [...this.tileWrites.values()], bundles: [...this.bundleWrites.values()] };
    this.tileWrites = new Map();
    this.bundleWrites = new Map();
    this.dirtyLevels.clear();
    this.bundleDirty = false;
    return out;
  }

  private pushTileHash(t: number, h: Hash, newSize: number): void {
    const tile = (this.tiles[t] ??= []);
    tile.push(h);
    if (tile.length < TILE_WIDTH) {
      this.dirtyLevels.add(t);
      return;
    }
    const index = Math.floor((hashesAtTileLevel(newSize, t) - 1) / TILE_WIDTH);
    this.tileWrites.set(`${t}/${index}`, { level: t, index, data: concatBytes(...tile) });
    this.tiles[t] = [];
    this.dirtyLevels.delete(t);
  }

  private pushBundleEntry(entry: Uint8Array, newSize: number): void {
    this.bundle.push(entry);
    if (this.bundle.length < TILE_WIDTH) {
      this.bundleDirty = true;
      return;
    }
    const index = Math.floor((newSize - 1) / TILE_WIDTH);
    this.bundleWrites.set(index, { level: 0, index, data: encodeEntryBundle(this.bundle) });
    this.bundle = [];
    this.bundleDirty = false;
  }

  /**
   * Rebuilds the writer of a stored tree of `size` leaves from its rightmost tiles and bundle, and checks
   * that the partial bundle's entries hash to the partial level-0 tile. The caller checks the root.
   */
  static async load(size: number, storage: LogStorage): Promise<TileWriter> {
    const writer = new TileWriter();
    for (let t = 0; TILE_WIDTH ** t <= size; t++) {
      const count = hashesAtTileLevel(size, t);
      writer.tiles[t] = await readRightmostTile(storage, t, Math.floor(count / TILE_WIDTH), count % TILE_WIDTH);
    }
    writer.bundle = await readRightmostBundle(storage, size);
    writer.bundle.forEach((entry, i) => {
      if (!equalBytes(recordHash(entry), writer.tiles[0][i]))
        throw new LogError('corrupt_log', `entry ${size - writer.bundle.length + i} does not match its leaf hash`);
    });
    writer.frontier = new Frontier(size, frontierFromTiles(size, writer.tiles));
    return writer;
  }
}

async function readRightmostTile(storage: LogStorage, t: number, index: number, width: number): Promise<Hash[]> {
  if (width === 0) return [];
  const data = await storage.readTile(t, index);
  if (!data || data.length < width * HASH_SIZE)
    throw new LogError('corrupt_log', `tile ${t}/${index} is missing or shorter than ${width} hashes`);
  return Array.from({ length: width }, (_, i) => data.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
}

async function readRightmostBundle(storage: LogStorage, size: number): Promise<Uint8Array[]> {
  const width = size % TILE_WIDTH;
  if (width === 0) return [];
  const data = await storage.readEntryBundle(Math.floor(size / TILE_WIDTH));
  const entries = data ? decodeEntryBundle(data) : [];
  if (entries.length < width)
    throw new LogError('corrupt_log', `entry bundle ${Math.floor(size / TILE_WIDTH)} is missing or short`);
  return entries.slice(0, width);
}

/**
 * The frontier of a tree of `size` leaves: for each set bit l of size (high to low), the root of the
 * perfect subtree of height l that ends the left part. With l = 8t + r, that subtree is the MTH of 2^r
 * consecutive hashes of the rightmost tile at level t, which the caller loaded.
 */
function frontierFromTiles(size: number, tiles: Hash[][]): Hash[] {
  const frontier: Hash[] = [];
  for (let l = Math.floor(Math.log2(Math.max(size, 1))) + 1; l >= 0; l--) {
    if (Math.floor(size / 2 ** l) % 2 === 0) continue;
    const t = Math.floor(l / TILE_HEIGHT);
    const span = 2 ** (l % TILE_HEIGHT);
    const first = (Math.floor(size / 2 ** l) - 1) * span;
    const offset = first - Math.floor(hashesAtTileLevel(size, t) / TILE_WIDTH) * TILE_WIDTH;
    frontier.push(rootFromLeafHashes(tiles[t].slice(offset, offset + span)));
  }
  return frontier;
}
