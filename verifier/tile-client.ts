/**
 * Proofs from a log's tiles over HTTP (C2SP tlog-tiles), for clients that follow a log: the stored hashes
 * a proof needs are found by running the proof once over a recording reader (which hashes it reads does
 * not depend on their values), the tiles holding them are fetched, each at most once, and the proof is
 * computed from them. Nothing fetched is trusted: every proof is checked against signed roots by the
 * caller (verifier/tlog.ts `verifyConsistency`), and a wrong tile only yields a proof that fails.
 * I/O only through the `fetch` it is given; no other platform API.
 */
import { HASH_SIZE, proveTree, treeHash, type Hash, type HashReader } from './tlog.js';
import { tileForStoredHashIndex, tileHashReader, tilePath, type Tile } from './tiles.js';
import { VerifyError } from './errors.js';
import { concatBytes } from '../wasm-free-crypto/bytes.js';

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/** The largest tile body accepted (a full tile). */
const MAX_TILE_BYTES = 256 * HASH_SIZE;

/**
 * The bytes of a body (a request's or a response's, with its headers) if it has at most `max`, else null:
 * a declared Content-Length above `max` is refused unread, and reading stops as soon as more arrive
 * (chunked, compressed). Shared with the Worker, which buffers request bodies the same way.
 */
export async function readAtMost(
  message: { body: ReadableStream<Uint8Array> | null; headers: Headers },
  max: number,
): Promise<Uint8Array | null> {
  if (Number(message.headers.get('Content-Length') ?? '0') > max) {
    await message.body?.cancel();
    return null;
  }
  if (message.body === null) return new Uint8Array(0);
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concatBytes(...chunks);
    total += value.length;
    if (total > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
}

/** Reads a response body of at most `max` bytes (VerifyError `too_large` beyond). */
export async function readBounded(res: Response, max: number): Promise<Uint8Array> {
  const body = await readAtMost(res, max);
  if (body === null) throw new VerifyError('too_large', `the response has more than ${max} bytes`);
  return body;
}

/** Fetches one tile of the tree of `size` below `logUrl` (the URL of the log's `/log` prefix). */
async function fetchTile(fetch: Fetch, logUrl: string, t: Tile): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(`${logUrl}/${tilePath(t)}`);
  } catch (e) {
    throw new VerifyError('network', `fetching ${tilePath(t)}: ${(e as Error).message}`);
  }
  if (res.status !== 200) throw new VerifyError('tile_unavailable', `${tilePath(t)}: HTTP ${res.status}`);
  const data = await readBounded(res, MAX_TILE_BYTES);
  if (data.length !== t.width * HASH_SIZE)
    throw new VerifyError('bad_tile', `${tilePath(t)} has ${data.length} bytes, want ${t.width * HASH_SIZE}`);
  return data;
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

/** Runs `compute` over the tiles of the tree of `size` it needs, fetched first from `logUrl`. */
export function withTiles<T>(fetch: Fetch, logUrl: string, size: number, compute: (r: HashReader) => T): Promise<T> {
  return withTileSource((t) => fetchTile(fetch, logUrl, t), size, compute);
}

/**
 * The consistency proof from the tree of `oldSize` to the tree of `newSize` (0 < oldSize <= newSize), and
 * the root of the first `oldSize` entries as the new tree's tiles give it (`prefixRoot`): if the proof
 * leads from that root to the new tree's signed root, but the signed old root differs, the two trees are a
 * fork, provably (verifier/evidence.ts).
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
