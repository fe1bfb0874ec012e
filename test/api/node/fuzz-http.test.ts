/**
 * The fuzz corpus over real HTTP, against the real Node server (api/node/server.ts, in process) with a provider
 * enrolled and an account published: a subset of the corpus (test/attacks/fuzz-corpus.ts) written as raw
 * HTTP/1.1 over sockets, so that dot segments and odd headers reach the server as sent, from many loopback
 * addresses (each a client of its own to the rate limits); then the malformed framing only a socket can send
 * (test/attacks/fuzz-framing.ts). No 5xx, every error the API's JSON form with its code's status (or one of the
 * bare answers Node keeps), no internal error logged, /metrics counting no 5xx, and the directory unchanged:
 * same checkpoint and providers, and a lookup that verifies with the pins from /v1/config. The witness's corpus
 * (test/attacks/fuzz-witness-corpus.ts) goes to a witness served as `kt witness serve` serves it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { cosigner } from '../../../wasm-free-crypto/cosignature.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { witnessApp } from '../../../api/app/witness-app.js';
import { answerClientErrors } from '../../../api/node/client-errors.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import { addCheckpointBody } from '../../../verifier/formats/add-checkpoint.js';
import { Witness } from '../../../verifier/witness/witness.js';
import { MemoryWitnessStore } from '../../doubles/memory-witness-store.js';
import { logSigner, records } from '../../helpers/log.js';
import { startServer, type RunningServer } from '../../../api/node/server.js';
import { lookupFromJson } from '../../../verifier/formats/proof-json.js';
import { LookupVerifier } from '../../../verifier/verification/lookup-verifier.js';
import { identityKey, providerFor, statementFor } from '../../helpers/directory.js';
import { makeLeaf, makeRoot, type PkiCert } from '../../helpers/pki.js';
import { authorizationVariants, publicRequests } from '../../attacks/authorization-matrix.js';
import { fuzzCorpus, oversizedBindings, type CorpusTarget } from '../../attacks/fuzz-corpus.js';
import { BARE_STATUSES, framingCases, type FramingCase } from '../../attacks/fuzz-framing.js';
import { witnessCorpus } from '../../attacks/fuzz-witness-corpus.js';
import { breaches, errorBodyBreach, observableState } from '../../attacks/hostile-contract.js';
import { generousSettings } from '../../attacks/hostile-setup.js';
import { exchange, parseAnswer, rawRequest } from '../../attacks/raw-http.js';

const SEED = 0x6b74_1212;

/** A data directory trusting a fresh test root, with generous limits and no heartbeat during the test. */
async function dataDir(): Promise<{ dir: string; root: PkiCert }> {
  const root = await makeRoot();
  const dir = mkdtempSync(join(tmpdir(), 'kt-fuzz-http-'));
  const { epochIntervalMs, heartbeatMs, ...limits } = generousSettings();
  const config = {
    origin: 'example.com/kt-fuzz-http',
    devMode: false,
    trustedRoots: ['roots.pem'],
    epochIntervalMs: 20,
    heartbeatMs: 3_600_000,
  };
  const rates = Object.fromEntries(Object.entries(limits).filter(([k]) => /Burst$|PerSecond$/.test(k)));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, ...rates }), { mode: 0o600 });
  writeFileSync(join(dir, 'roots.pem'), root.pem, { mode: 0o600 });
  return { dir, root };
}

/** The n-th of 250 loopback client addresses. */
const loopback = (n: number) => `127.0.0.${2 + (n % 250)}`;

/** What is wrong with the answers to the framing cases: a 5xx, or an error that is neither JSON nor bare. */
async function framingBreaches(url: string, cases: FramingCase[]): Promise<string[]> {
  const found: string[] = [];
  for (const [i, c] of cases.entries()) {
    const answer = parseAnswer(await exchange(url, { ...c, from: loopback(i) }));
    if (answer === null) continue; // the connection was closed or reset without a word
    const text = await answer.text();
    const breach =
      answer.status >= 500
        ? `a ${answer.status}: ${text}`
        : answer.status < 400 || (BARE_STATUSES.includes(answer.status) && text === '')
          ? null
          : errorBodyBreach(answer.status, answer.headers.get('Content-Type'), text);
    if (breach) found.push(`${c.name}: ${breach}`);
  }
  return found;
}

describe('the fuzz corpus over HTTP on the Node server', () => {
  let server: RunningServer;
  let dir: string;
  let root: PkiCert;
  let target: CorpusTarget;
  let host: string;
  const stderr: string[] = [];
  const write = process.stderr.write.bind(process.stderr);

  beforeAll(async () => {
    const made = await dataDir();
    dir = made.dir;
    root = made.root;
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      stderr.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    server = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1' });
    host = new URL(server.url).host;
    const token = server.data.operatorToken;
    const leaf = await makeLeaf(made.root, { dnsNames: ['chat.example'] });
    const enrol = await fetch(`${server.url}/v1/providers?wait=1`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ chain: [toBase64(leaf.der)] }),
    });
    expect(enrol.status).toBe(200);
    const chat = providerFor('chat.example', leaf);
    const signed = chat.sign(statementFor(chat, 'alice@chat.example', 1, [identityKey()], Date.now()));
    const body = { statements: [{ statement: toBase64(signed.statement), signature: toBase64(signed.signature) }] };
    const published = await fetch(`${server.url}/v1/bindings?wait=1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(published.status).toBe(200);
    target = { provider: 'chat.example', account: 'alice@chat.example', operatorToken: token, signed };
  });

  afterAll(async () => {
    process.stderr.write = write;
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string) => fetch(`${server.url}${path}`);

  it('answers a subset of the corpus and every malformed framing within the contract, and changes nothing', async () => {
    const before = await observableState(get);
    const corpus = [...fuzzCorpus(SEED, 500, target), ...oversizedBindings()];
    let n = 0;
    const found = await breaches(
      corpus,
      async (req) => {
        const x = rawRequest(req, host);
        const answer = parseAnswer(await exchange(server.url, { ...x, from: loopback(n++) }));
        // A client that left is not answered; anything else must be.
        if (answer === null && !x.abort) throw new Error('the server closed the connection without an answer');
        return answer;
      },
      BARE_STATUSES,
    );
    expect(found).toEqual([]);
    expect(await framingBreaches(server.url, framingCases(host, target.operatorToken))).toEqual([]);
    await new Promise((r) => setTimeout(r, 100)); // the last aborted bodies finish failing
    const metrics = await (await get('/metrics')).text();
    expect(metrics.match(/^kt_requests_total\{.*status="5\d\d".*$/gm) ?? []).toEqual([]);
    expect(stderr.join('').match(/^.*internal[_ ]error.*$/gm) ?? []).toEqual([]);
    expect(server.directory!.queueDepth).toBe(0);
    expect(await observableState(get)).toEqual(before);
    const pins = (await (await get('/v1/config')).json()) as { origin: string; logKey: string; vrfKey: string };
    const verifier = new LookupVerifier({
      origin: pins.origin,
      logKey: parseVerifierKey(pins.logKey),
      vrfKey: fromBase64(pins.vrfKey),
    });
    const lookup = await (await get('/v1/lookup/chat.example/alice%40chat.example')).json();
    expect(verifier.verifyLookup(lookupFromJson(lookup), 'chat.example', 'alice@chat.example').status).toBe('present');
  });

  it('holds the authorization matrix over HTTP: only the token opens the operator routes, public ones ignore it', async () => {
    let n = 1000;
    const send = async (method: string, path: string, body: string | undefined, authorization: string | null) => {
      const headers: [string, string][] = [['Content-Type', 'application/json']];
      if (authorization !== null) headers.push(['Authorization', authorization]);
      const x = rawRequest({ name: path, method, target: path, headers, body }, host);
      const res = parseAnswer(await exchange(server.url, { ...x, from: loopback(n++) }))!;
      const text = await res.text();
      return [res.status, res.status >= 400 ? JSON.parse(text).error.code : 'ok'];
    };
    const before = await observableState(get);
    const enrol = JSON.stringify({
      chain: [toBase64((await makeLeaf(root, { dnsNames: ['x.example'] })).der)],
    });
    const revoke = JSON.stringify({
      providerId: 'chat.example',
      fingerprint: (before.providers as { fingerprint: string }[])[0].fingerprint,
      reason: 'x',
    });
    for (const v of authorizationVariants(target.operatorToken)) {
      for (const [path, body] of [
        ['/v1/providers', v.authorized ? '{"chain":[]}' : enrol],
        ['/v1/providers/revoke', v.authorized ? '{}' : revoke],
      ])
        expect(await send('POST', path, body, v.header), `${path}, ${v.name}`).toEqual(
          v.authorized ? [400, 'bad_request'] : [401, 'unauthorized'],
        );
    }
    const treeSize = Number((await (await get('/log/checkpoint')).text()).split('\n')[1]);
    const published = JSON.stringify({
      statements: [{ statement: toBase64(target.signed.statement), signature: toBase64(target.signed.signature) }],
    });
    for (const r of publicRequests(target.provider, target.account, published, treeSize)) {
      const plain = await send(r.method, r.path, r.body, null);
      expect(plain[0], `${r.method} ${r.path}`).toBe(r.status);
      for (const v of authorizationVariants(target.operatorToken))
        expect(await send(r.method, r.path, r.body, v.header), `${r.method} ${r.path}, ${v.name}`).toEqual(plain);
    }
    await new Promise((r) => setTimeout(r, 100)); // an epoch that would commit a wrongly taken call
    expect(await observableState(get)).toEqual(before);
  });
});

describe("the witness's corpus over HTTP, served as `kt witness serve` serves it", () => {
  it('cosigns nothing, answers no 5xx and keeps its view of the log', async () => {
    const log = logSigner('example.com/kt-fuzz-witnessed');
    const storage = new SqliteLogStorage(':memory:');
    const appender = await LogAppender.open({ storage, signer: log, origin: log.name });
    await appender.append(records(0, 40));
    const { checkpoint, size } = appender.head;
    const store = new MemoryWitnessStore();
    const witness = new Witness({
      cosigner: cosigner('witness.example/fuzz', sha256(utf8('fuzz http witness'))),
      store,
      logs: [{ origin: log.name, keys: [parseVerifierKey(log.verifierKey)] }],
    });
    const server = serve({ fetch: witnessApp(witness).fetch, hostname: '127.0.0.1', port: 0 });
    answerClientErrors(server as Server);
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const first = await fetch(`${url}/add-checkpoint`, {
        method: 'POST',
        body: addCheckpointBody(0, [], checkpoint),
      });
      expect(first.status).toBe(200);
      const seen = await store.latest(log.name);
      const found: string[] = [];
      for (const [i, req] of witnessCorpus(0x6b74_3012, 300, checkpoint, size).entries()) {
        const x = rawRequest(req, new URL(url).host);
        const answer = parseAnswer(await exchange(url, { ...x, from: loopback(i) }));
        if (answer === null) {
          if (!x.abort) found.push(`${req.name}: no answer`);
          continue;
        }
        if (![400, 403, 404, 409, 422, ...BARE_STATUSES].includes(answer.status))
          found.push(`${req.name}: ${answer.status} ${await answer.text()}`);
      }
      expect(found).toEqual([]);
      expect(await store.latest(log.name)).toEqual(seen);
    } finally {
      await new Promise((r) => server.close(r));
      await appender.close();
    }
  });
});
