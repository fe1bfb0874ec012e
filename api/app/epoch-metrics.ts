/**
 * The directory's epoch metrics for /metrics: `kt_epoch_duration_seconds`, a Prometheus histogram of how
 * long each closed epoch took to plan and commit (one observation per epoch, on the buckets of the request
 * durations, 1 ms to 10 s). The server's wiring observes each epoch the directory closes (api/wiring/open-server.ts), on
 * Node and in the Worker's Durable Object alike.
 */
import { DURATION_BUCKETS } from './request-metrics.js';

export class EpochDurations {
  /** Epochs per bucket of DURATION_BUCKETS (not cumulative), the last for longer ones. */
  private readonly buckets = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  private sum = 0;
  private count = 0;

  /** Counts one closed epoch that took `seconds`. */
  observe(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    const i = DURATION_BUCKETS.findIndex((le) => seconds <= le);
    this.buckets[i < 0 ? DURATION_BUCKETS.length : i]++;
    this.sum += seconds;
    this.count++;
  }

  /** The histogram's Prometheus text (all buckets, zero before the first epoch). */
  text(): string[] {
    let below = 0;
    const bounds = [...DURATION_BUCKETS.map(String), '+Inf'];
    return [
      '# TYPE kt_epoch_duration_seconds histogram',
      ...this.buckets.map((n, i) => `kt_epoch_duration_seconds_bucket{le="${bounds[i]}"} ${(below += n)}`),
      `kt_epoch_duration_seconds_sum ${this.sum}`,
      `kt_epoch_duration_seconds_count ${this.count}`,
    ];
  }
}
