/**
 * A reader process marks its answers with `X-KT-Reader` (api/node/reader-process.ts): in place on the app's
 * response, so that its bytes are sent as they are; copied only when the headers cannot change.
 */
import { describe, expect, it } from 'vitest';
import { withReaderHeader } from '../../../api/node/reader-process.js';

describe('withReaderHeader', () => {
  it("sets the header on the app's own response, which keeps its body, status and headers", async () => {
    const res = new Response(Uint8Array.of(1, 2, 3), { status: 201, headers: { 'Content-Type': 'x/y' } });
    const out = withReaderHeader(res, 1);
    expect(out).toBe(res);
    expect(out.headers.get('X-KT-Reader')).toBe('1');
    expect(out.status).toBe(201);
    expect(out.headers.get('Content-Type')).toBe('x/y');
    expect(new Uint8Array(await out.arrayBuffer())).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('copies a response whose headers are immutable, with its status, headers and body', async () => {
    const res = Response.redirect('http://127.0.0.1/elsewhere', 302);
    expect(() => res.headers.set('X-Test', '1')).toThrow(TypeError);
    const out = withReaderHeader(res, 0);
    expect(out).not.toBe(res);
    expect(out.headers.get('X-KT-Reader')).toBe('0');
    expect(out.status).toBe(302);
    expect(out.headers.get('Location')).toBe('http://127.0.0.1/elsewhere');
  });
});
