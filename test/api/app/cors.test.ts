/**
 * Browsers and the app (api/app/cors.ts through app.request(), wired as the servers wire it): the log, the
 * config and the OpenAPI document answer any origin; the lookup, discovery, history and daily-check routes
 * answer the origins of the `lookupOrigins` setting (a list, `*`, or none by default), with `Vary: Origin`
 * where the answer depends on it; granted preflights are 204 with the route's methods and headers, refused
 * ones 404 without a grant; publication, enrolment, revocation, health and metrics never answer cross-origin,
 * even with `*`; no answer ever allows credentials.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import { tilePath, tilesForSize } from '../../../verifier/formats/tiles.js';
import { serverApp } from '../../../api/wiring/open-server.js';
import { DEFAULT_SETTINGS } from '../../../api/wiring/settings.js';
import { jsonLogger } from '../../../api/app/logger.js';
import {
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  publish,
  statementFor,
  TEST_OPERATOR_TOKEN,
  type TestDirectory,
  type TestProvider,
} from '../../helpers/directory.js';

const WEB = 'https://web.chat.example';
const OTHER = 'https://evil.example';
const ACAO = 'Access-Control-Allow-Origin';

let t: TestDirectory;
let chat: TestProvider;

/** The app over the test directory with `lookupOrigins`, and a lookup burst of `burst`. */
function appWith(lookupOrigins: string[], burst = 1000): Hono {
  return serverApp({
    reader: new LogReader(new SqliteLogStorage(t.db), () => t.log.head),
    signer: logSignerForTests,
    directory: t.dir,
    operatorToken: TEST_OPERATOR_TOKEN,
    settings: { ...DEFAULT_SETTINGS, lookupOrigins, lookupBurst: burst, lookupRatePerSecond: 1 },
    logger: jsonLogger(() => {}),
  }).app;
}

/** A request from a page of `origin` (method GET unless `init` says otherwise). */
const from = (origin: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), Origin: origin },
});
const jsonPost = (body: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'Content-Type': 'application/json' },
});
const preflight = (origin: string, method: string, headers?: string): RequestInit => ({
  method: 'OPTIONS',
  headers: {
    Origin: origin,
    'Access-Control-Request-Method': method,
    ...(headers ? { 'Access-Control-Request-Headers': headers } : {}),
  },
});

/** Every response of these tests, to check that none allows credentials. */
const seen: Response[] = [];
async function ask(app: Hono, path: string, init: RequestInit = {}): Promise<Response> {
  const res = await app.request(path, init);
  seen.push(res);
  return res;
}

/** The lookup routes, each with a request a web client makes to it. */
const LOOKUPS: [string, RequestInit][] = [
  ['/v1/lookup/chat.example/a%40chat.example', {}],
  ['/v1/lookup', jsonPost({ lookups: [{ provider: 'chat.example', account: 'a@chat.example' }] })],
  ['/v1/lookup', jsonPost({ discover: 'a@chat.example' })],
  ['/v1/history/chat.example/a%40chat.example?since=0', {}],
  ['/v1/monitor/chat.example/a%40chat.example?version=1', { headers: { 'Accept-Encoding': 'gzip' } }],
];

beforeAll(async () => {
  t = await openTestDirectory();
  chat = await enrolProvider(t, 'chat.example');
  await publish(t, chat.sign(statementFor(chat, 'a@chat.example', 1, [identityKey()], t.clock.now)));
});

describe('CORS', () => {
  it('answers any origin on the log, the config and the OpenAPI document, and grants their preflights', async () => {
    const app = appWith([]);
    const tile = `/log/${tilePath(tilesForSize(t.log.head.size)[0])}`;
    for (const path of ['/log/checkpoint', tile, '/v1/config', '/openapi.json']) {
      for (const init of [from(OTHER), from('null'), {}, from(OTHER, { method: 'HEAD' })]) {
        const res = await ask(app, path, init);
        expect([res.status, res.headers.get(ACAO)], path).toEqual([200, '*']);
        expect(res.headers.get('Access-Control-Expose-Headers'), path).toBe('Retry-After, X-Request-Id');
        expect(res.headers.get('Vary') ?? '', path).not.toMatch(/origin/i);
      }
      const pre = await ask(app, path, preflight(OTHER, 'GET'));
      expect([pre.status, pre.headers.get(ACAO), await pre.text()], path).toEqual([204, '*', '']);
      expect(pre.headers.get('Access-Control-Allow-Methods')).toBe('GET, HEAD');
      expect(pre.headers.get('Access-Control-Allow-Headers')).toBeNull();
      expect(pre.headers.get('Access-Control-Max-Age')).toBe('86400');
    }
    // A path of the log that does not exist: still readable, so that a client sees the 404.
    expect((await ask(app, '/log/tile/9/000', from(OTHER))).headers.get(ACAO)).toBe('*');
  });

  it('answers the configured origins on the lookup routes, and only them', async () => {
    const app = appWith([WEB, 'http://localhost:5173']);
    for (const [path, init] of LOOKUPS) {
      const ok = await ask(app, path, from(WEB, init));
      expect([ok.status, ok.headers.get(ACAO)], path).toEqual([200, WEB]);
      expect(ok.headers.get('Vary'), path).toMatch(/(^|, )Origin$/);
      expect(ok.headers.get('Access-Control-Expose-Headers')).toBe('Retry-After, X-Request-Id');
      const other = await ask(app, path, from(OTHER, init));
      expect([other.status, other.headers.get(ACAO)], path).toEqual([200, null]);
      expect(other.headers.get('Vary'), 'the answer depends on the Origin').toMatch(/Origin/);
      expect((await ask(app, path, init)).headers.get(ACAO), 'no Origin').toBeNull();
    }
    const daily = await ask(app, LOOKUPS[4][0], from(WEB, LOOKUPS[4][1]));
    expect([daily.headers.get('Content-Encoding'), daily.headers.get('Vary')]).toEqual([
      'gzip',
      'Accept-Encoding, Origin',
    ]);
    const local = await ask(app, LOOKUPS[0][0], from('http://localhost:5173'));
    expect(local.headers.get(ACAO)).toBe('http://localhost:5173');
    // Exact origins: not another scheme, port or case, nor a suffix.
    for (const near of ['http://web.chat.example', 'https://web.chat.example:8443', 'https://WEB.chat.example'])
      expect((await ask(app, LOOKUPS[0][0], from(near))).headers.get(ACAO), near).toBeNull();
  });

  it("grants the lookup routes' preflights to the configured origins: methods, the JSON body's header", async () => {
    const app = appWith([WEB]);
    const paths = ['/v1/lookup/chat.example/a%40chat.example', '/v1/history/chat.example/a', '/v1/monitor/c/a'];
    for (const path of paths) {
      const pre = await ask(app, path, preflight(WEB, 'GET', 'accept'));
      expect([pre.status, pre.headers.get(ACAO), pre.headers.get('Vary')], path).toEqual([204, WEB, 'Origin']);
      expect(pre.headers.get('Access-Control-Allow-Methods')).toBe('GET, HEAD');
    }
    const batch = await ask(app, '/v1/lookup', preflight(WEB, 'POST', 'content-type'));
    expect([batch.status, batch.headers.get(ACAO)]).toEqual([204, WEB]);
    expect(batch.headers.get('Access-Control-Allow-Methods')).toBe('POST');
    expect(batch.headers.get('Access-Control-Allow-Headers')).toBe('Content-Type');
    expect(batch.headers.get('Access-Control-Max-Age')).toBe('86400');
    for (const path of [...paths, '/v1/lookup']) {
      const refused = await ask(app, path, preflight(OTHER, 'POST', 'content-type'));
      expect([refused.status, refused.headers.get(ACAO)], path).toEqual([404, null]);
      expect(refused.headers.get('Access-Control-Allow-Methods')).toBeNull();
    }
  });

  it('lets a configured web client read a rate-limited answer and its Retry-After', async () => {
    const app = appWith([WEB], 1);
    expect((await ask(app, LOOKUPS[0][0], from(WEB))).status).toBe(200);
    const limited = await ask(app, LOOKUPS[0][0], from(WEB));
    expect([limited.status, limited.headers.get(ACAO)]).toEqual([429, WEB]);
    expect(limited.headers.get('Retry-After')).toMatch(/^[1-9]/);
    expect(limited.headers.get('Access-Control-Expose-Headers')).toBe('Retry-After, X-Request-Id');
  });

  it('answers every origin on the lookup routes with "*", without Vary', async () => {
    const app = appWith(['*']);
    for (const [path, init] of LOOKUPS) {
      const res = await ask(app, path, from(OTHER, init));
      expect([res.status, res.headers.get(ACAO)], path).toEqual([200, '*']);
      expect(res.headers.get('Vary') ?? '', path).not.toMatch(/Origin/);
    }
    const pre = await ask(app, '/v1/lookup', preflight(OTHER, 'POST', 'content-type'));
    expect([pre.status, pre.headers.get(ACAO), pre.headers.get('Vary')]).toEqual([204, '*', null]);
  });

  it('answers no origin on the lookup routes by default', async () => {
    const app = appWith(DEFAULT_SETTINGS.lookupOrigins);
    expect(DEFAULT_SETTINGS.lookupOrigins).toEqual([]);
    for (const [path, init] of LOOKUPS) {
      const res = await ask(app, path, from(WEB, init));
      expect([res.status, res.headers.get(ACAO)], path).toEqual([200, null]);
      expect(res.headers.get('Vary') ?? '', 'the answer is the same for every Origin').not.toMatch(/Origin/);
      expect(res.headers.get('Access-Control-Expose-Headers')).toBeNull();
    }
    const pre = await ask(app, '/v1/lookup', preflight(WEB, 'POST', 'content-type'));
    expect([pre.status, pre.headers.get(ACAO)]).toEqual([404, null]);
  });

  it('never answers cross-origin on publication, enrolment, revocation, health and metrics, even with "*"', async () => {
    for (const app of [appWith(['*']), appWith([WEB])]) {
      const auth = { Authorization: `Bearer ${TEST_OPERATOR_TOKEN}`, 'Content-Type': 'application/json' };
      const routes: [string, RequestInit][] = [
        ['/v1/bindings', jsonPost({ statements: [{ statement: toBase64(new Uint8Array(4)), signature: '' }] })],
        ['/v1/providers', { method: 'POST', body: '{"chain": []}', headers: auth }],
        ['/v1/providers/revoke', { method: 'POST', body: '{}', headers: auth }],
        ['/v1/providers', { method: 'POST', body: '{}' }],
        ['/healthz', {}],
        ['/metrics', {}],
        ['/v1/nothing', {}],
      ];
      for (const [path, init] of routes) {
        const res = await ask(app, path, from(WEB, init));
        expect(res.headers.get(ACAO), `${path} ${res.status}`).toBeNull();
        expect(res.headers.get('Access-Control-Expose-Headers'), path).toBeNull();
        const pre = await ask(app, path, preflight(WEB, 'POST', 'authorization, content-type'));
        expect([pre.status, pre.headers.get(ACAO), pre.headers.get('Access-Control-Allow-Methods')], path).toEqual([
          404,
          null,
          null,
        ]);
      }
    }
  });

  it('never allows credentials', () => {
    expect(seen.length).toBeGreaterThan(80);
    for (const res of seen) expect(res.headers.get('Access-Control-Allow-Credentials')).toBeNull();
  });
});
