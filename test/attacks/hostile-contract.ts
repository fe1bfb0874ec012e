/**
 * What every answer to a hostile request must be (docs/PROTOCOL.md, api/app/errors.ts): never a 5xx; an error
 * is JSON `{"error":{"code","message"}}` and nothing else, its status the one `STATUS_BY_CODE` gives its code;
 * a write route (publication, enrolment, revocation) never accepts a request of the corpus. Also the request
 * of a corpus entry as a fetch `Request` (a failing body stream for an aborted one), and the directory's
 * observable state (checkpoint, providers), compared before and after an attack.
 */
import { statusForCode } from '../../api/app/errors.js';
import type { FuzzRequest } from './fuzz-corpus.js';

/** The body of `req` as bytes or text, or a stream that fails after its first bytes if `req.aborted`. */
function requestBody(req: FuzzRequest): BodyInit | undefined {
  if (!req.aborted) return req.body as BodyInit | undefined;
  const first = typeof req.body === 'string' ? new TextEncoder().encode(req.body) : (req.body ?? new Uint8Array(1));
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(first);
    },
    pull(controller) {
      controller.error(new Error('the client went away'));
    },
  });
}

/** `req` as a Request to `base` (its target is resolved by the URL parser; the raw one is passed apart). */
export function fetchRequest(base: string, req: FuzzRequest): Request {
  const headers = new Headers();
  for (const [name, value] of req.headers) headers.append(name, value);
  return new Request(`${base}${req.target}`, {
    method: req.method,
    headers,
    body: requestBody(req),
    duplex: 'half',
  } as RequestInit);
}

/** What is wrong with the error body `text` answered with `status`, or null if it is the API's error form. */
export function errorBodyBreach(status: number, contentType: string | null, text: string): string | null {
  if (!contentType?.startsWith('application/json')) return `a ${status} with Content-Type ${contentType}`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `a ${status} whose body is not JSON: ${text.slice(0, 80)}`;
  }
  const error = (body as { error?: unknown }).error as Record<string, unknown> | undefined;
  if (Object.keys(body as object).join() !== 'error' || typeof error !== 'object' || error === null)
    return `a ${status} that is not {"error":{...}}: ${text.slice(0, 80)}`;
  if (
    Object.keys(error).sort().join() !== 'code,message' ||
    typeof error.code !== 'string' ||
    typeof error.message !== 'string'
  )
    return `a ${status} whose error is not {code, message}: ${text.slice(0, 80)}`;
  const expected = statusForCode(error.code);
  if (expected !== status) return `code ${error.code} answered ${status}, but STATUS_BY_CODE says ${expected}`;
  return null;
}

const WRITE_ROUTE = /^\/v1\/(bindings|providers|providers\/revoke)(\?|$)/;

/**
 * What is wrong with the answer `res` to the hostile request `req`, or null if it keeps the contract; `bare`
 * are the statuses the platform may answer itself without a body.
 */
export async function breachOf(req: FuzzRequest, res: Response, bare: readonly number[] = []): Promise<string | null> {
  const text = req.method.toUpperCase() === 'HEAD' ? '' : await res.text();
  if (res.status >= 500) return `a ${res.status}: ${text.slice(0, 120)}`;
  if (bare.includes(res.status) && text === '') return null;
  if (res.status < 400) {
    if (req.method === 'POST' && WRITE_ROUTE.test(req.target)) return `a write route accepted it (${res.status})`;
    return null;
  }
  if (req.method.toUpperCase() === 'HEAD') return null; // no body to check
  return errorBodyBreach(res.status, res.headers.get('Content-Type'), text);
}

/**
 * Runs `send` over each request of `corpus` in turn; returns every breach, named by its request. `send` answers
 * null for a request that cannot be answered (a client that left mid-body), which is then not checked.
 */
export async function breaches(
  corpus: FuzzRequest[],
  send: (req: FuzzRequest) => Promise<Response | null>,
  bare: readonly number[] = [],
): Promise<string[]> {
  const found: string[] = [];
  for (const [i, req] of corpus.entries()) {
    let breach: string | null;
    try {
      const res = await send(req);
      breach = res === null ? null : await breachOf(req, res, bare);
    } catch (e) {
      breach = `no answer: ${(e as Error).message}`;
    }
    if (breach) found.push(`#${i} ${req.method} ${req.target.slice(0, 80)} (${req.name.slice(0, 80)}): ${breach}`);
  }
  return found;
}

/** The directory's state as its clients see it: the checkpoint and the enrolled providers. */
export async function observableState(
  get: (path: string) => Response | Promise<Response>,
): Promise<{ checkpoint: string; providers: unknown }> {
  const checkpoint = await (await get('/log/checkpoint')).text();
  const config = (await (await get('/v1/config')).json()) as { providers: unknown };
  return { checkpoint, providers: config.providers };
}
