/**
 * The JSON answers `kt` reads itself rather than through a client of verifier/ (a directory's `/v1/config` for
 * `kt trust`, the proofs `kt check-receipt` checks): read with a bound, an error status a ClientError
 * `http_error`, and a body that is not a JSON object (a page of a proxy, a truncated answer) a ClientError
 * `bad_response`, each naming the URL; a connection lost is `network` (verifier/http/request.ts).
 */
import { readBounded } from '../verifier/http/bounded-body.js';
import { request, safeUrl } from '../verifier/http/request.js';
import { ClientError } from '../verifier/verification/errors.js';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The JSON object `url` answers with status 200, in at most `max` bytes. */
export async function fetchJsonObject(url: string, max: number): Promise<Record<string, unknown>> {
  const res = await request(fetch, url);
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new ClientError('http_error', `${safeUrl(url)}: HTTP ${res.status}`);
  }
  const body = await readBounded(res, max);
  let json: unknown;
  try {
    json = JSON.parse(STRICT_UTF8.decode(body));
  } catch {
    throw new ClientError('bad_response', `${safeUrl(url)}: the answer is not JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ClientError('bad_response', `${safeUrl(url)}: the answer is not a JSON object`);
  return json as Record<string, unknown>;
}
