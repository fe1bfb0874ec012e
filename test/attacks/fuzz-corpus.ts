/**
 * The fuzz corpus of the hostile test suite (issue 12 "The hostile tests stay"): malformed requests over every
 * route of the directory's app (api/app/app.ts, api/app/directory-routes.ts, the paths of api/app/openapi.ts)
 * and unknown routes, generated deterministically from a seed (test/attacks/fuzz-values.ts): wrong methods,
 * bad JSON, truncated and oversized bodies, wrong content types, bad base64 and hex, huge numbers, unicode
 * edge cases, overlong provider ids and accounts, dot segments and percent-encoding in tile paths, duplicated
 * and odd headers, bodies that fail mid-stream. No request of the corpus is valid: each must be refused, or
 * (reads) answered, without changing the directory. The witness's own corpus is in fuzz-witness-corpus.ts.
 */
import { toBase64, toHex, utf8 } from '../../wasm-free-crypto/bytes.js';
import { KEYTRANS_MEDIA_TYPE } from '../../verifier/keytrans/messages.js';
import {
  HOSTILE_HEADER_VALUES,
  HOSTILE_JSON_TEXTS,
  HOSTILE_NUMBERS,
  HOSTILE_SEGMENTS,
  HOSTILE_TILE_PATHS,
  hostileBase64,
  Prng,
} from './fuzz-values.js';

/** One hostile request, as sent: the raw target (dot segments and percent-encoding kept), headers in order. */
export interface FuzzRequest {
  /** What the request tries, for failure messages. */
  name: string;
  method: string;
  target: string;
  headers: [string, string][];
  body?: string | Uint8Array;
  /** The body fails after its first bytes: a client gone mid-body, or a malformed chunked encoding. */
  aborted?: boolean;
}

/** What the corpus knows of the directory under attack. */
export interface CorpusTarget {
  /** An enrolled provider and one of its published accounts. */
  provider: string;
  account: string;
  operatorToken: string;
  /** A statement the provider signed (only ever sent altered, so that it is never valid). */
  signed: { statement: Uint8Array; signature: Uint8Array };
}

/** The routes of the app, each with the method it answers (`/v1/lookup` answers POST, its paths GET). */
export const ROUTES: readonly { method: string; target: string }[] = [
  { method: 'GET', target: '/log/checkpoint' },
  { method: 'GET', target: '/log/tile/0/000.p/1' },
  { method: 'GET', target: '/log/tile/entries/000.p/1' },
  { method: 'GET', target: '/v1/config' },
  { method: 'GET', target: '/healthz' },
  { method: 'GET', target: '/metrics' },
  { method: 'GET', target: '/openapi.json' },
  { method: 'GET', target: '/v1/lookup/chat.example/alice%40chat.example' },
  { method: 'POST', target: '/v1/lookup' },
  { method: 'GET', target: '/v1/history/chat.example/alice%40chat.example' },
  { method: 'GET', target: '/v1/monitor/chat.example/alice%40chat.example?version=1' },
  { method: 'POST', target: '/v1/bindings' },
  { method: 'POST', target: '/v1/providers' },
  { method: 'POST', target: '/v1/providers/revoke' },
  { method: 'GET', target: '/keytrans/v1/anchor' },
  { method: 'GET', target: '/keytrans/v1/chat.example/config' },
  { method: 'POST', target: '/keytrans/v1/chat.example/search' },
  { method: 'POST', target: '/keytrans/v1/chat.example/monitor' },
  { method: 'POST', target: '/keytrans/v1/chat.example/owner/init' },
  { method: 'POST', target: '/keytrans/v1/chat.example/owner/monitor' },
];

const KEYTRANS_TYPE = KEYTRANS_MEDIA_TYPE;

const JSON_HEADERS: [string, string][] = [['Content-Type', 'application/json']];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'PROPFIND', 'get'];

const json = (v: unknown) => JSON.stringify(v);

/** A provider id or account segment: hostile, random bytes percent-encoded, or the real one. */
function segment(rng: Prng, real: string): string {
  switch (rng.int(3)) {
    case 0:
      return rng.pick(HOSTILE_SEGMENTS);
    case 1:
      return [...rng.bytes(1 + rng.int(24))].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    default:
      return encodeURIComponent(real);
  }
}

/** A read of a provider's account (lookup, history, monitor) with hostile segments or query. */
function accountRead(rng: Prng, t: CorpusTarget): FuzzRequest {
  const route = rng.pick(['lookup', 'history', 'monitor']);
  let provider = segment(rng, t.provider);
  let account = segment(rng, t.account);
  // At least one part is hostile: the real pair is a valid read.
  if (provider === encodeURIComponent(t.provider) && account === encodeURIComponent(t.account))
    account = rng.pick(HOSTILE_SEGMENTS);
  if (rng.int(4) === 0) [provider, account] = [account, provider];
  const query =
    route === 'history'
      ? `?since=${rng.pick(HOSTILE_NUMBERS)}`
      : route === 'monitor'
        ? `?version=${rng.pick([...HOSTILE_NUMBERS, '0', '1&version=2'])}`
        : rng.pick(['', '?x=1', '?provider=a&provider=b']);
  return {
    name: `${route} with hostile segments`,
    method: 'GET',
    target: `/v1/${route}/${provider}/${account}${query}`,
    headers: [],
  };
}

/** A tile or bundle path that is not canonical or not in the tree. */
function tileRead(rng: Prng): FuzzRequest {
  const path = rng.pick(HOSTILE_TILE_PATHS);
  const query = rng.pick(['', '', '?', '?x=..', '#frag']);
  return { name: 'a hostile tile path', method: 'GET', target: `/log/${path}${query}`, headers: [] };
}

/** A public read (checkpoint, config, health, metrics, OpenAPI) with an odd query or odd headers. */
function publicRead(rng: Prng): FuzzRequest {
  const target = rng.pick(['/log/checkpoint', '/v1/config', '/healthz', '/metrics', '/openapi.json']);
  const name = rng.pick(['Accept-Encoding', 'Origin', 'Accept', 'If-None-Match', 'Range', 'Authorization']);
  const query = rng.pick(['', `?${'a'.repeat(2000)}`, '?%zz', '?a=%00', '?=&=&']);
  return {
    name: `${target} with an odd ${name}`,
    method: 'GET',
    target: `${target}${query}`,
    headers: [[name, rng.pick(HOSTILE_HEADER_VALUES)]],
  };
}

/** A request on a route with a method it does not answer. */
function wrongMethod(rng: Prng): FuzzRequest {
  const route = rng.pick(ROUTES);
  const answered = route.method === 'GET' ? ['GET', 'HEAD'] : [route.method];
  const method = rng.pick(METHODS.filter((m) => !answered.includes(m.toUpperCase())));
  const body = ['GET', 'HEAD'].includes(method.toUpperCase()) ? undefined : '{"lookups":[]}';
  return { name: `${method} ${route.target}`, method, target: route.target, headers: JSON_HEADERS, body };
}

/** A path the app has no route for. */
function unknownRoute(rng: Prng): FuzzRequest {
  const target = rng.pick([
    '/',
    '/v1',
    '/v1/',
    '/v2/lookup',
    '/v1/lookup/chat.example',
    '/v1/lookup/a/b/c',
    '/v1/lookup/',
    '/v1/history/chat.example',
    '/v1/providers/revoke/x',
    '/log',
    '/log/',
    '/log/checkpoint/x',
    '/log/tile',
    '/admin',
    '/.env',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/v1/../metrics',
    `/${'a/'.repeat(500)}`,
    `/${'%41'.repeat(2000)}`,
    '/V1/CONFIG',
    '/v1/config/',
    '/healthz/',
    '/v1//lookup',
  ]);
  return {
    name: `unknown route ${target.slice(0, 40)}`,
    method: rng.pick(['GET', 'POST']),
    target,
    headers: JSON_HEADERS,
  };
}

/** A JSON text that is not an object the route reads, or a cut-off valid one. */
function hostileJsonText(rng: Prng, valid: string): string {
  if (rng.int(3) === 0) return valid.slice(0, rng.int(valid.length));
  return rng.pick(HOSTILE_JSON_TEXTS);
}

/** A body of `POST /v1/lookup` that is not a batch of 1..32 lookups nor one discovery. */
function lookupBody(rng: Prng, t: CorpusTarget): string {
  const item = { provider: t.provider, account: t.account };
  return rng.pick<() => string>([
    () => hostileJsonText(rng, json({ lookups: [item] })),
    () => json({ lookups: [] }),
    () => json({ lookups: Array(33).fill(item) }),
    () => json({ lookups: item }),
    () => json({ lookups: [{ ...item, extra: 1 }] }),
    () => json({ lookups: [{ provider: t.provider }] }),
    () => json({ lookups: [{ provider: 1, account: t.account }] }),
    () => json({ lookups: [null] }),
    () => json({ lookups: [[t.provider, t.account]] }),
    () => json({ lookups: [item], discover: t.account }),
    () => json({ discover: rng.pick([1, null, [], {}, true]) }),
    () => json({ discover: decodeURIComponentSafe(rng.pick(HOSTILE_SEGMENTS)) }),
    () => json({ lookups: [{ provider: decodeURIComponentSafe(rng.pick(HOSTILE_SEGMENTS)), account: 'a' }] }),
    () => json({ discover: t.account, x: 1 }),
    () => json({ LOOKUPS: [item] }),
  ])();
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The provider's signed statement, altered: a flipped bit, cut off, extended, or its signature altered. */
function alteredStatement(rng: Prng, t: CorpusTarget): { statement: unknown; signature: unknown } {
  const statement = t.signed.statement.slice();
  const signature = t.signed.signature.slice();
  switch (rng.int(5)) {
    case 0:
      statement[rng.int(statement.length)] ^= 1 << rng.int(8);
      break;
    case 1:
      return { statement: toBase64(statement.subarray(0, rng.int(statement.length))), signature: toBase64(signature) };
    case 2:
      return { statement: toBase64(new Uint8Array([...statement, 0])), signature: toBase64(signature) };
    case 3:
      signature[rng.int(signature.length)] ^= 1 << rng.int(8);
      break;
    default:
      return { statement: hostileBase64(rng), signature: hostileBase64(rng) };
  }
  return { statement: toBase64(statement), signature: toBase64(signature) };
}

/** A `credential` of a submission (the fingerprint of the credential it names) that is not 64 lower-case hex. */
function hostileCredential(rng: Prng): unknown {
  const hex = toHex(rng.bytes(32));
  return rng.pick<unknown>([
    hex.toUpperCase(),
    hex.slice(1),
    `${hex}0`,
    `${hex.slice(2)}zz`,
    '',
    1,
    null,
    [hex],
    { hex },
  ]);
}

/** A body of `POST /v1/bindings` whose statements are all malformed, altered or badly framed. */
function bindingsBody(rng: Prng, t: CorpusTarget): string {
  const one = () => alteredStatement(rng, t);
  return rng.pick<() => string>([
    () => hostileJsonText(rng, json({ statements: [one()] })),
    () => json({ statements: [one()] }),
    () => json({ statements: [one(), one(), one()] }),
    () => json({ statements: [] }),
    () => json({ statements: Array.from({ length: 101 }, one) }),
    () => json({ statements: one() }),
    () => json({ statements: [{ ...one(), extra: 1 }] }),
    () => json({ statements: [{ statement: toBase64(t.signed.statement) }] }),
    () => json({ statements: [null, 1, 'x', []] }),
    () => json({ statements: [{ ...one(), credential: hostileCredential(rng) }] }),
    () => json({ statements: [{ ...one(), credential: toHex(rng.bytes(32)) }] }),
    () => json({ statements: [one()], wait: true }),
  ])();
}

/** A body of `POST /v1/providers` that is no valid chain. */
function enrolBody(rng: Prng): string {
  const der = toBase64(new Uint8Array([0x30, 0x82, 0xff, 0xff, ...rng.bytes(rng.int(64))]));
  return rng.pick<() => string>([
    () => hostileJsonText(rng, json({ chain: [der] })),
    () => json({ chain: [der] }),
    () => json({ chain: [] }),
    () => json({ chain: [hostileBase64(rng)] }),
    () => json({ chain: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }),
    () => json({ chain: '-----BEGIN CERTIFICATE-----\n' }),
    () => json({ chain: 'not pem' }),
    () => json({ chain: Array(50).fill(der) }),
    () => json({ chain: 1 }),
    () => json({ chain: [der], providerId: 'chat.example' }),
  ])();
}

/** A body of `POST /v1/providers/revoke` that names no active credential or is malformed. */
function revokeBody(rng: Prng, t: CorpusTarget): string {
  const fingerprint = toHex(rng.bytes(32));
  const good = { providerId: t.provider, fingerprint, reason: 'keyCompromise' };
  return rng.pick<() => string>([
    () => hostileJsonText(rng, json(good)),
    () => json(good),
    () => json({ ...good, fingerprint: fingerprint.toUpperCase() }),
    () => json({ ...good, fingerprint: fingerprint.slice(1) }),
    () => json({ ...good, fingerprint: `${fingerprint.slice(2)}zz` }),
    () => json({ ...good, fingerprint: 1 }),
    () => json({ ...good, providerId: decodeURIComponentSafe(rng.pick(HOSTILE_SEGMENTS)) }),
    () => json({ ...good, reason: rng.pick([null, 1, 'x'.repeat(70_000)]) }),
    () => json({ ...good, extra: true }),
    () => json({ providerId: t.provider }),
  ])();
}

/** A POST of a hostile body to a write or batch route, with the operator's token on the operator's routes. */
function postBody(rng: Prng, t: CorpusTarget): FuzzRequest {
  const route = rng.pick([
    '/v1/lookup',
    '/v1/bindings',
    '/v1/bindings?wait=1',
    '/v1/providers',
    '/v1/providers/revoke',
  ]);
  const body =
    route === '/v1/lookup'
      ? lookupBody(rng, t)
      : route.startsWith('/v1/bindings')
        ? bindingsBody(rng, t)
        : route === '/v1/providers'
          ? enrolBody(rng)
          : revokeBody(rng, t);
  const headers: [string, string][] = [
    ['Content-Type', rng.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded', ''])],
  ];
  if (route.startsWith('/v1/providers')) headers.push(['Authorization', `Bearer ${t.operatorToken}`]);
  return { name: `POST ${route}: ${body.slice(0, 60)}`, method: 'POST', target: route, headers, body };
}

/** Bodies one byte above a route's bound, declared or not, and declared lengths that lie. */
function oversized(rng: Prng, t: CorpusTarget): FuzzRequest {
  const [target, bound] = rng.pick([
    ['/v1/lookup', 16 * 1024],
    ['/v1/providers', 64 * 1024],
    ['/v1/providers/revoke', 64 * 1024],
  ] as const);
  const body = utf8(`{"x":"${'a'.repeat(bound)}"}`);
  const headers: [string, string][] = [
    ['Content-Type', 'application/json'],
    ['Authorization', `Bearer ${t.operatorToken}`],
  ];
  const lie = rng.pick(['', '1', '0', '-1', 'abc', '1e10', '99999999999999999999', `${bound + 1}, ${bound + 1}`]);
  if (lie !== '') headers.push(['Content-Length', lie]);
  return {
    name: `an oversized body to ${target} (Content-Length ${lie || 'unset'})`,
    method: 'POST',
    target,
    headers,
    body,
  };
}

/** A request with a header given twice, or an odd value for a header the route reads. */
function oddHeaders(rng: Prng, t: CorpusTarget): FuzzRequest {
  const route = rng.pick(ROUTES);
  const name = rng.pick(['Content-Type', 'Authorization', 'Accept-Encoding', 'Origin', 'Content-Encoding', 'Expect']);
  const headers: [string, string][] = [
    [name, rng.pick(HOSTILE_HEADER_VALUES)],
    [name, rng.pick([...HOSTILE_HEADER_VALUES, `Bearer ${t.operatorToken}`, 'application/json'])],
  ];
  const body = route.method === 'POST' ? rng.pick(['{}', '{"lookups":[]}', 'x']) : undefined;
  return { name: `${route.target} with ${name} twice`, method: route.method, target: route.target, headers, body };
}

/** A POST whose body stream fails mid-way. */
function abortedBody(rng: Prng, t: CorpusTarget): FuzzRequest {
  const target = rng.pick(['/v1/lookup', '/v1/bindings', '/v1/providers', '/v1/providers/revoke']);
  return {
    name: `an aborted body to ${target}`,
    method: 'POST',
    target,
    headers: [...JSON_HEADERS, ['Authorization', `Bearer ${t.operatorToken}`]],
    body: '{"statements":[{"stat',
    aborted: true,
  };
}

/**
 * A draft-05 request body that is not one (api/app/keytrans-routes.ts): random bytes, or a SearchRequest's
 * encoding (optional last, label, optional version) truncated, extended, or with a presence octet or a length
 * that lies.
 */
function keytransBody(rng: Prng, t: CorpusTarget): Uint8Array {
  const label = utf8(t.account);
  const valid = Uint8Array.of(0, label.length, ...label, 0);
  switch (rng.int(5)) {
    case 0:
      return rng.bytes(rng.int(300));
    case 1:
      return valid.subarray(0, rng.int(valid.length));
    case 2:
      return Uint8Array.of(...valid, ...rng.bytes(1 + rng.int(8)));
    case 3:
      return Uint8Array.of(2 + rng.int(250), ...valid.subarray(1));
    default:
      return Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...valid.subarray(1));
  }
}

/** A KEYTRANS request: the anchor, a configuration under a hostile provider, or a hostile body to an operation. */
function keytransRequest(rng: Prng, t: CorpusTarget): FuzzRequest {
  const kind = rng.int(4);
  if (kind === 0) return { name: 'the KEYTRANS anchor', method: 'GET', target: '/keytrans/v1/anchor', headers: [] };
  const provider = segment(rng, t.provider);
  if (kind === 1)
    return { name: 'a KEYTRANS config', method: 'GET', target: `/keytrans/v1/${provider}/config`, headers: [] };
  const op = rng.pick(['search', 'monitor', 'owner/init', 'owner/monitor']);
  const type = rng.int(4) === 0 ? rng.pick(['application/json', 'text/plain', `${KEYTRANS_TYPE}x`, '']) : KEYTRANS_TYPE;
  return {
    name: `a hostile KEYTRANS ${op} body`,
    method: 'POST',
    target: `/keytrans/v1/${provider}/${op}`,
    headers: type ? [['Content-Type', type]] : [],
    body: keytransBody(rng, t),
  };
}

/** The generators and how often each is drawn. */
const GENERATORS: [number, (rng: Prng, t: CorpusTarget) => FuzzRequest][] = [
  [6, accountRead],
  [4, tileRead],
  [2, publicRead],
  [3, wrongMethod],
  [2, unknownRoute],
  [8, postBody],
  [1, oversized],
  [2, oddHeaders],
  [1, abortedBody],
  [3, keytransRequest],
];

/** `count` hostile requests from `seed`, the same ones on every run. */
export function fuzzCorpus(seed: number, count: number, t: CorpusTarget): FuzzRequest[] {
  const rng = new Prng(seed);
  const total = GENERATORS.reduce((s, [w]) => s + w, 0);
  const out: FuzzRequest[] = [];
  for (let i = 0; i < count; i++) {
    let r = rng.int(total);
    const [, generate] = GENERATORS.find(([w]) => (r -= w) < 0)!;
    out.push(generate(rng, t));
  }
  return out;
}

/** Bodies over 2 MiB for `/v1/bindings` (a few: each is large), declared and chunked. */
export function oversizedBindings(): FuzzRequest[] {
  const body = utf8(`{"statements":["${'A'.repeat(2 * 1024 * 1024)}"]}`);
  return [false, true].map((declared) => ({
    name: `an oversized body to /v1/bindings (${declared ? 'declared' : 'undeclared'})`,
    method: 'POST',
    target: '/v1/bindings',
    headers: declared ? [...JSON_HEADERS, ['Content-Length', String(body.length)] as [string, string]] : JSON_HEADERS,
    body,
  }));
}
