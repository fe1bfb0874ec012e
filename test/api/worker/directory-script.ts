/**
 * One sequence of directory requests, run over HTTP against the Node server (test/fixtures/worker-directory.ts,
 * a Vitest globalSetup in Node) and against the Worker (test/api/worker/directory-parity.worker.ts, in
 * workerd), so that their answers can be compared: enrol a provider, publish four statements (a rotation
 * and a deletion), look up a present, an absent and a deleted account, two histories, a lookup and a history at a
 * provider that is not enrolled, a discovery, a batch,
 * the checkpoint, the level-0 tile and the entry bundle. Also statement signing for the tests, with the
 * pure crypto only (it runs in both runtimes).
 */
import { fromBase64, toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { ed25519KeyPairFromSeed } from '../../../wasm-free-crypto/ed25519.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { signSync, type SignatureAlgorithm } from '../../../wasm-free-crypto/signatures.js';
import { utf8 } from '../../../wasm-free-crypto/bytes.js';
import type { Statement } from '../../../verifier/formats/statement.js';
import { encodeStatement, providerSignedMessage } from '../../../verifier/formats/statement-binary.js';
import type { ExplorerAnswer } from './explorer-requests.js';

export type Fetch = (path: string, init?: RequestInit) => Promise<Response>;

/** A statement as POST /v1/bindings takes it. */
export interface SignedJson {
  statement: string;
  signature: string;
}

/** What the Node fixture hands to the workerd tests (a JSON binding). */
export interface DirectoryFixture {
  origin: string;
  logSignerKey: string;
  vrfSecretKeyHex: string;
  operatorToken: string;
  /** The test root CA (trusted by both) and its PKCS#8 private key, base64, to issue leaves in workerd. */
  rootPem: string;
  rootKeyPkcs8: string;
  /** The provider leaf both directories enrol, and the statements both publish, in order. */
  provider: string;
  leafPem: string;
  statements: SignedJson[];
  /** The Node server's answers to the script. */
  node: Recording;
  /** The Node server's answers to the explorer page's requests (explorer-requests.ts). */
  nodeExplorer: Record<string, ExplorerAnswer>;
}

/** One recorded answer: status and body (JSON, or text for the checkpoint, or base64 for binary). */
export interface Recorded {
  status: number;
  body: unknown;
}

export type Recording = Record<string, Recorded>;

/** Signs a statement as a provider with its leaf's raw secret key. */
export function signStatement(algorithm: SignatureAlgorithm, secretKey: Uint8Array, s: Statement): SignedJson {
  const statement = encodeStatement(s);
  return {
    statement: toBase64(statement),
    signature: toBase64(signSync(algorithm, secretKey, providerSignedMessage(statement))),
  };
}

/** A statement binding `account` at `provider` to one Ed25519 identity key derived from `seedText`. */
export function statementOf(
  provider: string,
  account: string,
  version: number,
  issuedAt: number,
  seedText: string | null,
): Statement {
  const keys =
    seedText === null
      ? []
      : [
          {
            id: 'identity',
            algorithm: 'ed25519' as const,
            publicKey: ed25519KeyPairFromSeed(sha256(utf8(seedText))).publicKey,
            protocol: 'signal/v3',
            capabilities: ['fs'],
          },
        ];
  return { provider, account, version, issuedAt, status: seedText === null ? 'deleted' : 'active', keys };
}

/** The four statements of the script: a@ v1 and v2 (a rotation), d@ v1 and v2 (a deletion). */
export function scriptStatements(
  provider: string,
  algorithm: SignatureAlgorithm,
  secretKey: Uint8Array,
  issuedAt: number,
): SignedJson[] {
  return [
    statementOf(provider, `a@${provider}`, 1, issuedAt, 'a1'),
    statementOf(provider, `a@${provider}`, 2, issuedAt, 'a2'),
    statementOf(provider, `d@${provider}`, 1, issuedAt, 'd1'),
    statementOf(provider, `d@${provider}`, 2, issuedAt, null),
  ].map((s) => signStatement(algorithm, secretKey, s));
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'Content-Type': 'application/json', ...headers },
});

async function record(res: Response, as: 'json' | 'text' | 'bytes' = 'json'): Promise<Recorded> {
  const body =
    as === 'json'
      ? await res.json()
      : as === 'text'
        ? await res.text()
        : toBase64(new Uint8Array(await res.arrayBuffer()));
  return { status: res.status, body };
}

/**
 * Runs the script. `settle` waits for a `?wait=1` request: on Node the server's epoch timer answers it;
 * on the Worker the test runs the Durable Object's alarm until it is answered.
 */
export async function runScript(
  get: Fetch,
  input: { operatorToken: string; provider: string; leafPem: string; statements: SignedJson[] },
  settle: (res: Promise<Response>) => Promise<Response>,
): Promise<Recording> {
  const p = input.provider;
  const out: Recording = {};
  out.enrol = await record(
    await settle(
      get('/v1/providers?wait=1', json({ chain: input.leafPem }, { Authorization: `Bearer ${input.operatorToken}` })),
    ),
  );
  for (const [i, s] of input.statements.entries())
    out[`publish-${i}`] = await record(await settle(get('/v1/bindings?wait=1', json({ statements: [s] }))));
  out.config = await record(await get('/v1/config'));
  out['lookup-present'] = await record(await get(`/v1/lookup/${p}/a%40${p}`));
  out['lookup-absent'] = await record(await get(`/v1/lookup/${p}/nobody%40${p}`));
  out['lookup-deleted'] = await record(await get(`/v1/lookup/${p}/d%40${p}`));
  out['history-a'] = await record(await get(`/v1/history/${p}/a%40${p}?since=0`));
  out['history-d'] = await record(await get(`/v1/history/${p}/d%40${p}?since=0`));
  out['lookup-not-enrolled'] = await record(await get(`/v1/lookup/not-${p}/a%40${p}`));
  out['history-not-enrolled'] = await record(await get(`/v1/history/not-${p}/a%40${p}?since=0`));
  out.discover = await record(await get('/v1/lookup', json({ discover: `a@${p}` })));
  out.batch = await record(
    await get(
      '/v1/lookup',
      json({
        lookups: [
          { provider: p, account: `a@${p}` },
          { provider: p, account: `nobody@${p}` },
        ],
      }),
    ),
  );
  out.checkpoint = await record(await get('/log/checkpoint'), 'text');
  const size = Number((out.checkpoint.body as string).split('\n')[1]);
  out.tile = await record(await get(`/log/tile/0/000.p/${size}`), 'bytes');
  out.bundle = await record(await get(`/log/tile/entries/000.p/${size}`), 'bytes');
  return out;
}

/** Base64 field of a recorded body, as bytes. */
export function bytesOf(r: Recorded): Uint8Array {
  return fromBase64(r.body as string);
}
