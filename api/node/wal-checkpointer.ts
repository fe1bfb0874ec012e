/**
 * The Node server's WAL checkpointer: a thread with a connection of its own that copies the WAL's pages
 * back into the database file, so that the sequencer's commits do not. SQLite checkpoints by default at the
 * end of the commit that passes 1,000 pages, on the committing connection: an epoch of 1,000 rotations at
 * 10M accounts writes about 10,000 pages, so each of its commits also copied them into the file and synced
 * it, about 0.4 s more on the event loop. With the checkpointer, the sequencer's storage is opened with
 * `checkpoints: 'external'` (log/merkle/sqlite-storage.ts) and its commit syncs the WAL alone, as durable
 * as before (`synchronous = FULL`); the thread's PASSIVE checkpoints block neither the writer nor the
 * readers. If the thread fails (it cannot open the file, a checkpoint throws), it is logged
 * (`wal_checkpointer_stopped`) and the writer's connection checkpoints inline again: the WAL never grows
 * without bound.
 */
import type { Worker } from 'node:worker_threads';
import type { SqliteLogStorage, WalCheckpointResult } from '../../log/merkle/sqlite-storage.js';
import type { Logger } from '../app/logger.js';
import { spawnThread } from './threads.js';
import type { CheckpointThreadAnswer } from './wal-checkpoint-thread.js';

/** How often the thread checkpoints, in ms: a few times per epoch interval (1 s by default). */
const WAL_CHECKPOINT_INTERVAL_MS = 200;

export class WalCheckpointer {
  private stopping = false;
  /** Checkpoints that copied pages, and the pages they copied (metrics, tests). */
  readonly stats = { checkpoints: 0, pages: 0 };

  private opened!: () => void;
  /** Settles once the thread has opened its connection, or has stopped. */
  readonly ready = new Promise<void>((resolve) => (this.opened = resolve));

  private constructor(
    private readonly worker: Worker,
    private readonly storage: SqliteLogStorage,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts the thread for `storage`'s file at `dbPath`, which must have been opened with `checkpoints:
   * 'external'`; `ready` settles once the thread is open or has failed (then the storage checkpoints inline).
   */
  static start(opts: {
    dbPath: string;
    storage: SqliteLogStorage;
    logger: Logger;
    intervalMs?: number;
  }): WalCheckpointer {
    const intervalMs = opts.intervalMs ?? WAL_CHECKPOINT_INTERVAL_MS;
    const worker = spawnThread(import.meta.url, 'wal-checkpoint-thread', { dbPath: opts.dbPath, intervalMs });
    const checkpointer = new WalCheckpointer(worker, opts.storage, opts.logger);
    let failure = '';
    worker.on('message', (m: CheckpointThreadAnswer) => {
      if (!('ready' in m)) return checkpointer.checkpointed(m.checkpoint);
      // From now on the server's socket and timers keep the process alive, not this thread (unless closing).
      if (!checkpointer.stopping) worker.unref();
      checkpointer.opened();
    });
    worker.on('error', (e) => (failure = `: ${e.name}: ${e.message}`));
    worker.on('exit', (code) => checkpointer.stopped(`exit code ${code}${failure}`));
    return checkpointer;
  }

  /** Whether the thread still checkpoints (false once it failed: the writer's connection does it again). */
  get running(): boolean {
    return !this.stopping && this.worker.threadId !== -1;
  }

  /** Stops the thread (before the storage closes: the last connection's close checkpoints what is left). */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    if (this.worker.threadId === -1) return; // already gone
    this.worker.ref(); // until it has stopped: nothing else may be keeping the process alive now
    this.worker.postMessage('stop');
    await exited;
  }

  private checkpointed(result: WalCheckpointResult): void {
    this.stats.checkpoints++;
    this.stats.pages += result.checkpointedPages;
  }

  private stopped(how: string): void {
    this.opened();
    if (this.stopping) return;
    this.stopping = true;
    this.logger.error('wal_checkpointer_stopped', { reason: how });
    this.storage.checkpointInline();
  }
}
