/**
 * `npm start`: the directory server on Node with an embedded SQLite file (api/node/serve-command.ts has the
 * options; `kt serve` runs the same).
 */
import { serveMain } from './serve-command.js';

serveMain(process.argv.slice(2)).catch((e) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
