/**
 * What the Node server (and `kt witness serve`) answers a request that Node's HTTP parser refuses (a
 * malformed request line, header or chunked body, a body cut off by the end of the connection): the API's
 * JSON error, 400 `bad_request`, instead of Node's bare `400 Bad Request`; then the connection is closed. As Node's own handler does, a
 * connection whose current response has started is closed without a word (nothing may be written into
 * it), a client that reset the connection is not answered, and the errors Node answers otherwise (431 for
 * headers too large, 413 for chunk extensions too large, 408 for a request too slow) keep their status.
 * Each answer carries a new `X-Request-Id`, as every answer of the app does (api/app/request-id.ts).
 * When the parser fails inside a body a route is reading, the route sees the body fail to read and
 * answers 400 too (api/app/body.ts), so /metrics counts it as a 400, never as an internal error.
 * A request Node parses but @hono/node-server cannot turn into a Request (no Host, a Host that is no host, a
 * backslash in the target, an asterisk-form target, an absolute-form target of another scheme) gets the same
 * JSON 400 from `requestErrorAnswer`, instead of the adapter's bare 400.
 */
import { RequestError } from '@hono/node-server';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorResponse } from '../app/errors.js';
import { errorFields, type Logger } from '../app/logger.js';
import { requestIdFor, withRequestId } from '../app/request-id.js';

/** A raw HTTP/1.1 answer that closes the connection, with a new request id (the request was not read). */
function rawAnswer(statusLine: string, json?: unknown): string {
  const head = `HTTP/1.1 ${statusLine}\r\nX-Request-Id: ${requestIdFor(undefined)}\r\n`;
  if (json === undefined) return `${head}Connection: close\r\n\r\n`;
  const body = JSON.stringify(json);
  return (
    `${head}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n\r\n${body}`
  );
}

/** Node's answers for the parser errors that are not a plain 400 (node:_http_server). */
const OTHER_ANSWERS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

const BAD_REQUEST = {
  error: { code: 'bad_request', message: 'the request is not valid HTTP/1.1 (malformed, or cut off)' },
};

/** Answers the requests Node's HTTP parser refuses with the API's JSON 400 (see above). */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // The response in progress on this connection, as Node's own handler checks it.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (err.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
      const other = err.code && Object.hasOwn(OTHER_ANSWERS, err.code) ? OTHER_ANSWERS[err.code] : undefined;
      socket.write(other ? rawAnswer(other) : rawAnswer('400 Bad Request', BAD_REQUEST));
    }
    socket.destroy(err);
  });
}

/**
 * The adapter's `errorHandler` (`getRequestListener`): a request it could not build (`RequestError`) is the
 * client's, a JSON 400 `bad_request`; anything else thrown before the app answered is logged and a JSON 500.
 * Each answer carries a new request id (the request never reached the app's middleware).
 */
export function requestErrorAnswer(logger: Logger): (err: unknown) => Response {
  return (err) => {
    const id = requestIdFor(undefined);
    if (err instanceof RequestError)
      return withRequestId(errorResponse('bad_request', `the request cannot be served: ${err.message}`), id);
    logger.error('internal_error', { requestId: id, ...errorFields(err) });
    return withRequestId(errorResponse('internal', 'internal error'), id);
  };
}
