/**
 * The entry of the WAL checkpointer's thread (api/node/wal-checkpointer.ts): it opens its own connection
 * to the database in `workerData.dbPath` and checkpoints the WAL (PASSIVE) every `workerData.intervalMs`,
 * answering `{ ready: true }` once it is open and, after each checkpoint that copied pages, `{ checkpoint }`
 * with what it did. `'stop'` closes the connection and ends the thread. A failure ends the thread with it
 * (the manager then hands checkpoints back to the writer's connection).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { WalCheckpointConnection, type WalCheckpointResult } from '../../log/merkle/sqlite-storage.js';

/** What the thread says. */
export type CheckpointThreadAnswer = { ready: true } | { checkpoint: WalCheckpointResult };

const port = parentPort;
if (!port) throw new Error('wal-checkpoint-thread.ts runs only as a worker thread of api/node/wal-checkpointer.ts');
const { dbPath, intervalMs } = workerData as { dbPath: string; intervalMs: number };
const connection = new WalCheckpointConnection(dbPath);
const timer = setInterval(() => {
  const result = connection.checkpoint(); // a failure throws out of the thread: the manager sees it
  if (result.checkpointedPages > 0) port.postMessage({ checkpoint: result } satisfies CheckpointThreadAnswer);
}, intervalMs);
port.on('message', (m: unknown) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  connection.close();
  port.close();
});
port.postMessage({ ready: true } satisfies CheckpointThreadAnswer);
