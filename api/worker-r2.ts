/**
 * The log published to R2 as a static C2SP tlog-tiles tree, so that log readers (monitors, auditors,
 * witnesses, anyone fetching tiles) are served by the stateless Worker straight from R2 without asking the
 * single-threaded Durable Object (each Worker isolate still hands its request counts to it, at most once a
 * minute, for /metrics: api/worker.ts). The Durable Object stays the source of truth: it commits every batch to
 * its own SQLite storage first (atomically with the directory's indexes), then copies what changed to the
 * bucket under `<prefix>tile/...` and `<prefix>checkpoint` (the tlog-tiles paths below the log's URL).
 *
 * Crash safety, in the order the writes happen (`publishToBucket`):
 * 1. The published size is read back from the bucket's checkpoint, which must be this log's (signed by its
 *    key, same origin, and the root of this log's own tree at that size) and no larger than the committed
 *    head; otherwise nothing is written.
 * 2. Tiles and entry bundles that changed between that size and the head are written. Each key's bytes
 *    never change (a full tile, or a partial tile named by its width), so writing one again after a crash
 *    writes the same bytes.
 * 3. The checkpoint is written last. So a checkpoint in the bucket always has all its tiles there, and a
 *    crash anywhere leaves the previous checkpoint with its tiles; the next call catches up.
 * Partial tiles of checkpoints skipped by a catch-up are not in the bucket; the Worker answers a miss
 * from the Durable Object, which serves every width (`serveFromBucket` returns null).
 *
 * No Workers imports: the bucket is described structurally (the part of `R2Bucket` used).
 */
import { parseCheckpoint } from '../verifier/formats/checkpoint.js';
import type { LogReader } from '../log/reader.js';
import {
  entryBundlePath,
  newTiles,
  parseTilePath,
  TILE_WIDTH,
  tilePath,
  withTileSource,
} from '../verifier/formats/tiles.js';
import { openNote, splitNote, type NoteVerifier } from '../wasm-free-crypto/note.js';
import { equalBytes, utf8 } from '../wasm-free-crypto/bytes.js';
import { treeHash } from '../verifier/formats/tlog.js';
import { CodedError } from '../wasm-free-crypto/errors.js';
import { checkpointResponse, tileResponse } from './app.js';

/** The part of an R2 object body used here. */
export interface BucketObject {
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
}

/** The part of `R2Bucket` used here. */
export interface TileBucket {
  get(key: string): Promise<BucketObject | null>;
  put(key: string, value: ArrayBuffer | string): Promise<unknown>;
}

/** The bucket holds another log's checkpoint, or a larger tree than this log: nothing is published. */
export class BucketMismatchError extends CodedError {
  constructor(message: string) {
    super('bucket_mismatch', message);
  }
}

const CHECKPOINT = 'checkpoint';

/** The checkpoint in the bucket (null if none), checked to be signed by this log's key for its origin. */
async function publishedCheckpoint(
  bucket: TileBucket,
  prefix: string,
  origin: string,
  verifier: NoteVerifier,
): Promise<{ size: number; rootHash: Uint8Array } | null> {
  const object = await bucket.get(prefix + CHECKPOINT);
  if (object === null) return null;
  try {
    const text = openNote(await object.text(), [verifier]).text;
    const checkpoint = parseCheckpoint(text, { allowExtensions: true });
    if (checkpoint.origin !== origin) throw new Error(`origin ${JSON.stringify(checkpoint.origin)}`);
    return checkpoint;
  } catch (e) {
    throw new BucketMismatchError(
      `the bucket's checkpoint at ${prefix}${CHECKPOINT} is not this log's (${(e as Error).message})`,
    );
  }
}

/** Copies a byte view into an ArrayBuffer of exactly its bytes. */
const exact = (b: Uint8Array): ArrayBuffer => b.slice().buffer as ArrayBuffer;

/**
 * Brings the bucket up to the reader's published head, tiles first and the checkpoint last (see the file
 * comment); returns the sizes published from and to. Throws BucketMismatchError (writing nothing) when the
 * bucket is another log's or ahead of this one.
 */
export async function publishToBucket(
  bucket: TileBucket,
  prefix: string,
  reader: LogReader,
  log: { origin: string; verifier: NoteVerifier },
): Promise<{ from: number; to: number }> {
  // The checkpoint served (a directory's cosigned epoch checkpoint, which may lag the head) decides what is
  // published: its tiles, then it.
  const checkpoint = reader.checkpoint();
  const size = parseCheckpoint(splitNote(utf8(checkpoint)).text, { allowExtensions: true }).size;
  const published = await publishedCheckpoint(bucket, prefix, log.origin, log.verifier);
  const from = published?.size ?? 0;
  if (from > size)
    throw new BucketMismatchError(`the bucket holds a tree of ${from} entries, more than this log's ${size}`);
  // Signed by this log's key, but is it this log's tree? (A log reset under the same key forks itself.)
  if (published && from > 0) {
    const ours = await withTileSource(
      async (t) => (await reader.tile(t))!,
      from,
      (r) => treeHash(from, r),
    );
    if (!equalBytes(ours, published.rootHash))
      throw new BucketMismatchError(`the bucket's tree of ${from} entries is not this log's: its root differs`);
  }
  if (from === size) return { from, to: size };
  for (const t of newTiles(from, size)) {
    const data = await reader.tile(t);
    if (data === null) throw new Error(`tile ${tilePath(t)} is missing below the published head`);
    await bucket.put(prefix + tilePath(t), exact(data));
  }
  for (let n = Math.floor(from / TILE_WIDTH); n * TILE_WIDTH < size; n++) {
    const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
    const data = await reader.entryBundle(n, width);
    if (data === null) throw new Error(`entry bundle ${n} is missing below the published head`);
    await bucket.put(prefix + entryBundlePath(n, width), exact(data));
  }
  await bucket.put(prefix + CHECKPOINT, checkpoint);
  return { from, to: size };
}

/**
 * Answers a GET of `/log/checkpoint` or `/log/tile/...` from the bucket with the same bytes and headers
 * as the app; null for anything else, a path the app would refuse (it answers with its error), or a key
 * the bucket does not have (the Durable Object answers).
 */
export async function serveFromBucket(bucket: TileBucket, prefix: string, request: Request): Promise<Response | null> {
  if (request.method !== 'GET') return null;
  const path = new URL(request.url).pathname;
  if (path === '/log/checkpoint') {
    const object = await bucket.get(prefix + CHECKPOINT);
    return object && checkpointResponse(await object.text());
  }
  if (!path.startsWith('/log/tile/')) return null;
  let ref;
  try {
    ref = parseTilePath(path.slice('/log/'.length));
  } catch {
    return null;
  }
  const object = await bucket.get(prefix + ('entries' in ref ? entryBundlePath(ref.n, ref.width) : tilePath(ref)));
  return (
    object && tileResponse(ref, new Uint8Array(await object.arrayBuffer()), request.headers.get('Accept-Encoding'))
  );
}
