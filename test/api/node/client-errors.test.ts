/**
 * Malformed and aborted request bodies on the real Node server (api/node/client-errors.ts, api/app/body.ts):
 * each is answered with the API's JSON 400 `bad_request` where the client can still read it, counted as a
 * 400 in /metrics, never as a 500, and never logged as an internal error.
 */
import { readFileSync, mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../../helpers/server-process.js';

/**
 * Sends `parts` over one TCP connection, a little apart so that the server sees them separately; then
 * half-closes the connection and returns all the server wrote, or (`abort`) resets it without waiting.
 */
function raw(url: string, parts: string[], abort = false): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect(Number(port), hostname, async () => {
      for (const part of parts) {
        socket.write(part);
        await new Promise((r) => setTimeout(r, 30));
      }
      if (abort) {
        socket.resetAndDestroy();
        resolve('');
      } else socket.end();
    });
    socket.on('data', (d) => (answer += d));
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer));
  });
}

/** The rows `kt_requests_total` of POST requests, by route and status. */
async function postCounts(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const rows: Record<string, number> = {};
  for (const m of text.matchAll(/^kt_requests_total\{method="POST",route="([^"]+)",status="(\d+)"\} (\d+)$/gm))
    rows[`${m[1]} ${m[2]}`] = Number(m[3]);
  return rows;
}

const JSON_400 =
  /^HTTP\/1\.1 400 Bad Request\r\nX-Request-Id: [0-9a-f]{32}\r\nContent-Type: application\/json\r\nContent-Length: \d+\r\nConnection: close\r\n\r\n(.*)$/s;

describe('malformed and aborted request bodies on the Node server', () => {
  let server: ServerProcess;
  let token: string;
  beforeAll(async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'kt-bodies-')), 'data');
    server = await startServerProcess(['--data', dir]);
    token = readFileSync(join(dir, 'operator.token'), 'utf8').trim();
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  const routes = ['/v1/bindings', '/v1/lookup', '/v1/providers', '/v1/providers/revoke'];
  const head = (path: string) =>
    `POST ${path} HTTP/1.1\r\nHost: kt.example\r\nContent-Type: application/json\r\n` +
    `Authorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\n`;

  it('answers 400 bad_request, counts a 400 and logs no internal error, on every POST route', async () => {
    const cases: [string, (path: string) => string[], boolean][] = [
      ['a broken chunk size', (p) => [head(p), '5\r\n{"sta\r\n', 'zz\r\n'], false],
      ['a chunk longer than its size', (p) => [head(p), '2\r\n{"statements":[]}\r\n0\r\n\r\n'], false],
      ['a body cut off by the end of the connection', (p) => [head(p), '5\r\n{"sta\r\n'], false],
      ['a client gone mid-body', (p) => [head(p), '5\r\n{"sta\r\n'], true],
    ];
    for (const path of routes) {
      for (const [name, parts, abort] of cases) {
        const answer = await raw(server.url, parts(path), abort);
        if (abort) continue; // nobody to answer
        const m = JSON_400.exec(answer);
        expect(m, `${path}, ${name}: ${answer}`).not.toBeNull();
        expect(JSON.parse(m![1]).error.code, `${path}, ${name}`).toBe('bad_request');
      }
    }
    // The routes see their bodies fail to read once the connection is gone: each request is one 400.
    const expected = Object.fromEntries(routes.map((r) => [`${r} 400`, cases.length]));
    for (let i = 0; i < 100; i++) {
      if (JSON.stringify(await postCounts(server.url)) === JSON.stringify(expected)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await postCounts(server.url)).toEqual(expected);
    expect(server.output()).not.toMatch(/internal[_ ]error/);
    // The server still answers, and a well-formed chunked body still works.
    const ok = await raw(server.url, [
      `POST /v1/lookup HTTP/1.1\r\nHost: kt.example\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      ...['{"discover":"alice', '@example.org"}'].map((chunk) => `${chunk.length.toString(16)}\r\n${chunk}\r\n`),
      '0\r\n\r\n',
    ]);
    expect(ok).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it('answers a malformed request line with the JSON 400 too', async () => {
    const answer = await raw(server.url, ['NOT HTTP AT ALL\r\n\r\n']);
    const m = JSON_400.exec(answer);
    expect(m, answer).not.toBeNull();
    expect(JSON.parse(m![1]).error.code).toBe('bad_request');
  });
});

describe("the adapter's error handler (requestErrorAnswer)", () => {
  it('answers a request that cannot be built with a JSON 400, and anything else with a logged JSON 500', async () => {
    const { RequestError } = await import('@hono/node-server');
    const { requestErrorAnswer } = await import('../../../api/node/client-errors.js');
    const lines: string[] = [];
    const logger = (await import('../../../api/app/logger.js')).jsonLogger((l) => lines.push(l));
    const answer = requestErrorAnswer(logger);
    const bad = answer(new RequestError('Missing host header'));
    expect(bad.status).toBe(400);
    expect(bad.headers.get('X-Request-Id')).toMatch(/^[0-9a-f]{32}$/);
    expect((await bad.json()).error.code).toBe('bad_request');
    expect(lines).toEqual([]);
    const failed = answer(new TypeError('boom'));
    expect(failed.status).toBe(500);
    expect((await failed.json()).error).toEqual({ code: 'internal', message: 'internal error' });
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(['internal_error']);
  });
});
