/**
 * A reader process's counts handed to the primary (api/node/reader-metrics.ts), without processes: the
 * primary merges rows and refusals and acknowledges; a malformed hand-over is refused whole; counts a send
 * could not deliver are kept for the next hand-over; nothing is sent when there is nothing to hand over.
 */
import { describe, expect, it } from 'vitest';
import { RequestMetrics } from '../../../api/app/request-metrics.js';
import { mergeReaderCounts, ReaderCounts, type SendMessage } from '../../../api/node/reader-metrics.js';

const LOOKUP = '/v1/lookup/:provider/:account';

describe("a reader's counts", () => {
  it('reach the primary, which acknowledges them, and are sent once', async () => {
    const primary = new RequestMetrics();
    const sent: unknown[] = [];
    let reader!: ReaderCounts;
    const send: SendMessage = (message, done) => {
      sent.push(message);
      const ack = mergeReaderCounts(primary, structuredClone(message));
      setTimeout(() => reader.acknowledged(ack), 5);
      done(null);
    };
    reader = new ReaderCounts(send);
    await reader.handOver();
    expect(sent).toEqual([]); // nothing counted: nothing sent
    reader.requests.record('GET', LOOKUP, 200, 0.002);
    reader.requests.record('GET', LOOKUP, 429, 0.001);
    reader.requests.rateLimited.count('lookup');
    await reader.handOver();
    expect(sent).toHaveLength(1);
    expect(primary.rows().map((r) => [r.status, r.count])).toEqual([
      [200, 1],
      [429, 1],
    ]);
    expect(primary.rateLimited.text()).toContain('kt_rate_limited_total{kind="lookup"} 1');
    await reader.handOver();
    expect(sent).toHaveLength(1); // handed over once
    expect(mergeReaderCounts(primary, 'kt-connection')).toBeNull(); // another message
  });

  it('are refused whole when malformed, and kept when the send fails', async () => {
    const primary = new RequestMetrics();
    const good = { method: 'GET', route: LOOKUP, status: 200, count: 1, seconds: 0.001 };
    for (const refused of [{ lookup: -1 }, { nope: 1 }])
      expect(() => mergeReaderCounts(primary, { type: 'kt-reader-counts', seq: 1, rows: [good], refused })).toThrow(
        TypeError,
      );
    expect(() =>
      mergeReaderCounts(primary, { type: 'kt-reader-counts', seq: 1, rows: [{ ...good, count: -1 }], refused: {} }),
    ).toThrow(TypeError);
    expect(primary.rows()).toEqual([]); // nothing of a refused hand-over
    let fail = true;
    const messages: { rows: unknown[]; refused: unknown }[] = [];
    const reader = new ReaderCounts((message, done) => {
      if (fail) return done(new Error('channel closed'));
      messages.push(message as never);
      done(null);
    });
    reader.requests.record('GET', LOOKUP, 200, 0.002);
    reader.requests.rateLimited.count('lookup');
    await reader.handOver(); // fails: the counts stay
    fail = false;
    const next = reader.handOver(); // unacknowledged: settles after its wait
    await next;
    expect(messages).toHaveLength(1);
    expect(messages[0].rows).toHaveLength(1);
    expect(messages[0].refused).toEqual({ lookup: 1 });
  });
});
