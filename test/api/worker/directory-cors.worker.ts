/**
 * Browsers and the Worker (api/app/cors.ts), inside workerd, with `LOOKUP_ORIGINS` listing one web client
 * (vitest.workers.config.ts): the checkpoint and tiles the Worker serves from R2 and the config and OpenAPI
 * document the object serves answer any origin; lookups, histories, daily checks and batch lookups the Worker
 * answers from D1 answer the listed origin only; the Worker answers granted
 * preflights itself, without the object, and the object refuses the others; the operator's and the
 * publishers' routes never answer cross-origin; the isolate reads the same var as the object (`*`, none,
 * malformed); no answer allows credentials.
 */
import { createExecutionContext, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../../api/worker/worker.js';
import type { SequencerState } from '../../../api/worker/sequencer-state.js';
import { tilePath, tilesForSize } from '../../../verifier/formats/tiles.js';
import { makeLeaf, type PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { get, operator, post, sequencer, settle, testRoot } from './helpers.js';

const PROVIDER = 'cors.example';
const WEB = 'https://web.chat.example'; // LOOKUP_ORIGINS of the directory project
const OTHER = 'https://evil.example';
const ACAO = 'Access-Control-Allow-Origin';
const LOOKUP = `/v1/lookup/${PROVIDER}/ann%40cors.example`;

/** Every response of these tests, to check that none allows credentials. */
const seen: Response[] = [];
let clients = 0;
/** A new client's address (the rate limits key clients by address: api/app/rate-limit-keys.ts). */
const nextClient = () => `10.1.${(clients >> 8) & 255}.${clients++ & 255}`;
/** A request through the Worker from a page of `origin`, as a new client (so that no rate limit interferes). */
async function ask(path: string, origin: string | null, init: RequestInit = {}): Promise<Response> {
  const headers = { ...(init.headers as Record<string, string>), 'cf-connecting-ip': nextClient() };
  const res = await get(path, { ...init, headers: origin === null ? headers : { ...headers, Origin: origin } });
  seen.push(res);
  return res;
}
const preflight = (path: string, origin: string, method: string, headers = '') =>
  ask(path, origin, {
    method: 'OPTIONS',
    headers: { 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers },
  });
const jsonPost = (body: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'Content-Type': 'application/json' },
});

/** The requests of `method` the object's app counted under `route` (those the isolate answered are not). */
async function objectCount(method: string, route: string): Promise<number> {
  return runInDurableObject(sequencer(), async (instance) => {
    const rows = (instance as unknown as { state: SequencerState }).state.requests.rows();
    return rows.filter((r) => r.method === method && r.route === route).reduce((n, r) => n + r.count, 0);
  });
}

/** Runs `f`, checking that the object's app answered none of its requests of `method` counted under `route`. */
async function isolateOnly(method: string, route: string, f: () => Promise<void>): Promise<void> {
  await get('/metrics'); // the isolate hands its counts over now, not during `f`
  const before = await objectCount(method, route);
  await f();
  expect(await objectCount(method, route), `the object answered ${method} ${route}`).toBe(before);
}

beforeAll(async () => {
  const leaf: PkiCert = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
  expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
  const signed = signStatement(
    'ed25519',
    leaf.secretKey,
    statementOf(PROVIDER, 'ann@cors.example', 1, Date.now(), 'a'),
  );
  // The alarm that commits it also publishes the log to R2 and replicates the epoch to D1.
  expect((await settle(post('/v1/bindings?wait=1', { statements: [signed] }))).status).toBe(200);
});

describe('CORS on the Worker', () => {
  it('serves the checkpoint and tiles from R2 to any origin', async () => {
    const size = Number((await (await get('/log/checkpoint')).text()).split('\n')[1]);
    const tile = `/log/${tilePath(tilesForSize(size)[0])}`;
    await isolateOnly('GET', '/log/tile/*', () =>
      isolateOnly('GET', '/log/checkpoint', async () => {
        for (const path of ['/log/checkpoint', tile, `/log/tile/entries/000.p/${size}`]) {
          for (const origin of [OTHER, WEB, null]) {
            const res = await ask(path, origin, { headers: { 'Accept-Encoding': 'gzip' } });
            expect([res.status, res.headers.get(ACAO)], path).toEqual([200, '*']);
            expect(res.headers.get('Access-Control-Expose-Headers')).toBe('Retry-After, X-Request-Id');
          }
        }
      }),
    );
  });

  it('serves the config and the OpenAPI document to any origin', async () => {
    for (const path of ['/v1/config', '/openapi.json']) {
      const res = await ask(path, OTHER);
      expect([res.status, res.headers.get(ACAO)], path).toEqual([200, '*']);
    }
  });

  it('answers lookups from D1 to the listed origin only', () =>
    isolateOnly('GET', '/v1/lookup/:provider/:account', async () => {
      const web = await ask(LOOKUP, WEB);
      // Vary: Accept too, as the object's app says (a lookup is also served in its binary form).
      expect([web.status, web.headers.get(ACAO), web.headers.get('Vary')]).toEqual([200, WEB, 'Accept, Origin']);
      const other = await ask(LOOKUP, OTHER);
      expect([other.status, other.headers.get(ACAO), other.headers.get('Vary')]).toEqual([200, null, 'Accept, Origin']);
      expect(await other.text()).toBe(await web.text());
    }));

  it('answers the history, the daily check and batch lookups from D1 to the listed origin only', async () => {
    const routes: [string, RequestInit][] = [
      [`/v1/history/${PROVIDER}/ann%40cors.example?since=0`, {}],
      [`/v1/monitor/${PROVIDER}/ann%40cors.example?version=1`, { headers: { 'Accept-Encoding': 'gzip' } }],
      ['/v1/lookup', jsonPost({ lookups: [{ provider: PROVIDER, account: 'ann@cors.example' }] })],
      ['/v1/lookup', jsonPost({ discover: 'ann@cors.example' })],
    ];
    for (const [path, init] of routes) {
      const route = path.startsWith('/v1/lookup')
        ? '/v1/lookup'
        : path.replace(/\/[^/]+\/[^/?]+\?.*$/, '/:provider/:account');
      await isolateOnly(init.method ?? 'GET', route, async () => {
        const web = await ask(path, WEB, init);
        expect([web.status, web.headers.get(ACAO)], path).toEqual([200, WEB]);
        expect(web.headers.get('Vary'), path).toMatch(/Origin$/);
        const other = await ask(path, OTHER, init);
        expect([other.status, other.headers.get(ACAO)], path).toEqual([200, null]);
      });
    }
  });

  it('answers granted preflights itself, and leaves the others to the object, which refuses them', async () => {
    await isolateOnly('OPTIONS', 'unmatched', async () => {
      for (const path of ['/log/checkpoint', '/log/tile/0/000', '/v1/config', '/openapi.json']) {
        const res = await preflight(path, OTHER, 'GET');
        expect([res.status, res.headers.get(ACAO), res.headers.get('Access-Control-Allow-Methods')]).toEqual([
          204,
          '*',
          'GET, HEAD',
        ]);
      }
      for (const path of [LOOKUP, `/v1/history/${PROVIDER}/a`, `/v1/monitor/${PROVIDER}/a`]) {
        const res = await preflight(path, WEB, 'GET');
        expect([res.status, res.headers.get(ACAO), res.headers.get('Vary')], path).toEqual([204, WEB, 'Origin']);
      }
      const batch = await preflight('/v1/lookup', WEB, 'POST', 'content-type');
      expect([batch.status, batch.headers.get(ACAO), batch.headers.get('Access-Control-Allow-Methods')]).toEqual([
        204,
        WEB,
        'POST',
      ]);
      expect(batch.headers.get('Access-Control-Allow-Headers')).toBe('Content-Type');
      expect(batch.headers.get('Access-Control-Max-Age')).toBe('86400');
    });
    await get('/metrics'); // hands over the isolate's counts of the granted ones
    const before = await objectCount('OPTIONS', 'unmatched');
    const refused: [string, string][] = [
      [LOOKUP, OTHER],
      ['/v1/lookup', OTHER],
      ['/v1/bindings', WEB],
      ['/v1/providers', WEB],
      ['/v1/providers/revoke', WEB],
      ['/metrics', WEB],
    ];
    for (const [path, origin] of refused) {
      const res = await preflight(path, origin, 'POST', 'authorization, content-type');
      expect([res.status, res.headers.get(ACAO), res.headers.get('Access-Control-Allow-Methods')], path).toEqual([
        404,
        null,
        null,
      ]);
    }
    expect(await objectCount('OPTIONS', 'unmatched'), 'the object refused them').toBe(before + refused.length);
  });

  it("never answers cross-origin on the publishers' and the operator's routes", async () => {
    const auth = { ...operator(), 'Content-Type': 'application/json' };
    const routes: [string, RequestInit][] = [
      ['/v1/bindings', jsonPost({ statements: [{ statement: 'AAAA', signature: '' }] })],
      ['/v1/providers', { method: 'POST', body: '{"chain": []}', headers: auth }],
      ['/v1/providers/revoke', { method: 'POST', body: '{}', headers: auth }],
      ['/v1/providers', { method: 'POST', body: '{}' }],
      ['/healthz', {}],
      ['/metrics', {}],
    ];
    for (const [path, init] of routes) {
      const res = await ask(path, WEB, init);
      expect(res.headers.get(ACAO), `${path} ${res.status}`).toBeNull();
      expect(res.headers.get('Access-Control-Expose-Headers'), path).toBeNull();
    }
  });

  it('reads LOOKUP_ORIGINS in the isolate as the object does: "*", unset, malformed', async () => {
    const fetchWith = async (vars: Record<string, string | undefined>, path: string, init: RequestInit) => {
      const headers = { ...(init.headers as Record<string, string>), 'cf-connecting-ip': nextClient() };
      const request = new Request(`https://kt.example${path}`, { ...init, headers }) as Parameters<
        typeof worker.fetch
      >[0];
      const res = await worker.fetch(request, { ...env, ...vars }, createExecutionContext());
      seen.push(res);
      return res;
    };
    const lookup = { headers: { Origin: OTHER } };
    const pre = { method: 'OPTIONS', headers: { Origin: OTHER, 'Access-Control-Request-Method': 'GET' } };
    await isolateOnly('GET', '/v1/lookup/:provider/:account', async () => {
      const any = await fetchWith({ LOOKUP_ORIGINS: '["*"]' }, LOOKUP, lookup);
      expect([any.status, any.headers.get(ACAO), any.headers.get('Vary')]).toEqual([200, '*', 'Accept']);
      const none = await fetchWith({ LOOKUP_ORIGINS: undefined }, LOOKUP, lookup);
      expect([none.status, none.headers.get(ACAO), none.headers.get('Vary')]).toEqual([200, null, 'Accept']);
      // Malformed: the isolate answers as the object would, 503 not_configured, without the value.
      const malformed = await fetchWith({ LOOKUP_ORIGINS: '["https://evil.example/"]' }, LOOKUP, lookup);
      expect([malformed.status, malformed.headers.get(ACAO)]).toEqual([503, null]);
      const body = await malformed.text();
      expect(JSON.parse(body)).toMatchObject({ error: { code: 'not_configured' } });
      expect(body).not.toContain('evil.example');
    });
    await isolateOnly('OPTIONS', 'unmatched', async () => {
      const granted = await fetchWith({ LOOKUP_ORIGINS: '["*"]' }, LOOKUP, pre);
      expect([granted.status, granted.headers.get(ACAO)]).toEqual([204, '*']);
    });
    // Not granted by the isolate's (empty) policy: the object, whose list does not have the origin, refuses it.
    const refused = await fetchWith({ LOOKUP_ORIGINS: undefined }, LOOKUP, pre);
    expect([refused.status, refused.headers.get(ACAO)]).toEqual([404, null]);
  });

  it('never allows credentials', () => {
    expect(seen.length).toBeGreaterThan(40);
    for (const res of seen) expect(res.headers.get('Access-Control-Allow-Credentials')).toBeNull();
  });
});
