/**
 * Proofs from a log's tiles over HTTP (C2SP tlog-tiles), for clients that follow a log: the tiles a proof
 * needs are fetched, each at most once, and the proof is computed from them (`withTileSource`,
 * verifier/formats/tiles.ts). Nothing fetched is trusted: every proof is checked against signed roots by
 * the caller (verifier/formats/tlog.ts `verifyConsistency`), and a wrong tile only yields a proof that
 * fails. I/O only through the `fetch` it is given (verifier/http/request.ts: a failed request is a
 * ClientError `network` naming the tile's URL and the cause); no other platform API.
 */
import { HASH_SIZE, proveTree, treeHash, type Hash, type HashReader } from '../formats/tlog.js';
import { tilePath, withTileSource, type Tile } from '../formats/tiles.js';
import { VerifyError } from '../verification/errors.js';
import { readBounded } from './bounded-body.js';
import { request, type Fetch } from './request.js';

export type { Fetch };

/** The largest tile body accepted (a full tile). */
const MAX_TILE_BYTES = 256 * HASH_SIZE;

/** Fetches one tile of the tree of `size` below `logUrl` (the URL of the log's `/log` prefix). */
async function fetchTile(fetch: Fetch, logUrl: string, t: Tile): Promise<Uint8Array> {
  const res = await request(fetch, `${logUrl}/${tilePath(t)}`);
  if (res.status !== 200) throw new VerifyError('tile_unavailable', `${tilePath(t)}: HTTP ${res.status}`);
  const data = await readBounded(res, MAX_TILE_BYTES);
  if (data.length !== t.width * HASH_SIZE)
    throw new VerifyError('bad_tile', `${tilePath(t)} has ${data.length} bytes, want ${t.width * HASH_SIZE}`);
  return data;
}

/** Runs `compute` over the tiles of the tree of `size` it needs, fetched first from `logUrl`. */
export function withTiles<T>(fetch: Fetch, logUrl: string, size: number, compute: (r: HashReader) => T): Promise<T> {
  return withTileSource((t) => fetchTile(fetch, logUrl, t), size, compute);
}

/**
 * The consistency proof from the tree of `oldSize` to the tree of `newSize` (0 < oldSize <= newSize), and
 * the root of the first `oldSize` entries as the new tree's tiles give it (`prefixRoot`): if the proof
 * leads from that root to the new tree's signed root, but the signed old root differs, the two trees are a
 * fork, provably (verifier/verification/evidence.ts).
 */
export function fetchConsistencyProof(
  fetch: Fetch,
  logUrl: string,
  oldSize: number,
  newSize: number,
): Promise<{ proof: Hash[]; prefixRoot: Hash }> {
  return withTiles(fetch, logUrl, newSize, (r) => ({
    proof: proveTree(newSize, oldSize, r),
    prefixRoot: treeHash(oldSize, r),
  }));
}
