/**
 * The child process of bench/cold-start-bench.ts: `node --expose-gc --import tsx bench/cold-start-child.ts
 * DATA_DIR ACCOUNTS` starts the Node server (api/node/server.ts) on a data directory, times the start
 * until its first lookup is answered, makes 2,000 lookups of random accounts and closes one epoch (the
 * sequencer writes through the stored map), then prints one JSON line: the cold start in ms, its resident
 * memory and heap after a full GC, and the map cache's rows.
 */
import { jsonLogger } from '../api/app/logger.js';
import { startServer } from '../api/node/server.js';

const [dataDir, accountsArg] = process.argv.slice(2);
const accounts = Number(accountsArg);
const lookup = (url: string, i: number) => fetch(`${url}/v1/lookup/chat.example/user${i}%40chat.example`);

const started = performance.now();
const server = await startServer({ dataDir, host: '127.0.0.1', port: 0, logger: jsonLogger(() => {}) });
const first = await lookup(server.url, 0);
const coldStartMs = performance.now() - started;
if (first.status !== 200) throw new Error(`the first lookup answered ${first.status}`);
await first.arrayBuffer();
for (let i = 0; i < 2000; i++) {
  const res = await lookup(server.url, Math.floor(Math.random() * accounts));
  if (res.status !== 200) throw new Error(`a lookup answered ${res.status}`);
  await res.arrayBuffer();
}
await server.directory?.closeEpoch(true);
(globalThis as { gc?: () => void }).gc?.();
const memory = process.memoryUsage();
console.log(
  JSON.stringify({
    coldStartMs,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    cacheRows: server.directory?.mapCacheStats.rows ?? 0,
  }),
);
await server.close();
