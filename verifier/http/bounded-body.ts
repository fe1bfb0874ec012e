/**
 * Bodies read with a bound, so that a server (or a client) cannot make the reader hold more than it
 * expects: a declared Content-Length above the bound is refused unread, and reading stops as soon as more
 * bytes arrive than allowed (chunked or compressed bodies). Used by the clients for every response and by
 * the Worker for the request bodies it buffers. A connection lost while reading a response is a ClientError
 * `network` that names the URL and the cause, as a failed request is (verifier/http/request.ts).
 */
import { concatBytes } from '../../wasm-free-crypto/bytes.js';
import { VerifyError } from '../verification/errors.js';
import { networkError, safeUrl } from './request.js';

/**
 * The bytes of a body (a request's or a response's, with its headers) if it has at most `max`, else null:
 * a declared Content-Length above `max` is refused unread, and reading stops as soon as more arrive
 * (chunked, compressed). Shared with the Worker, which buffers request bodies the same way.
 */
export async function readAtMost(
  message: { body: ReadableStream<Uint8Array> | null; headers: Headers },
  max: number,
): Promise<Uint8Array | null> {
  if (Number(message.headers.get('Content-Length') ?? '0') > max) {
    await message.body?.cancel();
    return null;
  }
  if (message.body === null) return new Uint8Array(0);
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concatBytes(...chunks);
    total += value.length;
    if (total > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
}

/**
 * Reads a response body of at most `max` bytes (VerifyError `too_large` beyond). A connection lost while
 * reading is a ClientError `network` naming the response's URL and the cause (verifier/http/request.ts).
 */
export async function readBounded(res: Response, max: number): Promise<Uint8Array> {
  let body: Uint8Array | null;
  try {
    body = await readAtMost(res, max);
  } catch (e) {
    throw networkError(`reading the answer of ${safeUrl(res.url) || 'a request'}`, e, res.url);
  }
  if (body === null) throw new VerifyError('too_large', `the response has more than ${max} bytes`);
  return body;
}
