/**
 * The entry of the map path reader's thread (api/node/map-path-reader.ts): for each `{ id, labels }` it reads the
 * stored map rows on those labels' paths in one read transaction (one committed state of the file:
 * log/directory/map-prefetch.ts) and answers `{ id, rows }` with them packed into one transferred buffer. Its
 * connection to the database in `workerData.dbPath` (log/directory/sqlite-store.ts, MapPathConnection) is opened
 * at the first request, when the sequencer has made the tables; it only reads. It answers `{ ready: true }` once
 * started; `'stop'` closes the connection and ends the thread. A failure ends the thread with it (the manager
 * then refuses what is asked, and the sequencer reads the rows itself).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MapPathConnection } from '../../log/directory/sqlite-store.js';

/** What the thread is asked: the paths of `labels`, or to stop. */
export type MapPathRequest = { id: number; labels: Uint8Array[] } | 'stop';
/** What the thread says. */
export type MapPathAnswer = { ready: true } | { id: number; rows: Uint8Array };

const port = parentPort;
if (!port) throw new Error('map-path-thread.ts runs only as a worker thread of api/node/map-path-reader.ts');
const { dbPath } = workerData as { dbPath: string };
let connection: MapPathConnection | null = null;

port.on('message', (m: MapPathRequest) => {
  if (m === 'stop') {
    connection?.close();
    port.close();
    return;
  }
  connection ??= new MapPathConnection(dbPath);
  const rows = connection.readPaths(m.labels); // a failure throws out of the thread: the manager sees it
  port.postMessage({ id: m.id, rows } satisfies MapPathAnswer, [rows.buffer as ArrayBuffer]);
});
port.postMessage({ ready: true } satisfies MapPathAnswer);
