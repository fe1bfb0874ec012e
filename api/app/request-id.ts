/**
 * Request ids (docs/PROTOCOL.md section 7): every request gets one, returned in the `X-Request-Id` header of
 * every answer (errors included) and carried in every log line about the request. A request that brings a
 * well-formed `X-Request-Id` (1 to 64 characters of `A-Z a-z 0-9 . _ : -`, as a proxy in front sets it) keeps
 * it, so that the proxy's log and the server's agree; any other value is ignored and a new id is made: 16
 * random bytes in hex. The charset keeps ids free of spaces, quotes, `@` and `/`, so an id cannot forge a log
 * field or look like an account or a path. The Worker assigns the id in its isolate and forwards it to the
 * Durable Object, whose app keeps it.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { randomBytes } from '../../wasm-free-crypto/random.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** The request's id (set by `requestIds`). */
    requestId: string;
  }
}

export const REQUEST_ID_HEADER = 'X-Request-Id';

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,64}$/;

/** Random bytes for new ids, drawn from the platform's generator a block at a time (one call cost 5-18 µs). */
const ID_BYTES = 16;
let pool: Uint8Array = new Uint8Array(0);
let taken = 0;

function newIdBytes(): Uint8Array {
  if (taken + ID_BYTES > pool.length) {
    pool = randomBytes(256 * ID_BYTES); // made on first use: a Worker may not draw random values at load
    taken = 0;
  }
  taken += ID_BYTES;
  return pool.subarray(taken - ID_BYTES, taken);
}

/** The request's id: the incoming header's value if well-formed, else a new random one. */
export function requestIdFor(incoming: string | null | undefined): string {
  return incoming && WELL_FORMED.test(incoming) ? incoming : toHex(newIdBytes());
}

/**
 * `response` with header `name` set to `value`, in place: a copy (`new Response(response.body, response)`)
 * turns the bytes into a stream, which @hono/node-server then writes chunk by chunk (it cost a reader process
 * about 40% of its lookup rate). Only a response whose headers are immutable (none the app builds) is copied.
 * So a response must not share its Headers with another: @hono/node-server's Response keeps the very Headers
 * object it is given, and a header set here would then reach every response built with it.
 */
export function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set(name, value);
    return copy;
  }
}

/** `response` carrying `id` in its X-Request-Id header (withHeader). */
export function withRequestId(response: Response, id: string): Response {
  return withHeader(response, REQUEST_ID_HEADER, id);
}

/** The id the middleware gave the request (undefined outside it). */
export function requestIdOf(c: Context): string | undefined {
  return c.get('requestId');
}

/**
 * The middleware giving each request its id, mounted first: the id is set before any other middleware or
 * route runs, and put on the answer whatever produced it (a route, the not-found handler, the error handler).
 */
export function requestIds(): MiddlewareHandler {
  return async (c, next) => {
    const id = requestIdFor(c.req.header(REQUEST_ID_HEADER));
    c.set('requestId', id);
    await next();
    const res = withRequestId(c.res, id);
    if (res !== c.res) c.res = res; // Hono's setter copies the response: only when the headers were immutable
  };
}
