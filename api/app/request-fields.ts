/**
 * The parts of a directory request, read strictly (docs/PROTOCOL.md section 7, "Requests"): a JSON body only
 * under `Content-Type: application/json`, in UTF-8 without a byte order mark, an object with known fields and
 * no member named twice in one object (json-duplicates.ts);
 * a provider and an account in the path percent-decoded as UTF-8, a malformed escape or byte sequence refused
 * rather than taken as literal text (what a router's lenient decoding does); a query parameter given at most
 * once. Each refusal is a `BadRequest` (400 `bad_request`), or `account_bad_utf8` for an account whose
 * escapes are well formed but are not UTF-8, as the same account in a JSON body is.
 */
import type { Context } from 'hono';
import { fromBase64 } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { duplicateName } from './json-duplicates.js';

export class BadRequest extends CodedError<'bad_request'> {
  override readonly name = 'BadRequest';
  constructor(message: string) {
    super('bad_request', message);
  }
}

/** UTF-8 that refuses malformed bytes, and keeps a byte order mark (which JSON.parse then refuses). */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The media type a request's body is sent as (its Content-Type without parameters), as the client wrote it. */
export function bodyMediaType(c: Context): string | undefined {
  return c.req.header('content-type')?.split(';')[0].trim();
}

/**
 * The body as a JSON object. Only `application/json` (parameters such as a charset may follow): a body sent
 * as `text/plain` or a form, which a browser sends across origins without asking first, is refused before
 * any work, so that a page elsewhere cannot spend its visitor's allowance. A member named twice in one object
 * is refused too, rather than read as JSON.parse reads it (the last one), where another reader may take the first.
 */
export async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  if (bodyMediaType(c)?.toLowerCase() !== 'application/json')
    throw new BadRequest('the body must be sent as Content-Type: application/json');
  let v: unknown;
  let text: string;
  try {
    text = STRICT_UTF8.decode(await c.req.arrayBuffer());
    v = JSON.parse(text);
  } catch {
    throw new BadRequest('the body must be JSON, in UTF-8 without a byte order mark');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadRequest('the body must be a JSON object');
  const twice = duplicateName(text);
  if (twice !== undefined) throw new BadRequest(`the body names ${JSON.stringify(twice)} twice in one object`);
  return v as Record<string, unknown>;
}

/** Refuses a field of `o` not in `allowed`. */
export function onlyFields(o: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new BadRequest(`unknown field ${JSON.stringify(k)}`);
}

/** A field holding canonical base64. */
export function base64Field(v: unknown, what: string): Uint8Array {
  try {
    if (typeof v !== 'string') throw new Error('not a string');
    return fromBase64(v);
  } catch {
    throw new BadRequest(`${what} must be canonical base64`);
  }
}

/** A path segment percent-decoded strictly (RFC 3986 section 2.1, UTF-8 as RFC 3987 maps it). */
function decodeSegment(segment: string, what: 'provider' | 'account'): string {
  if (/%(?![0-9A-Fa-f]{2})/.test(segment)) throw new BadRequest(`the ${what} in the path has a malformed %-escape`);
  try {
    return decodeURIComponent(segment);
  } catch {
    const message = `the ${what} in the path is not UTF-8 once its %-escapes are decoded`;
    throw what === 'account' ? new CodedError('account_bad_utf8', message) : new BadRequest(message);
  }
}

/**
 * The provider and the account of a `/v1/<route>/{provider}/{account}` path, decoded strictly. The path is cut
 * from the URL as text, as the router reads it: parsing the URL again would resolve dot segments (`%2e`) that a
 * platform handing the app a raw URL left in, and name other segments than the route matched.
 */
export function pathNames(c: Context): { provider: string; account: string } {
  const url = c.req.url;
  const start = url.indexOf('/', url.indexOf('://') + 3);
  const query = url.indexOf('?', start);
  const [, , , provider, account] = url.slice(start, query < 0 ? undefined : query).split('/');
  return { provider: decodeSegment(provider, 'provider'), account: decodeSegment(account, 'account') };
}

/** The query parameter `name` (undefined if absent); given more than once, it is refused, not picked from. */
export function singleQuery(c: Context, name: string): string | undefined {
  const values = c.req.queries(name) ?? [];
  if (values.length > 1) throw new BadRequest(`${name} is given ${values.length} times`);
  return values[0];
}
