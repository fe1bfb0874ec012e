/**
 * The directory's read routes answered by the Worker's isolate from the D1 replica, without the Durable Object
 * that writes it (docs/ARCHITECTURE.md, "The read path on the Worker"): `GET /v1/lookup/:provider/:account`,
 * `POST /v1/lookup` (batches and discovery), `GET /v1/history/...` and `GET /v1/monitor/...` (the daily check). The
 * isolate runs the same app as a Node reader process (`readerApp`, api/wiring/open-server.ts), its proofs from
 * `D1DirectoryReader` (d1-reader.ts) and its lookup limit from the limiter objects (lookup-limiter.ts), so the
 * answers, errors and charges are the sequencer's. The VRF proof of a name D1 does not know is computed here.
 *
 * The object is asked only when the replica cannot answer at all: no D1 binding, a replica without a servable epoch
 * (just bound, being refilled), or a failure of the read path (a D1 outage, a 500 or 503 of the read app; the
 * answer is then the object's, which charges its own bucket). A replica that lags answers its newest epoch, never forwards: a client
 * that saw a newer checkpoint takes it within the staleness bound it pins (docs/PROTOCOL.md section 10). The commitment of an
 * erased version comes from the log's entry bundle in R2, or from the object when no bucket is bound.
 */
import type { Hono } from 'hono';
import type { LogReader } from '../../log/merkle/reader.js';
import { inlineVrfProver } from '../../log/directory/vrf-prover.js';
import { CHECKPOINT_KEY } from '../../log/merkle/tile-publication.js';
import { entryBundlePath, TILE_WIDTH } from '../../verifier/formats/tiles.js';
import { getPath } from 'hono/utils/url';
import { vrfPublicKey } from '../../wasm-free-crypto/vrf.js';
import { RequestMetrics } from '../app/request-metrics.js';
import { readerApp } from '../wiring/open-server.js';
import { rateLimits } from '../wiring/rate-limits.js';
import { parseVrfSecretKey, settingsFromVars } from '../wiring/settings.js';
import { indexLayout, REPLICA_QUERIES, type IndexLayout } from './d1-layout.js';
import { D1DirectoryReader } from './d1-reader.js';
import { limiterShards, RemoteLookupLimit, type LimiterNamespace } from './lookup-limiter.js';
import { D1KeyTransDeployments } from './d1-keytrans-reader.js';
import { logSigner, SEQUENCER_NAME, type SequencerVars } from './sequencer-state.js';
import { workerLogger } from './worker-log.js';

/** The read routes, by method and path, with the route label /metrics counts them under. */
const READ_ROUTES: [string, RegExp, string][] = [
  ['GET', /^\/v1\/lookup\/[^/]+\/[^/]+$/, '/v1/lookup/:provider/:account'],
  ['POST', /^\/v1\/lookup$/, '/v1/lookup'],
  ['GET', /^\/v1\/history\/[^/]+\/[^/]+$/, '/v1/history/:provider/:account'],
  ['GET', /^\/v1\/monitor\/[^/]+\/[^/]+$/, '/v1/monitor/:provider/:account'],
  ['GET', /^\/keytrans\/v1\/anchor$/, '/keytrans/v1/anchor'],
  ['GET', /^\/keytrans\/v1\/[^/]+\/config$/, '/keytrans/v1/:provider/config'],
  ['POST', /^\/keytrans\/v1\/[^/]+\/search$/, '/keytrans/v1/:provider/search'],
  ['POST', /^\/keytrans\/v1\/[^/]+\/monitor$/, '/keytrans/v1/:provider/monitor'],
  ['POST', /^\/keytrans\/v1\/[^/]+\/owner\/init$/, '/keytrans/v1/:provider/owner/init'],
  ['POST', /^\/keytrans\/v1\/[^/]+\/owner\/monitor$/, '/keytrans/v1/:provider/owner/monitor'],
];

/**
 * The route label of a read request, or undefined for anything else. The path is read as Hono's router reads
 * it (`getPath`: percent-encoded characters decoded, but not those of reserved ones such as '/'), so that
 * every spelling of a read that the object's app would route as one (`/v1/%6cookup/...`) is answered here,
 * limited by the shared limiters, and never reaches the writer.
 */
export function readRoute(request: Request): string | undefined {
  const path = getPath(request);
  // HEAD is a GET without its body (Hono runs the GET route): answered here too, never by the writer.
  const asked = request.method === 'HEAD' ? 'GET' : request.method;
  return READ_ROUTES.find(([method, re]) => method === asked && re.test(path))?.[2];
}

export interface IsolateReadEnv extends SequencerVars {
  LOG: {
    idFromName(name: string): DurableObjectId;
    get(id: DurableObjectId): { fetch(request: Request): Promise<Response> };
  };
  TILES?: R2Bucket;
  TILES_PREFIX?: string;
  LIMITER?: LimiterNamespace;
  LIMITER_SHARDS?: string;
}

/** What an isolate needs to answer reads, built once per environment. */
interface IsolateReads {
  layout: IndexLayout;
  directory: D1DirectoryReader;
  app: Hono;
  /** Whether the replica has had a servable epoch (checked again on each request until it has). */
  ready: boolean;
}

const built = new WeakMap<object, IsolateReads | null>();

/** The log never reaches the read app (the isolate routes only the read routes to it). */
const NO_LOG: LogReader = new Proxy({} as LogReader, {
  get: () => () => {
    throw new Error('the isolate serves the log from R2 or the Durable Object, not from its read app');
  },
});

/**
 * The entry bundle `n` of at least `width` entries: from R2, as of the bucket's checkpoint (the bundle is full, or
 * the partial of the width it had then, which holds the entries asked for), else from the object.
 */
function entryBundleSource(env: IsolateReadEnv) {
  return async (n: number, width: number): Promise<Uint8Array | null> => {
    const prefix = env.TILES_PREFIX ?? '';
    const note = await (await env.TILES?.get(prefix + CHECKPOINT_KEY))?.text();
    const size = Number(note?.split('\n')[1]);
    const published = Number.isSafeInteger(size) ? Math.min(TILE_WIDTH, size - n * TILE_WIDTH) : 0;
    if (published >= width) {
      const object = await env.TILES?.get(prefix + entryBundlePath(n, published));
      if (object) return new Uint8Array(await object.arrayBuffer());
    }
    // A stub of this request's own (a stub is bound to the request that made it).
    const sequencer = env.LOG.get(env.LOG.idFromName(SEQUENCER_NAME));
    const res = await sequencer.fetch(new Request(`https://kt.internal/log/${entryBundlePath(n, width)}`));
    return res.ok ? new Uint8Array(await res.arrayBuffer()) : null;
  };
}

/**
 * The isolate's read app for `env`, or null when the Worker has no replica or limiter (the object answers
 * reads); its lookup limit counts refusals in `counts`, the isolate's (isolate-metrics.ts).
 */
function isolateReads(env: IsolateReadEnv, counts: RequestMetrics): IsolateReads | null {
  if (built.has(env)) return built.get(env)!;
  let reads: IsolateReads | null = null;
  const layout = env.KT_LOG_ONLY === '1' ? null : indexLayout(env);
  if (layout && env.LIMITER) {
    const settings = settingsFromVars(env);
    const vrfSecretKey = parseVrfSecretKey(env.VRF_SECRET_KEY, 'VRF_SECRET_KEY');
    const directory = new D1DirectoryReader({
      layout,
      vrfProver: inlineVrfProver(vrfSecretKey),
      entryBundle: entryBundleSource(env),
    });
    const lookupOpts = rateLimits(settings, counts).lookup.opts; // its refusals are the isolate's to hand over
    const lookupLimit = new RemoteLookupLimit(lookupOpts, env.LIMITER, limiterShards(env));
    const app = readerApp({
      reader: NO_LOG,
      signer: logSigner(env),
      directory,
      vrfPublicKey: vrfPublicKey(vrfSecretKey),
      settings,
      lookupLimit,
      logger: workerLogger,
      keytrans: settings.keytrans ? new D1KeyTransDeployments(layout, vrfSecretKey) : undefined,
    });
    reads = { layout, directory, app, ready: false };
  }
  built.set(env, reads);
  return reads;
}

/** The error code and message of an error answer's JSON body, read from a copy, as strings (empty when absent). */
async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const body = (await res
    .clone()
    .json()
    .catch(() => null)) as { error?: { code?: unknown; message?: unknown } } | null;
  return { code: String(body?.error?.code ?? ''), message: String(body?.error?.message ?? '') };
}

/**
 * The isolate's answer to a read request of `route` (`readRoute`), or null: no replica, the replica not servable
 * yet, or a failure of the read path (logged), which the object answers instead. A configuration error throws
 * (the object answers 503 `not_configured` for it). `counts`: the isolate's metrics, where refusals are counted.
 */
export async function answerRead(
  env: IsolateReadEnv,
  request: Request,
  route: string,
  counts: RequestMetrics,
): Promise<Response | null> {
  const reads = isolateReads(env, counts);
  if (!reads) return null;
  if (!reads.ready) {
    const head = await reads.layout.meta.prepare(REPLICA_QUERIES.servedHead).first<{ epoch: number }>();
    if (!head) return null;
    reads.directory.servable(head.epoch); // so that even the first read finds a database that went back
    reads.ready = true;
  }
  const res = await reads.app.fetch(request.clone(), {});
  if (res.status !== 500 && res.status !== 503) return res;
  const { code, message } = await errorOf(res);
  if (res.status === 503 && code === 'rate_limit_unavailable') return res; // never to the writer
  // 503: the replica has no servable epoch now (it is being refilled), kept changing, or has a database behind it
  // (restored: d1-rows.ts); the object answers, and the replica is checked again before the next read.
  if (res.status === 503) reads.ready = false;
  workerLogger.warn('d1_read_failed', { route, status: res.status, code, message, answeredBy: 'sequencer' });
  return null;
}
