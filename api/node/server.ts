/**
 * Starts the Node server: opens the data directory (creating keys on first run), the SQLite log and its
 * single writer, the directory over the same database (unless `logOnly`), and serves the Hono app with
 * @hono/node-server. In development mode it creates and trusts a development root CA on first run.
 * `close()` stops accepting connections, closes the open epoch, waits for the writer's queue, then closes
 * the database, so nothing accepted is cut short.
 */
import { serve, type ServerType } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { LogAppender } from '../../log/merkle/appender.js';
import { Directory } from '../../log/directory/directory.js';
import { SqliteDirectoryStore } from '../../log/directory/sqlite-store.js';
import { parsePemCertificates } from '../../log/providers/certificate.js';
import { LogReader } from '../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../log/merkle/sqlite-storage.js';
import { createApp } from '../app/app.js';
import { openDataDir, type DataDir } from './data-dir.js';
import { directoryDeps } from '../wiring/directory-deps.js';
import { Witnessing } from '../../log/merkle/witnessing.js';
import { ensureDevCa } from './dev-ca.js';

export interface ServerOptions {
  dataDir: string;
  port: number;
  host: string;
  /** Origin for a new log (an existing log keeps its own). */
  origin?: string;
  /** Serve a plain C2SP log without the directory (for logs of arbitrary entries). */
  logOnly?: boolean;
}

export interface RunningServer {
  url: string;
  data: DataDir;
  appender: LogAppender;
  directory: Directory | null;
  close(): Promise<void>;
}

function listen(
  app: ReturnType<typeof createApp>,
  host: string,
  port: number,
): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) =>
      resolve({ server, port: info.port }),
    );
    server.once('error', reject);
  });
}

async function trustedRoots(data: DataDir): Promise<Uint8Array[]> {
  if (data.devMode) await ensureDevCa(data.dir);
  return data.trustedRoots.flatMap((p) =>
    parsePemCertificates(readFileSync(isAbsolute(p) ? p : join(data.dir, p), 'utf8')),
  );
}

/**
 * The checkpoint to serve: with a directory, its served epoch's (which carries the witnesses'
 * cosignatures; while a new epoch is being cosigned, the previous one); else the appender's.
 */
function servedCheckpoint(appender: LogAppender, directory: Directory | null): string {
  return directory?.servedSnapshot.checkpoint ?? appender.head.checkpoint;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const data = openDataDir(opts.dataDir, opts.origin);
  const storage = new SqliteLogStorage(data.dbPath);
  const appender = await LogAppender.open({ storage, signer: data.signer, origin: data.origin });
  let directory: Directory | null = null;
  const reader = new LogReader(
    storage,
    () => appender.head,
    () => servedCheckpoint(appender, directory),
  );
  let extra: ReturnType<typeof directoryDeps> | null = null;
  if (!opts.logOnly) {
    const witnessing =
      data.witnesses.length > 0 ? new Witnessing({ witnesses: data.witnesses, readTile: (t) => reader.tile(t) }) : null;
    directory = await Directory.open({
      log: appender,
      reader,
      store: new SqliteDirectoryStore(storage.db),
      vrfSecretKey: data.vrfSecretKey,
      trustedRoots: await trustedRoots(data),
      cosign: witnessing ? (note) => witnessing.cosign(note) : undefined,
    });
    directory.start(data);
    extra = directoryDeps(directory, data);
  }
  const config = { origin: data.origin, logKey: data.signer.verifierKey, ...extra?.config };
  const app = createApp({ reader, config, directory: extra?.directory, metrics: extra?.metrics });
  const { server, port } = await listen(app, opts.host, opts.port);
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${hostForUrl}:${port}`,
    data,
    appender,
    directory,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      await closed;
      await directory?.stop(); // closes the open epoch
      await appender.close(); // finishes queued batches before the database goes away
      await storage.close();
    },
  };
}
