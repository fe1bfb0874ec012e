/** The entry of a reader process (api/node/reader-process.ts), started by the Node server (api/node/readers.ts). */
import { readerMain } from './reader-process.js';

readerMain().catch((e) => {
  console.error(`reader: ${(e as Error).message}`);
  process.exit(1);
});
