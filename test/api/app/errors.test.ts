/**
 * Errors over HTTP (api/app/errors.ts): a route's typed error is answered with its code and the status of
 * the one table; an internal code, a code the table does not know and an untyped error are all answered
 * 500 `internal` with a generic message and logged, never as a 400 and never with their message.
 */
import { describe, expect, it } from 'vitest';
import { CodedError } from '../../../wasm-free-crypto/errors.js';
import { DirectoryError } from '../../../log/directory/errors.js';
import { ProviderError } from '../../../log/providers/errors.js';
import { AccountError } from '../../../verifier/formats/account.js';
import { createApp } from '../../../api/app/app.js';
import type { DirectoryService } from '../../../api/app/directory-routes.js';
import { STATUS_BY_CODE, statusForCode, type ApiErrorCode } from '../../../api/app/errors.js';
import { jsonLogger } from '../../../api/app/logger.js';
import { TokenBuckets } from '../../../api/app/middleware.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { MemoryLogStorage } from '../../doubles/memory-log-storage.js';
import { logSigner, ORIGIN } from '../../helpers/log.js';

/** An app whose every directory route throws `error`, and the log lines it wrote (parsed). */
function appThrowing(error: unknown) {
  const fail = async (): Promise<never> => {
    throw error;
  };
  const service: DirectoryService = {
    lookup: fail,
    history: fail,
    monitor: fail,
    discover: fail,
    submit: fail,
    enrol: fail,
    revoke: fail,
  };
  const logged: Record<string, unknown>[] = [];
  const reader = new LogReader(new MemoryLogStorage(), () => ({ size: 0, checkpoint: '' }));
  const app = createApp({
    reader,
    config: { origin: ORIGIN, logKey: logSigner().verifierKey },
    directory: {
      service,
      receiptSigner: logSigner(),
      lookupRateLimit: new TokenBuckets({ capacity: 100, refillPerSecond: 1 }),
    },
    logger: jsonLogger((line) => logged.push(JSON.parse(line))),
  });
  return { app, logged };
}

async function lookup(error: unknown) {
  const { app, logged } = appThrowing(error);
  const res = await app.request('/v1/lookup/chat.example/alice@chat.example');
  const requestId = res.headers.get('X-Request-Id');
  return { status: res.status, retryAfter: res.headers.get('Retry-After'), body: await res.json(), logged, requestId };
}

describe('errors over HTTP', () => {
  it('answer a typed error with its code and the status of the table', async () => {
    expect(await lookup(new AccountError('account_control_char', 'a control character'))).toMatchObject({
      status: 400,
      body: { error: { code: 'account_control_char', message: 'a control character' } },
      logged: [],
    });
    expect(await lookup(new ProviderError('cert_untrusted', 'no path'))).toMatchObject({ status: 403, logged: [] });
    expect(await lookup(new DirectoryError('queue_full', 'full'))).toMatchObject({ status: 503, retryAfter: '1' });
    expect(await lookup(new DirectoryError('version_gap', 'gap'))).toMatchObject({ status: 409 });
  });

  it('answer an internal code, an unknown code and an untyped error 500 internal, and log them', async () => {
    const internal = { error: { code: 'internal', message: 'internal error' } };
    const corrupt = await lookup(new DirectoryError('corrupt_directory', 'the map root differs'));
    expect(corrupt).toMatchObject({ status: 500, body: internal });
    expect(corrupt.logged).toEqual([
      {
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        level: 'error',
        event: 'internal_error',
        requestId: corrupt.requestId,
        method: 'GET',
        route: '/v1/lookup/:provider/:account',
        error: 'DirectoryError',
        code: 'corrupt_directory',
        message: 'the map root differs',
      },
    ]);
    expect(corrupt.requestId).toMatch(/^[0-9a-f]{32}$/);
    const unknown = await lookup(new CodedError('made_up_code', 'nobody knows this code'));
    expect(unknown).toMatchObject({ status: 500, body: internal });
    expect(unknown.logged[0]).toMatchObject({ code: 'made_up_code', message: 'nobody knows this code' });
    const untyped = await lookup(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }));
    expect(untyped).toMatchObject({ status: 500, body: internal });
    expect(untyped.logged).toEqual([expect.objectContaining({ error: 'Error', code: 'ENOENT' })]);
  });

  it('answer a refused statement of a batch as the table says, and an internal one as internal', async () => {
    const post = async (error: unknown) => {
      const { app, logged } = appThrowing(error);
      const item = { statement: 'AA==', signature: 'AA==' };
      const res = await app.request('/v1/bindings', {
        method: 'POST',
        body: JSON.stringify({ statements: [item] }),
        headers: { 'X-Request-Id': 'proxy-7f3a', 'Content-Type': 'application/json' },
      });
      return { status: res.status, body: await res.json(), logged, requestId: res.headers.get('X-Request-Id') };
    };
    expect(await post(new DirectoryError('version_conflict', 'taken'))).toMatchObject({ status: 409, logged: [] });
    const internal = await post(new CodedError('made_up_code', 'secret detail'));
    expect(internal).toMatchObject({ status: 500, body: { error: { code: 'internal', message: 'internal error' } } });
    expect(internal.logged).toEqual([
      expect.objectContaining({ event: 'internal_error', requestId: 'proxy-7f3a', route: '/v1/bindings' }),
    ]);
    expect(internal.requestId).toBe('proxy-7f3a');
  });

  it('know a status for every code of the table, and none for any other', () => {
    for (const [code, status] of Object.entries(STATUS_BY_CODE)) expect(statusForCode(code)).toBe(status);
    for (const code of ['made_up_code', 'toString', '__proto__', 'constructor', ''])
      expect(statusForCode(code)).toBeUndefined();
    const statuses = new Set(Object.values(STATUS_BY_CODE));
    expect([...statuses].sort()).toEqual([400, 401, 403, 404, 409, 410, 413, 429, 500, 503]);
    const http: ApiErrorCode[] = ['bad_request', 'not_found', 'too_large', 'rate_limited', 'unauthorized', 'internal'];
    expect(http.map((c) => STATUS_BY_CODE[c])).toEqual([400, 404, 413, 429, 401, 500]);
  });
});
