/**
 * The OpenAPI document (api/app/openapi.ts) against the app it describes: well-formed OpenAPI 3.1, every
 * route createApp registers documented (and nothing documented that is not served), every $ref
 * resolvable, every listed error code answered with the status it is listed under, and the statuses and
 * codes of real requests documented for their route.
 */
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { statusForCode } from '../../../api/app/errors.js';
import { openApiDocument } from '../../../api/app/openapi.js';
import { directoryApp, identityKey, statementFor, TEST_OPERATOR_TOKEN } from '../../helpers/directory.js';

type Json = Record<string, any>;
const TOKEN = TEST_OPERATOR_TOKEN;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const setup = directoryApp;

const doc = openApiDocument({ origin: 'example.com/log', serverUrl: 'https://kt.example.com' }) as Json;
const { t, chat, app } = await setup();

/** "METHOD /path/{param}" for every route the app registers (middleware and the tile wildcard left out). */
function appOperations(a: typeof app): Set<string> {
  return new Set(
    a.routes
      .filter((r) => r.method !== 'ALL' && r.path !== '/log/tile/*')
      .map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`)
      // The anchor's route takes its one segment as a parameter and answers only `anchor` (keytrans-routes.ts).
      .map((op) => (op === 'GET /keytrans/v1/{provider}' ? 'GET /keytrans/v1/anchor' : op)),
  );
}

function docOperations(): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const m of METHODS) if (item[m]) out.set(`${m.toUpperCase()} ${path}`, item[m]);
  }
  return out;
}

/** Resolves a local JSON pointer such as `#/components/schemas/Error`. */
function resolve(pointer: string): unknown {
  expect(pointer.startsWith('#/')).toBe(true);
  let v: unknown = doc;
  for (const raw of pointer.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof v !== 'object' || v === null || !(key in v)) return undefined;
    v = (v as Json)[key];
  }
  return v;
}

const deref = (v: Json): Json => (v.$ref ? deref(resolve(v.$ref) as Json) : v);

const TILE_PATHS = [
  '/log/tile/{level}/{index}',
  '/log/tile/{level}/{index}.p/{width}',
  '/log/tile/entries/{index}',
  '/log/tile/entries/{index}.p/{width}',
];
const served = appOperations(app).has('GET /openapi.json');

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with info, servers, paths and well-formed operations', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(typeof doc.info.title).toBe('string');
    expect(typeof doc.info.version).toBe('string');
    expect(doc.info.description).toContain('example.com/log');
    expect(doc.servers).toEqual([{ url: 'https://kt.example.com' }]);
    expect(openApiDocument({ origin: 'o' }).servers).toBeUndefined();
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
    const ids = new Set<string>();
    for (const [key, op] of docOperations()) {
      const path = key.split(' ')[1];
      expect(path.startsWith('/'), key).toBe(true);
      expect(ids.has(op.operationId), `duplicate operationId ${op.operationId}`).toBe(false);
      ids.add(op.operationId);
      expect(Object.keys(op.responses).length, key).toBeGreaterThan(0);
      for (const status of Object.keys(op.responses)) expect(status, key).toMatch(/^[1-5][0-9][0-9]$/);
      // Every template parameter is declared, and every declared path parameter is in the template.
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = ((op.parameters ?? []) as Json[]).map(deref).filter((p) => p.in === 'path');
      expect(declared.map((p) => p.name).sort(), key).toEqual(templated);
      for (const p of declared) expect(p.required, `${key} ${p.name}`).toBe(true);
      for (const s of op.security ?? [])
        for (const name of Object.keys(s)) expect(doc.components.securitySchemes[name], name).toBeDefined();
    }
    expect(doc.components.securitySchemes.operatorToken).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('documents every route createApp registers, and only those', () => {
    const documented = new Set(docOperations().keys());
    const registered = appOperations(app);
    expect(registered.size).toBeGreaterThan(5);
    for (const op of registered) expect(documented.has(op), `${op} is not documented`).toBe(true);
    const extra = [...documented].filter((op) => !registered.has(op));
    // The tile wildcard is documented as its four forms; /openapi.json until it is wired into createApp.
    const expected = TILE_PATHS.map((p) => `GET ${p}`).concat(served ? [] : ['GET /openapi.json']);
    expect(extra.sort()).toEqual(expected.sort());
    expect(app.routes.some((r) => r.method === 'GET' && r.path === '/log/tile/*')).toBe(true);
  });

  it('resolves every $ref', () => {
    const refs: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (typeof v === 'object' && v !== null) {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref') refs.push(x as string);
          else walk(x);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(20);
    for (const r of refs) expect(resolve(r), r).toBeDefined();
    for (const name of ['Error', 'LookupProof', 'HistoryProof', 'DiscoveryProof', 'Statement'])
      expect(doc.components.schemas[name], name).toBeDefined();
  });

  it('lists each error code under the status the server answers it with, with Retry-After on 429 and 503', () => {
    for (const [key, op] of docOperations()) {
      expect(op.responses['500'], key).toBeDefined();
      for (const [status, r] of Object.entries(op.responses as Json)) {
        if (Number(status) < 400) continue;
        const res = deref(r);
        expect(res['x-error-codes']?.length, `${key} ${status}`).toBeGreaterThan(0);
        for (const code of res['x-error-codes'])
          expect([code, statusForCode(code)], key).toEqual([code, Number(status)]);
        expect(deref(res.content['application/json'].schema)).toBe(doc.components.schemas.Error);
        if (status === '429' || status === '503')
          expect(res.headers?.['Retry-After'], `${key} ${status}`).toBeDefined();
      }
    }
  });

  it('documents the statuses and error codes of real requests', async () => {
    const ops = docOperations();
    const signed = () => {
      const s = chat.sign(statementFor(chat, 'a@chat.example', 1, [identityKey()], t.clock.now));
      return { statement: toBase64(s.statement), signature: toBase64(s.signature) };
    };
    const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', ...headers },
    });
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const cases: [string, string, RequestInit | undefined, number][] = [
      ['GET /log/checkpoint', '/log/checkpoint', undefined, 200],
      ['GET /log/tile/{level}/{index}', '/log/tile/0/abc', undefined, 400],
      ['GET /log/tile/{level}/{index}', '/log/tile/0/x001/000', undefined, 404],
      ['GET /log/tile/{level}/{index}.p/{width}', '/log/tile/0/000.p/1', undefined, 200],
      ['GET /log/tile/entries/{index}.p/{width}', '/log/tile/entries/000.p/1', undefined, 200],
      ['GET /log/tile/entries/{index}', '/log/tile/entries/x001/000', undefined, 404],
      ['GET /v1/config', '/v1/config', undefined, 200],
      ['GET /healthz', '/healthz', undefined, 200],
      ['GET /metrics', '/metrics', undefined, 200],
      ['GET /v1/lookup/{provider}/{account}', '/v1/lookup/chat.example/a%40chat.example', undefined, 200],
      ['GET /v1/lookup/{provider}/{account}', '/v1/lookup/chat.example/%20a%40chat.example', undefined, 400],
      [
        'POST /v1/lookup',
        '/v1/lookup',
        post({ lookups: [{ provider: 'chat.example', account: 'a@chat.example' }] }),
        200,
      ],
      ['POST /v1/lookup', '/v1/lookup', post({ discover: 'a@chat.example' }), 200],
      ['POST /v1/lookup', '/v1/lookup', post({ lookups: [] }), 400],
      ['POST /v1/lookup', '/v1/lookup', post('x'.repeat(17 * 1024)), 413],
      ['GET /v1/history/{provider}/{account}', '/v1/history/chat.example/a@chat.example?since=0', undefined, 200],
      ['GET /v1/history/{provider}/{account}', '/v1/history/chat.example/a@chat.example?since=-1', undefined, 400],
      ['POST /v1/bindings', '/v1/bindings', post('{'), 400],
      [
        'POST /v1/bindings',
        '/v1/bindings',
        post({ statements: [{ statement: 'AA==', signature: toBase64(new Uint8Array(64)) }] }),
        400,
      ],
      ['POST /v1/bindings', '/v1/bindings', post({ statements: [signed()] }), 202],
      ['POST /v1/bindings', '/v1/bindings', post({ statements: [signed()] }), 409],
      ['POST /v1/providers', '/v1/providers', post({ chain: [] }), 401],
      ['POST /v1/providers', '/v1/providers', post({ chain: [] }, auth), 400],
      ['POST /v1/providers', '/v1/providers', post({ chain: 'not pem' }, auth), 400],
      ['POST /v1/providers', '/v1/providers', post({ chain: [toBase64(chat.leaf.der)] }, auth), 409],
      [
        'POST /v1/providers/revoke',
        '/v1/providers/revoke',
        post({ providerId: 'chat.example', fingerprint: '00'.repeat(32), reason: 'x' }, auth),
        404,
      ],
      [
        'POST /v1/providers/revoke',
        '/v1/providers/revoke',
        post({ providerId: 'chat.example', fingerprint: 'XX', reason: 'x' }, auth),
        400,
      ],
    ];
    for (const [key, url, init, status] of cases) {
      const res = await app.request(url, init);
      expect([key, url, res.status]).toEqual([key, url, status]);
      const documented = ops.get(key)?.responses[String(status)];
      expect(documented, `${key} ${status}`).toBeDefined();
      if (status >= 400)
        expect(deref(documented)['x-error-codes'], `${key} ${url}`).toContain((await res.json()).error.code);
    }
  });

  it('documents the rate limit of the lookup routes', async () => {
    const limited = (await setup({ capacity: 1 })).app;
    const ops = docOperations();
    expect((await limited.request('/v1/lookup/chat.example/b%40chat.example')).status).toBe(200);
    const res = await limited.request('/v1/history/chat.example/b%40chat.example');
    expect(res.status).toBe(429);
    expect(res.headers.get('Retry-After')).toMatch(/^[1-9][0-9]*$/);
    for (const key of [
      'GET /v1/lookup/{provider}/{account}',
      'POST /v1/lookup',
      'GET /v1/history/{provider}/{account}',
    ]) {
      expect(deref(ops.get(key)!.responses['429'])['x-error-codes'], key).toEqual([
        (await res.clone().json()).error.code,
      ]);
    }
  });

  it.skipIf(!served)('is served at GET /openapi.json', async () => {
    const res = await app.request('/openapi.json');
    expect(res.status).toBe(200);
    const served = (await res.json()) as Json;
    expect(served.openapi).toBe(doc.openapi);
    expect(Object.keys(served.paths)).toEqual(Object.keys(doc.paths));
  });
});
