/**
 * The fuzz corpus through the Worker, inside workerd (issue 12, "the same behaviour holds on the Worker"): a
 * subset of the corpus (test/attacks/fuzz-corpus.ts) through the Worker's fetch, so through the isolate's own
 * paths (tiles and checkpoints from R2, lookups from D1) and the Durable Object's app, each request from a
 * client address of its own (`cf-connecting-ip`) so that no rate limit masks an answer; then every hostile tile
 * path and the bounds of provider ids and accounts on every lookup route. No 5xx, every error the API's JSON
 * form with its code's status, and the directory unchanged: same checkpoint and providers, and a lookup that
 * verifies with the pins from /v1/config.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBase64 } from '../../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { lookupFromJson } from '../../../verifier/formats/proof-json.js';
import { LookupVerifier } from '../../../verifier/verification/lookup-verifier.js';
import { makeLeaf } from '../../helpers/pki.js';
import { fuzzCorpus, type CorpusTarget, type FuzzRequest } from '../../attacks/fuzz-corpus.js';
import { HOSTILE_TILE_PATHS } from '../../attacks/fuzz-values.js';
import { breaches, errorBodyBreach, fetchRequest, observableState } from '../../attacks/hostile-contract.js';
import { signStatement, statementOf } from './directory-script.js';
import { fixture, get, operator, post, settle, testRoot } from './helpers.js';

const PROVIDER = 'fuzz.example';
const ACCOUNT = 'ann@fuzz.example';

let clients = 0;
/** A request through the Worker as a new client (the rate limits key clients by address). */
function ask(request: Request): Promise<Response> {
  const headers = new Headers(request.headers);
  headers.set('cf-connecting-ip', `10.2.${(clients >> 8) & 255}.${clients++ & 255}`);
  return get(new URL(request.url).pathname + new URL(request.url).search, {
    method: request.method,
    headers,
    body: request.body,
    duplex: 'half',
  } as RequestInit);
}

const send = (req: FuzzRequest) => ask(fetchRequest('https://kt.example', req));
const answer = async (res: Response): Promise<[number, string]> => [
  res.status,
  res.status < 400 ? 'ok' : ((await res.json()) as { error: { code: string } }).error.code,
];

let target: CorpusTarget;

beforeAll(async () => {
  const leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
  expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
  const signed = signStatement('ed25519', leaf.secretKey, statementOf(PROVIDER, ACCOUNT, 1, Date.now(), 'a'));
  expect((await settle(post('/v1/bindings?wait=1', { statements: [signed] }))).status).toBe(200);
  const bytes = { statement: fromBase64(signed.statement), signature: fromBase64(signed.signature) };
  target = { provider: PROVIDER, account: ACCOUNT, operatorToken: fixture.operatorToken, signed: bytes };
});

describe('the fuzz corpus through the Worker', () => {
  it('answers a subset of the corpus within the contract, and changes nothing', async () => {
    const before = await observableState((path) => get(path));
    // Bodies that fail mid-stream are left to directory.worker.ts: here a failing stream would be piped from the
    // test's isolate into the Worker's, which reports its error as uncaught in both.
    const corpus = fuzzCorpus(0x6b74_2012, 300, target).filter((r) => !r.aborted);
    expect(await breaches(corpus, send)).toEqual([]);
    expect(await observableState((path) => get(path))).toEqual(before);
    const pins = (await (await get('/v1/config')).json()) as { origin: string; logKey: string; vrfKey: string };
    const verifier = new LookupVerifier({
      origin: pins.origin,
      logKey: parseVerifierKey(pins.logKey),
      vrfKey: fromBase64(pins.vrfKey),
    });
    const lookup = await (await get(`/v1/lookup/${PROVIDER}/${encodeURIComponent(ACCOUNT)}`)).json();
    expect(verifier.verifyLookup(lookupFromJson(lookup), PROVIDER, ACCOUNT).status).toBe('present');
  });

  it('refuses every hostile tile path, from R2 as from the object, with a JSON error and no caching', async () => {
    for (const path of HOSTILE_TILE_PATHS) {
      const res = await ask(new Request(`https://kt.example/log/${path}`));
      const text = await res.text();
      expect([400, 404], `${path}: ${res.status} ${text}`).toContain(res.status);
      expect(errorBodyBreach(res.status, res.headers.get('Content-Type'), text), path).toBeNull();
      expect(res.headers.get('Cache-Control'), path).toBeNull();
    }
  });

  it('refuses provider ids and accounts beyond their bounds on every lookup route', async () => {
    const longProvider = `${'a'.repeat(62)}.`.repeat(5).slice(0, 254);
    const longAccount = `${'a'.repeat(244)}@${PROVIDER}`.slice(0, 257).padEnd(257, 'a');
    const json = (body: unknown) => ({
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json' },
    });
    for (const [provider, account, code] of [
      [longProvider, 'a@x.example', 'bad_request'],
      [PROVIDER, longAccount, 'account_too_long'],
      [PROVIDER, 'a'.repeat(5000), 'account_too_long'],
    ]) {
      const at = `${encodeURIComponent(provider)}/${encodeURIComponent(account)}`;
      for (const [path, init] of [
        [`/v1/lookup/${at}`, {}],
        [`/v1/history/${at}`, {}],
        [`/v1/monitor/${at}?version=1`, {}],
        ['/v1/lookup', json({ lookups: [{ provider, account }] })],
      ] as const) {
        expect(await answer(await ask(new Request(`https://kt.example${path}`, init))), `${path.slice(0, 60)}`).toEqual(
          [400, code],
        );
      }
    }
    expect(
      await answer(await ask(new Request('https://kt.example/v1/lookup', json({ discover: 'a'.repeat(5000) })))),
    ).toEqual([400, 'account_too_long']);
  });
});
