/**
 * The log as the Worker's Durable Object runs it, kept out of the Worker's main module (api/worker/worker.ts)
 * because workerd accepts only handlers and classes as a main module's exports: reading the log key and
 * origin from the Worker's secrets and vars, opening the appender over the Durable Object's SQLite storage,
 * and, for a log-only deployment, the Hono app over it (the directory's is in api/worker/open-directory.ts).
 */
import type { Hono } from 'hono';
import { LogAppender } from '../../log/merkle/appender.js';
import { DoLogStorage, type DoSqlStorage } from './do-log-storage.js';
import { LogReader } from '../../log/merkle/reader.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import {
  parseSignerKey,
  parseVerifierKey,
  type Ed25519NoteSigner,
  type NoteVerifier,
} from '../../wasm-free-crypto/note.js';
import { createApp } from '../app/app.js';
import { RequestMetrics } from '../app/request-metrics.js';
import { readAtMost } from '../../verifier/http/bounded-body.js';

/** The Worker secrets and vars the log reads. */
export interface LogEnv {
  /** Secret: the log's C2SP signer key, `PRIVATE+KEY+<origin>+<id>+<key>`. */
  LOG_SIGNER_KEY?: string;
  /** The checkpoint origin; must equal the signer key's name. */
  LOG_ORIGIN?: string;
}

/** A configuration problem found when the sequencer starts; its message never includes the key. */
export class ConfigError extends CodedError {
  constructor(message: string) {
    super('not_configured', message);
  }
}

export interface OpenLog {
  appender: LogAppender;
  reader: LogReader;
  app: Hono;
  origin: string;
  /** The log's own note verifier (checks the checkpoint found in the R2 bucket). */
  verifier: NoteVerifier;
  /** The app's request metrics, to which the Worker adds the requests it answers itself (R2, D1). */
  requests: RequestMetrics;
}

/** The appender over a Durable Object's storage, with its reader and signer. */
export interface OpenAppender {
  appender: LogAppender;
  /** The log's storage (a directory builds its own reader over it, serving its cosigned checkpoints). */
  storage: DoLogStorage;
  reader: LogReader;
  signer: Ed25519NoteSigner;
  origin: string;
}

/** Opens the appender in a Durable Object's storage: loads and checks the head, or starts a new log. */
export async function openAppender(storage: DoSqlStorage, env: LogEnv): Promise<OpenAppender> {
  if (!env.LOG_SIGNER_KEY) throw new ConfigError('LOG_SIGNER_KEY is not set');
  if (!env.LOG_ORIGIN) throw new ConfigError('LOG_ORIGIN is not set');
  let signer;
  try {
    signer = parseSignerKey(env.LOG_SIGNER_KEY.trim());
  } catch (e) {
    throw new ConfigError(`LOG_SIGNER_KEY is not a valid signer key (${(e as Error).message})`);
  }
  if (signer.name !== env.LOG_ORIGIN) throw new ConfigError('LOG_ORIGIN does not match the name of LOG_SIGNER_KEY');
  const logStorage = new DoLogStorage(storage);
  const appender = await LogAppender.open({ storage: logStorage, signer, origin: env.LOG_ORIGIN });
  const reader = new LogReader(logStorage, () => appender.head);
  return { appender, storage: logStorage, reader, signer, origin: env.LOG_ORIGIN };
}

/** Opens a plain log (no directory) in a Durable Object's storage and the app serving it. */
export async function openLog(storage: DoSqlStorage, env: LogEnv): Promise<OpenLog> {
  const { appender, reader, signer, origin } = await openAppender(storage, env);
  const requests = new RequestMetrics();
  const app = createApp({ reader, config: { origin, logKey: signer.verifierKey }, requests });
  return { appender, reader, app, origin, verifier: parseVerifierKey(signer.verifierKey), requests };
}

/** The 503 every request gets while the log cannot be opened: `not_configured` or `log_unavailable`. */
export function unavailable(code: 'not_configured' | 'log_unavailable', message: string): Response {
  return Response.json({ error: { code, message } }, { status: 503 });
}

/**
 * The app compresses entry bundles itself (`Content-Encoding: gzip`). workerd treats a response body as
 * unencoded and compresses it again for a Content-Encoding header unless told the body is already encoded
 * (`encodeBody: "manual"`); without this, clients get gzip inside gzip.
 */
export function passEncodedBody(res: Response): Response {
  if (!res.headers.has('Content-Encoding') || res.body === null) return res;
  return new Response(res.body, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
    encodeBody: 'manual',
  });
}

/** The largest request body any route takes (POST /v1/bindings: 2 MiB); larger ones never reach the object. */
export const MAX_REQUEST_BODY = 2 * 1024 * 1024;

/**
 * The request with its body read into memory (at most `max` bytes), for forwarding to the Durable Object;
 * or a 413 `too_large` for a larger body. The Worker reads the body rather than streaming it through: the
 * single-threaded object is spared oversized uploads, and a route that answers before reading its body
 * (a 401, a 404) leaves no half-read stream behind (workerd reports those as uncaught errors).
 */
export async function bufferedRequest(request: Request, max = MAX_REQUEST_BODY): Promise<Request | Response> {
  if (request.body === null) return request;
  const body = await readAtMost(request, max);
  if (body === null)
    return Response.json(
      { error: { code: 'too_large', message: `the body exceeds ${max / (1024 * 1024)} MiB` } },
      { status: 413 },
    );
  return new Request(request, { body: body as Uint8Array<ArrayBuffer> });
}
