/**
 * `npm start`: the directory server on Node with an embedded SQLite file (api/node-main.ts has the
 * options; `kt serve` runs the same).
 */
import { serveMain } from './node-main.js';

serveMain(process.argv.slice(2)).catch((e) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
