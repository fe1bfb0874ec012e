/**
 * Chosen entries of a log over HTTP (C2SP tlog-tiles), for a reader that shows a few of them (the explorer's
 * epochs and enrolments) without following the whole log as the auditor does: each entry is read from its
 * entry bundle, and its inclusion proof in the tree of `size` is computed from the log's tiles. Nothing
 * fetched is trusted: the caller checks each entry with `verifyLogEntry` against the root of a checkpoint it
 * verified. Bundles and tiles are fetched once per call. I/O only through the `fetch` it is given.
 */
import { entryBundlePath, decodeEntryBundle, TILE_WIDTH } from '../formats/tiles.js';
import { proveRecord, recordHash, verifyInclusion, type Hash } from '../formats/tlog.js';
import { ClientError, relayedCode, VerifyError } from '../verification/errors.js';
import { withTiles } from './tile-fetch.js';
import { readBounded } from './bounded-body.js';
import { request, type Fetch } from './request.js';

/** An entry bundle holds at most 256 entries of at most 64 KiB each, with a 2-byte length each. */
const MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + 0xffff);

/** A log entry as fetched, with its inclusion proof: unverified until `verifyLogEntry`. */
export interface FetchedEntry {
  index: number;
  entry: Uint8Array;
  proof: Hash[];
}

/**
 * Entry bundle `n` of width `width` (256, or the partial last bundle's) below `logUrl`, decoded strictly: a
 * bundle that does not decode or holds another number of entries is `bad_bundle`; one that cannot be
 * fetched is a ClientError `unavailable`. The auditor reads the log through it too.
 */
export async function fetchEntryBundle(fetch: Fetch, logUrl: string, n: number, width: number): Promise<Uint8Array[]> {
  const path = entryBundlePath(n, width);
  const res = await request(fetch, `${logUrl}/${path}`);
  if (res.status !== 200) throw new ClientError('unavailable', `${logUrl}/${path}: HTTP ${res.status}`);
  const body = await readBounded(res, MAX_BUNDLE_BYTES);
  let entries: Uint8Array[];
  try {
    entries = decodeEntryBundle(body);
  } catch (e) {
    throw new VerifyError('bad_bundle', `${path}: ${(e as Error).message}`);
  }
  if (entries.length !== width)
    throw new VerifyError('bad_bundle', `${path} holds ${entries.length} entries, not ${width}`);
  return entries;
}

/** The entries of bundle `n` of the tree of `size`: the full bundle, or the partial last one. */
function fetchBundle(fetch: Fetch, logUrl: string, n: number, size: number): Promise<Uint8Array[]> {
  return fetchEntryBundle(fetch, logUrl, n, Math.min(TILE_WIDTH, size - n * TILE_WIDTH));
}

/**
 * Entries `indexes` (each below `size`) of the log below `logUrl` (its `/log` prefix), unverified, from their
 * bundles; `bundles` may be shared between calls on the same tree so that each bundle is fetched once.
 */
export async function readLogEntries(
  fetch: Fetch,
  logUrl: string,
  size: number,
  indexes: number[],
  bundles = new Map<number, Promise<Uint8Array[]>>(),
): Promise<Uint8Array[]> {
  for (const i of indexes)
    if (!Number.isSafeInteger(i) || i < 0 || i >= size)
      throw new VerifyError('bad_bundle', `entry ${i} is not in the tree of ${size} entries`);
  return Promise.all(
    indexes.map(async (i) => {
      const n = Math.floor(i / TILE_WIDTH);
      if (!bundles.has(n)) bundles.set(n, fetchBundle(fetch, logUrl, n, size));
      return (await bundles.get(n)!)[i % TILE_WIDTH];
    }),
  );
}

/** Entries `indexes` as `readLogEntries` gives them, each with its inclusion proof in the tree of `size`. */
export async function fetchLogEntries(
  fetch: Fetch,
  logUrl: string,
  size: number,
  indexes: number[],
  bundles = new Map<number, Promise<Uint8Array[]>>(),
): Promise<FetchedEntry[]> {
  const entries = await readLogEntries(fetch, logUrl, size, indexes, bundles);
  let proofs: Hash[][];
  try {
    proofs = await withTiles(fetch, logUrl, size, (r) => indexes.map((i) => proveRecord(size, i, r)));
  } catch (e) {
    // As the lookup client: a tile the log does not serve is the directory not answering; a malformed one is its fault.
    if (e instanceof VerifyError && e.code !== 'bad_tile') throw new ClientError(relayedCode(e.code), e.message);
    throw e;
  }
  return indexes.map((index, k) => ({ index, entry: entries[k], proof: proofs[k] }));
}

/** Checks a fetched entry against the root of the tree of `size` (a verified checkpoint's); throws `bad_bundle`. */
export function verifyLogEntry(e: FetchedEntry, size: number, root: Hash): Uint8Array {
  try {
    verifyInclusion(e.index, size, recordHash(e.entry), e.proof, root);
  } catch (err) {
    throw new VerifyError('bad_bundle', `entry ${e.index} is not in the signed tree: ${(err as Error).message}`);
  }
  return e.entry;
}
