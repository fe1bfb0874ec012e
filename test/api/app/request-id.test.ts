/**
 * Request ids (api/app/request-id.ts): every answer of the app carries `X-Request-Id`, errors and preflights
 * included; a well-formed incoming id (1..64 of `A-Z a-z 0-9 . _ : -`) is kept, anything else is replaced
 * by 32 random hex digits; browsers of a granted origin may read it; the access log carries it. A header is
 * set on the response itself (its bytes sent as they are), copied only when the headers are immutable.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app/app.js';
import { jsonLogger } from '../../../api/app/logger.js';
import { requestIdFor, withHeader } from '../../../api/app/request-id.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { MemoryLogStorage } from '../../doubles/memory-log-storage.js';
import { logSigner, ORIGIN, records } from '../../helpers/log.js';

const GENERATED = /^[0-9a-f]{32}$/;

async function appOver10(opts: { accessLog?: boolean; lines?: string[] } = {}) {
  const storage = new MemoryLogStorage();
  const log = await LogAppender.open({ storage, signer: logSigner(), origin: ORIGIN });
  await log.append(records(0, 10));
  const reader = new LogReader(storage, () => log.head);
  const logger = jsonLogger((line) => opts.lines?.push(line));
  return createApp({ reader, config: { origin: ORIGIN, logKey: '' }, logger, accessLog: opts.accessLog });
}

describe('request ids', () => {
  it('keep a well-formed incoming id and replace any other with 32 random hex digits', () => {
    for (const ok of ['a', 'req-1', 'Zz09._:-', 'x'.repeat(64), '6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c'])
      expect(requestIdFor(ok)).toBe(ok);
    const bad = ['', 'x'.repeat(65), 'alice@example.org', 'a b', 'a"b', 'a/b', 'ü', 'a\nb', '{"x":1}', null, undefined];
    for (const b of bad) expect(requestIdFor(b)).toMatch(GENERATED);
    expect(requestIdFor(undefined)).not.toBe(requestIdFor(undefined));
    // New ids come from blocks of random bytes: across several blocks, every id is new and well-formed.
    const ids = Array.from({ length: 1000 }, () => requestIdFor(undefined));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(GENERATED);
  });

  it('are returned on every answer: success, refusal, not found, preflight and internal error', async () => {
    const app = await appOver10();
    app.get('/boom', () => {
      throw new Error('boom');
    });
    const answers = [
      await app.request('/log/checkpoint'),
      await app.request('/log/tile/0/x001/../000'),
      await app.request('/log/tile/0/000.p/999'),
      await app.request('/no/such/route'),
      await app.request('/boom'),
      await app.request('/healthz', { method: 'BREW' }),
      await app.request('/log/checkpoint', {
        method: 'OPTIONS',
        headers: { Origin: 'https://page.example', 'Access-Control-Request-Method': 'GET' },
      }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 404, 400, 404, 500, 404, 204]);
    const ids = answers.map((r) => r.headers.get('X-Request-Id'));
    for (const id of ids) expect(id).toMatch(GENERATED);
    expect(new Set(ids).size).toBe(ids.length);
    const kept = await app.request('/log/checkpoint', { headers: { 'X-Request-Id': 'lb-42:7' } });
    expect(kept.headers.get('X-Request-Id')).toBe('lb-42:7');
    const replaced = await app.request('/log/checkpoint', { headers: { 'X-Request-Id': 'bob@chat.example' } });
    expect(replaced.headers.get('X-Request-Id')).toMatch(GENERATED);
  });

  it('may be read by a browser page the CORS policy grants', async () => {
    const app = await appOver10();
    const res = await app.request('/log/checkpoint', { headers: { Origin: 'https://any.example' } });
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(res.headers.get('Access-Control-Expose-Headers')?.split(', ')).toContain('X-Request-Id');
  });

  it('are in the access log, one line per request with the route pattern, when it is on; no line when off', async () => {
    const lines: string[] = [];
    const app = await appOver10({ accessLog: true, lines });
    await app.request('/log/tile/entries/000.p/10', { headers: { 'X-Request-Id': 'abc' } });
    await app.request('/no/such/thing?q=secret', { method: 'BREW' });
    const logged = lines.map((l) => JSON.parse(l));
    expect(logged).toEqual([
      {
        time: expect.any(String),
        level: 'info',
        event: 'request',
        requestId: 'abc',
        method: 'GET',
        route: '/log/tile/*',
        status: 200,
        ms: expect.any(Number),
      },
      expect.objectContaining({ event: 'request', method: 'OTHER', route: 'unmatched', status: 404 }),
    ]);
    expect(lines.join('\n')).not.toMatch(/secret|no\/such|BREW/);
    const quiet: string[] = [];
    await (await appOver10({ lines: quiet })).request('/log/checkpoint');
    expect(quiet).toEqual([]);
  });

  it('sets a header on the response itself, which keeps its body and status; copies only an immutable one', async () => {
    const res = new Response(Uint8Array.of(1, 2, 3), { status: 201, headers: { 'Content-Type': 'x/y' } });
    const same = withHeader(res, 'X-KT-Reader', '1');
    expect(same).toBe(res);
    expect([same.status, same.headers.get('X-KT-Reader'), same.headers.get('Content-Type')]).toEqual([201, '1', 'x/y']);
    expect(new Uint8Array(await same.arrayBuffer())).toEqual(Uint8Array.of(1, 2, 3));
    const fixed = Response.redirect('http://127.0.0.1/elsewhere', 302);
    expect(() => fixed.headers.set('X-Test', '1')).toThrow(TypeError);
    const copy = withHeader(fixed, 'X-KT-Reader', '0');
    expect(copy).not.toBe(fixed);
    expect([copy.status, copy.headers.get('X-KT-Reader'), copy.headers.get('Location')]).toEqual([
      302,
      '0',
      'http://127.0.0.1/elsewhere',
    ]);
  });
});
