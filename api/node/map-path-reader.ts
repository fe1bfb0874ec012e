/**
 * The Node server's map path reader (log/directory/map-prefetch.ts): a thread with a connection of its own
 * that reads the stored map's rows on the paths of queued statements while the sequencer accepts more, so
 * that an epoch's plan finds them instead of reading them one by one on the event loop (about 15 rows per
 * label at 10M accounts). It only reads. If the thread fails, it is logged (`map_path_reader_stopped`) and
 * every read asked of it is refused: the sequencer then reads the rows itself, as without it.
 */
import type { Worker } from 'node:worker_threads';
import { unpackRows, type MapPathReader } from '../../log/directory/map-prefetch.js';
import type { MapNodeRow } from '../../verifier/formats/map-nodes.js';
import type { Logger } from '../app/logger.js';
import { spawnThread } from './threads.js';
import type { MapPathAnswer, MapPathRequest } from './map-path-thread.js';

interface Waiting {
  resolve: (rows: MapNodeRow[]) => void;
  reject: (e: Error) => void;
}

export class MapPathThread implements MapPathReader {
  private stopping = false;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();

  private constructor(
    private readonly worker: Worker,
    private readonly logger: Logger,
  ) {}

  /** Starts the thread on the database at `dbPath`; reads asked before it is open wait for it. */
  static start(opts: { dbPath: string; logger: Logger }): MapPathThread {
    const worker = spawnThread(import.meta.url, 'map-path-thread', { dbPath: opts.dbPath });
    const thread = new MapPathThread(worker, opts.logger);
    let failure = '';
    worker.on('message', (m: MapPathAnswer) => thread.answered(m));
    worker.on('error', (e) => (failure = `: ${e.name}: ${e.message}`));
    worker.on('exit', (code) => thread.stopped(`exit code ${code}${failure}`));
    return thread;
  }

  readPaths(labels: Uint8Array[]): Promise<MapNodeRow[]> {
    if (this.stopping) return Promise.reject(new Error('the map path reader has stopped'));
    const id = this.nextId++;
    return new Promise<MapNodeRow[]>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (this.waiting.size === 1) this.worker.ref(); // an answer is owed: keep the thread while it is
      this.worker.postMessage({ id, labels } satisfies MapPathRequest);
    });
  }

  /** Stops the thread; reads still asked of it are refused. */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    if (this.worker.threadId === -1) return; // already gone
    this.worker.ref();
    this.worker.postMessage('stop' satisfies MapPathRequest);
    await exited;
    this.refuseWaiting('the map path reader has stopped');
  }

  private answered(m: MapPathAnswer): void {
    if ('ready' in m) {
      if (this.waiting.size === 0 && !this.stopping) this.worker.unref(); // the server keeps the process alive
      return;
    }
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    if (this.waiting.size === 0 && !this.stopping) this.worker.unref();
    try {
      w.resolve(unpackRows(m.rows));
    } catch (e) {
      w.reject(e as Error);
    }
  }

  private stopped(how: string): void {
    this.refuseWaiting(`the map path reader has stopped (${how})`);
    if (this.stopping) return;
    this.stopping = true;
    this.logger.error('map_path_reader_stopped', { reason: how });
  }

  private refuseWaiting(message: string): void {
    for (const w of this.waiting.values()) w.reject(new Error(message));
    this.waiting.clear();
  }
}
