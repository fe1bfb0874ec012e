/**
 * The Node server's VRF prover (log/directory/vrf-prover.ts): a pool of `node:worker_threads`, one per core
 * by default, each holding the VRF secret key (given once, in `workerData`; never logged), so that the
 * proofs of unknown names (about 5 ms each) never run on the event loop that closes epochs and answers
 * every other request. Each thread computes one proof at a time. Jobs wait in two queues: writes
 * (submissions) always go first, reads (lookups) next, so a flood of lookups never starves a publication;
 * the read queue is bounded (`maxQueuedReads`) and, when full, a lookup is refused at once with the
 * directory's `overloaded` error (HTTP 503 with `Retry-After`), rather than waiting behind work it cannot
 * see the end of. A thread that dies fails its job with an `internal` error naming the exit, is logged
 * (`vrf_thread_stopped`) and is replaced (after a second if it died before it was ready, so a thread that
 * cannot start does not spin, and while no thread is ready what waits fails too). `close()` stops the threads and fails what still waits with `overloaded`.
 * `startVrfPool` resolves once every thread is ready and has computed the same proof as `vrfProve` here.
 */
import type { Worker } from 'node:worker_threads';
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { vrfProve } from '../../wasm-free-crypto/vrf.js';
import { DirectoryError } from '../../log/directory/errors.js';
import type { VrfPriority, VrfProver } from '../../log/directory/vrf-prover.js';
import { consoleLogger, type Logger } from '../app/logger.js';
import { spawnThread } from './threads.js';
import type { ThreadAnswer, ThreadRequest } from './vrf-pool-thread.js';

export interface VrfPoolOptions {
  /** The directory's 32-byte VRF secret key. */
  secretKey: Uint8Array;
  /** Threads (>= 1). */
  threads: number;
  /** Lookups that may wait for a thread at most; beyond, `overloaded`. */
  maxQueuedReads: number;
  /** Submissions that may wait at most (default 10,000, the directory's own queue bound); beyond, `overloaded`. */
  maxQueuedWrites?: number;
  /** Where thread deaths are reported (default: JSON lines on standard error); never with the key or an input. */
  logger?: Logger;
}

interface Job {
  id: number;
  alpha: Uint8Array;
  resolve(proof: Uint8Array): void;
  reject(error: Error): void;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  job: Job | null;
}

/** How long a thread that died before it was ready waits to be replaced, in ms. */
const RESPAWN_DELAY_MS = 1000;

/** A new thread running vrf-pool-thread (api/node/threads.ts). */
function spawnWorker(secretKey: Uint8Array): Worker {
  return spawnThread(import.meta.url, 'vrf-pool-thread', { secretKey });
}

export class VrfPool implements VrfProver {
  private readonly threads: Thread[] = [];
  private readonly reads: Job[] = [];
  private readonly writes: Job[] = [];
  private nextId = 0;
  private closed = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  /** Threads replaced after they died. */
  replaced = 0;

  constructor(private readonly opts: VrfPoolOptions) {
    if (!Number.isSafeInteger(opts.threads) || opts.threads < 1)
      throw new RangeError('a VRF pool has 1 or more threads');
    for (let i = 0; i < opts.threads; i++) this.threads.push(this.startThread(i));
  }

  /** Proves `alpha`: a write goes before every read; a read is refused with `overloaded` when its queue is full. */
  prove(alpha: Uint8Array, priority: VrfPriority): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new DirectoryError('overloaded', 'the server is closing; retry'));
    const queue = priority === 'write' ? this.writes : this.reads;
    const bound = priority === 'write' ? (this.opts.maxQueuedWrites ?? 10_000) : this.opts.maxQueuedReads;
    if (queue.length >= bound && !this.threads.some((t) => t.ready && !t.job))
      return Promise.reject(
        new DirectoryError('overloaded', `${queue.length} ${priority}s are waiting for a VRF proof; retry later`),
      );
    return new Promise<Uint8Array>((resolve, reject) => {
      queue.push({ id: this.nextId++, alpha, resolve, reject });
      this.dispatch();
    });
  }

  /** Lookups and submissions waiting for a thread. */
  get queued(): { reads: number; writes: number } {
    return { reads: this.reads.length, writes: this.writes.length };
  }

  /** Stops every thread; jobs not yet answered fail with `overloaded`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    const closing = new DirectoryError('overloaded', 'the server is closing; retry');
    for (const job of [...this.writes.splice(0), ...this.reads.splice(0)]) job.reject(closing);
    for (const t of this.threads) t.job?.reject(closing);
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }

  /**
   * Gives each idle, ready thread the next job: writes first. A thread keeps the process alive while it
   * starts or works, not while it waits for work (the server's socket and timers do that).
   */
  private dispatch(): void {
    for (const t of this.threads) {
      if (t.ready && !t.job) {
        const job = this.writes.shift() ?? this.reads.shift();
        if (job) {
          t.job = job;
          t.worker.postMessage({ id: job.id, alpha: job.alpha } satisfies ThreadRequest);
        }
      }
      if (t.ready && !t.job) t.worker.unref();
      else t.worker.ref();
    }
  }

  private startThread(slot: number): Thread {
    const thread: Thread = { worker: spawnWorker(this.opts.secretKey), ready: false, job: null };
    let failure = '';
    thread.worker.on('message', (m: ThreadAnswer) => this.answered(thread, m));
    thread.worker.on('error', (e) => (failure = `: ${e.name}: ${e.message}`));
    thread.worker.on('exit', (code) => this.died(slot, thread, `exit code ${code}${failure}`));
    return thread;
  }

  private answered(thread: Thread, m: ThreadAnswer): void {
    if ('ready' in m) thread.ready = true;
    else if (thread.job?.id === m.id) {
      const job = thread.job;
      thread.job = null;
      if ('proof' in m) job.resolve(m.proof);
      else job.reject(new DirectoryError('internal', `the VRF proof failed: ${m.error}`));
    }
    this.dispatch();
  }

  /** A thread stopped: its job fails, and another thread takes its slot. */
  private died(slot: number, thread: Thread, how: string): void {
    if (this.closed) return;
    (this.opts.logger ?? consoleLogger).error('vrf_thread_stopped', { thread: slot, reason: how });
    thread.job?.reject(new DirectoryError('internal', `the VRF thread computing this proof stopped (${how})`));
    thread.job = null;
    const replace = () => {
      if (this.closed) return;
      this.threads[slot] = this.startThread(slot);
      this.replaced++;
    };
    if (thread.ready) return replace();
    // It never started: until one does, nothing waiting would ever be answered.
    if (!this.threads.some((t) => t.ready)) {
      const failed = new DirectoryError('internal', `no VRF thread could start (${how})`);
      for (const job of [...this.writes.splice(0), ...this.reads.splice(0)]) job.reject(failed);
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      replace();
    }, RESPAWN_DELAY_MS);
    timer.unref();
    this.timers.add(timer);
  }
}

/**
 * Starts a pool and waits until it proves one test input per thread as `vrfProve` does here; a pool that
 * cannot start (its entry missing, a thread that fails) is closed and refused with the reason.
 */
export async function startVrfPool(opts: VrfPoolOptions): Promise<VrfPool> {
  const pool = new VrfPool(opts);
  const alpha = Uint8Array.of(0x6b, 0x74); // any input: each thread must agree with this thread
  try {
    const proofs = await Promise.all(Array.from({ length: opts.threads }, () => pool.prove(alpha, 'write')));
    const expected = vrfProve(opts.secretKey, alpha);
    if (!proofs.every((p) => equalBytes(p, expected)))
      throw new Error('a VRF thread computed a proof that differs from this thread');
    return pool;
  } catch (e) {
    await pool.close();
    throw new Error(`the VRF pool did not start: ${(e as Error).message}`);
  }
}
