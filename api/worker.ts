/**
 * The Cloudflare Worker entry. One Durable Object, `LogSequencer` (the instance named "log"), owns the
 * log and the directory: it is the single writer (a Durable Object runs one instance at a time,
 * single-threaded), keeps the log's tiles, entry bundles and head and the directory's indexes in its own
 * SQLite storage (log/do-log-storage.ts, log/do-directory-store.ts), closes epochs from its alarm
 * (api/worker-directory.ts) and serves the same Hono app as the Node server (`createApp` from api/app.ts,
 * with the directory's dependencies from api/directory-deps.ts). The Worker's `fetch` forwards every
 * request to that instance, its body read first (at most 2 MiB, the largest any route takes; larger is a
 * 413 `too_large` without involving the object). Checkpoints are byte-identical to Node's for the same entries and key: the
 * appender, the tile code and Ed25519 signing are the same pure code, and Ed25519 signatures are
 * deterministic; the directory's proofs are built and encoded by the same code as on Node.
 *
 * Configuration (Worker secrets and vars, see wrangler.toml, api/worker-log.ts and api/worker-directory.ts):
 * - `LOG_SIGNER_KEY` (secret): the log's C2SP signer key, `PRIVATE+KEY+<origin>+<id>+<key>`.
 * - `LOG_ORIGIN`: the checkpoint origin; must equal the signer key's name.
 * - `VRF_SECRET_KEY`, `OPERATOR_TOKEN` (secrets), `TRUSTED_ROOTS_PEM`: the directory's VRF key, operator
 *   token and trusted roots; optional vars `EPOCH_INTERVAL_MS`, `HEARTBEAT_MS`, `LOOKUP_BURST`,
 *   `LOOKUP_RATE_PER_SECOND`.
 * - `KT_LOG_ONLY`: "1" serves a plain C2SP log without the directory (the Node server's `--log-only`);
 *   the directory's settings are then not read.
 * - `KT_TEST_APPEND`: "1" enables, on a log-only deployment, the TEST-ONLY append route
 *   (api/worker-test-append.ts); raw entries would break a directory's log, so a directory never serves
 *   it. Never set it in a deployment.
 * A missing or wrong setting makes every request answer 503 `not_configured` (no secret is ever echoed); a
 * log or directory that fails its checks on opening (say, a changed key) answers 503 `log_unavailable`.
 *
 * This module exports only the handler and the Durable Object class (and types): workerd refuses a main
 * module with any other runtime export.
 */
import { DurableObject } from 'cloudflare:workers';
import { armAlarm, openDirectory, runEpochAlarm, type DirectoryEnv, type OpenDirectory } from './worker-directory.js';
import { bufferedRequest, ConfigError, openLog, passEncodedBody, type OpenLog, unavailable } from './worker-log.js';
import { handleTestAppend, TEST_APPEND_PATH, testAppendEnabled } from './worker-test-append.js';

export interface Env extends DirectoryEnv {
  LOG: DurableObjectNamespace<LogSequencer>;
  /** "1" serves the log only, without the directory. */
  KT_LOG_ONLY?: string;
  /** TEST ONLY: "1" enables POST /__test/append on a log-only deployment. */
  KT_TEST_APPEND?: string;
}

/** The name of the one sequencer instance. */
const SEQUENCER_NAME = 'log';

function isDirectory(open: OpenLog | OpenDirectory): open is OpenDirectory {
  return 'directory' in open;
}

/** The single-writer sequencer: owns the log and the directory and serves the API. */
export class LogSequencer extends DurableObject<Env> {
  private log: OpenLog | OpenDirectory | undefined;
  private failure: Response | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // No request or alarm is delivered before the log is open (or known to be misconfigured).
    void ctx.blockConcurrencyWhile(async () => {
      try {
        if (env.KT_LOG_ONLY === '1') {
          this.log = await openLog(ctx.storage, env);
        } else {
          const open = await openDirectory(ctx.storage, ctx.storage, env);
          await armAlarm(open, ctx.storage);
          this.log = open;
        }
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
    if (!isDirectory(this.log) && testAppendEnabled(this.env) && new URL(request.url).pathname === TEST_APPEND_PATH) return handleTestAppend(request, this.log.appender);
    return passEncodedBody(await this.log.app.fetch(request));
  }

  /** Closes an epoch when work is queued or the heartbeat is due, and re-arms (api/worker-directory.ts). */
  override async alarm(): Promise<void> {
    if (this.log && isDirectory(this.log)) await runEpochAlarm(this.log, this.ctx.storage);
  }
}

export default {
  async fetch(request, env): Promise<Response> {
    const buffered = await bufferedRequest(request);
    if (buffered instanceof Response) return buffered;
    return env.LOG.get(env.LOG.idFromName(SEQUENCER_NAME)).fetch(buffered);
  },
} satisfies ExportedHandler<Env>;
