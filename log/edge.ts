/**
 * The right edge of a tiled Merkle tree, which is all a writer needs in memory: the compact frontier (the
 * roots of the perfect subtrees that make up a tree of `size` leaves, largest first, one per set bit of
 * `size`, as in RFC 9162 section 2.1.1), the rightmost tile at each tile level and the entries of the
 * rightmost entry bundle (C2SP tlog-tiles). Pushing an entry costs one leaf hash plus, amortized, one node
 * hash; it records every tile and bundle it changes, for the next storage commit.
 */
import { concatBytes, equalBytes } from '../wasm-free-crypto/bytes.js';
import type { LogStorage, TileWrite } from './storage.js';
import { decodeEntryBundle, encodeEntryBundle, TILE_HEIGHT, TILE_WIDTH } from '../verifier/formats/tiles.js';
import {
  EMPTY_TREE_HASH,
  HASH_SIZE,
  LogError,
  nodeHash,
  recordHash,
  rootFromLeafHashes,
  type Hash,
} from '../verifier/formats/tlog.js';

/** Number of level-`8t` hashes in a tree of `size` leaves (the hashes tile level `t` holds). */
function hashesAtTileLevel(size: number, t: number): number {
  return Math.floor(size / TILE_WIDTH ** t);
}

export class EdgeTree {
  size = 0;
  private frontier: Hash[] = [];
  private tiles: Hash[][] = [];
  private bundle: Uint8Array[] = [];
  private tileWrites = new Map<string, TileWrite>();
  private bundleWrites = new Map<number, TileWrite>();
  private dirtyLevels = new Set<number>();
  private bundleDirty = false;

  /** Appends one entry: its leaf hash goes into the level-0 tile and onto the frontier. */
  push(entry: Uint8Array): void {
    const newSize = this.size + 1;
    this.pushBundleEntry(entry, newSize);
    let node = recordHash(entry);
    this.pushTileHash(0, node, newSize);
    // Merge equal-height subtrees: one merge per trailing 1 bit of the old size.
    let level = 0;
    for (let n = this.size; n % 2 === 1; n = (n - 1) / 2) {
      node = nodeHash(this.frontier.pop()!, node);
      level++;
      if (level % TILE_HEIGHT === 0) this.pushTileHash(level / TILE_HEIGHT, node, newSize);
    }
    this.frontier.push(node);
    this.size = newSize;
  }

  /**
   * The inclusion proof (RFC 9162 2.1.3.1, bottom-up) of the NEXT entry to be pushed, in the tree that
   * pushing it makes: the perfect subtrees of the current tree, smallest first. (For the last leaf of a
   * tree of size n, PATH(n-1, D[0:n]) recurses into the right part each time and collects the left one.)
   */
  nextLeafInclusionProof(): Hash[] {
    return this.frontier.slice().reverse();
  }

  /** MTH of the whole tree: the frontier folded from the right (RFC 9162 section 2.1.1). */
  root(): Hash {
    if (this.frontier.length === 0) return EMPTY_TREE_HASH.slice();
    let h = this.frontier[this.frontier.length - 1];
    for (let i = this.frontier.length - 2; i >= 0; i--) h = nodeHash(this.frontier[i], h);
    return h;
  }

  /** An independent copy to build the next batch on, with no pending writes. */
  clone(): EdgeTree {
    const c = new EdgeTree();
    c.size = this.size;
    c.frontier = this.frontier.slice();
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
   * Rebuilds the edge of a stored tree of `size` leaves from its rightmost tiles and bundle, and checks
   * that the partial bundle's entries hash to the partial level-0 tile. The caller checks the root.
   */
  static async load(size: number, storage: LogStorage): Promise<EdgeTree> {
    const edge = new EdgeTree();
    edge.size = size;
    for (let t = 0; TILE_WIDTH ** t <= size; t++) {
      const count = hashesAtTileLevel(size, t);
      edge.tiles[t] = await readEdgeTile(storage, t, Math.floor(count / TILE_WIDTH), count % TILE_WIDTH);
    }
    edge.bundle = await readEdgeBundle(storage, size);
    edge.bundle.forEach((entry, i) => {
      if (!equalBytes(recordHash(entry), edge.tiles[0][i]))
        throw new LogError('corrupt_log', `entry ${size - edge.bundle.length + i} does not match its leaf hash`);
    });
    edge.frontier = frontierFromTiles(size, edge.tiles);
    return edge;
  }
}

async function readEdgeTile(storage: LogStorage, t: number, index: number, width: number): Promise<Hash[]> {
  if (width === 0) return [];
  const data = await storage.readTile(t, index);
  if (!data || data.length < width * HASH_SIZE)
    throw new LogError('corrupt_log', `tile ${t}/${index} is missing or shorter than ${width} hashes`);
  return Array.from({ length: width }, (_, i) => data.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
}

async function readEdgeBundle(storage: LogStorage, size: number): Promise<Uint8Array[]> {
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
