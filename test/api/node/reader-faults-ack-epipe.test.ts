/**
 * Reader processes (api/node/readers.ts, `ReaderPool.mergeCounts`): a reader that dies right after handing its
 * counts over does not take the primary process (the sequencer) down with it. The acknowledgement is sent with a
 * callback and the ChildProcess has an 'error' listener; before, the write to a reader already gone failed
 * (EPIPE) as an 'error' event, an uncaught exception in the primary. A client triggers hand-overs at will
 * (GET /metrics is forwarded after one); here the primary's event loop is held synchronously for a moment (as an
 * epoch's plan holds it) and the reader is killed meanwhile, as an out-of-memory kill would.
 */
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { http, readerPids, startNodeDirectory } from '../../helpers/node-directory.js';

/** Holds this process's event loop for `ms`. */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a reader that dies just after handing its counts over', () => {
  it('does not crash the primary process', async () => {
    const d = await startNodeDirectory({ readers: 1 });
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    let s: Socket | undefined;
    try {
      expect((await http(`${d.url}/v1/config`)).status).toBe(200);
      const [pid] = readerPids();
      const { hostname, port } = new URL(d.url);
      s = connect({ host: hostname, port: Number(port) });
      s.on('error', () => undefined);
      await new Promise((r) => s!.once('connect', r));
      s.write('GET /v1/config HTTP/1.1\r\nHost: x\r\n'); // handed to the reader, not yet complete
      await sleep(500);
      process.on('uncaughtException', onUncaught);
      // The primary busy: the reader answers /v1/config (counted), then the scrape, for which it hands its counts
      // over; then it dies, before the primary has read them.
      s.write('\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
      busy(500);
      process.kill(pid, 'SIGKILL');
      busy(300);
      await sleep(500); // the primary reads the counts and acknowledges them
      expect(uncaught.map((e) => String(e))).toEqual([]); // before: [ 'Error: write EPIPE' ]
    } finally {
      process.off('uncaughtException', onUncaught);
      s?.destroy();
      await d.close();
    }
  }, 60_000);
});
