/**
 * A reader process of the Node server (the `readers` setting, api/node/readers.ts): it answers the lookups,
 * histories, discoveries and daily checks of the clients the primary process hands it, with proofs built
 * from the sequencer's SQLite file on its own connection (log/directory/directory-reader.ts), and the log's
 * checkpoint, tiles and bundles, /v1/config, the OpenAPI document and the explorer page the same way. What
 * only the sequencer can answer (publications, enrolments and revocations, /metrics, /healthz) it forwards
 * to the sequencer's app on a Unix socket, naming the client's address (`cf-connecting-ip`, which the app
 * reads only when the connection has no address of its own, as on that socket). The client's connections
 * arrive from the primary over IPC, each already accepted on the public port; the reader's request counts
 * and refusals go back to the primary over the same channel, for the sequencer's /metrics (reader-metrics.ts).
 * An unknown name's VRF proof is made on one thread of the reader's own at nice +15 (vrf-pool.ts), below the
 * sequencer's threads (+10) that prove publications.
 */
import { KeyTransDeployments } from '../../log/keytrans/deployments.js';
import { operatorKeys } from '../../log/keytrans/operator-keys.js';
import { SqliteDeploymentStores } from '../../log/keytrans/sqlite-store.js';
import { request } from 'node:http';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline, Readable } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { getPath } from 'hono/utils/url';
import { DirectoryReader } from '../../log/directory/directory-reader.js';
import { SqliteDirectoryStore } from '../../log/directory/sqlite-store.js';
import { LogReader } from '../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../log/merkle/sqlite-storage.js';
import { vrfPublicKey } from '../../wasm-free-crypto/vrf.js';
import { errorResponse } from '../app/errors.js';
import { withHeader } from '../app/request-id.js';
import { jsonLogger } from '../app/logger.js';
import { readerApp } from '../wiring/open-server.js';
import { answerClientErrors, requestErrorAnswer } from './client-errors.js';
import { openDataDir } from './data-dir.js';
import { HANDOVER_MS, ReaderCounts } from './reader-metrics.js';
import { explorerFor } from './explorer-files.js';
import { capConnections, httpServerOptions } from './http-limits.js';
import { READER_VRF_NICE, startVrfPool } from './vrf-pool.js';
import { vrfPoolOptions } from './vrf-pool-settings.js';

/** The message that hands a reader a client's connection. */
export const CONNECTION_MESSAGE = 'kt-connection';
/** What a reader sends when it is ready to take connections. */
export const READY_MESSAGE = 'kt-reader-ready';

/** Whether the sequencer answers `method path` (else the reader does). */
export function forSequencer(method: string, path: string): boolean {
  if (path === '/metrics' || path === '/healthz') return true;
  return method === 'POST' && (path === '/v1/bindings' || path === '/v1/providers' || path === '/v1/providers/revoke');
}

/** Forwards the request to the sequencer's app on `socketPath`, as it came (raw target, headers, body). */
function forward(c: Context, socketPath: string): Promise<Response> {
  const incoming = (c.env as { incoming: { url: string; socket: { remoteAddress?: string } } }).incoming;
  const headers: Record<string, string> = {};
  c.req.raw.headers.forEach((value, name) => (headers[name] = value));
  headers['cf-connecting-ip'] = incoming.socket.remoteAddress ?? '';
  return new Promise((resolve) => {
    const out = request({ socketPath, path: incoming.url, method: c.req.method, headers }, (res) => {
      const answer = new Headers();
      for (const [name, value] of Object.entries(res.headers))
        if (value !== undefined) answer.set(name, Array.isArray(value) ? value.join(', ') : value);
      resolve(new Response(Readable.toWeb(res) as ReadableStream, { status: res.statusCode, headers: answer }));
    });
    out.on('error', () => resolve(errorResponse('log_unavailable', 'the sequencer cannot be reached; retry')));
    // A client that goes away mid-body fails the source stream: pipeline destroys the request to the sequencer with
    // it (its 'error' handler answers a client that is gone) instead of leaving the error unhandled, which would
    // end this process and every connection it holds.
    if (c.req.raw.body) pipeline(Readable.fromWeb(c.req.raw.body as never), out, () => undefined);
    else out.end();
  });
}

/**
 * Opens the reader on the data directory and returns its HTTP server (not listening: it is handed sockets).
 * With `counts`, the app counts there what it answers and refuses, handed over before a scrape is forwarded.
 */
export async function openReader(
  dataDir: string,
  sequencerSocket: string,
  index: number,
  counts?: ReaderCounts,
): Promise<Server> {
  const logger = jsonLogger((line) => process.stderr.write(`${line}\n`));
  const data = openDataDir(dataDir, undefined, (message) => logger.warn('data_dir', { message }));
  const storage = new SqliteLogStorage(data.dbPath);
  const store = new SqliteDirectoryStore(storage.db, { reader: true });
  const log = new LogReader(
    storage,
    () => storage.loadHeadSync() ?? { size: 0, checkpoint: '' },
    () => store.servedCheckpoint() ?? storage.loadHeadSync()?.checkpoint ?? '',
  );
  // An unknown name's VRF proof on a thread of the reader's own, below the sequencer's threads (which prove
  // publications) in priority, so that lookups through the readers cannot take the cores from publishing, and
  // off the reader's event loop, which goes on answering known names meanwhile.
  const vrf = await startVrfPool({
    ...vrfPoolOptions({ threads: 1, readQueue: data.vrfPool.readQueue }, data.vrfSecretKey, logger),
    nice: READER_VRF_NICE,
  });
  const directory = await DirectoryReader.open({
    store,
    vrfProver: vrf,
    entryBundle: (n, width) => log.entryBundle(n, width),
    mapCacheRows: data.settings.mapCacheRows,
  });
  const app = readerApp({
    reader: log,
    signer: data.signer,
    directory,
    vrfPublicKey: vrfPublicKey(data.vrfSecretKey),
    settings: data.settings,
    requests: counts?.requests,
    logger,
    explorer: explorerFor(data.explorer, data.dir),
    keytrans: data.settings.keytrans
      ? new KeyTransDeployments(
          new SqliteDeploymentStores(storage.db, { reader: true }),
          (p) => operatorKeys(data.vrfSecretKey, p, vrf),
          () => directory.credentials.all(),
        )
      : undefined,
  });
  const front = new Hono();
  front.all('*', async (c) => {
    // The path as the apps' router matches it (`/v1/%62indings` is bindings), as the Worker's isolate reads it.
    const path = getPath(c.req.raw);
    if (path === '/metrics') await counts?.handOver(); // the scrape holds this reader's counts
    if (forSequencer(c.req.method, path)) return forward(c, sequencerSocket);
    // Which process answered (operators, tests), on the app's own response (withHeader says why).
    return withHeader(await app.fetch(c.req.raw, c.env), 'X-KT-Reader', String(index));
  });
  const listener = getRequestListener(front.fetch, { errorHandler: requestErrorAnswer(logger) });
  const server = createServer({ ...httpServerOptions(data.httpLimits), requireHostHeader: false }, listener);
  capConnections(server, data.httpLimits);
  answerClientErrors(server);
  return server;
}

/** The reader process's main: takes connections from the primary once open. */
export async function readerMain(): Promise<void> {
  const { KT_READER_DATA: dataDir, KT_READER_SEQUENCER: socket, KT_READER_INDEX: index } = process.env;
  if (!dataDir || !socket || !process.send) throw new Error('a reader process is started by the Node server');
  const send = process.send.bind(process);
  const counts = new ReaderCounts((message, done) => send(message, undefined, {}, done));
  setInterval(() => void counts.handOver(), HANDOVER_MS).unref();
  const server = await openReader(dataDir, socket, Number(index), counts);
  process.on('message', (message, handle) => {
    if (counts.acknowledged(message)) return;
    if (message !== CONNECTION_MESSAGE || !handle) return;
    server.emit('connection', handle as Socket);
    (handle as Socket).resume();
  });
  process.on('disconnect', () => process.exit(0)); // the primary is gone
  process.send(READY_MESSAGE);
}
