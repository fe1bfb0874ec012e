/**
 * Request counts and time for /metrics: per method, route pattern (Hono's, e.g.
 * `/v1/lookup/:provider/:account`, so that account names never appear in metrics) and status, the number
 * of requests and the seconds spent answering them inside the app (routing, middleware and handler; the
 * HTTP server's parsing and writing are not included); methods other than the seven common ones count as
 * `OTHER`, so that clients cannot grow the table. Exposed as the Prometheus counter
 * `kt_requests_total` and the histogram `kt_request_duration_seconds` (buckets from 1 ms to 10 s, `_sum` and
 * `_count`), from which a percentile can be read.
 * On Workers, where requests served from R2 or D1 never reach the app, the Worker records them in an
 * isolate's own `RequestMetrics` and hands them to the Durable Object with `take()` and `merge()`; the
 * Workers clock advances only across I/O, so there the durations count I/O waits only. Beside the rows, the
 * rate limits' refusals by kind (`RateLimitRefusals`, `kt_rate_limited_total`), counted where a bucket
 * refuses: on Workers, in the Durable Object for the writes, and for the reads in the isolate that charged
 * the limiter object, which hands its refusals over with its rows; on Node, a reader process counts its own
 * and hands them to the sequencer the same way (api/node/reader-metrics.ts).
 */
import type { Context, MiddlewareHandler } from 'hono';

/** One line of the table: requests of one method, route and status. */
export interface RequestMetricsRow {
  method: string;
  route: string;
  status: number;
  count: number;
  seconds: number;
  /**
   * How many of the requests fell in each bucket of DURATION_BUCKETS (not cumulative), the last for longer
   * ones. Rows merged from an isolate of an older release may lack it: their requests count as the last.
   */
  buckets?: number[];
}

/** The histogram's upper bounds, in seconds (Prometheus `le`); a last bucket holds everything longer. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function bucketOf(seconds: number): number[] {
  const out = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  const i = DURATION_BUCKETS.findIndex((le) => seconds <= le);
  out[i < 0 ? DURATION_BUCKETS.length : i] = 1;
  return out;
}

/** The row's buckets: its own, or (from an older isolate) every request in the last bucket. */
function bucketsOf(r: RequestMetricsRow): number[] {
  if (r.buckets) return r.buckets;
  const out = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  out[DURATION_BUCKETS.length] = r.count;
  return out;
}

function wellFormedBuckets(r: RequestMetricsRow): boolean {
  if (r.buckets === undefined) return true;
  return (
    Array.isArray(r.buckets) &&
    r.buckets.length === DURATION_BUCKETS.length + 1 &&
    r.buckets.every((n) => Number.isSafeInteger(n) && n >= 0) &&
    r.buckets.reduce((a, b) => a + b, 0) === r.count
  );
}

/**
 * Methods recorded by name; any other (clients choose them freely) is recorded as `OTHER`, so that the table stays
 * small.
 */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

/** A request's method as metrics and logs record it: one of the seven common ones, or `OTHER`. */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'OTHER';
}

/** Prometheus label values: backslash, double quote and newline escaped (text format 0.0.4). */
export function labelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `rows` if every one is well-formed (as `take` gives them); else a TypeError, so that none is merged. */
function checkedRows(rows: RequestMetricsRow[]): RequestMetricsRow[] {
  const ok = (r: RequestMetricsRow) =>
    typeof r?.method === 'string' &&
    typeof r.route === 'string' &&
    Number.isInteger(r.status) &&
    Number.isSafeInteger(r.count) &&
    r.count > 0 &&
    Number.isFinite(r.seconds) &&
    r.seconds >= 0 &&
    wellFormedBuckets(r);
  if (!Array.isArray(rows) || !rows.every(ok) || !rows.every((r) => METHODS.has(r.method) || r.method === 'OTHER')) {
    throw new TypeError('request metrics rows are not well-formed');
  }
  return rows;
}

export class RequestMetrics {
  private readonly table = new Map<string, RequestMetricsRow>();
  /** The rate limits' refusals, by kind (`kt_rate_limited_total`). */
  readonly rateLimited = new RateLimitRefusals();

  /** Counts one request that took `seconds`. */
  record(method: string, route: string, status: number, seconds: number): void {
    const m = methodLabel(method);
    this.add({ method: m, route, status, count: 1, seconds, buckets: bucketOf(seconds) });
  }

  /** Adds `r` to its row of the table, creating the row the first time. */
  private add(r: RequestMetricsRow): void {
    const key = `${r.method} ${r.status} ${r.route}`;
    const row = this.table.get(key);
    const buckets = bucketsOf(r);
    if (row) {
      row.count += r.count;
      row.seconds += r.seconds;
      row.buckets = bucketsOf(row).map((n, i) => n + buckets[i]);
    } else this.table.set(key, { ...r, buckets: [...buckets] });
  }

  /** Adds rows counted elsewhere (the Worker's own answers). Rows that are not well-formed are refused whole. */
  merge(rows: RequestMetricsRow[]): void {
    for (const r of checkedRows(rows)) this.add(r);
  }

  /**
   * The rows and the refusals, both emptied: what a Worker isolate or a Node reader process hands over
   * (`mergeCounts` on the other side); null when there is nothing to hand over.
   */
  takeCounts(): HandedCounts | null {
    const handed = { rows: this.take(), refused: this.rateLimited.take() };
    return handed.rows.length === 0 && Object.keys(handed.refused).length === 0 ? null : handed;
  }

  /** Adds rows and refusals counted elsewhere (`takeCounts`); if either is malformed, nothing is added. */
  mergeCounts(handed: HandedCounts): void {
    const rows = checkedRows(handed.rows);
    const refusals = refusalEntries(handed.refused);
    for (const r of rows) this.add(r);
    this.rateLimited.add(refusals);
  }

  /** The rows (copies), by route, method and status. */
  rows(): RequestMetricsRow[] {
    const order = (a: RequestMetricsRow, b: RequestMetricsRow) =>
      a.route.localeCompare(b.route) || a.method.localeCompare(b.method) || a.status - b.status;
    return [...this.table.values()].map((r) => ({ ...r, buckets: [...bucketsOf(r)] })).sort(order);
  }

  /** The rows, and the table emptied (what the Worker hands to the Durable Object). */
  take(): RequestMetricsRow[] {
    const rows = this.rows();
    this.table.clear();
    return rows;
  }

  /** The Prometheus text of `kt_requests_total` and the histogram `kt_request_duration_seconds`. */
  text(): string[] {
    const rows = this.rows();
    const labels = (r: RequestMetricsRow, le?: string) =>
      `{method="${labelValue(r.method)}",route="${labelValue(r.route)}",status="${r.status}"${le ? `,le="${le}"` : ''}}`;
    const histogram = (r: RequestMetricsRow) => {
      let below = 0;
      const bounds = [...DURATION_BUCKETS.map(String), '+Inf'];
      return [
        ...bucketsOf(r).map((n, i) => `kt_request_duration_seconds_bucket${labels(r, bounds[i])} ${(below += n)}`),
        `kt_request_duration_seconds_sum${labels(r)} ${r.seconds}`,
        `kt_request_duration_seconds_count${labels(r)} ${r.count}`,
      ];
    };
    return [
      '# TYPE kt_requests_total counter',
      ...rows.map((r) => `kt_requests_total${labels(r)} ${r.count}`),
      '# TYPE kt_request_duration_seconds histogram',
      ...rows.flatMap(histogram),
    ];
  }
}

/** What a rate limit refused: lookups, publications per client address or per provider, failed operator logins. */
export type RateLimitKind = 'lookup' | 'publish_address' | 'publish_provider' | 'operator_auth';
const RATE_LIMIT_KINDS: RateLimitKind[] = ['lookup', 'publish_address', 'publish_provider', 'operator_auth'];
/** Refusals by kind, as `RateLimitRefusals.take` hands them over. */
export type RefusalCounts = Partial<Record<RateLimitKind, number>>;

/** What a process hands over to the one that serves /metrics (`RequestMetrics.takeCounts`). */
export interface HandedCounts {
  rows: RequestMetricsRow[];
  refused: RefusalCounts;
}

/** The entries of `counts` if all are known kinds with non-negative integer counts; else a TypeError. */
function refusalEntries(counts: RefusalCounts): [RateLimitKind, number][] {
  const ok = ([k, n]: [string, unknown]) =>
    (RATE_LIMIT_KINDS as string[]).includes(k) && Number.isSafeInteger(n) && (n as number) >= 0;
  const entries = typeof counts === 'object' && counts !== null ? Object.entries(counts) : undefined;
  if (!entries?.every(ok)) throw new TypeError('malformed rate-limit refusal counts');
  return entries as [RateLimitKind, number][];
}

/**
 * The counter `kt_rate_limited_total{kind}`: requests refused 429 `rate_limited`, by the limit that refused
 * them (a publication refused by both its address's and its provider's bucket counts under both kinds).
 */
export class RateLimitRefusals {
  private readonly counts = new Map<RateLimitKind, number>();

  /** Counts one refusal of `kind`. */
  count(kind: RateLimitKind): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  /** The counts so far, by kind, and zero again (an isolate hands its refusals to the object so). */
  take(): RefusalCounts {
    const counts = Object.fromEntries(this.counts);
    this.counts.clear();
    return counts;
  }

  /** Adds counts taken elsewhere (`take`); anything but known kinds with non-negative integer counts is refused whole. */
  merge(counts: RefusalCounts): void {
    this.add(refusalEntries(counts));
  }

  /** Adds counts already checked (`refusalEntries`). */
  add(entries: [RateLimitKind, number][]): void {
    for (const [k, n] of entries) this.counts.set(k, (this.counts.get(k) ?? 0) + n);
  }

  /** The Prometheus text: every kind, zero included, so that a rate can be read from the first scrape. */
  text(): string[] {
    return [
      '# TYPE kt_rate_limited_total counter',
      ...RATE_LIMIT_KINDS.map((k) => `kt_rate_limited_total{kind="${k}"} ${this.counts.get(k) ?? 0}`),
    ];
  }
}

/** The route label of a request no route answered. */
export const UNMATCHED_ROUTE = 'unmatched';

declare module 'hono' {
  interface ContextVariableMap {
    /** The label a route gives its request instead of its pattern (set by `labelRoute`). */
    routeLabel: string;
  }
}

/**
 * The route pattern that answered (Hono's, never the path), or `unmatched` when only `*` middleware ran; a
 * route that stands for a path of its own under a parameter gives its label with `labelRoute`.
 */
export function routeLabel(c: Context): string {
  const label = c.get('routeLabel');
  if (label !== undefined) return label;
  const route = c.req.routePath;
  return !route || route === '/*' ? UNMATCHED_ROUTE : route;
}

/**
 * Gives the request the route label `label` in /metrics and the logs: a route registered under a parameter
 * that answers one path only (the KEYTRANS anchor's) labels its answers with that path, and the requests it
 * turns away as `unmatched`, as if it were a route of its own.
 */
export function labelRoute(c: Context, label: string): void {
  c.set('routeLabel', label);
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
    metrics.record(c.req.method, routeLabel(c), c.res.status, (now() - started) / 1000);
  };
}
