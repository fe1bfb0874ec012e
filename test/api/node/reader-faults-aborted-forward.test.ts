/**
 * Reader processes (api/node/reader-process.ts, `forward`): a client that cuts off the body of a request the
 * reader forwards to the sequencer (POST /v1/bindings) does not crash the reader. The body's stream failing is
 * piped into the request to the sequencer with `pipeline`, which destroys that request; before, nothing listened
 * for the source's 'error', the reader process died, and its clients went to the next reader, whose buckets are
 * its own: the client's lookup allowance started afresh.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { jsonLogger } from '../../../api/app/logger.js';
import { http, PROVIDER, startNodeDirectory } from '../../helpers/node-directory.js';

const ACCOUNT = 'alice@chat.example';
const FROM = '127.0.0.9';

/** Sends a POST /v1/bindings whose chunked body stops half-way, then resets the connection. */
function abortedBindings(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = connect({ host: hostname, port: Number(port), localAddress: FROM }, () => {
      s.write(
        'POST /v1/bindings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          'Transfer-Encoding: chunked\r\n\r\n10\r\n{"statements":[',
      );
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 300);
    });
    s.on('error', () => undefined);
  });
}

describe('a reader forwarding a body the client cuts off', () => {
  it('stays up, and the client keeps the allowance it had', async () => {
    const lines: string[] = [];
    const d = await startNodeDirectory(
      { readers: 2, lookupBurst: 5, lookupRatePerSecond: 1 },
      jsonLogger((line) => lines.push(line)),
    );
    try {
      expect((await d.publish(ACCOUNT)).status).toBe(200);
      const lookup = () => http(`${d.url}/v1/lookup/${PROVIDER}/${encodeURIComponent(ACCOUNT)}`, { from: FROM });
      // The client spends its burst at its reader.
      const before: number[] = [];
      for (let i = 0; i < 8; i++) before.push((await lookup()).status);
      expect(before.slice(-2)).toEqual([429, 429]);

      await abortedBindings(d.url);
      await new Promise((r) => setTimeout(r, 300));

      const events = lines.map((l) => JSON.parse(l).event);
      expect.soft(events).not.toContain('reader_exited'); // the reader died of the aborted body before
      // And the allowance is not renewed by the reader's death (a second or so of refill at most).
      const after: number[] = [];
      for (let i = 0; i < 4; i++) after.push((await lookup()).status);
      expect(after.filter((s) => s === 200).length).toBeLessThanOrEqual(1);
    } finally {
      await d.close();
    }
  }, 60_000);
});
