/**
 * What the Node server (and `kt witness serve`) answers a request that Node's HTTP parser refuses (a
 * malformed request line, header or chunked body, a body cut off by the end of the connection): the API's
 * JSON error, 400 `bad_request`, instead of Node's bare `400 Bad Request`; then the connection is closed. As Node's own handler does, a
 * connection whose current response has started is closed without a word (nothing may be written into
 * it), a client that reset the connection is not answered, and the errors Node answers otherwise (431 for
 * headers too large, 413 for chunk extensions too large, 408 for a request too slow) keep their status.
 * When the parser fails inside a body a route is reading, the route sees the body fail to read and
 * answers 400 too (api/app/body.ts), so /metrics counts it as a 400, never as an internal error.
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** A raw HTTP/1.1 answer that closes the connection. */
function rawAnswer(statusLine: string, json?: unknown): string {
  if (json === undefined) return `HTTP/1.1 ${statusLine}\r\nConnection: close\r\n\r\n`;
  const body = JSON.stringify(json);
  return (
    `HTTP/1.1 ${statusLine}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n\r\n${body}`
  );
}

/** Node's answers for the parser errors that are not a plain 400 (node:_http_server). */
const OTHER_ANSWERS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: rawAnswer('431 Request Header Fields Too Large'),
  HPE_CHUNK_EXTENSIONS_OVERFLOW: rawAnswer('413 Payload Too Large'),
  ERR_HTTP_REQUEST_TIMEOUT: rawAnswer('408 Request Timeout'),
};

const BAD_REQUEST = rawAnswer('400 Bad Request', {
  error: { code: 'bad_request', message: 'the request is not valid HTTP/1.1 (malformed, or cut off)' },
});

/** Answers the requests Node's HTTP parser refuses with the API's JSON 400 (see above). */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // The response in progress on this connection, as Node's own handler checks it.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (err.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
      socket.write(OTHER_ANSWERS[err.code ?? ''] ?? BAD_REQUEST);
    }
    socket.destroy(err);
  });
}
