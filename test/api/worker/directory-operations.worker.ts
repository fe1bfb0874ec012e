/**
 * The Worker is operable as the Node server is (README "Operations"), inside workerd: every answer carries
 * `X-Request-Id`, whether the isolate gives it (a 413, R2's checkpoint) or the Durable Object's app does; a
 * well-formed incoming id is forwarded to the object and kept, any other replaced; and the object's /metrics
 * holds the epoch-duration histogram and the queue depth. With `ACCESS_LOG`, the isolate logs the answers it
 * gives itself as JSON lines, as the object's app does.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import worker from '../../../api/worker/worker.js';
import { makeLeaf } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { get, operator, post, settle, testRoot } from './helpers.js';

const GENERATED = /^[0-9a-f]{32}$/;

describe('the Worker, operated', () => {
  it('closes epochs that /metrics reports as a histogram, beside the queue depth', async () => {
    const leaf = await makeLeaf(await testRoot(), { dnsNames: ['ops.example'] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    const statement = statementOf('ops.example', 'carol@ops.example', 1, Date.now(), 'carol 1');
    const body = { statements: [signStatement(leaf.algorithm as 'ed25519' | 'p256', leaf.secretKey, statement)] };
    expect((await settle(post('/v1/bindings?wait=1', body))).status).toBe(200);
    const metrics = await (await get('/metrics')).text();
    const count = Number(/^kt_epoch_duration_seconds_count (\d+)$/m.exec(metrics)?.[1]);
    expect(count).toBeGreaterThanOrEqual(2);
    expect(metrics).toContain(`kt_epoch_duration_seconds_bucket{le="+Inf"} ${count}\n`);
    expect(metrics).toMatch(/^kt_queue_depth 0$/m);
    expect(metrics).toMatch(/^kt_gzip_cache_hits_total \d+$/m);
  });

  it('returns a request id on every answer, the isolate forwarding it to the object', async () => {
    const answers = [
      await get('/v1/config'),
      await get('/no/such/route'),
      await get('/v1/lookup/ops.example/nobody@ops.example'),
      await post('/v1/bindings', 'x'.repeat(3 * 1024 * 1024)), // 413 from the isolate, before the object
      await get('/log/checkpoint'),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 404, 200, 413, 200]);
    const ids = answers.map((r) => r.headers.get('X-Request-Id'));
    for (const id of ids) expect(id).toMatch(GENERATED);
    expect(new Set(ids).size).toBe(ids.length);
    for (const path of ['/v1/config', '/no/such/route']) {
      const kept = await get(path, { headers: { 'X-Request-Id': 'edge-7:a.b_c' } });
      expect(kept.headers.get('X-Request-Id'), path).toBe('edge-7:a.b_c');
      const replaced = await get(path, { headers: { 'X-Request-Id': 'carol@ops.example' } });
      expect(replaced.headers.get('X-Request-Id'), path).toMatch(GENERATED);
    }
    const web = await get('/log/checkpoint', { headers: { Origin: 'https://any.example' } });
    expect(web.headers.get('Access-Control-Expose-Headers')?.split(', ')).toContain('X-Request-Id');
  });

  it('logs the answers the isolate gives itself as JSON lines with the access log on, and none with it off', async () => {
    const preflight = () =>
      new Request('https://kt.example/log/checkpoint', {
        method: 'OPTIONS',
        headers: { Origin: 'https://a.example', 'Access-Control-Request-Method': 'GET', 'X-Request-Id': 'pre-1' },
      });
    const logged = async (vars: Record<string, string>) => {
      const lines: string[] = [];
      const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
      try {
        const ctx = createExecutionContext();
        const request = preflight() as Parameters<typeof worker.fetch>[0]; // as the runtime hands it over
        const res = await worker.fetch(request, { ...env, ...vars } as typeof env, ctx);
        await waitOnExecutionContext(ctx);
        expect([res.status, res.headers.get('X-Request-Id')]).toEqual([204, 'pre-1']);
      } finally {
        spy.mockRestore();
      }
      return lines.map((l) => JSON.parse(l)).filter((o) => o.event === 'request');
    };
    expect(await logged({ ACCESS_LOG: 'true' })).toEqual([
      {
        time: expect.any(String),
        level: 'info',
        event: 'request',
        requestId: 'pre-1',
        method: 'OPTIONS',
        route: 'unmatched',
        status: 204,
        ms: expect.any(Number),
      },
    ]);
    expect(await logged({})).toEqual([]);
    expect(await logged({ ACCESS_LOG: 'yes' })).toEqual([]); // malformed: the object refuses it, the isolate logs nothing
  });
});
