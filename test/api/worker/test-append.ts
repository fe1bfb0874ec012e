/**
 * The test Worker's append route (test/api/worker/log-only-worker.ts): `POST /__test/append` with a JSON
 * array of base64 entries appends them to the log as one batch and answers `{firstIndex, count, size,
 * checkpoint}`, so that the workerd tests can fill a plain log with arbitrary entries. The production
 * Worker has no such route.
 */
import { fromBase64 } from '../../../wasm-free-crypto/bytes.js';
import { AppendError, type LogAppender } from '../../../log/merkle/appender.js';

export const TEST_APPEND_PATH = '/__test/append';

function error(status: 400 | 405, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

/** Handles `POST /__test/append`. */
export async function handleTestAppend(request: Request, log: LogAppender): Promise<Response> {
  if (request.method !== 'POST') return error(405, 'method_not_allowed', `${TEST_APPEND_PATH} takes POST`);
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return error(400, 'bad_json', 'the body must be a JSON array of base64 entries');
  }
  if (!Array.isArray(body) || !body.every((e) => typeof e === 'string'))
    return error(400, 'bad_json', 'the body must be a JSON array of base64 entries');
  let entries: Uint8Array[];
  try {
    entries = body.map((e: string) => fromBase64(e));
  } catch {
    return error(400, 'bad_base64', 'an entry is not canonical base64');
  }
  try {
    const r = await log.append(entries);
    return Response.json({
      firstIndex: r.firstIndex,
      count: r.count,
      size: r.head.size,
      checkpoint: r.head.checkpoint,
    });
  } catch (e) {
    if (e instanceof AppendError) return error(400, e.code, e.message);
    throw e;
  }
}
