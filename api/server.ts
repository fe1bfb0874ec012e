/**
 * Starts the Node server: opens the data directory (creating keys on first run), the SQLite log and its
 * single writer, and serves the Hono app with @hono/node-server. `close()` stops accepting connections,
 * waits for the writer's queue, then closes the database, so no batch is cut short.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { LogAppender } from '../log/appender.js';
import { LogReader } from '../log/reader.js';
import { SqliteLogStorage } from '../log/sqlite-storage.js';
import { createApp } from './app.js';
import { openDataDir, type DataDir } from './data-dir.js';

export interface ServerOptions {
  dataDir: string;
  port: number;
  host: string;
  /** Origin for a new log (an existing log keeps its own). */
  origin?: string;
}

export interface RunningServer {
  url: string;
  data: DataDir;
  appender: LogAppender;
  close(): Promise<void>;
}

function listen(app: ReturnType<typeof createApp>, host: string, port: number): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => resolve({ server, port: info.port }));
    server.once('error', reject);
  });
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const data = openDataDir(opts.dataDir, opts.origin);
  const storage = new SqliteLogStorage(data.dbPath);
  const appender = await LogAppender.open({ storage, signer: data.signer, origin: data.origin });
  const reader = new LogReader(storage, () => appender.head);
  const app = createApp({ reader, config: { origin: data.origin, logKey: data.signer.verifierKey } });
  const { server, port } = await listen(app, opts.host, opts.port);
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${hostForUrl}:${port}`,
    data,
    appender,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      await closed;
      await appender.close(); // finishes queued batches before the database goes away
      await storage.close();
    },
  };
}
