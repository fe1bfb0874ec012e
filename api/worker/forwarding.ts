/**
 * What the Worker does to the requests it forwards to its Durable Object and to the responses it passes
 * back: request bodies read first, with a bound (a larger one is a 413 without involving the object), and
 * bodies the app already compressed passed through as they are. Also the 503 the object answers while its
 * log cannot be opened.
 */
import { readAtMost } from '../../verifier/http/bounded-body.js';
import { errorResponse } from '../app/errors.js';

/** The 503 every request gets while the log cannot be opened: `not_configured` or `log_unavailable`. */
export function unavailable(code: 'not_configured' | 'log_unavailable', message: string): Response {
  return errorResponse(code, message);
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
const MAX_REQUEST_BODY = 2 * 1024 * 1024;

/**
 * The request with its body read into memory (at most `max` bytes), for forwarding to the Durable Object;
 * or a 413 `too_large` for a larger body, and a 400 `bad_request` for one that cannot be read. The Worker reads the body rather than streaming it through: the
 * single-threaded object is spared oversized uploads, and a route that answers before reading its body
 * (a 401, a 404) leaves no half-read stream behind (workerd reports those as uncaught errors).
 */
export async function bufferedRequest(request: Request, max = MAX_REQUEST_BODY): Promise<Request | Response> {
  if (request.body === null) return request;
  let body: Uint8Array | null;
  try {
    body = await readAtMost(request, max);
  } catch {
    // The client's fault (a body cut off, a client gone), as on Node (api/app/body.ts): not an uncaught error.
    return errorResponse('bad_request', 'the request body could not be read: malformed, or cut off');
  }
  if (body === null) return errorResponse('too_large', `the body exceeds ${max / (1024 * 1024)} MiB`);
  return new Request(request, { body: body as Uint8Array<ArrayBuffer> });
}
