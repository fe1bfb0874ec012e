/**
 * Starts the Node server: opens the data directory (creating keys on first run) and the SQLite file, wires
 * the log, the directory over the same database (unless `logOnly`) and the app as every server is wired
 * (api/wiring/open-server.ts), starts the directory's epoch timer and serves the app with
 * @hono/node-server, whose parser's refusals are the API's JSON 400 (api/node/client-errors.ts). In
 * development mode it creates and trusts a development root CA on first run.
 * `close()` stops accepting connections, closes the open epoch, waits for the writer's queue, then closes
 * the database, so nothing accepted is cut short.
 */
import { serve, type ServerType } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAbsolute, join } from 'node:path';
import type { Hono } from 'hono';
import type { Directory } from '../../log/directory/directory.js';
import { SqliteDirectoryStore } from '../../log/directory/sqlite-store.js';
import type { LogAppender } from '../../log/merkle/appender.js';
import { SqliteLogStorage } from '../../log/merkle/sqlite-storage.js';
import { parsePemCertificates } from '../../log/providers/certificate.js';
import { openServer } from '../wiring/open-server.js';
import { answerClientErrors } from './client-errors.js';
import { openDataDir, type DataDir } from './data-dir.js';
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

function listen(app: Hono, host: string, port: number): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) =>
      resolve({ server, port: info.port }),
    );
    server.once('error', reject);
    answerClientErrors(server as Server);
  });
}

async function trustedRoots(data: DataDir): Promise<Uint8Array[]> {
  if (data.devMode) await ensureDevCa(data.dir);
  return data.trustedRoots.flatMap((p) =>
    parsePemCertificates(readFileSync(isAbsolute(p) ? p : join(data.dir, p), 'utf8')),
  );
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const data = openDataDir(opts.dataDir, opts.origin);
  const storage = new SqliteLogStorage(data.dbPath);
  const directoryParts = opts.logOnly
    ? undefined
    : {
        store: new SqliteDirectoryStore(storage.db),
        vrfSecretKey: data.vrfSecretKey,
        trustedRoots: await trustedRoots(data),
        operatorToken: data.operatorToken,
      };
  const { app, appender, directory } = await openServer({
    logStorage: storage,
    signer: data.signer,
    directory: directoryParts,
    settings: data.settings,
  });
  directory?.start(data.settings);
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
