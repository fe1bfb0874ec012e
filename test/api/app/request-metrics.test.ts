/** Request metrics for /metrics: counting, merging what the Worker counted itself, and the Prometheus text. */
import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import {
  DURATION_BUCKETS,
  RateLimitRefusals,
  RequestMetrics,
  requestMetrics,
  type RequestMetricsRow,
} from '../../../api/app/request-metrics.js';

/** Buckets with `counts` at the given bucket indexes (0: <= 1 ms, ..., 13: longer than 10 s). */
const buckets = (counts: Record<number, number>) =>
  Array.from({ length: DURATION_BUCKETS.length + 1 }, (_, i) => counts[i] ?? 0);

describe('request metrics', () => {
  it('counts requests and their time by method, route pattern and status', async () => {
    const m = new RequestMetrics();
    let clock = 0;
    const app = new Hono();
    app.use(
      '*',
      requestMetrics(m, () => clock),
    );
    app.get('/v1/lookup/:provider/:account', (c) => {
      clock += 2.5; // milliseconds
      return c.json({ ok: true });
    });
    await app.request('/v1/lookup/p.example/a');
    await app.request('/v1/lookup/p.example/b');
    await app.request('/elsewhere');
    // Methods a client makes up are one row, whatever their names.
    for (const method of ['BREW', 'PROPFIND', 'X-1']) await app.request('/elsewhere', { method });
    expect(m.rows()).toEqual([
      {
        method: 'GET',
        route: '/v1/lookup/:provider/:account',
        status: 200,
        count: 2,
        seconds: 0.005,
        buckets: buckets({ 1: 2 }), // 2.5 ms each: above 1 ms, at most 2.5 ms
      },
      { method: 'GET', route: 'unmatched', status: 404, count: 1, seconds: 0, buckets: buckets({ 0: 1 }) },
      { method: 'OTHER', route: 'unmatched', status: 404, count: 3, seconds: 0, buckets: buckets({ 0: 3 }) },
    ]);
  });

  it('merges rows counted elsewhere, refuses malformed ones whole, and hands rows over once', () => {
    const m = new RequestMetrics();
    m.record('GET', '/log/checkpoint', 200, 0.001);
    const isolate: RequestMetricsRow[] = [
      { method: 'GET', route: '/log/checkpoint', status: 200, count: 3, seconds: 0.003 },
      { method: 'GET', route: '/log/tile/*', status: 200, count: 1, seconds: 0.002 },
    ];
    m.merge(isolate);
    expect(m.rows().map((r) => [r.route, r.count])).toEqual([
      ['/log/checkpoint', 4],
      ['/log/tile/*', 1],
    ]);
    const bad: unknown[] = [
      [{ ...isolate[0], count: 0 }],
      [{ ...isolate[0], count: 1.5 }],
      [{ ...isolate[0], seconds: -1 }],
      [{ ...isolate[0], seconds: NaN }],
      [{ ...isolate[0], status: '200' }],
      [{ ...isolate[0], route: 7 }],
      [{ ...isolate[0], method: 'BREW' }],
      [isolate[0], null],
      [{ ...isolate[0], buckets: buckets({ 0: 2 }) }], // 2 in the buckets, 3 counted
      [{ ...isolate[0], buckets: [3] }],
      [{ ...isolate[0], buckets: buckets({ 0: -1, 1: 4 }) }],
      'rows',
    ];
    for (const rows of bad) expect(() => m.merge(rows as RequestMetricsRow[]), JSON.stringify(rows)).toThrow(TypeError);
    expect(m.rows().map((r) => r.count)).toEqual([4, 1]); // nothing of a refused merge was added
    // Rows of an isolate of the release before (no buckets) count in the last bucket: their time is unknown.
    expect(m.rows()[0].buckets).toEqual(buckets({ 0: 1, 13: 3 }));
    m.merge([{ ...isolate[1], buckets: buckets({ 4: 1 }) }]);
    expect(m.rows()[1].buckets).toEqual(buckets({ 4: 1, 13: 1 }));
    const taken = new RequestMetrics();
    taken.merge(isolate);
    expect(taken.take()).toHaveLength(2);
    expect(taken.take()).toEqual([]);
  });

  it('hands rate-limit refusals over once, and refuses malformed counts whole', () => {
    const isolate = new RateLimitRefusals();
    isolate.count('lookup');
    isolate.count('lookup');
    const handed = isolate.take();
    expect(handed).toEqual({ lookup: 2 });
    expect(isolate.take()).toEqual({}); // taken once
    const object = new RateLimitRefusals();
    object.count('publish_address');
    object.merge(handed);
    object.merge({ lookup: 1 });
    expect(object.text()).toContain('kt_rate_limited_total{kind="lookup"} 3');
    expect(object.text()).toContain('kt_rate_limited_total{kind="publish_address"} 1');
    for (const bad of [{ lookup: -1 }, { lookup: 1.5 }, { other: 1 }, { lookup: 1, nope: 2 }, null])
      expect(() => object.merge(bad as never), JSON.stringify(bad)).toThrow(TypeError);
    expect(object.text()).toContain('kt_rate_limited_total{kind="lookup"} 3'); // nothing of a refused merge
  });

  it('writes the Prometheus text with label values escaped', () => {
    const m = new RequestMetrics();
    m.record('GET', '/a"b\\c\nd', 200, 0.25);
    const labels = 'method="GET",route="/a\\"b\\\\c\\nd",status="200"';
    const bounds = [...DURATION_BUCKETS.map(String), '+Inf'];
    expect(m.text()).toEqual([
      '# TYPE kt_requests_total counter',
      `kt_requests_total{${labels}} 1`,
      '# TYPE kt_request_duration_seconds histogram',
      // cumulative: 0.25 s is in every bucket from le="0.25" up
      ...bounds.map(
        (le) =>
          `kt_request_duration_seconds_bucket{${labels},le="${le}"} ${Number(le) >= 0.25 || le === '+Inf' ? 1 : 0}`,
      ),
      `kt_request_duration_seconds_sum{${labels}} 0.25`,
      `kt_request_duration_seconds_count{${labels}} 1`,
    ]);
  });
});
