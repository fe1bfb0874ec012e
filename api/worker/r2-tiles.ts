/**
 * The Worker's answers from the R2 bucket the Durable Object publishes the log to
 * (log/merkle/tile-publication.ts): `GET /log/checkpoint` and `/log/tile/...` are served straight from the
 * bucket, with the same bytes and headers as the app, without asking the single-threaded object (each
 * isolate still hands its request counts to it, at most once a minute, for /metrics: api/worker/worker.ts). A key
 * the bucket lacks (a partial tile of a skipped checkpoint, an epoch not yet copied) is answered by the
 * object, which serves every published width.
 */
import { CHECKPOINT_KEY, type TileBucket } from '../../log/merkle/tile-publication.js';
import { entryBundlePath, parseTilePath, tilePath } from '../../verifier/formats/tiles.js';
import { checkpointResponse, requestPath, tileResponse } from '../app/app.js';
import type { GzipCache } from '../app/compression.js';

/**
 * Answers a GET of `/log/checkpoint` or `/log/tile/...` from the bucket with the same bytes and headers
 * as the app, a full entry bundle's gzip from the isolate's `cache` (keyed by the object's key and etag, so
 * that a bucket rewritten under the same key is never answered from the cache); null for anything else, a path the app would refuse (it answers with its error), or a key
 * the bucket does not have (the Durable Object answers). The path is the request URL's as text: a URL parser would
 * resolve dot segments (`%2e%2e` too) into a canonical path, and a non-canonical one is refused, not served.
 */
export async function serveFromBucket(
  bucket: TileBucket,
  prefix: string,
  request: Request,
  cache?: GzipCache,
): Promise<Response | null> {
  if (request.method !== 'GET') return null;
  // Read as text, never re-parsed: a path that is not canonical as it reaches the Worker is the app's to refuse.
  const path = requestPath(request.url);
  if (path === '/log/checkpoint') {
    const object = await bucket.get(prefix + CHECKPOINT_KEY);
    return object && checkpointResponse(await object.text());
  }
  if (!path.startsWith('/log/tile/')) return null;
  let ref;
  try {
    ref = parseTilePath(path.slice('/log/'.length));
  } catch {
    return null;
  }
  const key = prefix + ('entries' in ref ? entryBundlePath(ref.n, ref.width) : tilePath(ref));
  const object = await bucket.get(key);
  if (!object) return null;
  const etag = (object as { etag?: unknown }).etag; // R2's objects have one
  const once = cache && typeof etag === 'string' ? { cache, key: `${key}#${etag}` } : undefined;
  return tileResponse(ref, new Uint8Array(await object.arrayBuffer()), request.headers.get('Accept-Encoding'), once);
}
