/**
 * The directory's HTTP routes on the Hono app: lookups (GET one, POST a batch or a cross-provider
 * discovery), history, publication of provider-signed statements (answered once committed with `?wait=1`,
 * else 202 with a receipt signed by the log), and provider enrolment and revocation for the operator. The
 * routes speak to a `DirectoryService`, so Node and Workers can back them differently. Bodies are JSON,
 * size-limited, and decoded strictly; every refusal is a JSON error with a stable code.
 */
import type { Context, Hono } from 'hono';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import type { NoteSigner } from '../../wasm-free-crypto/note.js';
import { signNote } from '../../wasm-free-crypto/note.js';
import type { Accepted } from '../../log/directory/directory.js';
import type { Committed } from '../../log/directory/submission.js';
import type { DiscoveryProof, HistoryProof, LookupProof, MonitorProof } from '../../verifier/formats/proofs.js';
import {
  discoveryToJson,
  historyToJson,
  lookupsToJsonBytes,
  lookupToJsonBytes,
  monitorToJson,
} from '../../verifier/formats/proof-json.js';
import { parsePemCertificates } from '../../log/providers/certificate.js';
import { boundedBody } from './body.js';
import { acceptsGzip, gzip } from './compression.js';
import { answerableError, errorResponse, internalErrorLine, typedErrorResponse } from './errors.js';
import { operatorAuth, rateLimit, type RateLimitOptions, type TokenBuckets } from './middleware.js';

/** What the routes need from a directory. */
export interface DirectoryService {
  lookup(provider: string, account: string): Promise<LookupProof>;
  history(provider: string, account: string, since: number): Promise<HistoryProof>;
  monitor(provider: string, account: string, version: number): Promise<MonitorProof>;
  discover(account: string): Promise<DiscoveryProof>;
  submit(statement: Uint8Array, signature: Uint8Array): Promise<Accepted>;
  enrol(chain: Uint8Array[]): Promise<{ providerId: string; committed: Promise<Committed> }>;
  revoke(providerId: string, fingerprint: Uint8Array, reason: string): Promise<Committed>;
}

export interface DirectoryRouteOptions {
  service: DirectoryService;
  /** Signs publication receipts (the log's note signer). */
  receiptSigner: NoteSigner;
  operatorToken?: string;
  /** Per-client lookup limits, or shared buckets (the Worker's own lookup path takes from them too). */
  lookupRateLimit: RateLimitOptions | TokenBuckets;
  now?: () => number;
}

const MAX_BATCH_LOOKUPS = 32;
const MAX_BATCH_STATEMENTS = 100;

class BadRequest extends CodedError<'bad_request'> {
  override readonly name = 'BadRequest';
  constructor(message: string) {
    super('bad_request', message);
  }
}

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  let v: unknown;
  try {
    v = await c.req.json();
  } catch {
    throw new BadRequest('the body must be JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadRequest('the body must be a JSON object');
  return v as Record<string, unknown>;
}

function onlyFields(o: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new BadRequest(`unknown field ${JSON.stringify(k)}`);
}

function base64Field(v: unknown, what: string): Uint8Array {
  try {
    if (typeof v !== 'string') throw new Error('not a string');
    return fromBase64(v);
  } catch {
    throw new BadRequest(`${what} must be canonical base64`);
  }
}

async function answer(f: () => Promise<Response>): Promise<Response> {
  try {
    return await f();
  } catch (e) {
    return typedErrorResponse(e);
  }
}

/** A publication receipt: a note signed by the log, `kt/v1/receipt`, label, version, acceptance time. */
function receiptNote(signer: NoteSigner, label: Uint8Array, version: number, time: number): string {
  return signNote(`kt/v1/receipt\n${toBase64(label)}\n${version}\n${time}\n`, [signer]);
}

function committedJson(c: Committed): Record<string, unknown> {
  return { epoch: c.epoch, logIndex: c.logIndex, treeSize: c.treeSize, checkpoint: c.checkpoint };
}

/** A JSON response, compressed with gzip when the client accepts it. */
function jsonResponse(json: string, acceptEncoding: string | undefined): Response {
  const headers = { 'Content-Type': 'application/json', Vary: 'Accept-Encoding' };
  if (!acceptsGzip(acceptEncoding)) return new Response(json, { headers });
  return new Response(gzip(utf8(json)), { headers: { ...headers, 'Content-Encoding': 'gzip' } });
}

/** A response of JSON already serialised to UTF-8 (what `c.json` sends for the same value). */
function jsonBytes(c: Context, body: Uint8Array<ArrayBuffer>): Response {
  return c.body(body, 200, { 'Content-Type': 'application/json' });
}

function lookupRoutes(app: Hono, o: DirectoryRouteOptions): void {
  const limit = rateLimit(o.lookupRateLimit);
  app.get('/v1/lookup/:provider/:account', limit, (c) =>
    answer(async () =>
      jsonBytes(c, lookupToJsonBytes(await o.service.lookup(c.req.param('provider'), c.req.param('account')))),
    ),
  );
  app.post(
    '/v1/lookup',
    boundedBody(16 * 1024, () => errorResponse('too_large', 'the body exceeds 16 KiB')),
    limit,
    (c) =>
      answer(async () => {
        const body = await jsonBody(c);
        onlyFields(body, ['lookups', 'discover']);
        if (body.discover !== undefined && body.lookups !== undefined)
          throw new BadRequest('give either "lookups" or "discover", not both');
        if (typeof body.discover === 'string') return c.json(discoveryToJson(await o.service.discover(body.discover)));
        const list = body.lookups;
        if (!Array.isArray(list) || list.length === 0 || list.length > MAX_BATCH_LOOKUPS)
          throw new BadRequest(`lookups must be 1..${MAX_BATCH_LOOKUPS} items, or give "discover"`);
        const proofs = [];
        for (const item of list) {
          const { provider, account } = (item ?? {}) as Record<string, unknown>;
          if (typeof provider !== 'string' || typeof account !== 'string' || Object.keys(item).length !== 2)
            throw new BadRequest('each lookup is {"provider","account"}');
          proofs.push(await o.service.lookup(provider, account));
        }
        return jsonBytes(c, lookupsToJsonBytes(proofs));
      }),
  );
  app.get('/v1/history/:provider/:account', limit, (c) =>
    answer(async () => {
      const sinceText = c.req.query('since') ?? '0';
      if (!/^(0|[1-9][0-9]{0,15})$/.test(sinceText)) throw new BadRequest('since must be a non-negative integer');
      return c.json(
        historyToJson(await o.service.history(c.req.param('provider'), c.req.param('account'), Number(sinceText))),
      );
    }),
  );
  // The owner's daily check: small, and compressed when the client accepts it (the proof is mostly base64).
  app.get('/v1/monitor/:provider/:account', limit, (c) =>
    answer(async () => {
      const versionText = c.req.query('version') ?? '';
      if (!/^[1-9][0-9]{0,15}$/.test(versionText)) throw new BadRequest('version must be a positive integer');
      const json = JSON.stringify(
        monitorToJson(await o.service.monitor(c.req.param('provider'), c.req.param('account'), Number(versionText))),
      );
      return jsonResponse(json, c.req.header('Accept-Encoding'));
    }),
  );
}

async function submitOne(o: DirectoryRouteOptions, item: unknown, wait: boolean): Promise<Record<string, unknown>> {
  const { statement, signature } = (item ?? {}) as Record<string, unknown>;
  if (typeof item !== 'object' || item === null || Object.keys(item).length !== 2)
    throw new BadRequest('each statement is {"statement","signature"}');
  const accepted = await o.service.submit(base64Field(statement, 'statement'), base64Field(signature, 'signature'));
  const base = { label: toBase64(accepted.label), version: accepted.version };
  if (wait) return { ...base, status: 'committed', ...committedJson(await accepted.committed) };
  return {
    ...base,
    status: 'accepted',
    receipt: receiptNote(o.receiptSigner, accepted.label, accepted.version, (o.now ?? Date.now)()),
  };
}

function publishRoutes(app: Hono, o: DirectoryRouteOptions, logError: (message: string) => void): void {
  app.post(
    '/v1/bindings',
    boundedBody(2 * 1024 * 1024, () => errorResponse('too_large', 'the body exceeds 2 MiB')),
    (c) =>
      answer(async () => {
        const body = await jsonBody(c);
        onlyFields(body, ['statements']);
        const list = body.statements;
        if (!Array.isArray(list) || list.length === 0 || list.length > MAX_BATCH_STATEMENTS)
          throw new BadRequest(`statements must be 1..${MAX_BATCH_STATEMENTS} items`);
        const wait = c.req.query('wait') === '1';
        const settled = await Promise.allSettled(list.map((item) => submitOne(o, item, wait)));
        // All refused: the first refusal is the answer. Else each refused statement says why in its result.
        if (settled.every((r) => r.status === 'rejected')) return typedErrorResponse(settled[0].reason);
        const results = settled.map((r) =>
          r.status === 'fulfilled' ? r.value : { status: 'refused', error: errorOf(r.reason, logError) },
        );
        return c.json({ results }, wait ? 200 : 202);
      }),
  );
}

/** A refused statement's error in a batch answer; an internal one is logged and answered `internal`. */
function errorOf(e: unknown, logError: (message: string) => void): { code: string; message: string } {
  const answer = answerableError(e);
  if (answer) return answer;
  logError(internalErrorLine('POST', '/v1/bindings', e instanceof Error ? e : new Error(String(e))));
  return { code: 'internal', message: 'internal error' };
}

function decodeChain(v: unknown): Uint8Array[] {
  if (typeof v === 'string') return parsePemCertificates(v);
  if (!Array.isArray(v) || v.length === 0)
    throw new BadRequest('chain must be PEM text or a list of base64 DER certificates');
  return v.map((x, i) => base64Field(x, `chain[${i}]`));
}

function operatorRoutes(app: Hono, o: DirectoryRouteOptions): void {
  const auth = operatorAuth(o.operatorToken);
  const limit = boundedBody(64 * 1024, () => errorResponse('too_large', 'the body exceeds 64 KiB'));
  app.post('/v1/providers', auth, limit, (c) =>
    answer(async () => {
      const body = await jsonBody(c);
      onlyFields(body, ['chain']);
      const { providerId, committed } = await o.service.enrol(decodeChain(body.chain));
      if (c.req.query('wait') !== '1') return c.json({ providerId, status: 'accepted' }, 202);
      return c.json({ providerId, status: 'committed', ...committedJson(await committed) });
    }),
  );
  app.post('/v1/providers/revoke', auth, limit, (c) =>
    answer(async () => {
      const body = await jsonBody(c);
      onlyFields(body, ['providerId', 'fingerprint', 'reason']);
      const { providerId, fingerprint, reason } = body;
      if (typeof providerId !== 'string' || typeof fingerprint !== 'string' || typeof reason !== 'string')
        throw new BadRequest('providerId, fingerprint (hex) and reason are required strings');
      if (!/^[0-9a-f]{64}$/.test(fingerprint)) throw new BadRequest('fingerprint must be 64 lower-case hex digits');
      const fp = fromHex(fingerprint);
      const committed = await o.service.revoke(providerId, fp, reason);
      return c.json({ providerId, fingerprint: toHex(fp), status: 'committed', ...committedJson(committed) });
    }),
  );
}

/** Adds the directory's routes to `app`. */
export function directoryRoutes(app: Hono, o: DirectoryRouteOptions, logError: (message: string) => void): void {
  lookupRoutes(app, o);
  publishRoutes(app, o, logError);
  operatorRoutes(app, o);
}
