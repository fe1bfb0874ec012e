/**
 * The Cloudflare Worker entry. One Durable Object, `LogSequencer` (the instance named "log"), owns the
 * log: it is the single writer (a Durable Object runs one instance at a time, single-threaded), keeps its
 * tiles, entry bundles and head in its own SQLite storage (log/do-log-storage.ts) and serves the same Hono
 * app as the Node server (`createApp` from api/app.ts). The Worker's `fetch` forwards every request to that
 * instance. Checkpoints are byte-identical to Node's for the same entries and key: the appender, the tile
 * code and Ed25519 signing are the same pure code, and Ed25519 signatures are deterministic.
 *
 * Configuration (Worker secrets and vars, see wrangler.toml and api/worker-log.ts):
 * - `LOG_SIGNER_KEY` (secret): the log's C2SP signer key, `PRIVATE+KEY+<origin>+<id>+<key>`.
 * - `LOG_ORIGIN`: the checkpoint origin; must equal the signer key's name.
 * - `KT_TEST_APPEND`: "1" enables the TEST-ONLY append route (api/worker-test-append.ts). Never set it in
 *   a deployment.
 * A missing or wrong key makes every request answer 503 `not_configured` (the key is never echoed); a log
 * that fails its checks on opening (say, a changed key) answers 503 `log_unavailable`.
 *
 * This module exports only the handler and the Durable Object class (and types): workerd refuses a main
 * module with any other runtime export.
 */
import { DurableObject } from 'cloudflare:workers';
import { ConfigError, openLog, passEncodedBody, type LogEnv, type OpenLog, unavailable } from './worker-log.js';
import { handleTestAppend, TEST_APPEND_PATH, testAppendEnabled } from './worker-test-append.js';

export interface Env extends LogEnv {
  LOG: DurableObjectNamespace<LogSequencer>;
  /** TEST ONLY: "1" enables POST /__test/append. */
  KT_TEST_APPEND?: string;
}

/** The name of the one sequencer instance. */
const SEQUENCER_NAME = 'log';

/** The single-writer sequencer: owns the log and serves the API. */
export class LogSequencer extends DurableObject<Env> {
  private log: OpenLog | undefined;
  private failure: Response | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // No request is delivered before the log is open (or known to be misconfigured).
    void ctx.blockConcurrencyWhile(async () => {
      try {
        this.log = await openLog(ctx.storage, env);
      } catch (e) {
        // A configuration error is the operator's to fix; anything else (a corrupt log) is logged, not served.
        if (e instanceof ConfigError) this.failure = unavailable('not_configured', e.message);
        else {
          console.error(`LogSequencer: opening the log failed: ${(e as Error).name}: ${(e as Error).message}`);
          this.failure = unavailable('log_unavailable', 'the log could not be opened');
        }
      }
    });
  }

  override async fetch(request: Request): Promise<Response> {
    if (!this.log) return (this.failure ?? unavailable('log_unavailable', 'the log is not open')).clone();
    if (testAppendEnabled(this.env) && new URL(request.url).pathname === TEST_APPEND_PATH) return handleTestAppend(request, this.log.appender);
    return passEncodedBody(await this.log.app.fetch(request));
  }
}

export default {
  async fetch(request, env): Promise<Response> {
    return env.LOG.get(env.LOG.idFromName(SEQUENCER_NAME)).fetch(request);
  },
} satisfies ExportedHandler<Env>;
