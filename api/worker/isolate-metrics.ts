/**
 * The requests a Worker isolate answers itself, from R2, D1 or the static assets (the explorer page), never
 * reach the Durable Object's app, so the isolate counts them and hands the counts to the object's /metrics:
 * on its first request after a minute without a hand-over, and before it forwards a scrape of /metrics;
 * with them, the lookups its limiter objects refused (`kt_rate_limited_total{kind="lookup"}`).
 * That is one RPC per isolate per minute at most, even when R2 answers everything. Counts a failed
 * hand-over could not deliver are kept for the next one; an isolate that is evicted loses what it had not
 * handed over.
 */
import { errorFields } from '../app/logger.js';
import { RequestMetrics, type RefusalCounts, type RequestMetricsRow } from '../app/request-metrics.js';
import { workerLogger } from './worker-log.js';

/** How often at most an isolate hands its counts over (and once before each scrape it forwards). */
const HANDOVER_MS = 60_000;

export class IsolateRequests {
  /** The isolate's counts; the reads' lookup limit counts its refusals in `counts.rateLimited`. */
  readonly counts = new RequestMetrics();
  private handedAt = Date.now();

  /** Whether a minute has passed since the last hand-over. */
  handOverDue(now = Date.now()): boolean {
    return now - this.handedAt >= HANDOVER_MS;
  }

  /** Counts an answer the Worker gave itself (started at `started`, from performance.now()), and returns it. */
  count(request: Request, route: string, res: Response, started: number): Response {
    this.counts.record(request.method, route, res.status, (performance.now() - started) / 1000);
    return res;
  }

  /** Hands the counts to the object (its `addRequestMetrics` RPC); on failure they are kept for the next time. */
  async handOver(object: {
    addRequestMetrics(rows: RequestMetricsRow[], refused?: RefusalCounts): Promise<void>;
  }): Promise<void> {
    this.handedAt = Date.now();
    const handed = this.counts.takeCounts();
    if (!handed) return;
    try {
      await object.addRequestMetrics(handed.rows, handed.refused);
    } catch (e) {
      this.counts.mergeCounts(handed);
      workerLogger.warn('metrics_handover_failed', errorFields(e));
    }
  }
}
