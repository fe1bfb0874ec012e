/**
 * Request counts and time for /metrics: per method, route pattern (Hono's, e.g.
 * `/v1/lookup/:provider/:account`, so that account names never appear in metrics) and status, the number
 * of requests and the seconds spent answering them inside the app (routing, middleware and handler; the
 * HTTP server's parsing and writing are not included); methods other than the seven common ones count as
 * `OTHER`, so that clients cannot grow the table. Exposed as the Prometheus counter
 * `kt_requests_total` and the summary `kt_request_duration_seconds` (`_sum` and `_count`, no quantiles).
 * On Workers, where requests served from R2 or D1 never reach the app, the Worker records them in an
 * isolate's own `RequestMetrics` and hands them to the Durable Object with `take()` and `merge()`; the
 * Workers clock advances only across I/O, so there the durations count I/O waits only.
 */
import type { MiddlewareHandler } from 'hono';

/** One line of the table: requests of one method, route and status. */
export interface RequestMetricsRow {
  method: string;
  route: string;
  status: number;
  count: number;
  seconds: number;
}

/**
 * Methods recorded by name; any other (clients choose them freely) is recorded as `OTHER`, so that the table stays
 * small.
 */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

/** Prometheus label values: backslash, double quote and newline escaped (text format 0.0.4). */
function labelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class RequestMetrics {
  private readonly table = new Map<string, RequestMetricsRow>();

  /** Counts one request that took `seconds`. */
  record(method: string, route: string, status: number, seconds: number): void {
    this.add({ method: METHODS.has(method) ? method : 'OTHER', route, status, count: 1, seconds });
  }

  /** Adds `r` to its row of the table, creating the row the first time. */
  private add(r: RequestMetricsRow): void {
    const key = `${r.method} ${r.status} ${r.route}`;
    const row = this.table.get(key);
    if (row) {
      row.count += r.count;
      row.seconds += r.seconds;
    } else this.table.set(key, { ...r });
  }

  /** Adds rows counted elsewhere (the Worker's own answers). Rows that are not well-formed are refused whole. */
  merge(rows: RequestMetricsRow[]): void {
    const ok = (r: RequestMetricsRow) =>
      typeof r?.method === 'string' &&
      typeof r.route === 'string' &&
      Number.isInteger(r.status) &&
      Number.isSafeInteger(r.count) &&
      r.count > 0 &&
      Number.isFinite(r.seconds) &&
      r.seconds >= 0;
    if (!Array.isArray(rows) || !rows.every(ok) || !rows.every((r) => METHODS.has(r.method) || r.method === 'OTHER')) {
      throw new TypeError('request metrics rows are not well-formed');
    }
    for (const r of rows) this.add(r);
  }

  /** The rows (copies), by route, method and status. */
  rows(): RequestMetricsRow[] {
    const order = (a: RequestMetricsRow, b: RequestMetricsRow) =>
      a.route.localeCompare(b.route) || a.method.localeCompare(b.method) || a.status - b.status;
    return [...this.table.values()].map((r) => ({ ...r })).sort(order);
  }

  /** The rows, and the table emptied (what the Worker hands to the Durable Object). */
  take(): RequestMetricsRow[] {
    const rows = this.rows();
    this.table.clear();
    return rows;
  }

  /** The Prometheus text of `kt_requests_total` and `kt_request_duration_seconds`. */
  text(): string[] {
    const rows = this.rows();
    const labels = (r: RequestMetricsRow) =>
      `{method="${labelValue(r.method)}",route="${labelValue(r.route)}",status="${r.status}"}`;
    return [
      '# TYPE kt_requests_total counter',
      ...rows.map((r) => `kt_requests_total${labels(r)} ${r.count}`),
      '# TYPE kt_request_duration_seconds summary',
      ...rows.flatMap((r) => [
        `kt_request_duration_seconds_sum${labels(r)} ${r.seconds}`,
        `kt_request_duration_seconds_count${labels(r)} ${r.count}`,
      ]),
    ];
  }
}

/**
 * Records every request the app answers in `metrics`, by route pattern. Mounted on `*`: a request no route
 * matched reports this middleware's own pattern, `/*`, and is recorded as `unmatched`.
 */
export function requestMetrics(
  metrics: RequestMetrics,
  now: () => number = () => performance.now(),
): MiddlewareHandler {
  return async (c, next) => {
    const started = now();
    await next();
    const route = c.req.routePath;
    metrics.record(
      c.req.method,
      !route || route === '/*' ? 'unmatched' : route,
      c.res.status,
      (now() - started) / 1000,
    );
  };
}
