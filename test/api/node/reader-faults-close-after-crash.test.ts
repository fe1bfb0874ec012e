/**
 * Reader processes (api/node/readers.ts, `ReaderPool.close`): the server still shuts down after a reader process
 * crashed. Close no longer waits for the public server's close callback: its connections were handed to the
 * readers, and Node closes it only once every reader holding its sockets says they are closed; a reader that
 * exited is dropped from that list, and when none was left the callback never came: the sequencer never
 * stopped, its last epoch was never closed, and `kill -TERM` left the process hanging.
 */
import { describe, expect, it } from 'vitest';
import { http, readerPids, startNodeDirectory } from '../../helpers/node-directory.js';

describe('closing the server after a reader crashed', () => {
  it('resolves', async () => {
    const d = await startNodeDirectory({ readers: 1 });
    let closed = false;
    try {
      expect((await http(`${d.url}/v1/config`)).status).toBe(200); // a connection handed to the reader
      const [pid] = readerPids();
      process.kill(pid, 'SIGKILL'); // a reader that crashes (out of memory, a bug)
      await new Promise((r) => setTimeout(r, 2500)); // started again after a second
      expect(readerPids().length).toBe(1);
      const closing = d.close().then(() => (closed = true));
      await Promise.race([closing, new Promise((r) => setTimeout(r, 15_000))]);
      expect(closed).toBe(true); // before: close() never resolved
    } finally {
      if (!closed) for (const pid of readerPids()) process.kill(pid, 'SIGKILL'); // what this test started
    }
  }, 60_000);
});
