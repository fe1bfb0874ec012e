/**
 * Cross-origin reads from browsers (CORS), one policy for the app and for what the Worker answers itself (tiles
 * and checkpoints from R2, lookups from D1, preflights). The log's read API (`/log/...`), `/v1/config` and
 * `/openapi.json` are public: any origin may read them (`Access-Control-Allow-Origin: *`). The lookup routes
 * (lookups and discovery, history, the owner's daily check) answer only the origins the operator lists, the
 * providers' web clients (`lookupOrigins`, `*` for any, none by default): a lookup route open to every origin
 * would let any web site use its visitors' browsers as a distributed scraper, each visitor a new client of the
 * per-client rate limit. Every other route (publication, enrolment, revocation, health, metrics) never answers
 * cross-origin, and its preflights are not granted: they fall through to the app, which has no OPTIONS route.
 * Credentials are never allowed. Pure: the Worker applies the same functions to its own responses.
 */
import type { MiddlewareHandler } from 'hono';

export interface CorsPolicy {
  /** The origins the lookup routes answer: exact origins (`https://web.chat.example`), or `*` alone for any. */
  lookupOrigins: readonly string[];
}

/** What one kind of route allows: who may read it, with which methods and request headers. */
interface CorsRule {
  scope: 'public' | 'lookup';
  methods: string;
  headers?: string;
}

const PUBLIC_READ: CorsRule = { scope: 'public', methods: 'GET, HEAD' };
const LOOKUP_READ: CorsRule = { scope: 'lookup', methods: 'GET, HEAD' };
/** `POST /v1/lookup` (batches and discovery) sends a JSON body, which is not a CORS-safelisted content type. */
const LOOKUP_POST: CorsRule = { scope: 'lookup', methods: 'POST', headers: 'Content-Type' };

/** How long a browser may keep a granted preflight, in seconds (browsers cap it lower: Chromium at 2 hours). */
const PREFLIGHT_MAX_AGE = '86400';
/** Response headers a browser client may read besides the safelisted ones: the wait of a 429 or 503, the request id. */
const EXPOSED_HEADERS = 'Retry-After, X-Request-Id';

/** The rule of a request path (raw, as in the URL), or null for routes that never answer cross-origin. */
function ruleFor(path: string): CorsRule | null {
  if (path.startsWith('/log/') || path === '/v1/config' || path === '/openapi.json') return PUBLIC_READ;
  if (path === '/v1/lookup') return LOOKUP_POST;
  if (/^\/v1\/(lookup|history|monitor)\/[^/]+\/[^/]+$/.test(path)) return LOOKUP_READ;
  return null;
}

/**
 * The `Access-Control-Allow-Origin` a rule grants to `origin` (null: none), and whether that answer depends on
 * the request's Origin, so that caches must keep it apart (`Vary: Origin`).
 */
function grant(policy: CorsPolicy, rule: CorsRule, origin: string | null): { allow: string | null; varies: boolean } {
  if (rule.scope === 'public' || policy.lookupOrigins.includes('*')) return { allow: '*', varies: false };
  const allowed = origin !== null && policy.lookupOrigins.includes(origin);
  return { allow: allowed ? origin : null, varies: policy.lookupOrigins.length > 0 };
}

/** Adds `Origin` to the response's Vary header, keeping what it names already. */
function varyOnOrigin(headers: Headers): void {
  const vary = headers.get('Vary') ?? '';
  if (!vary.split(',').some((v) => v.trim().toLowerCase() === 'origin')) headers.append('Vary', 'Origin');
}

/**
 * `response` with the CORS headers its route grants to `request`'s origin (its headers changed in place:
 * a response the app or the Worker just built). Routes without a rule are left as they are.
 */
export function withCors(policy: CorsPolicy, request: Request, response: Response): Response {
  const rule = ruleFor(new URL(request.url).pathname);
  if (!rule) return response;
  const { allow, varies } = grant(policy, rule, request.headers.get('Origin'));
  if (varies) varyOnOrigin(response.headers);
  if (allow !== null) {
    response.headers.set('Access-Control-Allow-Origin', allow);
    response.headers.set('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  }
  return response;
}

/**
 * The 204 answer to a preflight (OPTIONS with Origin and Access-Control-Request-Method) that its route grants
 * to its origin: the methods and request headers the route takes, and how long to keep the answer. Null for
 * any other request, a refused preflight included (the app then answers it 404, with no CORS grant).
 */
export function corsPreflight(policy: CorsPolicy, request: Request): Response | null {
  const origin = request.headers.get('Origin');
  if (request.method !== 'OPTIONS' || origin === null || !request.headers.has('Access-Control-Request-Method'))
    return null;
  const rule = ruleFor(new URL(request.url).pathname);
  const { allow, varies } = rule ? grant(policy, rule, origin) : { allow: null, varies: false };
  if (!rule || allow === null) return null;
  const headers = new Headers({
    'Access-Control-Allow-Origin': allow,
    'Access-Control-Allow-Methods': rule.methods,
    'Access-Control-Max-Age': PREFLIGHT_MAX_AGE,
  });
  if (rule.headers) headers.set('Access-Control-Allow-Headers', rule.headers);
  if (varies) headers.set('Vary', 'Origin');
  return new Response(null, { status: 204, headers });
}

/** The policy as middleware: granted preflights answered, every other answer given its CORS headers. */
export function corsPolicy(policy: CorsPolicy): MiddlewareHandler {
  return async (c, next) => {
    const preflight = corsPreflight(policy, c.req.raw);
    if (preflight) return preflight;
    await next();
    withCors(policy, c.req.raw, c.res);
  };
}
