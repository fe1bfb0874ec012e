/**
 * The explorer page on the Worker (api/worker/explorer-assets.ts), inside workerd with wrangler.toml's
 * `[assets]` (the built dist/explorer/): `/`, `/explorer.js` and `/explorer.css` are answered with the
 * same status, headers and bytes as the Node server gives (recorded by test/fixtures/worker-directory.ts),
 * with the strict Content-Security-Policy, an ETag and 304s, HEAD without a body; other paths and methods
 * are still the app's JSON 404s; the isolate answers the page without the Durable Object, and counts it in
 * /metrics; without the assets binding the page is the Node server's 404 for a page not built, and a
 * log-only Worker serves no page.
 */
import { createExecutionContext, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { EXPLORER_CSP, EXPLORER_HEADERS } from '../../../api/app/explorer-routes.js';
import type { SequencerState } from '../../../api/worker/sequencer-state.js';
import worker from '../../../api/worker/worker.js';
import { EXPLORER_REQUESTS, key, recordExplorer } from './explorer-requests.js';
import { fixture, get, sequencer } from './helpers.js';

const node = fixture.nodeExplorer;

/** Every request the object's app counted, whatever its route (those the isolate answered are not). */
async function objectRequests(): Promise<number> {
  return runInDurableObject(sequencer(), async (instance) => {
    const rows = (instance as unknown as { state: SequencerState }).state.requests.rows();
    return rows.reduce((n, r) => n + r.count, 0);
  });
}

/** `path` through the Worker's handler with `vars` added to its environment. */
function fetchWith(vars: Record<string, unknown>, path: string, init: RequestInit = {}): Promise<Response> {
  const request = new Request(`https://kt.example${path}`, init) as Parameters<typeof worker.fetch>[0];
  return worker.fetch(request, { ...env, ...vars } as typeof env, createExecutionContext());
}

describe('the explorer page on the Worker', () => {
  it('is built, and the Node server served it', () => {
    expect(env.ASSETS, 'wrangler.toml binds the built page as ASSETS').toBeDefined();
    expect(node[key({ method: 'GET', path: '/' })]!.status, 'dist/explorer/ is built (npm run build)').toBe(200);
  });

  it('answers as the Node server does: status, headers and bytes', async () => {
    const worker = await recordExplorer((path, init) => get(path, init));
    expect(Object.keys(worker)).toEqual(EXPLORER_REQUESTS.map(key));
    for (const k of Object.keys(node)) expect(worker[k], k).toEqual(node[k]);
    for (const k of Object.keys(node)) expect(worker[k]!.hasRequestId, k).toBe(true);
  });

  it('serves the page, its script and its style sheet with the strict CSP', async () => {
    const types = { '/': 'text/html', '/explorer.js': 'text/javascript', '/explorer.css': 'text/css' };
    for (const [path, type] of Object.entries(types)) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('Content-Type'), path).toBe(`${type}; charset=utf-8`);
      expect(res.headers.get('Content-Security-Policy'), path).toBe(EXPLORER_CSP);
      for (const [name, value] of Object.entries(EXPLORER_HEADERS)) expect(res.headers.get(name), name).toBe(value);
      expect(res.headers.get('Cache-Control'), path).toBe('no-cache');
      expect(res.headers.get('ETag'), path).toMatch(/^"[0-9a-f]{32}"$/);
      const body = await res.text();
      expect(body.length, path).toBeGreaterThan(0);
      if (path === '/') {
        expect(body).toContain('explorer.js');
        expect(body).toContain('explorer.css');
      }
    }
  });

  it('answers 304 to its own ETag, and HEAD without a body', async () => {
    const page = await get('/');
    const etag = page.headers.get('ETag')!;
    const again = await get('/', { headers: { 'If-None-Match': etag } });
    expect([again.status, again.headers.get('ETag'), await again.text()]).toEqual([304, etag, '']);
    expect(again.headers.get('Content-Security-Policy')).toBe(EXPLORER_CSP);
    expect((await get('/', { headers: { 'If-None-Match': '"stale"' } })).status).toBe(200);
    const head = await get('/', { method: 'HEAD' });
    expect([head.status, head.headers.get('ETag'), head.headers.get('Content-Type')]).toEqual([
      200,
      etag,
      'text/html; charset=utf-8',
    ]);
    expect(await head.text()).toBe('');
  });

  it('leaves other paths and methods to the app: JSON 404s', async () => {
    for (const [path, init] of [
      ['/nope', {}],
      ['/explorer.js/', {}],
      ['/index.html', {}],
      ['/', { method: 'POST' }],
    ] as [string, RequestInit][]) {
      const res = await get(path, init);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('Content-Security-Policy'), path).toBeNull();
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe('not_found');
    }
  });

  it('is answered by the isolate, without the Durable Object, and counted in /metrics', async () => {
    await get('/metrics'); // the isolate hands its counts over now, not during the requests below
    const before = await objectRequests();
    const etag = (await get('/')).headers.get('ETag')!;
    await get('/explorer.js');
    await get('/explorer.css');
    await get('/', { method: 'HEAD' });
    await get('/', { headers: { 'If-None-Match': etag } });
    expect(await objectRequests(), 'the object answered a request of the page').toBe(before);
    const metrics = await (await get('/metrics')).text();
    for (const line of [
      'kt_requests_total{method="GET",route="/",status="200"}',
      'kt_requests_total{method="GET",route="/explorer.js",status="200"}',
      'kt_requests_total{method="GET",route="/explorer.css",status="200"}',
      'kt_requests_total{method="HEAD",route="/",status="200"}',
      'kt_requests_total{method="GET",route="/",status="304"}',
    ])
      expect(metrics, line).toContain(line);
  });

  it('without the assets binding, is the 404 of a Node server without the built page', async () => {
    const before = await objectRequests();
    for (const path of ['/', '/explorer.js', '/explorer.css']) {
      const res = await fetchWith({ ASSETS: undefined }, path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('X-Request-Id'), path).not.toBeNull();
      expect(await res.json(), path).toEqual({
        error: { code: 'not_found', message: 'the explorer page is not built in this installation (npm run build)' },
      });
    }
    expect(await objectRequests()).toBe(before);
  });

  it('is not served by a log-only Worker: the object answers 404, as a log-only Node server does', async () => {
    const res = await fetchWith({ KT_LOG_ONLY: '1' }, '/');
    expect(res.status).toBe(404);
    expect(res.headers.get('Content-Security-Policy')).toBeNull();
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no route for GET /' } });
  });
});
