/** Request bodies read with a bound before the handler (api/app/body.ts). */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { boundedBody } from '../../../api/app/body.js';

const app = new Hono();
app.post(
  '/echo',
  boundedBody(10, (c) => c.text('too large', 413)),
  async (c) => c.text(`got ${await c.req.text()}`),
);

function stream(chunks: string[], fail?: Error): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
      if (fail) c.error(fail);
      else c.close();
    },
  });
}

const post = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  app.request('/echo', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);

describe('boundedBody', () => {
  it('hands the handler bodies up to the bound, also streamed in chunks', async () => {
    expect(await (await post('0123456789')).text()).toBe('got 0123456789');
    expect(await (await post(stream(['01234', '56789']))).text()).toBe('got 0123456789');
    expect(await (await post(null)).text()).toBe('got ');
  });

  it("answers a larger body with the route's refusal, unread when its length is declared", async () => {
    const big = await post('0123456789a');
    expect([big.status, await big.text()]).toEqual([413, 'too large']);
    const streamed = await post(stream(['01234', '56789', 'a']));
    expect([streamed.status, await streamed.text()]).toEqual([413, 'too large']);
  });

  it('answers 400 bad_request for a body that cannot be read (malformed, cut off, a client gone)', async () => {
    const res = await post(stream(['01234'], new Error('aborted')));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: 'bad_request', message: 'the request body could not be read: malformed, or cut off' },
    });
  });
});
