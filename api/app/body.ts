/**
 * Request bodies read whole, with a bound, before a route's handler runs: a declared Content-Length above
 * the bound is refused unread, and reading stops as soon as more bytes arrive than allowed (chunked
 * bodies). A body that cannot be read (a malformed chunked encoding, a connection cut or a client gone
 * before the body's end) is the client's fault, never the server's: it is answered 400 `bad_request`, and
 * so counted in /metrics, not logged as an internal error.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { errorResponse } from './errors.js';

/** What a body above its bound is answered. */
export type TooLarge = (c: Context) => Response;

/** The request's body bytes if it has at most `max`, else null; throws if the body cannot be read. */
async function readAtMost(request: Request, max: number): Promise<Uint8Array | null> {
  const declared = request.headers.get('Content-Length');
  if (declared !== null && Number(declared) > max) return null;
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  let buffer = new Uint8Array(Math.min(max, Number(declared ?? 0) || 1024));
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return buffer.subarray(0, size);
    // Left unread, as hono's bodyLimit leaves it: the server drains or closes the connection after the answer.
    if (size + value.length > max) return null;
    if (size + value.length > buffer.length) {
      const grown = new Uint8Array(Math.min(max, Math.max(size + value.length, buffer.length * 2)));
      grown.set(buffer.subarray(0, size));
      buffer = grown;
    }
    buffer.set(value, size);
    size += value.length;
  }
}

/**
 * Reads the request's body (at most `maxSize` bytes) before the handler, which then reads it from memory:
 * a larger body is answered by `tooLarge`, and one that cannot be read is 400 `bad_request`.
 */
export function boundedBody(maxSize: number, tooLarge: TooLarge): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.raw.body === null) return next();
    let body: Uint8Array | null;
    try {
      body = await readAtMost(c.req.raw, maxSize);
    } catch {
      return errorResponse('bad_request', 'the request body could not be read: malformed, or cut off');
    }
    if (body === null) return tooLarge(c);
    c.req.raw = new Request(c.req.raw, { body: body as Uint8Array<ArrayBuffer> });
    return next();
  };
}
