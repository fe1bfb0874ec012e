/**
 * The directory's HTTP routes on the Hono app: lookups (GET one, POST a batch or a cross-provider
 * discovery), history, publication of provider-signed statements (answered once committed with `?wait=1`,
 * else 202 with a receipt signed by the log), and provider enrolment and revocation for the operator. The
 * routes speak to a `DirectoryService`, so Node and Workers can back them differently. Bodies are JSON,
 * size-limited, and decoded strictly; every refusal is a JSON error with a stable code. Lookups are charged
 * to their client's rate limit, each lookup weighted by its cost, before they are made
 * (rate-limit-lookups.ts); publications to their client's and their provider's before any signature is
 * checked (rate-limit-publish.ts), and a submission may name the credential it is signed with.
 */
import { encodeLookupBinary, LOOKUP_BINARY_TYPE } from '../../verifier/formats/proof-binary.js';
import type { Context, Hono } from 'hono';
import { fromHex, toBase64, toHex, utf8 } from '../../wasm-free-crypto/bytes.js';
import type { NoteSigner } from '../../wasm-free-crypto/note.js';
import { receiptStatementHash, signReceipt } from '../../verifier/formats/receipt.js';
import type { Accepted } from '../../log/directory/directory-options.js';
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
import { BadRequest, base64Field, jsonBody, onlyFields, pathNames, singleQuery } from './request-fields.js';
import { acceptsGzip, gzip } from './compression.js';
import { answerableError, errorResponse, typedErrorResponse } from './errors.js';
import { errorFields, type Logger } from './logger.js';
import { requestIdOf } from './request-id.js';
import { operatorAuth, RateLimited, rateLimitedResponse, TokenBuckets, type RateLimitOptions } from './middleware.js';
import { lookupMeter, type LookupLimiter, type LookupMeter } from './rate-limit-lookups.js';
import { chargePublication, type PublishLimits } from './rate-limit-publish.js';
import type { LookupCharge } from '../../log/directory/proof-builder.js';

/** What the routes need from a directory. */
export interface DirectoryService {
  /** The lookups' proofs; `charge` is told of the work before it is done (the rate limit), and may refuse it. */
  lookup(provider: string, account: string, charge?: LookupCharge): Promise<LookupProof>;
  history(provider: string, account: string, since: number, charge?: LookupCharge): Promise<HistoryProof>;
  monitor(provider: string, account: string, version: number, charge?: LookupCharge): Promise<MonitorProof>;
  discover(account: string, charge?: LookupCharge): Promise<DiscoveryProof>;
  /**
   * Validates and queues a statement; `credential`, if given, the fingerprint of the one credential to try;
   * `keytransSignature`, if given, the provider's KEYTRANS UpdateTBS signature (docs/PROTOCOL.md section 22.3).
   */
  submit(
    statement: Uint8Array,
    signature: Uint8Array,
    credential?: Uint8Array,
    keytransSignature?: Uint8Array | null,
  ): Promise<Accepted>;
  enrol(chain: Uint8Array[]): Promise<{ providerId: string; committed: Promise<Committed> }>;
  revoke(providerId: string, fingerprint: Uint8Array, reason: string): Promise<Committed>;
}

export interface DirectoryRouteOptions {
  service: DirectoryService;
  /** Signs publication receipts (the log's note signer). */
  receiptSigner: NoteSigner;
  operatorToken?: string;
  /**
   * Per-client lookup limits, or shared buckets (the Worker's own lookup path takes from them too), counted
   * in lookups and weighted by their cost (rate-limit-lookups.ts).
   */
  lookupRateLimit: RateLimitOptions | LookupLimiter;
  /** The limits of publication, per client and per provider (rate-limit-publish.ts); none: unlimited. */
  publishLimits?: PublishLimits;
  /** Failed operator authentications allowed per client (none: unlimited). */
  operatorAuthFailures?: TokenBuckets;
}

const MAX_BATCH_LOOKUPS = 32;
const MAX_BATCH_STATEMENTS = 100;

async function answer(f: () => Promise<Response>): Promise<Response> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof RateLimited) return rateLimitedResponse(e.retryAfterSeconds);
    return typedErrorResponse(e);
  }
}

/**
 * A publication receipt (`kt/v2/receipt`, verifier/formats/receipt.ts), signed only once `submit` returned:
 * the statement is then durably queued (log/directory/directory.ts, `submit`).
 */
function receiptNote(signer: NoteSigner, accepted: Accepted, statement: Uint8Array): string {
  const { label, version, acceptedAt, deadline } = accepted;
  return signReceipt({ label, version, statementHash: receiptStatementHash(statement), acceptedAt, deadline }, signer);
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

/**
 * Whether an Accept header asks for the binary lookup proof before JSON: it names the binary type with a
 * quality above 0, at least JSON's (JSON's is 0 unless it, `application/*` or `*\/*` is named).
 */
function prefersBinary(accept: string | undefined): boolean {
  if (!accept) return false;
  let binary = 0;
  let json = 0;
  for (const item of accept.split(',')) {
    const [type, ...params] = item.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const quality = q === undefined ? 1 : Number(q.slice(2));
    if (!(quality >= 0 && quality <= 1)) continue;
    if (type === LOOKUP_BINARY_TYPE) binary = Math.max(binary, quality);
    else if (type === 'application/json' || type === 'application/*' || type === '*/*') json = Math.max(json, quality);
  }
  return binary > 0 && binary >= json;
}

/** A response of JSON already serialised to UTF-8 (what `c.json` sends for the same value). */
function jsonBytes(c: Context, body: Uint8Array<ArrayBuffer>): Response {
  return c.body(body, 200, { 'Content-Type': 'application/json' });
}

/** The lookups of a batch, checked before any is made. */
function batchLookups(list: unknown): { provider: string; account: string }[] {
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_BATCH_LOOKUPS)
    throw new BadRequest(`lookups must be 1..${MAX_BATCH_LOOKUPS} items, or give "discover"`);
  return list.map((item) => {
    const { provider, account } = (item ?? {}) as Record<string, unknown>;
    if (typeof provider !== 'string' || typeof account !== 'string' || Object.keys(item).length !== 2)
      throw new BadRequest('each lookup is {"provider","account"}');
    return { provider, account };
  });
}

/** A batch of lookups or a discovery, each lookup charged to `meter` (rate-limit-lookups.ts). */
async function lookupBatch(c: Context, o: DirectoryRouteOptions, meter: LookupMeter): Promise<Response> {
  const body = await jsonBody(c);
  onlyFields(body, ['lookups', 'discover']);
  if (body.discover !== undefined && body.lookups !== undefined)
    throw new BadRequest('give either "lookups" or "discover", not both');
  if (typeof body.discover === 'string') return c.json(discoveryToJson(await o.service.discover(body.discover, meter)));
  const lookups = batchLookups(body.lookups);
  await meter.lookups(lookups.length);
  const proofs = [];
  for (const [i, { provider, account }] of lookups.entries())
    proofs.push(await o.service.lookup(provider, account, { absent: () => meter.absent(lookups.length - i) }));
  return jsonBytes(c, lookupsToJsonBytes(proofs));
}

/**
 * The lookup routes, each lookup charged to its client's bucket before it is made (one token, and an
 * absent name's surcharge before its VRF proof: rate-limit-lookups.ts).
 */
function lookupRoutes(app: Hono, o: DirectoryRouteOptions): void {
  const limit = o.lookupRateLimit;
  const buckets: LookupLimiter = 'take' in limit ? limit : new TokenBuckets(limit);
  /** The request's meter, its first lookup charged. */
  const meter = async (c: Context, first: number) => {
    const m = lookupMeter(buckets, c);
    await m.lookups(first);
    return m;
  };
  app.get('/v1/lookup/:provider/:account', (c) =>
    answer(async () => {
      const { absent } = await meter(c, 1);
      const { provider, account } = pathNames(c);
      const proof = await o.service.lookup(provider, account, { absent });
      // JSON for people; the binary form (docs/PROTOCOL.md section 17.4) for clients that ask for it.
      c.header('Vary', 'Accept');
      if (prefersBinary(c.req.header('accept')))
        return c.body(encodeLookupBinary(proof), 200, { 'Content-Type': LOOKUP_BINARY_TYPE });
      return jsonBytes(c, lookupToJsonBytes(proof));
    }),
  );
  app.post(
    '/v1/lookup',
    boundedBody(16 * 1024, () => errorResponse('too_large', 'the body exceeds 16 KiB')),
    (c) => answer(async () => lookupBatch(c, o, await meter(c, 0))),
  );
  app.get('/v1/history/:provider/:account', (c) =>
    answer(async () => {
      const { absent } = await meter(c, 1);
      const sinceText = singleQuery(c, 'since') ?? '0';
      if (!/^(0|[1-9][0-9]{0,15})$/.test(sinceText)) throw new BadRequest('since must be a non-negative integer');
      const { provider, account } = pathNames(c);
      return c.json(historyToJson(await o.service.history(provider, account, Number(sinceText), { absent })));
    }),
  );
  // The owner's daily check: small, and compressed when the client accepts it (the proof is mostly base64).
  app.get('/v1/monitor/:provider/:account', (c) =>
    answer(async () => {
      const { absent } = await meter(c, 1);
      const versionText = singleQuery(c, 'version') ?? '';
      if (!/^[1-9][0-9]{0,15}$/.test(versionText)) throw new BadRequest('version must be a positive integer');
      const { provider, account } = pathNames(c);
      const proof = await o.service.monitor(provider, account, Number(versionText), { absent });
      return jsonResponse(JSON.stringify(monitorToJson(proof)), c.req.header('Accept-Encoding'));
    }),
  );
}

/**
 * One item of a publication: the statement, its signature and, if given, its credential's fingerprint and the
 * provider's KEYTRANS UpdateTBS signature.
 */
interface Envelope {
  statement: Uint8Array;
  signature: Uint8Array;
  credential?: Uint8Array;
  keytransSignature?: Uint8Array;
}

const ENVELOPE_FIELDS = new Set(['statement', 'signature', 'credential', 'keytrans_signature']);

/** An item of `POST /v1/bindings` decoded strictly, or the BadRequest that refuses it. */
function envelopeOf(item: unknown): Envelope | BadRequest {
  const fields = (item ?? {}) as Record<string, unknown>;
  const keys = typeof item === 'object' && item !== null && !Array.isArray(item) ? Object.keys(item).sort() : [];
  if (!keys.includes('statement') || !keys.includes('signature') || keys.some((k) => !ENVELOPE_FIELDS.has(k)))
    return new BadRequest(
      'each statement is {"statement","signature"}, with "credential" and "keytrans_signature" if given, and no other field',
    );
  if (
    fields.credential !== undefined &&
    !(typeof fields.credential === 'string' && /^[0-9a-f]{64}$/.test(fields.credential))
  )
    return new BadRequest('credential must be 64 lower-case hex digits (the SHA-256 of the leaf TBSCertificate)');
  try {
    const statement = base64Field(fields.statement, 'statement');
    const signature = base64Field(fields.signature, 'signature');
    const credential = fields.credential === undefined ? {} : { credential: fromHex(fields.credential as string) };
    const keytrans =
      fields.keytrans_signature === undefined
        ? {}
        : { keytransSignature: base64Field(fields.keytrans_signature, 'keytrans_signature') };
    return { statement, signature, ...credential, ...keytrans };
  } catch (e) {
    return e as BadRequest;
  }
}

async function submitOne(o: DirectoryRouteOptions, item: Envelope, wait: boolean): Promise<Record<string, unknown>> {
  const statementBytes = item.statement;
  const accepted = await o.service.submit(statementBytes, item.signature, item.credential, item.keytransSignature);
  const base = { label: toBase64(accepted.label), version: accepted.version };
  if (wait) return { ...base, status: 'committed', ...committedJson(await accepted.committed) };
  return { ...base, status: 'accepted', receipt: receiptNote(o.receiptSigner, accepted, statementBytes) };
}

function publishRoutes(app: Hono, o: DirectoryRouteOptions, logger: Logger): void {
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
        const wait = singleQuery(c, 'wait') === '1';
        const envelopes = list.map(envelopeOf);
        // Charged before any signature is checked; a malformed item is charged to its client only.
        if (o.publishLimits)
          chargePublication(
            o.publishLimits,
            c,
            envelopes.map((e) => (e instanceof BadRequest ? null : e.statement)),
          );
        const settled = await Promise.allSettled(
          envelopes.map((e) => (e instanceof BadRequest ? Promise.reject(e) : submitOne(o, e, wait))),
        );
        // All refused: the first refusal is the answer. Else each refused statement says why in its result.
        if (settled.every((r) => r.status === 'rejected')) return typedErrorResponse(settled[0].reason);
        const logInternal = (err: unknown) =>
          logger.error('internal_error', {
            requestId: requestIdOf(c),
            method: 'POST',
            route: '/v1/bindings',
            ...errorFields(err),
          });
        const results = settled.map((r) =>
          r.status === 'fulfilled' ? r.value : { status: 'refused', error: errorOf(r.reason, logInternal) },
        );
        return c.json({ results }, wait ? 200 : 202);
      }),
  );
}

/** A refused statement's error in a batch answer; an internal one is logged and answered `internal`. */
function errorOf(e: unknown, logInternal: (err: unknown) => void): { code: string; message: string } {
  const answer = answerableError(e);
  if (answer) return answer;
  logInternal(e);
  return { code: 'internal', message: 'internal error' };
}

function decodeChain(v: unknown): Uint8Array[] {
  if (typeof v === 'string') return parsePemCertificates(v);
  if (!Array.isArray(v) || v.length === 0)
    throw new BadRequest('chain must be PEM text or a list of base64 DER certificates');
  return v.map((x, i) => base64Field(x, `chain[${i}]`));
}

function operatorRoutes(app: Hono, o: DirectoryRouteOptions): void {
  const auth = operatorAuth(o.operatorToken, o.operatorAuthFailures);
  const limit = boundedBody(64 * 1024, () => errorResponse('too_large', 'the body exceeds 64 KiB'));
  app.post('/v1/providers', auth, limit, (c) =>
    answer(async () => {
      const body = await jsonBody(c);
      onlyFields(body, ['chain']);
      const { providerId, committed } = await o.service.enrol(decodeChain(body.chain));
      if (singleQuery(c, 'wait') !== '1') return c.json({ providerId, status: 'accepted' }, 202);
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
export function directoryRoutes(app: Hono, o: DirectoryRouteOptions, logger: Logger): void {
  lookupRoutes(app, o);
  publishRoutes(app, o, logger);
  operatorRoutes(app, o);
}
