/**
 * The Node server's HTTP limits (api/node/http-limits.ts) on a real listening server: a client sending its
 * headers or its body a byte at a time is cut off at the timeout (408, or 400 inside a route, never a 5xx
 * in /metrics), connections beyond the cap are closed while those within it are served, and config.json's
 * values are checked.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { httpLimits, DEFAULT_HTTP_LIMITS } from '../../../api/node/http-limits.js';
import { startServer, type RunningServer } from '../../../api/node/server.js';

/** A server over a new data directory whose config.json holds `limits`. */
async function serverWith(limits: Record<string, number>): Promise<RunningServer> {
  const dir = join(mkdtempSync(join(tmpdir(), 'kt-http-limits-')), 'data');
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ origin: 'localhost/kt-http-limits', ...limits }));
  const logger = { info() {}, warn() {}, error() {} };
  return startServer({ dataDir: dir, host: '127.0.0.1', port: 0, logger });
}

/** A TCP connection to `url`, with all the server writes and whether (and when) it closed. */
function open(url: string): Promise<{ socket: Socket; answer: () => string; closed: Promise<number> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let answer = '';
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    const closed = new Promise<number>((done) => socket.on('close', () => done(Date.now() - started)));
    socket.on('data', (d) => (answer += d));
    socket.on('error', () => {});
    socket.on('connect', () => resolve({ socket, answer: () => answer, closed }));
  });
}

/** Writes `text` one byte every `ms` until done or the connection closes. */
async function trickle(socket: Socket, text: string, ms: number): Promise<void> {
  for (const ch of text) {
    if (socket.destroyed || !socket.writable) return;
    socket.write(ch);
    await new Promise((r) => setTimeout(r, ms));
  }
}

/** The statuses of every `kt_requests_total` row. */
async function countedStatuses(url: string): Promise<number[]> {
  const text = await (await fetch(`${url}/metrics`, { headers: { Connection: 'close' } })).text();
  return [...text.matchAll(/^kt_requests_total\{[^}]*status="(\d+)"\} \d+$/gm)].map((m) => Number(m[1]));
}

/** One request on a connection of its own; the server's whole answer ('' if it closed without one). */
async function oneRequest(url: string, path: string): Promise<string> {
  const c = await open(url);
  c.socket.write(`GET ${path} HTTP/1.1\r\nHost: kt.example\r\nConnection: close\r\n\r\n`);
  await c.closed;
  return c.answer();
}

describe('the Node server’s HTTP limits', () => {
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('cuts off a client sending its headers, or its body, a byte at a time', async () => {
    server = await serverWith({ headersTimeoutMs: 400, requestTimeoutMs: 800 });
    const slowHead = await open(server.url);
    void trickle(slowHead.socket, `GET /healthz HTTP/1.1\r\nHost: kt.example\r\n${'X-Slow: y\r\n'.repeat(20)}\r\n`, 50);
    const headMs = await slowHead.closed;
    expect(headMs).toBeLessThan(3000); // the headers would take 11 s
    expect(slowHead.answer()).toMatch(/^HTTP\/1\.1 408 /);

    const body = JSON.stringify({ lookups: [{ provider: 'chat.example', account: 'a@chat.example' }] });
    const slowBody = await open(server.url);
    slowBody.socket.write(
      `POST /v1/lookup HTTP/1.1\r\nHost: kt.example\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    void trickle(slowBody.socket, body, 100);
    const bodyMs = await slowBody.closed;
    expect(bodyMs).toBeLessThan(4000); // the body would take 6 s
    expect(slowBody.answer()).not.toMatch(/^HTTP\/1\.1 5/);
    expect((await countedStatuses(server.url)).filter((s) => s >= 500)).toEqual([]);
  });

  it('closes connections beyond the cap and serves those within it', async () => {
    server = await serverWith({ maxConnections: 2, headersTimeoutMs: 20_000, requestTimeoutMs: 20_000 });
    const held = [await open(server.url), await open(server.url)];
    for (const h of held) h.socket.write('GET /healthz HTTP/1.1\r\nHost: kt.example\r\n'); // half a request each
    await new Promise((r) => setTimeout(r, 100));
    expect(await oneRequest(server.url, '/healthz')).toBe(''); // a third connection: closed unanswered
    // The connections within the cap are served.
    held[0].socket.write('Connection: close\r\n\r\n');
    await held[0].closed;
    expect(held[0].answer()).toMatch(/^HTTP\/1\.1 200 /);
    // One slot is free again.
    expect(await oneRequest(server.url, '/healthz')).toMatch(/^HTTP\/1\.1 200 /);
    held[1].socket.destroy();
  });

  it('reads the limits from config.json, checked', () => {
    expect(httpLimits({}, 'config.json')).toEqual(DEFAULT_HTTP_LIMITS);
    expect(httpLimits({ maxConnections: 5, keepAliveTimeoutMs: 1000 }, 'config.json')).toMatchObject({
      maxConnections: 5,
      keepAliveTimeoutMs: 1000,
    });
    const refusal = (config: Record<string, unknown>) => {
      try {
        httpLimits(config, 'config.json');
        return 'accepted';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(refusal({ maxConnections: 0 })).toBe('config.json: "maxConnections" must be an integer from 1 to 1000000');
    expect(refusal({ headersTimeoutMs: '10000' })).toMatch(/"headersTimeoutMs" must be an integer from 100/);
    expect(refusal({ requestTimeoutMs: 1.5 })).toMatch(/"requestTimeoutMs" must be an integer/);
    expect(refusal({ headersTimeoutMs: 5000, requestTimeoutMs: 4000 })).toBe(
      'config.json: "headersTimeoutMs" must not be above "requestTimeoutMs"',
    );
  });
});
