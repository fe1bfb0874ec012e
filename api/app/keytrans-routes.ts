/**
 * The KEYTRANS routes (docs/PROTOCOL.md section 22.5): each provider's deployment served over HTTP with the
 * draft-05 messages as bodies, TLS-encoded exactly (verifier/keytrans/messages.ts), under the media type
 * `application/vnd.kt-directory.keytrans-05`. `GET /keytrans/v1/{provider}/config` gives the deployment's encoded
 * Configuration; `POST .../search`, `.../monitor`, `.../owner/init` and `.../owner/monitor` take a SearchRequest,
 * ContactMonitorRequest, OwnerInitRequest or OwnerMonitorRequest and answer its response, built over the
 * deployment's tree head that the served epoch anchored (section 22.7), by the responders of log/keytrans/; each
 * operation is charged as a lookup of an unknown name (`absentLookupCost` tokens), the VRF proof it may need;
 * `GET /keytrans/v1/anchor` gives that epoch's KEYTRANS heads entry with its inclusion proof in the served
 * checkpoint, for a client to check a head against the witnessed log. Each request costs one lookup of the client's
 * lookup bucket (rate-limit-lookups.ts), charged before any proof is built. Every refusal is the API's JSON error:
 * a request that does not decode 400, a provider without a deployment 404, a label or version the tree does not
 * hold 404 (draft-05 has no negative result), an erased or expired version, or a closed deployment, 410.
 */
import type { Context, Hono } from 'hono';
import type { KeyTransAnchor } from '../../log/directory/keytrans-hook.js';
import type { DeploymentView } from '../../log/keytrans/deployment-view.js';
import { toBase64 } from '../../wasm-free-crypto/bytes.js';
import { respondContactMonitor } from '../../log/keytrans/monitor-responder.js';
import { respondOwnerInit, respondOwnerMonitor } from '../../log/keytrans/owner-responder.js';
import { respondSearch } from '../../log/keytrans/search-responder.js';
import {
  decodeMessage,
  encodeMessage,
  KEYTRANS_MEDIA_TYPE,
  type Message,
  type MessageType,
} from '../../verifier/keytrans/messages.js';
import { encodeConfiguration } from '../../verifier/keytrans/signed-structures.js';
import type { Configuration } from '../../verifier/keytrans/types.js';
import { boundedBody } from './body.js';
import { errorResponse, typedErrorResponse } from './errors.js';
import { RateLimited, rateLimitedResponse, TokenBuckets, type RateLimitOptions } from './middleware.js';
import { lookupMeter, type LookupLimiter } from './rate-limit-lookups.js';
import { labelRoute, UNMATCHED_ROUTE } from './request-metrics.js';
import { bodyMediaType } from './request-fields.js';

/**
 * Each provider's deployment as the routes read it: from the sequencer's or a reader's SQLite
 * (log/keytrans/deployments.ts), or from D1 (api/worker/d1-keytrans-reader.ts).
 */
export interface KeyTransDeploymentReads {
  config(provider: string): Configuration | undefined | Promise<Configuration | undefined>;
  /** `respond`'s answer over the deployment at the head `epoch` anchored (undefined: none then). */
  answer<T>(
    provider: string,
    epoch: number,
    respond: (view: DeploymentView) => T,
  ): T | undefined | Promise<T | undefined>;
  /** The anchor of `epoch`: its KEYTRANS heads entry and the entry's inclusion proof. */
  anchor(epoch: number): KeyTransAnchor | null | Promise<KeyTransAnchor | null>;
  /** Whether the deployment is closed (its leaf credential revoked): its values are no longer served. */
  closed(provider: string): boolean | Promise<boolean>;
}

/** What the routes read: each provider's deployment, and the directory's served epoch. */
export interface KeyTransRouteOptions {
  deployments: KeyTransDeploymentReads;
  lookupRateLimit: RateLimitOptions | LookupLimiter;
  /** The directory's served epoch and its (cosigned) checkpoint. */
  served(): Promise<{ epoch: number; checkpoint: string }>;
}

/** A request's largest body: a monitoring map of a few thousand entries, or a 255-byte label. */
const MAX_BODY = 64 * 1024;

/** The operations: the request's and response's messages, and the responder. */
const OPERATIONS = {
  search: { request: 'SearchRequest', respond: respondSearch, response: 'SearchResponse' },
  monitor: { request: 'ContactMonitorRequest', respond: respondContactMonitor, response: 'ContactMonitorResponse' },
  'owner/init': { request: 'OwnerInitRequest', respond: respondOwnerInit, response: 'OwnerInitResponse' },
  'owner/monitor': { request: 'OwnerMonitorRequest', respond: respondOwnerMonitor, response: 'OwnerMonitorResponse' },
} as const;

function binary(c: Context, bytes: Uint8Array): Response {
  return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
    'Content-Type': KEYTRANS_MEDIA_TYPE,
    'Cache-Control': 'no-store',
  });
}

const noDeployment = (provider: string) =>
  errorResponse('not_found', `provider ${JSON.stringify(provider)} has no KEYTRANS deployment with a tree head yet`);

/** Decodes the body as `type` (exactly, no trailing bytes), or null. */
function decodeRequest<K extends MessageType>(type: K, body: Uint8Array, config: Configuration) {
  try {
    return { ok: decodeMessage(type, body, { suite: config.ciphersuite, mode: config.mode }) };
  } catch (e) {
    return { error: errorResponse('bad_request', `the body is not a ${type}: ${(e as Error).message}`) };
  }
}

/** One operation's route. */
function operationRoute(app: Hono, o: KeyTransRouteOptions, buckets: LookupLimiter, path: keyof typeof OPERATIONS) {
  const op = OPERATIONS[path];
  app.post(
    `/keytrans/v1/:provider/${path}`,
    boundedBody(MAX_BODY, () => errorResponse('too_large', `the body exceeds ${MAX_BODY / 1024} KiB`)),
    async (c) => {
      try {
        // Priced as a lookup of an unknown name: a ladder may need the VRF proof of a version the tree does not hold.
        const meter = lookupMeter(buckets, c);
        await meter.lookups(1);
        await meter.absent();
        if (bodyMediaType(c) !== KEYTRANS_MEDIA_TYPE)
          return errorResponse('bad_request', `the body must be ${KEYTRANS_MEDIA_TYPE}`);
        const provider = c.req.param('provider');
        const config = await o.deployments.config(provider);
        if (!config) return noDeployment(provider);
        if (await o.deployments.closed(provider))
          return errorResponse(
            'kt_deployment_closed',
            `${provider}'s KEYTRANS deployment is closed: its leaf key was revoked`,
          );
        const decoded = decodeRequest(op.request, new Uint8Array(await c.req.arrayBuffer()), config);
        if ('error' in decoded) return decoded.error;
        const respond = op.respond as (v: DeploymentView, r: unknown) => Message<typeof op.response>;
        const answer = await o.deployments.answer(provider, (await o.served()).epoch, (v) => respond(v, decoded.ok));
        if (answer === undefined) return noDeployment(provider);
        const ctx = { suite: config.ciphersuite, mode: config.mode, requestHasVersion: false };
        if (path === 'search') ctx.requestHasVersion = (decoded.ok as { version: number | null }).version !== null;
        return binary(c, encodeMessage(op.response, answer as never, ctx));
      } catch (e) {
        if (e instanceof RateLimited) return rateLimitedResponse(e.retryAfterSeconds);
        return typedErrorResponse(e);
      }
    },
  );
}

/** Adds the KEYTRANS routes to `app`. */
export function keyTransRoutes(app: Hono, o: KeyTransRouteOptions): void {
  const limit = o.lookupRateLimit;
  const buckets: LookupLimiter = 'take' in limit ? limit : new TokenBuckets(limit);
  // `anchor` as the parameter of the provider's place, not a path of its own: Hono's RegExpRouter refuses a
  // static segment beside a parameter that goes on (`/anchor` and `/:provider/config`), and the app would
  // fall back to its slower TrieRouter for every request (test/api/keytrans/anchor.test.ts checks which
  // router serves). Its requests are labelled as a route `/keytrans/v1/anchor` would label them.
  app.get('/keytrans/v1/:provider', async (c) => {
    if (c.req.param('provider') !== 'anchor') {
      labelRoute(c, UNMATCHED_ROUTE);
      return c.notFound();
    }
    labelRoute(c, '/keytrans/v1/anchor');
    try {
      await lookupMeter(buckets, c).lookups(1);
      const { epoch, checkpoint } = await o.served();
      const a = await o.deployments.anchor(epoch);
      if (!a) return errorResponse('not_found', `epoch ${epoch} anchored no KEYTRANS head`);
      const body = { epoch, checkpoint, index: a.logIndex, entry: toBase64(a.entry), proof: a.proof.map(toBase64) };
      return c.json(body, 200, { 'Cache-Control': 'no-store' });
    } catch (e) {
      if (e instanceof RateLimited) return rateLimitedResponse(e.retryAfterSeconds);
      return typedErrorResponse(e);
    }
  });
  app.get('/keytrans/v1/:provider/config', async (c) => {
    try {
      const config = await o.deployments.config(c.req.param('provider'));
      return config ? binary(c, encodeConfiguration(config)) : noDeployment(c.req.param('provider'));
    } catch (e) {
      return typedErrorResponse(e); // a replica not ready to answer (503 busy: the Worker's isolate)
    }
  });
  for (const path of Object.keys(OPERATIONS) as (keyof typeof OPERATIONS)[]) operationRoute(app, o, buckets, path);
}
