/**
 * The Cloudflare Worker entry. One Durable Object, `LogSequencer` (the instance named "log"), owns the
 * log and the directory: it is the single writer (a Durable Object runs one instance at a time,
 * single-threaded), keeps the log's tiles, entry bundles and head and the directory's indexes in its own
 * SQLite storage, closes epochs from its alarm (epoch-alarm.ts) and serves the same Hono app as the Node
 * server, wired the same way from its secrets and vars (sequencer-state.ts, api/wiring/open-server.ts).
 * The Worker's `fetch` forwards every request to that instance, its body read first (at most 2 MiB, the
 * largest any route takes; larger is a 413 `too_large` without involving the object: forwarding.ts).
 * Checkpoints are byte-identical to Node's for the same entries and key: the appender, the tile code and
 * Ed25519 signing are the same pure code, and Ed25519 signatures are deterministic; the directory's proofs
 * are built and encoded by the same code as on Node.
 *
 * Configuration: the Worker's secrets and vars (README's "Settings", wrangler.toml, sequencer-state.ts). A
 * missing or wrong one makes every request answer 503 `not_configured` (no secret is ever echoed); a log
 * or directory that fails its checks on opening (say, a changed key) answers 503 `log_unavailable`.
 *
 * R2 (optional binding `TILES`, key prefix `TILES_PREFIX`): the object publishes the log to the bucket as
 * a static C2SP tlog-tiles tree after each epoch (log/merkle/tile-publication.ts: tiles first, checkpoint
 * last), and the Worker's `fetch` answers `/log/checkpoint` and `/log/tile/...` from the bucket without
 * involving the object (r2-tiles.ts); a key the bucket lacks (a partial tile of a skipped checkpoint, an
 * epoch not yet copied) is answered by the object, which serves every published width.
 *
 * D1 (optional bindings `INDEX`, and `INDEX_1` ... with `INDEX_SHARDS`): every epoch's writes also go to an
 * outbox in the object's own transaction, and the alarm replicates them to D1 (d1-layout.ts, d1-replica.ts).
 * The Worker's isolate then answers lookups, batches, discovery, histories and daily checks from D1 alone,
 * charging them to the limiter objects (`LIMITER`, lookup-limiter.ts), without the writer object
 * (isolate-reads.ts, d1-reader.ts); the object answers them only before D1 has a servable epoch, or when the
 * read path fails. The object reads its own accounts, versions and names through D1 too, its outbox laid over
 * them (replicated-store.ts).
 *
 * The explorer page (optional binding `ASSETS`, wrangler.toml's `[assets]`): the Worker answers `/`,
 * `/explorer.js` and `/explorer.css` itself, without involving the object, with the Node server's headers
 * (explorer-assets.ts).
 *
 * Metrics: what the Worker answers itself (from R2, D1 or the static assets) is counted in the isolate and
 * handed to the object's /metrics (isolate-metrics.ts). Full entry bundles served from R2 are gzipped once
 * per isolate (api/app/compression.ts).
 *
 * Logs and request ids: the isolate gives each request its id (api/app/request-id.ts) and forwards it to the
 * object, whose app keeps it; every answer carries it. Both log JSON lines through `console.log`
 * (worker-log.ts).
 *
 * CORS: what the Worker answers itself carries the headers the object's app would give it, by the same policy
 * (api/app/cors.ts) and the same var (`LOOKUP_ORIGINS`), and the Worker answers the preflights that policy
 * grants without waking the object; refused preflights go to the object, which answers them 404.
 *
 * This module exports only the handler and the Durable Object classes (and types): workerd refuses a main
 * module with any other runtime export.
 */
import { DurableObject } from 'cloudflare:workers';
import { PUBLICATION_WRITES, publishToBucket, type PublicationProgress } from '../../log/merkle/tile-publication.js';
import { logRequest } from '../app/access-log.js';
import { GzipCache } from '../app/compression.js';
import { corsPreflight, withCors, type CorsPolicy } from '../app/cors.js';
import { errorFields } from '../app/logger.js';
import { REQUEST_ID_HEADER, requestIdFor, withRequestId } from '../app/request-id.js';
import { UNMATCHED_ROUTE, type RefusalCounts, type RequestMetricsRow } from '../app/request-metrics.js';
import { ConfigError, settingFromVars } from '../wiring/settings.js';
import { indexLayout } from './d1-layout.js';
import { REFILL_BUDGET } from './d1-refill.js';
import { REPLICATION_EPOCHS, type ReplicationBudget } from './d1-replica.js';
import { armAlarm, runEpochAlarm } from './epoch-alarm.js';
import { serveExplorer } from './explorer-assets.js';
import { bufferedRequest, passEncodedBody, unavailable } from './forwarding.js';
import { IsolateRequests } from './isolate-metrics.js';
import { serveFromBucket } from './r2-tiles.js';
import { answerRead, readRoute } from './isolate-reads.js';
import type { LookupLimiterObject } from './lookup-limiter.js';
import {
  objectKeepsAll,
  openSequencerState,
  SEQUENCER_NAME,
  type SequencerState,
  type SequencerVars,
} from './sequencer-state.js';
import { workerLogger } from './worker-log.js';

export interface Env extends SequencerVars {
  LOG: DurableObjectNamespace<LogSequencer>;
  /** Optional R2 bucket the log is published to and read from (r2-tiles.ts). */
  TILES?: R2Bucket;
  /** Key prefix of the log in TILES (default none: the bucket holds one log). */
  TILES_PREFIX?: string;
  /**
   * Optional D1 databases the directory is replicated to, for the Worker's reads (d1-layout.ts): `INDEX` (the
   * meta database and shard 0) and, with `INDEX_SHARDS` = n > 1, the shards `INDEX_1` ... `INDEX_{n-1}`.
   */
  INDEX?: D1Database;
  INDEX_SHARDS?: string;
  [shard: `INDEX_${number}`]: D1Database | undefined;
  /** The lookup limiter objects (lookup-limiter.ts), needed for the Worker's own reads; `LIMITER_SHARDS` of them. */
  LIMITER?: DurableObjectNamespace<LookupLimiterObject>;
  LIMITER_SHARDS?: string;
  /** Optional static assets: the built explorer page, served by the Worker (explorer-assets.ts). */
  ASSETS?: Fetcher;
}

/** What one catch-up with R2 and D1 does at most: bucket writes, rows of a D1 refill, epochs replicated. */
export type CatchUpBudget = ReplicationBudget & { writes: number };
/** On opening, inside blockConcurrencyWhile: a few seconds' work at most. */
const OPENING_BUDGET: CatchUpBudget = { writes: 100, refillRows: 2_000, epochs: 16 };
/** Per alarm (a long catch-up runs alarm after alarm, each set to fire at once). */
const ALARM_BUDGET: CatchUpBudget = {
  writes: PUBLICATION_WRITES,
  refillRows: REFILL_BUDGET,
  epochs: REPLICATION_EPOCHS,
};

/** The single-writer sequencer: owns the log and the directory and serves the API. */
export class LogSequencer extends DurableObject<Env> {
  /** What it serves from; protected for the log test project's Worker (test/api/worker/log-only-worker.ts). */
  protected state: SequencerState | undefined;
  private failure: Response | undefined;
  /** The tree size last published to R2 by this instance (an epoch without new entries skips the bucket). */
  private publishedSize = -1;
  /**
   * How far a publication cut short by its write budget got (kept in memory only: after a reset the next one
   * starts again from the bucket's checkpoint, rewriting tiles whose bytes are fixed).
   */
  private publication: PublicationProgress | undefined;
  /** The catch-up run under way, or the last one's settled promise (`catchUp`). */
  private catchingUp: Promise<unknown> = Promise.resolve();
  /** Requests and RPCs this instance was sent (the tests check that the Worker's reads send none). */
  protected invocations = 0;
  /** `OBJECT_STORAGE` "full": this object keeps its copies of what R2 and D1 hold (sequencer-state.ts). */
  private keepsAll = true;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // No request or alarm is delivered before the log is open (or known to be misconfigured).
    void ctx.blockConcurrencyWhile(async () => {
      try {
        const replica = indexLayout(env) ?? undefined; // a malformed shard setting: not configured
        this.keepsAll = objectKeepsAll(env);
        const bucket = env.TILES && { bucket: env.TILES, prefix: env.TILES_PREFIX ?? '' };
        const state = await openSequencerState(ctx.storage, ctx.storage, env, { replica, bucket });
        if (state.directory) await armAlarm(state.directory, state.settings, ctx.storage);
        this.state = state;
        // A short catch-up with R2 and D1 (what an object reset in the middle of its alarm left); a longer one is
        // the alarm's, a bounded run at a time: workerd and Cloudflare reset an object whose
        // blockConcurrencyWhile runs past 30 s, which a large log's whole catch-up would.
        if (await this.catchUp(OPENING_BUDGET)) await this.catchUpSoon();
      } catch (e) {
        // A configuration error is the operator's to fix; anything else (a corrupt log) is logged, not served.
        if (e instanceof ConfigError) this.failure = unavailable('not_configured', e.message);
        else {
          workerLogger.error('log_open_failed', errorFields(e));
          this.failure = unavailable('log_unavailable', 'the log could not be opened');
        }
      }
    });
  }

  override async fetch(request: Request): Promise<Response> {
    this.invocations++;
    return this.serve(request, {});
  }

  /** The app's answer to `request`, with `env` as its environment; 503 while the log is not open. */
  private async serve(request: Request, env: Record<string, unknown>): Promise<Response> {
    if (!this.state) return (this.failure ?? unavailable('log_unavailable', 'the log is not open')).clone();
    return passEncodedBody(await this.state.app.fetch(request, env));
  }

  /**
   * Closes an epoch when work is queued or the heartbeat is due, and re-arms (epoch-alarm.ts); then
   * publishes the log to R2, which also retries a publication that failed before, and replicates to D1. Each
   * of these does a bounded amount of work per run; while either has more to do (a long catch-up), the alarm is
   * set to run again at once, ahead of the epoch schedule it keeps otherwise.
   */
  override async alarm(): Promise<void> {
    if (this.state?.directory) await runEpochAlarm(this.state.directory, this.state.settings, this.ctx.storage);
    if (await this.catchUp(ALARM_BUDGET)) await this.catchUpSoon();
  }

  /**
   * Publishes to R2 and replicates to D1, each within `budget`; returns whether either has more to do. One run at
   * a time: a run asked for while another is under way starts after it (a refill or a publication must not run
   * twice at once; the runtime never overlaps alarms, but a run on opening or the bench's may meet one).
   */
  protected catchUp(budget: CatchUpBudget = ALARM_BUDGET): Promise<boolean> {
    const run = this.catchingUp.then(async () => {
      const publishing = await this.publish(budget.writes);
      const replicating = await this.replicate(budget);
      return publishing || replicating;
    });
    this.catchingUp = run.catch(() => false);
    return run;
  }

  /** Sets the alarm to run now, unless it is already due. */
  private async catchUpSoon(): Promise<void> {
    const now = Date.now();
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > now) await this.ctx.storage.setAlarm(now);
  }

  /**
   * Copies the epochs in the outbox to D1 (d1-replica.ts), if a database is bound, then, with `OBJECT_STORAGE`
   * "edge", deletes a chunk of this object's rows that D1 now holds (object-trim.ts); returns whether a refill
   * of D1 is still under way (d1-refill.ts: one chunk of it per run). A failure is logged, not thrown: the
   * Worker's lookups fall back to this object while D1 lags, and the next alarm tries again.
   */
  private async replicate(budget?: ReplicationBudget): Promise<boolean> {
    if (!this.state?.replica) return false;
    try {
      const { refilling, more } = await this.state.replica.replicate(budget);
      if (!this.keepsAll && !refilling) await this.state.replica.trim();
      return more;
    } catch (e) {
      workerLogger.error('d1_replication_failed', errorFields(e));
      return false;
    }
  }

  /**
   * RPC: adds the requests a Worker isolate answered itself (R2, D1), and the lookups its limit refused, to
   * this object's /metrics.
   */
  async addRequestMetrics(rows: RequestMetricsRow[], refused: RefusalCounts = {}): Promise<void> {
    this.invocations++;
    if (!this.state) throw new Error('the log is not open'); // the isolate keeps its counts
    this.state.requests.mergeCounts({ rows, refused });
  }

  /**
   * Copies what the log committed since the bucket's checkpoint to R2 (log/merkle/tile-publication.ts), if
   * a bucket is bound, then deletes a chunk of this object's copies of the full tiles the bucket's checkpoint
   * now covers (bucket-backed-log.ts); returns whether the publication stopped at its write budget with more to
   * copy (the next call goes on from there: `publication`). A failure is logged, not thrown: the log itself is
   * committed, reads fall back to this object, and the next epoch (or append) publishes again.
   */
  protected async publish(maxWrites?: number): Promise<boolean> {
    if (!this.env.TILES || !this.state || this.state.reader.size() === this.publishedSize) return false;
    try {
      const { to, next } = await publishToBucket(
        this.env.TILES,
        this.env.TILES_PREFIX ?? '',
        this.state.reader,
        this.state,
        { maxWrites, resume: this.publication },
      );
      this.publication = next;
      if (next) return true;
      if (!this.keepsAll) this.state.tiles?.trimPublished(to);
      this.publishedSize = to;
    } catch (e) {
      this.publication = undefined;
      workerLogger.error('r2_publication_failed', errorFields(e));
    }
    return false;
  }
}

/** Requests this isolate answered itself (R2, D1, the static assets), handed to the Durable Object's /metrics. */
const isolateRequests = new IsolateRequests();

/**
 * The CORS policy of the isolate's own answers, read from the var the object reads; a malformed
 * `LOOKUP_ORIGINS` grants no lookup origin here (and the object answers whatever reaches it 503 `not_configured`).
 */
function isolateCors(env: Env): CorsPolicy {
  try {
    return { lookupOrigins: settingFromVars('lookupOrigins', env) };
  } catch {
    return { lookupOrigins: [] };
  }
}

/** An answer the isolate gave itself and the route it is counted under, or whether a forward's token was taken. */
type IsolateAnswer = { response: Response; route: string } | null;

/**
 * What the isolate answers itself, with the CORS headers the object's app would add: a preflight the policy
 * grants, the explorer page (unless the Worker serves a log only), the log from R2, the directory's reads from
 * D1 (isolate-reads.ts). Else (null) the request goes to the object.
 */
async function isolateAnswer(
  env: Env,
  sequencer: DurableObjectStub<LogSequencer>,
  request: Request,
  cors: CorsPolicy,
  requestId: string,
): Promise<IsolateAnswer> {
  const preflight = corsPreflight(cors, request);
  if (preflight) return { response: preflight, route: UNMATCHED_ROUTE }; // as the app counts what no route answers
  const page = env.KT_LOG_ONLY === '1' ? null : await serveExplorer(env.ASSETS, request);
  if (page) return { response: withCors(cors, request, page.response), route: page.route };
  const path = new URL(request.url).pathname;
  const published = env.TILES ? await serveFromBucket(env.TILES, env.TILES_PREFIX ?? '', request, isolateGzip) : null;
  if (published) {
    const route = path === '/log/checkpoint' ? path : '/log/tile/*';
    return { response: passEncodedBody(withCors(cors, request, published)), route };
  }
  const route = readRoute(request);
  if (!route) return null;
  try {
    // The read app sets the CORS headers and keeps the request id itself, as the object's app does.
    const read = await answerRead(env, request, route, isolateRequests.counts);
    return read ? { response: passEncodedBody(read), route } : null;
  } catch (e) {
    // A setting the object refuses too: the same answer, 503 not_configured (no value echoed).
    if (e instanceof ConfigError) return { response: unavailable('not_configured', e.message), route };
    workerLogger.warn('d1_read_failed', { requestId, answeredBy: 'sequencer', ...errorFields(e) });
    return null; // a failure of the read path: the object answers instead
  }
}

/** Whether the isolate logs the answers it gives itself: the `accessLog` setting, read as the object reads it. */
function isolateAccessLog(env: Env): boolean {
  try {
    return settingFromVars('accessLog', env);
  } catch {
    return false; // malformed: the object answers whatever reaches it 503 `not_configured`
  }
}

/** The gzip of full entry bundles the isolate serves from R2, compressed once per isolate (8 MiB at most). */
const isolateGzip = new GzipCache(8 * 1024 * 1024);

/** `request` carrying `id` in its X-Request-Id header, so that the object's app keeps the isolate's id. */
function carryingRequestId(request: Request, id: string): Request {
  if (request.headers.get(REQUEST_ID_HEADER) === id) return request;
  const headers = new Headers(request.headers);
  headers.set(REQUEST_ID_HEADER, id);
  return new Request(request, { headers });
}

/**
 * An answer with the request's id: the object's app sets it, the object's own 503s and the isolate's answers
 * get it here (a body the app already compressed passed through as it is: forwarding.ts).
 */
function answeredWithId(res: Response, id: string): Response {
  return res.headers.get(REQUEST_ID_HEADER) === id ? res : passEncodedBody(withRequestId(res, id));
}

export { LookupLimiterObject } from './lookup-limiter.js';

export default {
  async fetch(incoming, env, ctx): Promise<Response> {
    const started = performance.now();
    const requestId = requestIdFor(incoming.headers.get(REQUEST_ID_HEADER));
    const request = carryingRequestId(incoming, requestId);
    const sequencer = env.LOG.get(env.LOG.idFromName(SEQUENCER_NAME));
    if (isolateRequests.handOverDue()) ctx.waitUntil(isolateRequests.handOver(sequencer));
    const cors = isolateCors(env);
    const own = await isolateAnswer(env, sequencer, request, cors, requestId);
    if (own) {
      const res = isolateRequests.count(request, own.route, answeredWithId(own.response, requestId), started);
      if (isolateAccessLog(env)) {
        const line = { requestId, method: request.method, route: own.route, status: res.status };
        logRequest(workerLogger, { ...line, ms: performance.now() - started });
      }
      return res;
    }
    if (new URL(request.url).pathname === '/metrics') await isolateRequests.handOver(sequencer);
    const buffered = await bufferedRequest(request);
    if (buffered instanceof Response) return withRequestId(withCors(cors, request, buffered), requestId);
    return answeredWithId(await sequencer.fetch(buffered), requestId);
  },
} satisfies ExportedHandler<Env>;
