/**
 * Starts the Node server: opens the data directory (creating keys on first run) and the SQLite file, wires
 * the log, the directory over the same database (unless `logOnly`) and the app as every server is wired
 * (api/wiring/open-server.ts), starts the directory's epoch timer and serves the app with
 * @hono/node-server, whose parser's refusals are the API's JSON 400 (api/node/client-errors.ts), with bounded
 * header and body timeouts and a connection cap (api/node/http-limits.ts). In
 * development mode it creates and trusts a development root CA on first run. A restored backup (`kt backup`)
 * starts read-only and signs nothing until its checkpoint is known to be the newest (api/node/restore-check.ts).
 * The directory's VRF proofs are computed by a pool of threads (api/node/vrf-pool.ts), off the event loop.
 * With `readers` (config.json, or the option), reader processes answer lookups on the public port from the
 * same SQLite file and forward writes to this process's app on a Unix socket (api/node/readers.ts).
 * `close()` stops accepting connections (the readers first), closes the open epoch, stops the VRF threads,
 * waits for the writer's queue, then closes the database, so nothing accepted is cut short.
 */
import { explorerFor } from './explorer-files.js';
import { getRequestListener, type ServerType } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAbsolute, join } from 'node:path';
import type { Hono } from 'hono';
import type { Directory } from '../../log/directory/directory.js';
import { SqliteDirectoryStore } from '../../log/directory/sqlite-store.js';
import { SqliteDeploymentStores } from '../../log/keytrans/sqlite-store.js';
import type { LogAppender } from '../../log/merkle/appender.js';
import { SqliteLogStorage } from '../../log/merkle/sqlite-storage.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import { parsePemCertificates } from '../../log/providers/certificate.js';
import { errorFields, jsonLogger, type Logger } from '../app/logger.js';
import { openServer } from '../wiring/open-server.js';
import { answerClientErrors, requestErrorAnswer } from './client-errors.js';
import { capConnections, httpServerOptions, type HttpLimits } from './http-limits.js';
import { openDataDir, type DataDir } from './data-dir.js';
import { ensureDevCa } from './dev-ca.js';
import { startVrfPool, type VrfPool } from './vrf-pool.js';
import { vrfPoolOptions } from './vrf-pool-settings.js';
import { RestoreGate, type RestoreOptions } from './restore-check.js';
import { ReaderPool, removeSocketFolder, sequencerSocketPath } from './readers.js';

export interface ServerOptions {
  dataDir: string;
  port: number;
  host: string;
  /** Origin for a new log (an existing log keeps its own). */
  origin?: string;
  /** Serve a plain C2SP log without the directory (for logs of arbitrary entries). */
  logOnly?: boolean;
  /** The structured log (api/app/logger.ts; default: one JSON line per event on standard error). */
  logger?: Logger;
  /** How a restored backup may sign again (api/node/restore-check.ts). */
  restore?: RestoreOptions;
  /** Reader processes beside the sequencer's (api/node/readers.ts); default: the data directory's `readers`. */
  readers?: number;
}

export interface RunningServer {
  url: string;
  data: DataDir;
  appender: LogAppender;
  directory: Directory | null;
  /** The threads computing the directory's VRF proofs (api/node/vrf-pool.ts); none for a plain log. */
  vrfPool: VrfPool | null;
  /** The thread checkpointing the database's WAL (api/node/wal-checkpointer.ts). */
  walCheckpointer: WalCheckpointer;
  close(): Promise<void>;
}

function listen(
  app: Hono,
  at: { host: string; port: number } | { path: string },
  limits: HttpLimits,
  logger: Logger,
): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    // As @hono/node-server's serve(), with its errorHandler: requests it cannot build are the API's JSON 400.
    const listener = getRequestListener(app.fetch, {
      hostname: 'path' in at ? 'localhost' : at.host,
      errorHandler: requestErrorAnswer(logger),
    });
    // Without a Host header Node would answer a bare 400 itself: the listener answers it as the API does.
    const server = createServer({ ...httpServerOptions(limits), requireHostHeader: false }, listener);
    server.once('error', reject);
    capConnections(server, limits);
    answerClientErrors(server);
    const done = () => resolve({ server, port: 'path' in at ? 0 : (server.address() as AddressInfo).port });
    if ('path' in at) server.listen(at.path, done);
    else server.listen(at.port, at.host, done);
  });
}

async function trustedRoots(data: DataDir): Promise<Uint8Array[]> {
  if (data.devMode) await ensureDevCa(data.dir);
  return data.trustedRoots.flatMap((p) =>
    parsePemCertificates(readFileSync(isAbsolute(p) ? p : join(data.dir, p), 'utf8')),
  );
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const logger = opts.logger ?? jsonLogger((line) => process.stderr.write(`${line}\n`));
  const data = openDataDir(opts.dataDir, opts.origin, (message) => logger.warn('data_dir', { message }));
  // A restored backup signs nothing until its checkpoint is known to be the newest the log published.
  const restore = RestoreGate.open(data, opts.restore ?? {}, logger);
  // The WAL is checkpointed by a thread of its own, not by the epochs' commits (wal-checkpointer.ts).
  const storage = new SqliteLogStorage(data.dbPath, { checkpoints: 'external' });
  const checkpointer = WalCheckpointer.start({ dbPath: data.dbPath, storage, logger }); // ready in its own time
  try {
    return await serveOn(opts, { logger, data, restore, storage, checkpointer });
  } catch (e) {
    await checkpointer.close(); // what started before the failure stops with it
    await storage.close();
    throw e;
  }
}

/** What `startServer` opened before the rest, which `serveOn` starts on them. */
interface Opened {
  logger: Logger;
  data: DataDir;
  restore: RestoreGate | null;
  storage: SqliteLogStorage;
  checkpointer: WalCheckpointer;
}

async function serveOn(opts: ServerOptions, opened: Opened): Promise<RunningServer> {
  const { logger, data, restore, storage, checkpointer } = opened;
  restore?.matchLog(storage.loadHeadSync());
  const vrfPool = opts.logOnly ? null : await startVrfPool(vrfPoolOptions(data.vrfPool, data.vrfSecretKey, logger));
  const directoryParts = opts.logOnly
    ? undefined
    : {
        store: new SqliteDirectoryStore(storage.db),
        vrfSecretKey: data.vrfSecretKey,
        trustedRoots: await trustedRoots(data),
        operatorToken: data.operatorToken,
        vrfProver: vrfPool ?? undefined,
        keytrans: data.settings.keytrans ? new SqliteDeploymentStores(storage.db) : undefined,
      };
  const { app, appender, directory, requests } = await openServer({
    logStorage: storage,
    signer: restore ? restore.guard(data.signer) : data.signer,
    directory: directoryParts,
    settings: data.settings,
    logger,
    explorer: opts.logOnly ? undefined : explorerFor(data.explorer, data.dir),
  });
  restore?.attach(directory);
  // With readers, the public port is theirs (readers.ts) and the sequencer's app answers them on a socket.
  const readers = opts.logOnly ? 0 : (opts.readers ?? data.readers);
  const socket = readers > 0 ? sequencerSocketPath() : null;
  let listening: Awaited<ReturnType<typeof listen>> | undefined;
  let pool: ReaderPool | null;
  try {
    listening = await listen(
      app,
      socket ? { path: socket.path } : { host: opts.host, port: opts.port },
      data.httpLimits,
      logger,
    );
    pool = socket
      ? await ReaderPool.start({
          count: readers,
          dataDir: data.dir,
          sequencerSocket: socket.path,
          host: opts.host,
          port: opts.port,
          ipv6PrefixLength: data.settings.ipv6PrefixLength,
          logger,
          requests,
        })
      : null;
  } catch (e) {
    // The port is taken, or a reader could not start: what this function started stops, so that the caller
    // (startServer closes the database) can report it and the process can end.
    listening?.server.close();
    await vrfPool?.close();
    await appender.close();
    if (socket) removeSocketFolder(socket.folder);
    throw e;
  }
  const { server, port: ownPort } = listening;
  directory?.start(data.settings, (e) => logger.error('epoch_failed', errorFields(e)));
  const port = pool?.port ?? ownPort;
  restore?.check().catch((e) => logger.error('restore_check_failed', errorFields(e))); // still read-only
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${hostForUrl}:${port}`,
    data,
    appender,
    directory,
    vrfPool,
    walCheckpointer: checkpointer,
    async close() {
      restore?.stop();
      await pool?.close(); // the readers first: they forward to the sequencer's app
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      await closed;
      await directory?.stop(); // closes the open epoch
      await vrfPool?.close();
      await appender.close(); // finishes queued batches before the database goes away
      await checkpointer.close();
      await storage.close(); // the last connection: SQLite checkpoints what is left and removes the WAL
      if (socket) removeSocketFolder(socket.folder);
    },
  };
}
