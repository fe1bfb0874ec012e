/**
 * The one way the clients (lookup client, auditor, tiles, `kt`) make a request: through the `fetch` they
 * were given, with a request that fails before any answer (connection refused, unknown host, TLS, reset,
 * timeout, abort) turned into a ClientError `network` whose message names the method, the URL and the
 * cause. Node's fetch (undici) says only `fetch failed` and keeps the cause in `error.cause` (for example
 * `connect ECONNREFUSED 127.0.0.1:8787` or `getaddrinfo ENOTFOUND kt.example`); browsers give no cause,
 * and the message says so. Request headers are never part of a message, and credentials in a URL are
 * removed from it, so no token or password can leak into an error.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { ClientError } from '../verification/errors.js';

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/** How deep a chain of `cause`s is followed. */
const MAX_CAUSES = 4;

/** `fetch(url, init)`, or a ClientError `network` naming `METHOD URL` and the cause of the failure. */
export async function request(fetch: Fetch, url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    throw networkError(`${(init?.method ?? 'GET').toUpperCase()} ${safeUrl(url)}`, e, url);
  }
}

/**
 * The ClientError `network` for a failure `e` while doing `what` (such as `GET https://kt.example/log/checkpoint`):
 * the failure and its causes, with any credentials of `url` removed. A CodedError is returned as it is.
 */
export function networkError(what: string, e: unknown, url = ''): CodedError {
  if (e instanceof CodedError) return e;
  return new ClientError('network', `${what}: ${scrub(describeFailure(e), url)}`);
}

/** `url` without the user name and password it may carry. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    return url;
  }
}

/** `text` with `url`'s credentials, and `url` itself, replaced by their safe forms. */
function scrub(text: string, url: string): string {
  const safe = safeUrl(url);
  if (url === '' || safe === url) return text;
  let out = text.split(url).join(safe);
  const { password } = new URL(url);
  for (const secret of [password, safeDecode(password)]) {
    if (secret.length > 0) out = out.split(secret).join('***');
  }
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A failure in words: timeouts and aborts by name, else the error and the chain of its causes. */
function describeFailure(e: unknown): string {
  const err = e as { name?: unknown; message?: unknown; cause?: unknown } | null;
  const name = typeof err?.name === 'string' ? err.name : '';
  if (name === 'TimeoutError') return `timed out (${String(err?.message ?? 'no answer in time')})`;
  if (name === 'AbortError') return `aborted before an answer (${String(err?.message ?? 'aborted')})`;
  const first = oneError(e) || 'failed';
  const causes: string[] = [];
  let cause = err?.cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < MAX_CAUSES; depth++) {
    const text = oneError(cause);
    if (text && !causes.includes(text) && text !== first) causes.push(text);
    cause = (cause as { cause?: unknown }).cause;
  }
  if (causes.length > 0) return `${first} (${causes.join(': ')})`;
  if (name === 'TypeError')
    return `${first} (no cause given, as in a browser: check the address, the network, TLS and, in a browser, CORS)`;
  return first;
}

/** One error's message, with its `code` when the message lacks it; an AggregateError's errors, joined. */
function oneError(e: unknown): string {
  if (typeof e !== 'object' || e === null) return e === undefined ? '' : String(e);
  const { message, code, errors } = e as { message?: unknown; code?: unknown; errors?: unknown };
  let text = typeof message === 'string' ? message : '';
  if (Array.isArray(errors) && errors.length > 0) {
    const inner = [...new Set(errors.map(oneError).filter((m) => m !== ''))];
    text = text ? `${text}: ${inner.join('; ')}` : inner.join('; ');
  }
  if (typeof code === 'string' && code !== '' && !text.includes(code)) text = text ? `${text} [${code}]` : code;
  return text;
}
