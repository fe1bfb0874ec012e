/**
 * The fuzz corpus against the app in process (`app.request`, as @hono/node-server hands requests to it, raw
 * target included): at least 2,000 malformed requests over every route (test/attacks/fuzz-corpus.ts) and the
 * witness's app, each answered without a 5xx, every error the API's JSON form with the status of its code
 * (test/attacks/hostile-contract.ts), nothing logged as internal, and the directory unchanged afterwards: the
 * same checkpoint and providers, nothing queued, and a lookup that still verifies with only the pins.
 */
import { describe, expect, it } from 'vitest';
import { toBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { cosigner } from '../../../wasm-free-crypto/cosignature.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { witnessApp } from '../../../api/app/witness-app.js';
import { openApiDocument } from '../../../api/app/openapi.js';
import { addCheckpointBody } from '../../../verifier/formats/add-checkpoint.js';
import { lookupFromJson } from '../../../verifier/formats/proof-json.js';
import { Witness } from '../../../verifier/witness/witness.js';
import { MemoryWitnessStore } from '../../doubles/memory-witness-store.js';
import { logSignerForTests } from '../../helpers/directory.js';
import { ORIGIN } from '../../helpers/log.js';
import { fuzzCorpus, oversizedBindings, type FuzzRequest } from '../../attacks/fuzz-corpus.js';
import { witnessCorpus } from '../../attacks/fuzz-witness-corpus.js';
import { breaches, fetchRequest, observableState } from '../../attacks/hostile-contract.js';
import { attackedDirectory, clientAddress, nodeEnv } from '../../attacks/hostile-setup.js';

const SEED = 0x6b74_0012;
const COUNT = 2400;

/** Refusals the corpus must provoke, from every layer of the app and the directory. */
const REACHED = [
  'not_found',
  'bad_tile_path',
  'bad_request',
  'too_large',
  'unauthorized',
  'account_too_long',
  'account_control_char',
  'statement_malformed',
  'statement_trailing_bytes',
  'bad_signature',
  'cert_parse',
  'cert_chain_too_long',
  'unknown_credential',
];

/** The error code of an answer, or its status for an answer that is no error or has no body (HEAD). */
async function errorCodeOf(res: Response): Promise<string> {
  const text = await res.text();
  if (res.status < 400 || text === '') return String(res.status);
  return (JSON.parse(text) as { error: { code: string } }).error.code;
}

/** A digest of everything `corpus` sends, in order. */
function corpusDigest(corpus: FuzzRequest[]): string {
  const parts = corpus.map((r) => {
    const body = typeof r.body === 'string' ? r.body : r.body === undefined ? '-' : toBase64(r.body);
    return JSON.stringify([r.method, r.target, r.headers, body, r.aborted === true]);
  });
  return toBase64(sha256(utf8(parts.join('\n'))));
}

/** How many requests of `corpus` go to paths that start with `prefix`. */
const hits = (corpus: FuzzRequest[], prefix: string) => corpus.filter((r) => r.target.startsWith(prefix)).length;

describe('the fuzz corpus against the app', () => {
  it('covers every route of the OpenAPI document, and unknown ones, with a reproducible corpus', () => {
    const target = {
      provider: 'p.example',
      account: 'a@p.example',
      operatorToken: 'token',
      signed: { statement: new Uint8Array(100), signature: new Uint8Array(64) },
    };
    const corpus = fuzzCorpus(SEED, COUNT, target);
    expect(corpus).toHaveLength(COUNT);
    const paths = Object.keys(openApiDocument({ origin: ORIGIN }).paths as Record<string, unknown>);
    expect(paths.length).toBeGreaterThanOrEqual(15);
    for (const path of paths) expect(hits(corpus, path.replace(/\{.*$/, '')), path).toBeGreaterThanOrEqual(20);
    expect(corpus.filter((r) => r.aborted).length).toBeGreaterThanOrEqual(20);
    // The same seed gives the same requests: a failure names a request that can be replayed.
    expect(corpusDigest(fuzzCorpus(SEED, COUNT, target))).toBe(corpusDigest(corpus));
  });

  it('answers every request without a 5xx, with JSON errors of the right status, and changes nothing', async () => {
    const { t, app, target, internalErrors } = await attackedDirectory();
    const get = (path: string) => app.request(path);
    const before = await observableState(get);
    const corpus = [...fuzzCorpus(SEED, COUNT, target), ...oversizedBindings()];
    let n = 0;
    const answers: Response[] = [];
    const send = async (req: FuzzRequest) => {
      const res = await app.fetch(fetchRequest('http://kt.example', req), nodeEnv(req.target, clientAddress(n++)));
      answers.push(res.clone());
      return res;
    };
    expect(await breaches(corpus, send)).toEqual([]);
    expect(internalErrors).toEqual([]);
    // The corpus reaches every layer (no rate limit masks it): framing, decoding, signatures, chains, the store.
    const codes = new Set(await Promise.all(answers.map(errorCodeOf)));
    expect(codes.has('rate_limited')).toBe(false);
    for (const code of REACHED) expect(codes.has(code), code).toBe(true);
    // Nothing was queued, enrolled, revoked or committed by a refused request.
    expect(t.dir.queueDepth).toBe(0);
    await t.dir.closeEpoch(false);
    expect(await observableState(get)).toEqual(before);
    const lookup = await get('/v1/lookup/chat.example/alice%40chat.example');
    expect(
      t.verifier.verifyLookup(lookupFromJson(await lookup.json()), 'chat.example', 'alice@chat.example').status,
    ).toBe('present');
    // /metrics counts no 5xx (and the corpus's refusals as 4xx).
    const metrics = await (await get('/metrics')).text();
    expect(metrics).not.toMatch(/status="5\d\d"/);
    expect(metrics).toMatch(/status="400"/);
  });
});

describe("the fuzz corpus against the witness's app", () => {
  it('cosigns nothing, answers no 5xx, and keeps its view of the log', async () => {
    const witnessKey = cosigner('witness.example/w', sha256(utf8('fuzz witness')));
    const store = new MemoryWitnessStore();
    const witness = new Witness({
      cosigner: witnessKey,
      store,
      logs: [{ origin: ORIGIN, keys: [parseVerifierKey(logSignerForTests.verifierKey)] }],
    });
    const { t } = await attackedDirectory();
    const checkpoint = t.log.head.checkpoint;
    const size = t.log.head.size;
    const app = witnessApp(witness);
    // The witness has seen the log at `size`.
    expect(
      (await app.request('/add-checkpoint', { method: 'POST', body: addCheckpointBody(0, [], checkpoint) })).status,
    ).toBe(200);
    const seen = await store.latest(ORIGIN);
    const corpus = witnessCorpus(SEED, 400, checkpoint, size);
    const statuses = new Set<number>();
    for (const req of corpus) {
      const res = await app.fetch(fetchRequest('http://witness.example', req));
      const text = await res.text();
      statuses.add(res.status);
      expect([400, 403, 404, 409, 422], `${req.name}: ${res.status} ${text}`).toContain(res.status);
      if (res.status === 404 && req.target !== '/add-checkpoint') expect(JSON.parse(text).error.code).toBe('not_found');
    }
    expect([...statuses].sort()).toEqual([400, 403, 404, 409, 422]);
    expect(await store.latest(ORIGIN)).toEqual(seen);
  });
});
