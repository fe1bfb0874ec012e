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
 * A long catch-up (a large log first given a bucket) is cut into calls of a bounded number of writes, each
 * continuing where the last stopped (`PublicationProgress`), so that no single call runs for long.
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
 * How far a publication cut short by its write budget got: the tiles and entry bundles of the tree between
 * `from` (the size of the bucket's checkpoint then) and `upTo` are in the bucket, the checkpoint is not yet.
 */
export interface PublicationProgress {
  from: number;
  upTo: number;
}

/** Writes one call makes by default before it stops at a step's end (see `publishToBucket`). */
export const PUBLICATION_WRITES = 1_000;

/**
 * Brings the bucket up to the reader's published head, tiles first and the checkpoint last (see the file
 * comment); returns the sizes published from and to. Throws BucketMismatchError (writing nothing) when the
 * bucket is another log's or ahead of this one.
 *
 * The work is bounded: it goes in steps of whole entry bundles (up to 256 of them, fewer for a smaller
 * `maxWrites`), and once a step has brought the writes to `maxWrites` with more to go it stops and returns
 * `next` (with `to` equal to `from`: the checkpoint is not written). Passed back as `resume`, it continues from
 * there, provided the bucket's checkpoint has not moved meanwhile (else it starts again from the checkpoint:
 * every key's bytes are fixed, so writing one again is harmless). The union of the tiles that changed in each
 * step is the set of tiles that changed over the whole span, so the bucket is complete once the last step's
 * checkpoint is written.
 */
export async function publishToBucket(
  bucket: TileBucket,
  prefix: string,
  reader: LogReader,
  log: { origin: string; verifier: NoteVerifier },
  options: { maxWrites?: number; resume?: PublicationProgress } = {},
): Promise<{ from: number; to: number; next?: PublicationProgress }> {
  // The checkpoint served (a directory's cosigned epoch checkpoint, which may lag the head) decides what is
  // published: its tiles, then it.
  const checkpoint = reader.checkpoint();
  const size = parseCheckpoint(splitNote(utf8(checkpoint)).text, { allowExtensions: true }).size;
  const from = await checkedPublishedSize(bucket, prefix, reader, log, size);
  if (from === size) return { from, to: size };
  const maxWrites = options.maxWrites ?? PUBLICATION_WRITES;
  const span = TILE_WIDTH * Math.min(TILE_WIDTH, Math.max(1, Math.floor(maxWrites / 2)));
  const resume = options.resume;
  let start = resume && resume.from === from && resume.upTo <= size ? resume.upTo : from;
  let writes = 0;
  while (start < size) {
    const end = Math.min(size, (Math.floor(start / span) + 1) * span);
    writes += await publishSpan(bucket, prefix, reader, start, end);
    start = end;
    if (start < size && writes >= maxWrites) return { from, to: from, next: { from, upTo: start } };
  }
  await bucket.put(prefix + CHECKPOINT_KEY, checkpoint);
  return { from, to: size };
}

/** The size of the bucket's checkpoint (0 if none), checked to be this log's tree and no larger than `size`. */
async function checkedPublishedSize(
  bucket: TileBucket,
  prefix: string,
  reader: LogReader,
  log: { origin: string; verifier: NoteVerifier },
  size: number,
): Promise<number> {
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
  return from;
}

/** Writes the tiles that changed between sizes `start` and `end`, and the entry bundles they cover; returns how many. */
async function publishSpan(
  bucket: TileBucket,
  prefix: string,
  reader: LogReader,
  start: number,
  end: number,
): Promise<number> {
  let writes = 0;
  for (const t of newTiles(start, end)) {
    const data = await reader.tile(t);
    if (data === null) throw new Error(`tile ${tilePath(t)} is missing below the published head`);
    await bucket.put(prefix + tilePath(t), exact(data));
    writes++;
  }
  for (let n = Math.floor(start / TILE_WIDTH); n * TILE_WIDTH < end; n++) {
    const width = Math.min(TILE_WIDTH, end - n * TILE_WIDTH);
    const data = await reader.entryBundle(n, width);
    if (data === null) throw new Error(`entry bundle ${n} is missing below the published head`);
    await bucket.put(prefix + entryBundlePath(n, width), exact(data));
    writes++;
  }
  return writes;
}
