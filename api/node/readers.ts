/**
 * The Node server's reader processes (the `readers` setting of config.json, docs/ARCHITECTURE.md "The read
 * path"): beside the process that runs the sequencer, N processes answer lookups from the sequencer's SQLite
 * file (api/node/reader-process.ts), all on the one public port. The primary process accepts each connection
 * and hands it to the reader its client key chooses (the address, or the IPv6 prefix, that the rate limits
 * are kept by: api/app/rate-limit-keys.ts), so that every client is always answered by the same reader and
 * its allowance is that reader's: N readers never multiply it. The sequencer's own app listens on a Unix
 * socket in a private folder, for what the readers forward to it; each reader's request counts come back over
 * its IPC channel into the sequencer's /metrics (reader-metrics.ts). A reader that exits is started again after
 * a second; meanwhile its clients go to the next reader.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clientKey } from '../app/rate-limit-keys.js';
import { errorFields, type Logger } from '../app/logger.js';
import type { RequestMetrics } from '../app/request-metrics.js';
import { mergeReaderCounts } from './reader-metrics.js';
import { CONNECTION_MESSAGE, READY_MESSAGE } from './reader-process.js';

export interface ReaderPoolOptions {
  /** How many reader processes (at least 1). */
  count: number;
  dataDir: string;
  /** The Unix socket the sequencer's app listens on. */
  sequencerSocket: string;
  host: string;
  port: number;
  /** The IPv6 prefix length client keys use (the rate limits' setting). */
  ipv6PrefixLength: number;
  logger: Logger;
  /** The sequencer's request counts, where the readers' are merged (reader-metrics.ts). */
  requests: RequestMetrics;
}

interface Reader {
  child: ChildProcess | null;
  ready: boolean;
}

/** A folder only this user can read, for the sequencer's socket, and the socket's path in it. */
export function sequencerSocketPath(): { folder: string; path: string } {
  const folder = mkdtempSync(join(tmpdir(), 'kt-'));
  return { folder, path: join(folder, 'sequencer.sock') };
}

/** FNV-1a of a string: spreads client keys over the readers. */
function spread(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The reader entry and how to run it: the compiled `.js`, or the `.ts` source through tsx's loader. */
function readerEntry(): { file: string; execArgv: string[] } {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { file: fileURLToPath(new URL('./reader-main.js', here)), execArgv: [] };
  const packageJson = createRequire(here).resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(packageJson, 'utf8')) as { exports: { '.': string } };
  const loader = new URL(manifest.exports['.'], pathToFileURL(packageJson)).href;
  return { file: fileURLToPath(new URL('./reader-main.ts', here)), execArgv: ['--import', loader] };
}

export class ReaderPool {
  private readonly readers: Reader[];
  private closing = false;

  private constructor(
    private readonly opts: ReaderPoolOptions,
    private readonly server: Server,
  ) {
    this.readers = Array.from({ length: opts.count }, () => ({ child: null, ready: false }));
  }

  /** Starts the readers, waits until each is ready, then listens on the public port. */
  static async start(opts: ReaderPoolOptions): Promise<ReaderPool> {
    if (!Number.isSafeInteger(opts.count) || opts.count < 1)
      throw new RangeError('a reader pool has 1 or more readers');
    const server = createServer({ pauseOnConnect: true });
    const pool = new ReaderPool(opts, server);
    server.on('connection', (socket) => pool.handOver(socket));
    try {
      await Promise.all(pool.readers.map((r) => pool.spawn(r)));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, resolve);
      });
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** The public port. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Starts `reader`'s process; resolves once it is ready to take connections. */
  private spawn(reader: Reader): Promise<void> {
    const { file, execArgv } = readerEntry();
    const env = {
      ...process.env,
      KT_READER_DATA: this.opts.dataDir,
      KT_READER_SEQUENCER: this.opts.sequencerSocket,
      KT_READER_INDEX: String(this.readers.indexOf(reader)),
    };
    const child = fork(file, [], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    reader.child = child;
    child.on('error', (e) => this.opts.logger.warn('reader_ipc_failed', errorFields(e))); // never an uncaught 'error'
    return new Promise((resolve, reject) => {
      child.on('message', (m) => {
        if (m === READY_MESSAGE) {
          reader.ready = true;
          resolve();
        } else this.mergeCounts(child, m);
      });
      child.once('exit', (code) => {
        reader.ready = false;
        reader.child = null;
        reject(new Error(`a reader process exited (${code}) before it was ready`));
        if (this.closing) return;
        this.opts.logger.error('reader_exited', { code: code ?? -1 });
        setTimeout(() => !this.closing && this.spawn(reader).catch(() => undefined), 1000).unref();
      });
    });
  }

  /** Merges a reader's counts into the sequencer's and acknowledges them; malformed ones are logged, not merged. */
  private mergeCounts(child: ChildProcess, message: unknown): void {
    try {
      const ack = mergeReaderCounts(this.opts.requests, message);
      // With a callback, a reader gone meanwhile (EPIPE) is an argument, not an 'error' event that would end this
      // process, the sequencer's.
      if (ack && child.connected)
        child.send(ack, (e) => e && this.opts.logger.warn('reader_counts_unacknowledged', errorFields(e)));
    } catch (e) {
      this.opts.logger.warn('reader_counts_refused', errorFields(e));
    }
  }

  /** Hands the connection to its client's reader (or the next one that is ready). */
  private handOver(socket: Socket): void {
    const first = spread(clientKey(socket.remoteAddress, this.opts.ipv6PrefixLength)) % this.readers.length;
    for (let i = 0; i < this.readers.length; i++) {
      const reader = this.readers[(first + i) % this.readers.length];
      if (reader.ready && reader.child?.connected) {
        reader.child.send(CONNECTION_MESSAGE, socket, { keepOpen: false }, (e) => e && socket.destroy());
        return;
      }
    }
    socket.destroy(); // no reader is ready: the client retries
  }

  /** Stops listening and stops the readers. */
  async close(): Promise<void> {
    this.closing = true;
    // Not waiting for its callback: the server handed its connections to the readers, and Node waits for them to
    // report those closed, for ever if a reader that held some has exited. Listening stops now; the readers'
    // connections end with them.
    if (this.server.listening) this.server.close();
    await Promise.all(
      this.readers.map(
        (r) =>
          new Promise<void>((resolve) => {
            if (!r.child) return resolve();
            r.child.once('exit', () => resolve());
            r.child.kill('SIGTERM');
          }),
      ),
    );
  }
}

/** Removes the socket's folder. */
export function removeSocketFolder(folder: string): void {
  rmSync(folder, { recursive: true, force: true });
}
