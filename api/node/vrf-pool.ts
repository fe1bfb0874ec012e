/**
 * The Node server's VRF prover (log/directory/vrf-prover.ts): a pool of `node:worker_threads`, one per core
 * by default, each holding the VRF secret key (given once, in `workerData`; never logged), so that the
 * proofs of unknown names (about 5 ms each) never run on the event loop that closes epochs and answers
 * every other request. Jobs wait in two queues: writes (submissions) always go first, reads (lookups) next,
 * so a flood of lookups never starves a publication. A thread holds either one read, given only when it
 * holds nothing, so that its answer comes alone and at once, or up to `WRITES_IN_FLIGHT` writes: it goes
 * on to the next while the event loop is busy elsewhere (an epoch's commit, a group commit of the queue)
 * instead of waiting to be handed it, and answers them a few per message (vrf-pool-thread.ts);
 * the read queue is bounded (`maxQueuedReads`) and, when full, a lookup is refused at once with the
 * directory's `overloaded` error (HTTP 503 with `Retry-After`), rather than waiting behind work it cannot
 * see the end of. A thread that dies fails the first job it held with an `internal` error naming the exit
 * (the others go back to the front of their queue, once), is logged
 * (`vrf_thread_stopped`) and is replaced (after a second if it died before it was ready, so a thread that
 * cannot start does not spin, and while no thread is ready what waits fails too). `close()` stops the threads and fails what still waits with `overloaded`.
 * Each thread evaluates a check input before it is given work, and is stopped if it disagrees with this
 * thread; `startVrfPool` resolves once every thread is ready.
 */
import type { Worker } from 'node:worker_threads';
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { vrfEvaluate } from '../../wasm-free-crypto/vrf.js';
import { DirectoryError } from '../../log/directory/errors.js';
import type { VrfEvaluation, VrfPriority, VrfProver } from '../../log/directory/vrf-prover.js';
import { consoleLogger, type Logger } from '../app/logger.js';
import { spawnThread } from './threads.js';
import type { ThreadAnswer, ThreadMessage, ThreadRequest } from './vrf-pool-thread.js';

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
  /**
   * How much less urgent the threads are than the event loop, as a nice value on Linux (default 10; a reader
   * process's thread takes READER_VRF_NICE, so that the sequencer's threads, which prove publications, go first).
   */
  nice?: number;
}

/** The nice value of a reader process's VRF thread (api/node/reader-process.ts): below the sequencer's (10). */
export const READER_VRF_NICE = 15;

interface Job {
  id: number;
  alpha: Uint8Array;
  /** Another key than the pool's (a KEYTRANS deployment's), or undefined. */
  secretKey?: Uint8Array;
  priority: VrfPriority;
  /** Threads that died holding it (it is given again once, unless it was the first a thread held). */
  deaths: number;
  resolve(evaluation: VrfEvaluation): void;
  reject(error: Error): void;
}

interface Thread {
  worker: Worker;
  /** Started, and computed the check evaluation as this thread does. */
  ready: boolean;
  /** Why it stopped, if it said so before it did. */
  failure: string;
  /** What it was given and has not answered, in the order given (the order it answers in). */
  jobs: Job[];
}

/** Answers a thread posts in one message at most. */
const ANSWERS_PER_MESSAGE = 4;

/**
 * Writes a thread may hold at once: one it computes and the next ones, so that it does not wait for the
 * event loop between proofs. Enough for the longest the event loop is busy without reading answers: an
 * epoch's synchronous commit of a thousand updates (its prefix and log trees, its SQLite transaction and its
 * sync) blocks it 150 to 800 ms on a loaded 2-core machine, 50 to 250 proofs of one thread; with 8, the threads
 * stood idle most of that time, and KEYTRANS rotations (a proof each) ran at 55-65% of the threads' rate. A read
 * waiting behind them waits no longer than behind the write queue, which always goes first.
 */
export const WRITES_IN_FLIGHT = 256;

/** How long a thread that died before it was ready waits to be replaced, in ms. */
const RESPAWN_DELAY_MS = 1000;

/** The input every thread evaluates before it says it is ready (any input: it must agree with this thread). */
const CHECK_ALPHA = Uint8Array.of(0x6b, 0x74);

/** A new thread running vrf-pool-thread (api/node/threads.ts). */
function spawnWorker(secretKey: Uint8Array, nice: number | undefined): Worker {
  return spawnThread(import.meta.url, 'vrf-pool-thread', {
    secretKey,
    checkAlpha: CHECK_ALPHA,
    answersPerMessage: ANSWERS_PER_MESSAGE,
    nice,
  });
}

const sameEvaluation = (a: VrfEvaluation, b: VrfEvaluation) =>
  equalBytes(a.proof, b.proof) && equalBytes(a.output, b.output);

export class VrfPool implements VrfProver {
  private readonly threads: Thread[] = [];
  private readonly reads: Job[] = [];
  private readonly writes: Job[] = [];
  private nextId = 0;
  private closed = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  /** What every thread must answer to CHECK_ALPHA before it is given work. */
  private readonly check: VrfEvaluation;
  private startWaiters: { resolve(): void; reject(e: Error): void }[] = [];
  /** Threads replaced after they died. */
  replaced = 0;

  constructor(private readonly opts: VrfPoolOptions) {
    if (!Number.isSafeInteger(opts.threads) || opts.threads < 1)
      throw new RangeError('a VRF pool has 1 or more threads');
    this.check = vrfEvaluate(opts.secretKey, CHECK_ALPHA);
    for (let i = 0; i < opts.threads; i++) this.threads.push(this.startThread(i));
  }

  /** Resolves once every thread is ready; rejects, with the reason, if one stops before it is. */
  started(): Promise<void> {
    if (this.threads.every((t) => t.ready)) return Promise.resolve();
    return new Promise((resolve, reject) => this.startWaiters.push({ resolve, reject }));
  }

  /** Proves `alpha`: a write goes before every read; a read is refused with `overloaded` when its queue is full. */
  prove(alpha: Uint8Array, priority: VrfPriority, secretKey?: Uint8Array): Promise<VrfEvaluation> {
    if (this.closed) return Promise.reject(new DirectoryError('overloaded', 'the server is closing; retry'));
    const queue = priority === 'write' ? this.writes : this.reads;
    const bound = priority === 'write' ? (this.opts.maxQueuedWrites ?? 10_000) : this.opts.maxQueuedReads;
    if (queue.length >= bound && !this.threads.some((t) => this.hasRoom(t, priority)))
      return Promise.reject(
        new DirectoryError('overloaded', `${queue.length} ${priority}s are waiting for a VRF proof; retry later`),
      );
    return new Promise<VrfEvaluation>((resolve, reject) => {
      queue.push({ id: this.nextId++, alpha, secretKey, priority, deaths: 0, resolve, reject });
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
    for (const t of this.threads) for (const job of t.jobs.splice(0)) job.reject(closing);
    for (const w of this.startWaiters.splice(0)) w.reject(new Error('the VRF pool was closed before it started'));
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }

  /** Whether a ready thread may be given a job of this priority now: a read only when it holds nothing, a write unless it holds a read. */
  private hasRoom(t: Thread, priority: VrfPriority): boolean {
    if (!t.ready || t.jobs[0]?.priority === 'read') return false;
    return t.jobs.length < (priority === 'write' ? WRITES_IN_FLIGHT : 1);
  }

  /**
   * Gives the ready threads the jobs they have room for: writes first, each to the thread holding the fewest. A thread keeps the process alive while it starts or works, not while it waits for work (the
   * server's socket and timers do that).
   */
  private dispatch(): void {
    for (;;) {
      // The thread with room that holds the fewest jobs (the first of those): writes spread over the threads.
      const write = this.writes.length ? this.leastBusy('write') : undefined;
      const thread = write ?? (this.reads.length ? this.leastBusy('read') : undefined);
      if (!thread) break;
      const next = (write ? this.writes : this.reads).shift()!;
      thread.jobs.push(next);
      thread.worker.postMessage({ id: next.id, alpha: next.alpha, secretKey: next.secretKey } satisfies ThreadRequest);
    }
    for (const t of this.threads) {
      if (t.ready && t.jobs.length === 0) t.worker.unref();
      else t.worker.ref();
    }
  }

  private leastBusy(priority: VrfPriority): Thread | undefined {
    let best: Thread | undefined;
    for (const t of this.threads)
      if (this.hasRoom(t, priority) && (!best || t.jobs.length < best.jobs.length)) best = t;
    return best;
  }

  private startThread(slot: number): Thread {
    const thread: Thread = {
      worker: spawnWorker(this.opts.secretKey, this.opts.nice),
      ready: false,
      failure: '',
      jobs: [],
    };
    thread.worker.on('message', (m: ThreadMessage) => this.answered(thread, m));
    thread.worker.on('error', (e) => (thread.failure = `: ${e.name}: ${e.message}`));
    thread.worker.on('exit', (code) => this.died(slot, thread, `exit code ${code}${thread.failure}`));
    return thread;
  }

  /** A thread's first message says it is ready, with its check evaluation; a thread that disagrees is stopped. */
  private answered(thread: Thread, m: ThreadMessage): void {
    if ('ready' in m) {
      if (!sameEvaluation(m.check, this.check)) {
        thread.failure = ": it computed a VRF proof that differs from this thread's";
        void thread.worker.terminate();
        return;
      }
      thread.ready = true;
      if (this.threads.every((t) => t.ready)) for (const w of this.startWaiters.splice(0)) w.resolve();
    } else for (const a of m.answers) this.settle(thread, a);
    this.dispatch();
  }

  /** The thread answers its jobs in the order given; one that does not is stopped (its jobs then fail or go again). */
  private settle(thread: Thread, a: ThreadAnswer): void {
    if (thread.jobs[0]?.id !== a.id) {
      thread.failure = `: it answered job ${a.id} out of order`;
      void thread.worker.terminate();
      return;
    }
    const job = thread.jobs.shift()!;
    if ('proof' in a) job.resolve({ proof: a.proof, output: a.output });
    else job.reject(new DirectoryError('internal', `the VRF proof failed: ${a.error}`));
  }

  /** A thread stopped: the first job it held fails, the others go again, and another thread takes its slot. */
  private died(slot: number, thread: Thread, how: string): void {
    if (this.closed) return;
    const wasReady = thread.ready;
    thread.ready = false; // nothing more is given to it
    (this.opts.logger ?? consoleLogger).error('vrf_thread_stopped', { thread: slot, reason: how });
    // The first job it held may be what stopped it: it fails. The others (proofs are deterministic) go back to the
    // front of their queue, once: a job held by two threads that died fails too.
    const stopped = new DirectoryError('internal', `the VRF thread computing this proof stopped (${how})`);
    const held = thread.jobs.splice(0);
    const again = held.slice(1).filter((job) => job.deaths++ === 0);
    for (const job of held) if (!again.includes(job)) job.reject(stopped);
    this.writes.unshift(...again.filter((job) => job.priority === 'write'));
    this.reads.unshift(...again.filter((job) => job.priority === 'read'));
    this.dispatch();
    const replace = () => {
      if (this.closed) return;
      this.threads[slot] = this.startThread(slot);
      this.replaced++;
    };
    if (wasReady) return replace();
    for (const w of this.startWaiters.splice(0))
      w.reject(new Error(`a VRF thread stopped before it was ready (${how})`));
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
 * Starts a pool and waits until every thread is ready, having evaluated the check input as `vrfEvaluate`
 * does here; a pool that cannot start (its entry missing, a thread that fails or disagrees) is closed and
 * refused with the reason.
 */
export async function startVrfPool(opts: VrfPoolOptions): Promise<VrfPool> {
  const pool = new VrfPool(opts);
  try {
    await pool.started();
    return pool;
  } catch (e) {
    await pool.close();
    throw new Error(`the VRF pool did not start: ${(e as Error).message}`);
  }
}
