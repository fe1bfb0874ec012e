/**
 * The HTTP API as one Hono app built by `createApp(deps)`, the same on Node and on Workers. Serves the
 * C2SP tlog-tiles read API under `/log` (checkpoint, tiles, entry bundles), `GET /v1/config` with the
 * trust pins, `GET /healthz`, Prometheus `GET /metrics` and, when a directory is given, its routes
 * (api/app/directory-routes.ts). Browsers may read the log, the config and the OpenAPI document from any
 * origin, and the lookup routes from the origins the policy lists (api/app/cors.ts). Every error is JSON
 * `{"error":{"code","message"}}` with a fitting status; internal errors are answered with a generic message
 * and logged as one JSON line (api/app/logger.ts) with the request's id and route pattern, never its path
 * or data. Every answer carries the request's id (api/app/request-id.ts).
 */
import { explorerRoutes, type ExplorerAssets } from './explorer-routes.js';
import { Hono, type Context } from 'hono';
import type { LogReader } from '../../log/merkle/reader.js';
import { parseTilePath, TILE_WIDTH, type EntryBundleRef, type Tile } from '../../verifier/formats/tiles.js';
import { corsPolicy, type CorsPolicy } from './cors.js';
import { directoryRoutes, type DirectoryRouteOptions } from './directory-routes.js';
import { keyTransRoutes, type KeyTransRouteOptions } from './keytrans-routes.js';
import { accessLog } from './access-log.js';
import { acceptsGzip, gzip, GzipCache } from './compression.js';
import { EpochDurations } from './epoch-metrics.js';
import { errorResponse } from './errors.js';
import { consoleLogger, errorFields, type Logger } from './logger.js';
import { requestIdOf, requestIds } from './request-id.js';
import { labelValue, methodLabel, RequestMetrics, requestMetrics, routeLabel } from './request-metrics.js';
import { openApiDocument } from './openapi.js';

export interface AppConfig {
  /** The checkpoint origin. */
  origin: string;
  /** The log's C2SP verifier key string. */
  logKey: string;
  /** The directory's VRF public key (base64), when a directory is served. */
  vrfKey?: string;
  /** Witness cosigner keys (verifier key strings) and how many must cosign. */
  witnesses?: string[];
  witnessQuorum?: number;
  epochIntervalMs?: number;
  heartbeatMs?: number;
  /** Enrolled provider credentials, as of the request. */
  providers?: () => {
    providerId: string;
    fingerprint: string;
    algorithm: string;
    notBefore: number;
    notAfter: number;
    revoked: boolean;
    /** Log index of the enrolment entry, and of its revocation entry (null while not revoked). */
    logIndex: number;
    revokedIndex: number | null;
  }[];
}

/** Gauges for /metrics, read at scrape time. */
export interface AppMetrics {
  queueDepth?: () => number;
  lastEpochSeconds?: () => number;
  epoch?: () => number;
  /** Seconds since the epoch the served checkpoint ends with (undefined before the first epoch). */
  checkpointAgeSeconds?: () => number | undefined;
  /** Submissions to each witness (by URL) that brought no cosignature. */
  witnessFailures?: () => ReadonlyMap<string, number>;
  /** How long each closed epoch took (api/app/epoch-metrics.ts). */
  epochDurations?: EpochDurations;
}

export interface AppDeps {
  reader: LogReader;
  config: AppConfig;
  directory?: DirectoryRouteOptions;
  /** The providers' KEYTRANS deployments (api/app/keytrans-routes.ts); none: no KEYTRANS routes. */
  keytrans?: KeyTransRouteOptions;
  metrics?: AppMetrics;
  /** Request counts and time for /metrics (default: the app's own); the Worker adds the answers it gives itself. */
  requests?: RequestMetrics;
  /** What degrades the service now, for /healthz (none: healthy). */
  health?: () => string[];
  /** The structured log internal errors are reported to (default: JSON lines on console.error). */
  logger?: Logger;
  /** Log one `request` event per request (api/app/access-log.ts; default: no). */
  accessLog?: boolean;
  /** The gzip of full entry bundles, compressed once (default: a cache of GZIP_CACHE_BYTES). */
  gzipCache?: GzipCache;
  /** Who may read what from a browser (default: the public routes only, no lookup origin). */
  cors?: CorsPolicy;
  /** The explorer page's files, served at `/` with a directory (api/app/explorer-routes.ts); none: no page. */
  explorer?: ExplorerAssets;
}

/** Full and partial tiles and bundles never change once served (tlog-tiles: "immutable"). */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The checkpoint changes with every batch: clients may cache it for a moment only. */
const SHORT_LIVED = 'public, max-age=1, must-revalidate';

/**
 * The path of a request URL or request target, read as text (up to `?` or `#`), never parsed as a URL: a URL
 * parser resolves dot segments, `%2e%2e` included, which would turn a path the protocol refuses into another one.
 */
export function requestPath(url: string): string {
  let start = 0;
  if (url[0] !== '/') {
    // An absolute URL (or absolute-form target): the path starts after the authority, if at all.
    const scheme = url.indexOf('://');
    if (scheme === -1) return '/';
    start = scheme + 3;
    while (start < url.length && url[start] !== '/' && url[start] !== '?' && url[start] !== '#') start++;
    if (url[start] !== '/') return '/';
  }
  let end = start;
  while (end < url.length && url[end] !== '?' && url[end] !== '#') end++;
  return url.slice(start, end);
}

/**
 * The path as the client sent it, before any normalisation. On Node, @hono/node-server hands the app Node's
 * request as `c.env.incoming`, whose `url` is the raw request target (the URL of the Request it builds has dot
 * segments resolved); elsewhere (Workers, `app.request`) the Request's URL as given, read as text.
 */
function rawPath(c: Context): string {
  const incoming = (c.env as { incoming?: { url?: unknown } } | undefined)?.incoming;
  return requestPath(typeof incoming?.url === 'string' ? incoming.url : c.req.url);
}

/** Serves one tile or entry bundle path below `/log/`; full bundles' gzip comes from `cache`. */
async function serveTilePath(c: Context, reader: LogReader, path: string, cache: GzipCache): Promise<Response> {
  let ref;
  try {
    ref = parseTilePath(path);
  } catch (e) {
    return errorResponse('bad_tile_path', (e as Error).message);
  }
  const data = 'entries' in ref ? await reader.entryBundle(ref.n, ref.width) : await reader.tile(ref);
  if (data === null) return errorResponse('not_found', `${path} is not part of the published tree`);
  return tileResponse(ref, data, c.req.header('Accept-Encoding'), { cache, key: path });
}

/**
 * The response for the bytes of a tile or entry bundle: immutable caching, and entry bundles compressed
 * with gzip when the client accepts it: a full bundle's gzip from `once.cache` under `once.key` (it never
 * changes), a partial one's compressed for each request (it grows). Tiles are hashes, which do not
 * compress, and are sent as they are. Shared with the Worker, which serves the same bytes from R2.
 */
export async function tileResponse(
  ref: Tile | EntryBundleRef,
  data: Uint8Array,
  acceptEncoding: string | null | undefined,
  once?: { cache: GzipCache; key: string },
): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', 'Cache-Control': IMMUTABLE };
  if ('entries' in ref) {
    headers.Vary = 'Accept-Encoding';
    if (acceptsGzip(acceptEncoding ?? undefined)) {
      const encoded = { ...headers, 'Content-Encoding': 'gzip' };
      if (!once || ref.width !== TILE_WIDTH) return new Response(gzip(data), { headers: encoded });
      const body = await once.cache.gzip(once.key, data);
      return new Response(body as Uint8Array<ArrayBuffer>, { headers: encoded });
    }
  }
  return new Response(data as Uint8Array<ArrayBuffer>, { headers });
}

/** The response for the signed checkpoint (shared with the Worker's R2 path). */
export function checkpointResponse(checkpoint: string): Response {
  return new Response(checkpoint, {
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': SHORT_LIVED },
  });
}

/** Builds the app. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const requests = deps.requests ?? new RequestMetrics();
  const logger = deps.logger ?? consoleLogger;
  const gzipCache = deps.gzipCache ?? new GzipCache();
  app.use('*', requestIds());
  if (deps.accessLog) app.use('*', accessLog(logger));
  app.use('*', requestMetrics(requests));
  app.use('*', corsPolicy(deps.cors ?? { lookupOrigins: [] }));

  // The log's routes read the raw path, not Hono's (decoded) nor the URL parser's (dot segments resolved): a path
  // that is not canonical as sent is refused (docs/PROTOCOL.md section 6), never normalised into another one.
  app.get('/log/checkpoint', (c) =>
    rawPath(c) === '/log/checkpoint'
      ? checkpointResponse(deps.reader.checkpoint())
      : errorResponse('not_found', 'the path is not canonical (dot segments or percent-encoding)'),
  );
  app.get('/log/tile/*', (c) => {
    const path = rawPath(c);
    if (!path.startsWith('/log/tile/'))
      return errorResponse('not_found', 'the path is not canonical (dot segments or percent-encoding)');
    return serveTilePath(c, deps.reader, path.slice('/log/'.length), gzipCache);
  });
  app.get('/v1/config', (c) => c.json(configJson(deps.config)));
  // Degraded is still 200: the log and lookups are served; monitoring reads `ok` and the reasons.
  app.get('/healthz', (c) => {
    const degraded = deps.health?.() ?? [];
    const treeSize = deps.reader.size();
    return c.json(degraded.length === 0 ? { ok: true, treeSize } : { ok: false, degraded, treeSize });
  });
  app.get('/metrics', (c) =>
    c.text(metricsText(deps, requests, gzipCache), 200, { 'Content-Type': 'text/plain; version=0.0.4' }),
  );
  app.get('/openapi.json', (c) => c.json(openApiDocument({ origin: deps.config.origin })));
  if (deps.directory) directoryRoutes(app, deps.directory, logger);
  if (deps.keytrans) keyTransRoutes(app, deps.keytrans);
  if (deps.directory && deps.explorer) explorerRoutes(app, deps.explorer);

  app.notFound((c) => errorResponse('not_found', `no route for ${c.req.method} ${c.req.path}`));
  // Anything a route did not answer itself: an untyped error, an internal code or one the table lacks.
  app.onError((err, c) => {
    logger.error('internal_error', {
      requestId: requestIdOf(c),
      method: methodLabel(c.req.method),
      route: routeLabel(c),
      ...errorFields(err),
    });
    return errorResponse('internal', 'internal error');
  });
  return app;
}

function configJson(cfg: AppConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { origin: cfg.origin, logKey: cfg.logKey };
  if (cfg.vrfKey !== undefined) {
    Object.assign(out, {
      vrfKey: cfg.vrfKey,
      witnesses: cfg.witnesses ?? [],
      witnessQuorum: cfg.witnessQuorum ?? 0,
      epochIntervalMs: cfg.epochIntervalMs,
      heartbeatMs: cfg.heartbeatMs,
      providers: cfg.providers?.() ?? [],
    });
  }
  return out;
}

/** Prometheus text exposition: gauges, request counts and request time, epoch durations, the gzip cache. */
function metricsText(deps: AppDeps, requests: RequestMetrics, gzipCache: GzipCache): string {
  const lines = ['# TYPE kt_tree_size gauge', `kt_tree_size ${deps.reader.size()}`];
  const m = deps.metrics ?? {};
  if (m.queueDepth) lines.push('# TYPE kt_queue_depth gauge', `kt_queue_depth ${m.queueDepth()}`);
  if (m.epoch) lines.push('# TYPE kt_epoch gauge', `kt_epoch ${m.epoch()}`);
  if (m.lastEpochSeconds)
    lines.push('# TYPE kt_epoch_commit_seconds gauge', `kt_epoch_commit_seconds ${m.lastEpochSeconds()}`);
  const failures = m.witnessFailures?.();
  if (failures) {
    lines.push('# TYPE kt_witness_failures_total counter');
    for (const [url, n] of failures) lines.push(`kt_witness_failures_total{witness="${labelValue(url)}"} ${n}`);
  }
  const age = m.checkpointAgeSeconds?.();
  if (age !== undefined) lines.push('# TYPE kt_checkpoint_age_seconds gauge', `kt_checkpoint_age_seconds ${age}`);
  if (m.epochDurations) lines.push(...m.epochDurations.text());
  lines.push(...gzipCache.text());
  lines.push(...requests.text(), ...requests.rateLimited.text());
  return `${lines.join('\n')}\n`;
}
