/**
 * Inclusion and consistency proofs computed from tiles that are read asynchronously (the log's read side
 * on any backend). The tree maths in tlog.ts reads hashes synchronously, so each proof is computed in
 * rounds: a round runs the proof over the tiles fetched so far, noting every tile it lacked (and using
 * zero bytes for it); the missing tiles are then fetched in parallel and the proof is run again, until a
 * round lacks nothing. A proof touches at most a few tiles per level, so this takes two or three rounds.
 */
import { tileHashReader, tilePath, type Tile } from '../verifier/formats/tiles.js';
import { LogError, proveRecord, proveTree, type Hash, type HashReader } from '../verifier/formats/tlog.js';

/** Reads a tile of the published tree, or null if it is not part of it (log/reader.ts). */
export interface TileSource {
  tile(t: Tile): Promise<Uint8Array | null>;
}

const MAX_ROUNDS = 8;

async function withTiles<T>(source: TileSource, size: number, compute: (r: HashReader) => T): Promise<T> {
  const fetched = new Map<string, Uint8Array>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const missing = new Map<string, Tile>();
    const reader = tileHashReader(size, (t) => {
      const data = fetched.get(tilePath(t));
      if (data) return data;
      missing.set(tilePath(t), t);
      return new Uint8Array(t.width * 32);
    });
    const result = compute(reader);
    if (missing.size === 0) return result;
    await Promise.all(
      [...missing].map(async ([path, t]) => {
        const data = await source.tile(t);
        if (!data) throw new LogError('bad_index', `${path} is not available for a tree of size ${size}`);
        fetched.set(path, data);
      }),
    );
  }
  throw new LogError('bad_tile', 'proof needed more tile rounds than a tree can require');
}

/** Inclusion proof of entry `index` in the tree of `size` entries (RFC 9162 2.1.3.1). */
export function proveInclusionFromTiles(source: TileSource, index: number, size: number): Promise<Hash[]> {
  return withTiles(source, size, (r) => proveRecord(size, index, r));
}

/** Consistency proof from `oldSize` to `size` (RFC 9162 2.1.4.1). */
export function proveConsistencyFromTiles(source: TileSource, oldSize: number, size: number): Promise<Hash[]> {
  return withTiles(source, size, (r) => proveTree(size, oldSize, r));
}
