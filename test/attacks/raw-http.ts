/**
 * HTTP/1.1 over a raw socket, for the hostile tests against the real Node server: a request is written exactly
 * as given (fetch and every URL parser would resolve dot segments, fix framing or refuse odd headers before
 * sending), in parts a little apart so that the server's parser sees them separately, from a chosen loopback
 * address (Linux routes all of 127.0.0.0/8 to the host, so each address is a client of its own to the rate
 * limits); the answer is read back until the server closes the connection (every request asks it to) and parsed (Content-Length or
 * chunked, gzip undone) into a fetch `Response`.
 */
import { connect } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { FuzzRequest } from './fuzz-corpus.js';

/** One connection's script: the parts to write, and whether to reset the connection after them. */
export interface RawExchange {
  parts: (string | Uint8Array)[];
  /** Reset the connection after the last part instead of waiting for the answer (a client gone mid-body). */
  abort?: boolean;
  /**
   * End the client's side after the last part (a body cut off by the end of the connection). Otherwise the
   * connection stays open until the server closes it: Node drops the requests in flight on a half-close.
   */
  halfClose?: boolean;
  /** The local address to connect from (default: the system's choice). */
  from?: string;
}

/** Writes `x.parts` to `url`'s host and port; the bytes the server wrote before closing (none if aborted). */
export function exchange(url: string, x: RawExchange): Promise<Buffer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ port: Number(port), host: hostname, localAddress: x.from }, async () => {
      for (const [i, part] of x.parts.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 15));
        if (socket.destroyed) break;
        socket.write(part);
      }
      if (x.abort) {
        socket.resetAndDestroy();
        resolve(Buffer.concat(chunks));
      } else if (x.halfClose) socket.end();
    });
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** The body of a chunked message (`body` starting at the first chunk's size line). */
function unchunk(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) throw new Error('a chunked answer cut off');
    const size = Number.parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (size === 0) return Buffer.concat(out);
    out.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** The first final answer in `bytes` (after any 1xx) as a Response, or null if the server wrote none. */
export function parseAnswer(bytes: Buffer): Response | null {
  while (/^HTTP\/1\.1 1\d\d /.test(bytes.subarray(0, 13).toString('latin1')))
    bytes = bytes.subarray(bytes.indexOf('\r\n\r\n') + 4);
  if (bytes.length === 0) return null;
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`an answer without the end of its head: ${bytes.toString('latin1').slice(0, 200)}`);
  const [statusLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]);
  if (!status) throw new Error(`not an HTTP/1.1 status line: ${statusLine}`);
  const headers = new Headers(
    lines.map((l): [string, string] => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );
  let body = bytes.subarray(end + 4);
  if (headers.get('Transfer-Encoding')?.includes('chunked')) body = unchunk(body);
  else if (headers.has('Content-Length')) body = body.subarray(0, Number(headers.get('Content-Length')));
  if (headers.get('Content-Encoding') === 'gzip' && body.length > 0) body = gunzipSync(body);
  headers.delete('Content-Encoding');
  const empty = status === 204 || status === 304 || body.length === 0;
  return new Response(empty ? null : new Uint8Array(body), { status, headers });
}

/**
 * A corpus request as raw HTTP/1.1 parts: the head (with Host, the body's length unless the request gives
 * its own, and Connection: close), then the body; an aborted one is sent chunked and cut after its first chunk.
 */
export function rawRequest(req: FuzzRequest, host: string): RawExchange {
  const body = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : Buffer.from(req.body ?? []);
  const headers = req.headers.filter(([name]) => name.toLowerCase() !== 'host');
  const framing: string[] = [];
  if (req.aborted) framing.push('Transfer-Encoding: chunked');
  else if (!headers.some(([name]) => name.toLowerCase() === 'content-length') && req.body !== undefined)
    framing.push(`Content-Length: ${body.length}`);
  const head = [
    `${req.method} ${req.target} HTTP/1.1`,
    `Host: ${host}`,
    ...headers.map(([name, value]) => `${name}: ${value}`),
    ...framing,
    'Connection: close',
  ].join('\r\n');
  if (req.aborted) return { parts: [`${head}\r\n\r\n`, `${body.length.toString(16)}\r\n`, body], abort: true };
  return { parts: [Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body])] };
}
