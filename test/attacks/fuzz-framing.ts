/**
 * Requests whose framing is malformed, for the real Node server only (they cannot be made with fetch): broken
 * and cut-off chunked bodies and clients gone mid-body on every POST route, request lines and headers Node's
 * parser refuses (bad methods and versions, headers without a colon, NUL bytes, folded lines, conflicting
 * lengths, too large heads and chunk extensions), odd but valid forms (absolute-form and asterisk-form
 * targets, HTTP/1.0, pipelining, `Expect`). What each may be answered is in `allowedBareStatus`: the API's
 * answers (JSON errors), or the few Node answers documented bare in api/node/client-errors.ts.
 */
import type { RawExchange } from './raw-http.js';

export interface FramingCase extends RawExchange {
  name: string;
}

/**
 * Statuses Node answers itself, without a body: a request too slow, chunk extensions too large, a head too
 * large (api/node/client-errors.ts), and 417 for an `Expect` it does not support (Node's default, RFC 9110
 * section 10.1.1; not yet the API's JSON form).
 */
export const BARE_STATUSES: readonly number[] = [408, 413, 417, 431];

const POST_ROUTES = ['/v1/lookup', '/v1/bindings', '/v1/providers', '/v1/providers/revoke'];

/** Broken chunked bodies and a client gone mid-body, on every POST route. */
function chunkedCases(host: string, token: string): FramingCase[] {
  const head = (path: string) =>
    `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
    `Authorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\n`;
  return POST_ROUTES.flatMap((path) => [
    { name: `${path}: a broken chunk size`, parts: [head(path), '5\r\n{"sta\r\n', 'zz\r\n'] },
    { name: `${path}: a chunk longer than its size`, parts: [head(path), '2\r\n{"statements":[]}\r\n0\r\n\r\n'] },
    { name: `${path}: a negative chunk size`, parts: [head(path), '-5\r\n{"sta\r\n'] },
    { name: `${path}: a huge chunk size`, parts: [head(path), 'ffffffffffffffffff\r\n{"sta\r\n'] },
    { name: `${path}: a chunk without its CRLF`, parts: [head(path), '5\r\n{"staXX0\r\n\r\n'] },
    { name: `${path}: a chunk extension too large`, parts: [head(path), `5;${'x'.repeat(20_000)}\r\n{"sta\r\n`] },
    {
      name: `${path}: a body cut off by the end of the connection`,
      parts: [head(path), '5\r\n{"sta\r\n'],
      halfClose: true,
    },
    { name: `${path}: a client gone mid-body`, parts: [head(path), '5\r\n{"sta\r\n'], abort: true },
    { name: `${path}: a client gone after the head`, parts: [head(path)], abort: true },
  ]);
}

/** A GET of the checkpoint with `extra` header lines (each ending in CRLF). */
const getWith = (host: string, extra: string) =>
  `GET /log/checkpoint HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`;

/** Request lines and heads that Node's parser refuses, or must read strictly. */
function headCases(host: string): FramingCase[] {
  const one = (name: string, text: string): FramingCase => ({ name, parts: [text] });
  return [
    one('not HTTP at all', 'NOT HTTP AT ALL\r\n\r\n'),
    one('a lower-case method', `get /log/checkpoint HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    one('TRACE', `TRACE /log/checkpoint HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    one('CONNECT', `CONNECT ${host} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    one('an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    one('an HTTP/0.9 request', 'GET /log/checkpoint\r\n\r\n'),
    one('HTTP/1.2', `GET /log/checkpoint HTTP/1.2\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    one('HTTP/9.9', `GET /log/checkpoint HTTP/9.9\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    one('tabs in the request line', `GET\t/log/checkpoint\tHTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    one('a space in the target', `GET /log/check point HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    one('a backslash in the target', `GET /log\\checkpoint HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    one('a Host that is no host', `GET /log/checkpoint HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n`),
    one(
      'an absolute-form target of another scheme',
      `GET ftp://${host}/log/checkpoint HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    ),
    one('a NUL in the target', `GET /log/\0checkpoint HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    one('a header without a colon', getWith(host, 'Bad Header\r\n')),
    one('a space before the colon', getWith(host, 'X-A : b\r\n')),
    one('a NUL in a header', getWith(host, 'X-A: a\0b\r\n')),
    one('a folded header line', getWith(host, 'X-A: a\r\n b\r\n')),
    one('an empty header name', getWith(host, ': b\r\n')),
    one('a head too large', getWith(host, `X-Big: ${'a'.repeat(20_000)}\r\n`)),
    one('a target too large', `GET /log/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    one('two Host headers', getWith(host, `Host: evil.example\r\n`)),
    one('no Host header', 'GET /log/checkpoint HTTP/1.1\r\nConnection: close\r\n\r\n'),
    one('bare LF line endings', `GET /log/checkpoint HTTP/1.1\nHost: ${host}\nConnection: close\n\n`),
  ];
}

/** Conflicting or odd body framing, and odd but valid forms a server must still answer well. */
function bodyFramingCases(host: string): FramingCase[] {
  const post = (headers: string, body: string) =>
    `POST /v1/lookup HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n${headers}Connection: close\r\n\r\n${body}`;
  const body = '{"discover":"alice@chat.example"}';
  const one = (name: string, text: string): FramingCase => ({ name, parts: [text] });
  return [
    one('two different Content-Lengths', post(`Content-Length: 5\r\nContent-Length: ${body.length}\r\n`, body)),
    one(
      'Content-Length and chunked',
      post(`Content-Length: 5\r\nTransfer-Encoding: chunked\r\n`, `5\r\n{"dis\r\n0\r\n\r\n`),
    ),
    one('Transfer-Encoding gzip, chunked', post('Transfer-Encoding: gzip, chunked\r\n', `5\r\n{"dis\r\n0\r\n\r\n`)),
    one('Transfer-Encoding chunked, identity', post('Transfer-Encoding: chunked, identity\r\n', body)),
    one(
      'Transfer-Encoding chunked twice',
      post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', `0\r\n\r\n`),
    ),
    one('a negative Content-Length', post('Content-Length: -1\r\n', body)),
    one('a Content-Length with a sign', post('Content-Length: +34\r\n', body)),
    one('a body longer than its Content-Length', post('Content-Length: 5\r\n', `${body}GARBAGE`)),
    { ...one('a Content-Length above the body', post('Content-Length: 9999\r\n', body)), halfClose: true },
    one('Expect: 100-continue', post(`Expect: 100-continue\r\nContent-Length: ${body.length}\r\n`, body)),
    one('an unknown expectation', post(`Expect: teapot\r\nContent-Length: ${body.length}\r\n`, body)),
    one(
      'an absolute-form target with dot segments',
      `GET http://${host}/log/tile/0/x001/%2e%2e/000.p/1 HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    ),
    one(
      'an absolute-form target',
      `GET http://${host}/log/checkpoint HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    ),
    one('an asterisk-form target', `OPTIONS * HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    one('HTTP/1.0 without Host', 'GET /v1/config HTTP/1.0\r\n\r\n'),
    one('two pipelined requests', `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n${getWith(host, '')}`),
    one(
      'a GET with a body',
      `GET /v1/config HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd`,
    ),
    one(
      'a Content-Encoding the server does not take',
      post(`Content-Encoding: gzip\r\nContent-Length: ${body.length}\r\n`, body),
    ),
  ];
}

/** Every framing case, for a server at `host` (host:port) with operator token `token`. */
export function framingCases(host: string, token: string): FramingCase[] {
  return [...chunkedCases(host, token), ...headCases(host), ...bodyFramingCases(host)];
}
