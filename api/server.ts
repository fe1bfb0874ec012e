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
import { toBase64, toHex } from '../wasm-free-crypto/bytes.js';
import { LogAppender } from '../log/appender.js';
import { Directory } from '../log/directory.js';
import { SqliteDirectoryStore } from '../log/directory-store.js';
import { discover, history, lookup } from '../log/lookup.js';
import { parsePemCertificates } from '../log/providers.js';
import { LogReader } from '../log/reader.js';
import { SqliteLogStorage } from '../log/sqlite-storage.js';
import { createApp, type AppDeps } from './app.js';
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

function listen(app: ReturnType<typeof createApp>, host: string, port: number): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => resolve({ server, port: info.port }));
    server.once('error', reject);
  });
}

async function trustedRoots(data: DataDir): Promise<Uint8Array[]> {
  if (data.devMode) await ensureDevCa(data.dir);
  return data.trustedRoots.flatMap((p) => parsePemCertificates(readFileSync(isAbsolute(p) ? p : join(data.dir, p), 'utf8')));
}

/** The directory part of the app's dependencies. */
function directoryDeps(dir: Directory, data: DataDir): Pick<AppDeps, 'directory' | 'metrics'> & { config: Partial<AppDeps['config']> } {
  return {
    directory: {
      service: {
        lookup: (p, a) => lookup(dir, p, a),
        history: (p, a, since) => history(dir, p, a, since),
        discover: (a) => discover(dir, a),
        submit: (s, sig) => dir.submit(s, sig),
        enrol: (chain) => dir.enrol(chain),
        revoke: async (p, fp, reason) => dir.revoke(p, fp, reason),
      },
      receiptSigner: data.signer,
      operatorToken: data.operatorToken,
      lookupRateLimit: { capacity: data.lookupBurst, refillPerSecond: data.lookupRatePerSecond },
    },
    metrics: { queueDepth: () => dir.queueDepth, epoch: () => dir.epoch, lastEpochSeconds: () => dir.lastEpochMs / 1000 },
    config: {
      vrfKey: toBase64(dir.vrfPublicKey), witnesses: [], witnessQuorum: 0, epochIntervalMs: data.epochIntervalMs, heartbeatMs: data.heartbeatMs,
      providers: () => dir.credentials.all().map((c) => ({
        providerId: c.entry.providerId, fingerprint: toHex(c.fingerprint), algorithm: c.entry.algorithm,
        notBefore: c.entry.notBefore, notAfter: c.entry.notAfter, revoked: c.revokedIndex !== null,
      })),
    },
  };
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const data = openDataDir(opts.dataDir, opts.origin);
  const storage = new SqliteLogStorage(data.dbPath);
  const appender = await LogAppender.open({ storage, signer: data.signer, origin: data.origin });
  const reader = new LogReader(storage, () => appender.head);
  let directory: Directory | null = null;
  let extra: ReturnType<typeof directoryDeps> | null = null;
  if (!opts.logOnly) {
    directory = await Directory.open({
      log: appender, reader, store: new SqliteDirectoryStore(storage.db), vrfSecretKey: data.vrfSecretKey, trustedRoots: await trustedRoots(data),
      epochIntervalMs: data.epochIntervalMs, heartbeatMs: data.heartbeatMs,
    });
    directory.start();
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
