/**
 * A reader process's counts in the sequencer's /metrics (api/node/readers.ts): a reader counts the requests its
 * app answers and the lookups its rate limit refuses in a `RequestMetrics` of its own, and hands them to the
 * primary over the IPC channel every HANDOVER_MS and before it forwards a scrape of /metrics (so that the
 * scrape holds at least that reader's counts; the other readers' are at most HANDOVER_MS old). The primary
 * merges them into the sequencer's counts and acknowledges each hand-over. Counts a send could not deliver are
 * kept for the next one; a reader that exits loses what it had not handed over.
 */
import {
  RequestMetrics,
  type HandedCounts,
  type RefusalCounts,
  type RequestMetricsRow,
} from '../app/request-metrics.js';

/** How often a reader hands its counts over. */
export const HANDOVER_MS = 5000;
/** How long a reader waits for the primary's acknowledgement before it forwards a scrape anyway. */
const ACK_WAIT_MS = 1000;

const COUNTS = 'kt-reader-counts';
const ACKNOWLEDGED = 'kt-reader-counts-merged';

interface CountsMessage extends HandedCounts {
  type: typeof COUNTS;
  seq: number;
}

/** The IPC channel as a reader process has it (`process.send`). */
export type SendMessage = (message: unknown, callback: (error: Error | null) => void) => unknown;

/** The reader's side: its counts, and their hand-over to the primary. */
export class ReaderCounts {
  readonly requests = new RequestMetrics();
  private seq = 0;
  private readonly waiting = new Map<number, () => void>();

  constructor(private readonly send: SendMessage) {}

  /** Sends the counts to the primary; resolves once it merged them, or after ACK_WAIT_MS. */
  handOver(): Promise<void> {
    const handed = this.requests.takeCounts();
    if (!handed) return Promise.resolve();
    const seq = ++this.seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(seq), ACK_WAIT_MS);
      this.waiting.set(seq, () => {
        clearTimeout(timer);
        resolve();
      });
      const message: CountsMessage = { type: COUNTS, seq, ...handed };
      this.send(message, (error) => {
        if (!error) return;
        this.requests.mergeCounts(handed); // not delivered: kept for the next hand-over
        this.settle(seq);
      });
    });
  }

  /** Takes the primary's acknowledgement; whether `message` was one. */
  acknowledged(message: unknown): boolean {
    const m = message as { type?: unknown; seq?: unknown };
    if (m?.type !== ACKNOWLEDGED || typeof m.seq !== 'number') return false;
    this.settle(m.seq);
    return true;
  }

  private settle(seq: number): void {
    this.waiting.get(seq)?.();
    this.waiting.delete(seq);
  }
}

/**
 * The primary's side: merges a reader's counts into the sequencer's `requests` and returns the
 * acknowledgement to send back; null if `message` is not a hand-over. Malformed counts throw (nothing merged).
 */
export function mergeReaderCounts(requests: RequestMetrics, message: unknown): { type: string; seq: number } | null {
  const m = message as Partial<CountsMessage> | null;
  if (m?.type !== COUNTS || typeof m.seq !== 'number') return null;
  requests.mergeCounts({ rows: m.rows as RequestMetricsRow[], refused: m.refused as RefusalCounts });
  return { type: ACKNOWLEDGED, seq: m.seq };
}
