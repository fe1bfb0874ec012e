/**
 * The log published to a bucket (R2 on the Worker) as a static C2SP tlog-tiles tree, so that log readers
 * (monitors, auditors, witnesses, anyone fetching tiles) can be served from the bucket without asking the
 * log's single writer (api/worker/r2-tiles.ts serves them). The writer stays the source of truth: it
 * commits every batch to its own storage first (atomically with the directory's indexes), then copies what
 * changed to the bucket under `<prefix>tile/...` and `<prefix>checkpoint` (the tlog-tiles paths below the
 * log's URL).
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
 * Partial tiles of checkpoints skipped by a catch-up are not in the bucket: readers of the bucket fall
 * back to the log itself, which serves every width.
 *
 * The bucket is described structurally (the part of `R2Bucket` used), so this runs anywhere.
 */
import { equalBytes, utf8 } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { openNote, splitNote, type NoteVerifier } from '../../wasm-free-crypto/note.js';
import { parseCheckpoint } from '../../verifier/formats/checkpoint.js';
import { entryBundlePath, newTiles, TILE_WIDTH, tilePath, withTileSource } from '../../verifier/formats/tiles.js';
import { treeHash } from '../../verifier/formats/tlog.js';
import type { LogReader } from './reader.js';

/** The part of an object body used here (R2's, or any bucket's). */
export interface BucketObject {
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
}

/** The part of a bucket used here (`R2Bucket` has it). */
export interface TileBucket {
  get(key: string): Promise<BucketObject | null>;
  put(key: string, value: ArrayBuffer | string): Promise<unknown>;
}

/** The bucket holds another log's checkpoint, or a larger tree than this log: nothing is published. */
export class BucketMismatchError extends CodedError<'bucket_mismatch'> {
  override readonly name = 'BucketMismatchError';
  constructor(message: string) {
    super('bucket_mismatch', message);
  }
}

/** The checkpoint's key below the prefix; tiles are under `tile/` as in the tlog-tiles URL space. */
export const CHECKPOINT_KEY = 'checkpoint';

/** The checkpoint in the bucket (null if none), checked to be signed by this log's key for its origin. */
async function publishedCheckpoint(
  bucket: TileBucket,
  prefix: string,
  origin: string,
  verifier: NoteVerifier,
): Promise<{ size: number; rootHash: Uint8Array } | null> {
  const object = await bucket.get(prefix + CHECKPOINT_KEY);
  if (object === null) return null;
  try {
    const text = openNote(await object.text(), [verifier]).text;
    const checkpoint = parseCheckpoint(text, { allowExtensions: true });
    if (checkpoint.origin !== origin) throw new Error(`origin ${JSON.stringify(checkpoint.origin)}`);
    return checkpoint;
  } catch (e) {
    throw new BucketMismatchError(
      `the bucket's checkpoint at ${prefix}${CHECKPOINT_KEY} is not this log's (${(e as Error).message})`,
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
  await bucket.put(prefix + CHECKPOINT_KEY, checkpoint);
  return { from, to: size };
}
