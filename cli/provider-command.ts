/**
 * `kt provider`: a messaging provider's side. `keygen` makes its Ed25519 key (PKCS#8, mode 0600) and a
 * certificate request for its id; `certify` has a development CA sign the request (a production provider
 * gets its certificate from a CA the directory trusts instead); `enrol` asks the directory's operator
 * route to enrol the certificate chain (operator token), sending only the certificates it parsed (never the
 * file's text, which may be a private key); `publish` signs a binding statement for one of its accounts with
 * its key and publishes it, naming its credential (`--cert`) so that the directory checks the signature
 * against that one only, and waiting for the epoch with `--wait`. An answer that is not the directory's (not
 * JSON, or without the fields read) is a ClientError `bad_response` naming the URL.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { equalBytes, fromBase64, toBase64, toHex } from '../wasm-free-crypto/bytes.js';
import { ed25519KeyPairFromSeed } from '../wasm-free-crypto/ed25519.js';
import { sha256 } from '../wasm-free-crypto/sha256.js';
import { signSync } from '../wasm-free-crypto/signatures.js';
import { ClientError, relayedCode } from '../verifier/verification/errors.js';
import { request, safeUrl } from '../verifier/http/request.js';
import { providerIdValid } from '../verifier/formats/account.js';
import type { Statement } from '../verifier/formats/statement.js';
import { encodeStatement, providerSignedMessage } from '../verifier/formats/statement-binary.js';
import { decodeConfiguration, encodeUpdateTbs } from '../verifier/keytrans/signed-structures.js';
import { parseCertificate } from '../verifier/enrolment/certificate.js';
import { parsePemCertificates } from '../verifier/enrolment/pem.js';
import { certifyRequest, ed25519SeedFromPem, loadDevCa, providerKeyAndRequest } from '../api/node/dev-ca.js';
import { writeFileAtomic } from './files.js';
import { output, UsageError } from './output.js';
import { checkSubcommandOptions, type ApartOptions } from './subcommand-options.js';

export const PROVIDER_HELP = `usage: kt provider keygen --id PROVIDER [--dir DIR]
       kt provider certify --csr FILE --data DIR [--days N]
       kt provider enrol --chain FILE --server URL (--token FILE | --data DIR) [--wait]
       kt provider publish --id PROVIDER --key FILE [--cert FILE] --account ACCOUNT --version N
                           (--identity B64 [--protocol P] | --delete) --server URL [--wait]
keygen writes DIR/PROVIDER.key (Ed25519, PKCS#8, mode 0600) and DIR/PROVIDER.csr (CN=PROVIDER and that
DNS name; PROVIDER is a lower-case DNS name). certify signs a request with the development CA of a server's
data directory (development mode) and prints the certificate. enrol sends a PEM chain (CERTIFICATE blocks
only, leaf first) to POST /v1/providers with the operator token. publish signs the statement binding
ACCOUNT, at version N, to the Ed25519 identity key B64 (or deleting it) and sends it to POST /v1/bindings,
naming the credential it is signed with when --cert gives the key's certificate (PEM; a chain's first
certificate), so that the directory checks that one only.
When the provider has a KEYTRANS deployment (GET /keytrans/v1/PROVIDER/config), publish also signs the
update's UpdateTBS with the same key (KEYTRANS version N - 1) and sends it as keytrans_signature.
\`kt identity new\` makes a test account's key pair and prints its B64. All take --json.`;

const OPTIONS = {
  id: { type: 'string' },
  dir: { type: 'string', default: '.' },
  csr: { type: 'string' },
  data: { type: 'string' },
  days: { type: 'string', default: '365' },
  chain: { type: 'string' },
  server: { type: 'string' },
  token: { type: 'string' },
  wait: { type: 'boolean', default: false },
  key: { type: 'string' },
  cert: { type: 'string' },
  account: { type: 'string' },
  version: { type: 'string' },
  identity: { type: 'string' },
  protocol: { type: 'string', default: 'signal/v3' },
  delete: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

function need(v: string | undefined, flag: string): string {
  if (!v) throw new UsageError(`--${flag} is required\n${PROVIDER_HELP}`);
  return v;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

type Answer = Record<string, unknown>;

/** What a successful answer must hold: its fields in words, and the test of them. */
interface Expected {
  fields: string;
  valid(answer: Answer): boolean;
}

function isObject(v: unknown): v is Answer {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The error an answer carries, as `{"error":...}` or as its first result's error. */
function answerError(answer: Answer | null): { code?: unknown; message?: unknown } | undefined {
  const results = answer?.results;
  const error = answer?.error ?? (Array.isArray(results) && isObject(results[0]) ? results[0].error : undefined);
  return error === undefined ? undefined : isObject(error) ? error : {};
}

/**
 * POSTs `body` as JSON to `server` + `path`: the answer, a JSON object with the `expected` fields. An error
 * answer is a ClientError with the code the directory gave (else `http_error`); a 2xx answer that is not
 * JSON, or lacks a field read, is `bad_response` naming the URL.
 */
async function post(server: string, path: string, body: unknown, expected: Expected, token?: string): Promise<Answer> {
  const url = `${server.replace(/\/+$/, '')}${path}`;
  const res = await request(fetch, url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  });
  const json: unknown = await res.json().catch(() => undefined);
  const answer = isObject(json) ? json : null;
  const error = answerError(answer);
  if (!res.ok || error)
    throw new ClientError(
      typeof error?.code === 'string' ? relayedCode(error.code) : 'http_error',
      `${path}: HTTP ${res.status}: ${typeof error?.message === 'string' ? error.message : 'no message'}`,
    );
  if (answer === null)
    throw new ClientError(
      'bad_response',
      `POST ${safeUrl(url)}: HTTP ${res.status} with a body that is not a JSON object`,
    );
  if (!expected.valid(answer))
    throw new ClientError('bad_response', `POST ${safeUrl(url)}: HTTP ${res.status} without ${expected.fields}`);
  return answer;
}

async function keygen(v: Values): Promise<[string, unknown]> {
  const id = need(v.id, 'id');
  if (!providerIdValid(id))
    throw new UsageError(`${JSON.stringify(id)} is not a provider id (a lower-case DNS name)`, 'bad_provider');
  const keyPath = join(v.dir, `${id}.key`);
  if (existsSync(keyPath)) throw new UsageError(`${keyPath} exists; a provider key is never overwritten`);
  const { keyPem, csrPem } = await providerKeyAndRequest(id);
  // The request first: if it cannot be written, no key is left behind to block the next attempt.
  writeFileAtomic(join(v.dir, `${id}.csr`), csrPem);
  writeFileAtomic(keyPath, keyPem, 0o600);
  return [`created ${keyPath} and ${join(v.dir, `${id}.csr`)}`, { key: keyPath, csr: join(v.dir, `${id}.csr`) }];
}

async function certify(v: Values): Promise<[string, unknown]> {
  const data = need(v.data, 'data');
  if (!/^[1-9][0-9]{0,3}$/.test(v.days)) throw new UsageError('--days must be 1 to 9999');
  const ca = await loadDevCa(data).catch((e: Error) => {
    throw new UsageError(`no development CA in ${data} (dev-ca.pem and dev-ca.key, made by kt init): ${e.message}`);
  });
  const { providerId, pem } = await certifyRequest(ca, read(need(v.csr, 'csr')), Number(v.days)).catch((e: Error) => {
    throw new UsageError(`cannot certify: ${e.message}`);
  });
  return [pem.trimEnd(), { providerId, certificate: pem }];
}

/**
 * The certificates (DER) of the PEM chain at `path`, checked as the directory checks them: CERTIFICATE blocks
 * only, so that a private key given by mistake is refused here and never sent. The message names the file
 * and the block's label, never its contents.
 */
function chainCertificates(path: string): Uint8Array[] {
  const text = read(path);
  try {
    return parsePemCertificates(text);
  } catch (e) {
    throw new UsageError(
      `${path} is not a PEM certificate chain (CERTIFICATE blocks, leaf first): ${(e as Error).message}`,
    );
  }
}

const ENROLMENT: Expected = {
  fields: 'providerId and status',
  valid: (r) => typeof r.providerId === 'string' && typeof r.status === 'string',
};

async function enrol(v: Values): Promise<[string, unknown]> {
  const token = v.token ? read(v.token).trim() : read(join(need(v.data, 'token or --data'), 'operator.token')).trim();
  const chain = chainCertificates(need(v.chain, 'chain')).map(toBase64);
  const r = await post(
    need(v.server, 'server'),
    `/v1/providers${v.wait ? '?wait=1' : ''}`,
    { chain },
    ENROLMENT,
    token,
  );
  return [`${r.status} enrolment of ${r.providerId}${r.epoch !== undefined ? ` in epoch ${r.epoch}` : ''}`, r];
}

/**
 * The credential a certificate is, as the directory names it: the hex SHA-256 of the leaf's TBSCertificate
 * (the first certificate of the PEM file at `path`).
 */
function credentialFingerprint(path: string): string {
  try {
    const [leaf] = parsePemCertificates(read(path));
    if (!leaf) throw new Error('no certificate');
    return toHex(sha256(parseCertificate(leaf, 'the certificate').tbs));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${path}: ${(e as Error).message}`);
  }
}

/**
 * The provider's KEYTRANS UpdateTBS signature of version `version` of `account` (docs/PROTOCOL.md section 22.3),
 * or null when the provider has no KEYTRANS deployment (404) or the account name is too long for a label.
 */
async function keyTransSignature(
  server: string,
  provider: string,
  seed: Uint8Array,
  account: string,
  version: number,
  statement: Uint8Array,
): Promise<Uint8Array | null> {
  const label = new TextEncoder().encode(account);
  if (label.length > 255) return null; // not in KEYTRANS (section 22.3)
  const path = `/keytrans/v1/${encodeURIComponent(provider)}/config`;
  const res = await request(fetch, `${server.replace(/\/+$/, '')}${path}`, {});
  if (res.status === 404) return null;
  if (!res.ok) throw new ClientError('http_error', `${path}: HTTP ${res.status}`);
  const config = decodeConfiguration(new Uint8Array(await res.arrayBuffer()));
  if (config.mode !== 'thirdPartyManagement') return null;
  if (!equalBytes(config.leafPublicKey ?? new Uint8Array(0), ed25519KeyPairFromSeed(seed).publicKey)) {
    // The directory decides: it refuses the statement if the account is in KEYTRANS (bad_keytrans_update).
    console.error(
      `note: ${provider}'s KEYTRANS deployment was made with another key (its leaf_public_key); no KEYTRANS signature sent`,
    );
    return null;
  }
  return signSync('ed25519', seed, encodeUpdateTbs(config, label, version - 1, statement));
}

const PUBLICATION: Expected = {
  fields: 'results[0].status',
  valid: (r) => Array.isArray(r.results) && isObject(r.results[0]) && typeof r.results[0].status === 'string',
};

async function publish(v: Values): Promise<[string, unknown]> {
  const id = need(v.id, 'id');
  const version = Number(need(v.version, 'version'));
  if (!/^[1-9][0-9]{0,15}$/.test(v.version!)) throw new UsageError('--version must be a positive integer');
  if (v.delete === (v.identity !== undefined)) throw new UsageError('give either --identity B64 or --delete');
  const seed = (() => {
    try {
      return ed25519SeedFromPem(read(need(v.key, 'key')));
    } catch (e) {
      throw new UsageError(`${v.key}: ${(e as Error).message}`);
    }
  })();
  const keys = v.delete
    ? []
    : [
        {
          id: 'identity',
          algorithm: 'ed25519' as const,
          publicKey: fromBase64(v.identity!),
          protocol: v.protocol,
          capabilities: [],
        },
      ];
  const statement: Statement = {
    provider: id,
    account: need(v.account, 'account'),
    version,
    issuedAt: Date.now(),
    status: v.delete ? 'deleted' : 'active',
    keys,
  };
  const bytes = encodeStatement(statement);
  const signature = signSync('ed25519', seed, providerSignedMessage(bytes));
  const credential = v.cert === undefined ? {} : { credential: credentialFingerprint(v.cert) };
  const server = need(v.server, 'server');
  const keytrans = await keyTransSignature(server, id, seed, statement.account, version, bytes);
  const extra = keytrans ? { ...credential, keytrans_signature: toBase64(keytrans) } : credential;
  const r = await post(
    server,
    `/v1/bindings${v.wait ? '?wait=1' : ''}`,
    { statements: [{ statement: toBase64(bytes), signature: toBase64(signature), ...extra }] },
    PUBLICATION,
  );
  const result = (r.results as Answer[])[0];
  return [
    `${result.status} ${id} / ${statement.account} version ${version}${result.epoch !== undefined ? ` in epoch ${result.epoch}` : ''}`,
    result,
  ];
}

type Run = (v: Values) => Promise<[string, unknown]>;

/** Each subcommand, and the options it takes besides --help: any other is refused (cli/subcommand-options.ts). */
const SUBCOMMANDS: Record<string, { run: Run; takes: readonly string[]; apart?: readonly ApartOptions[] }> = {
  keygen: { run: keygen, takes: ['id', 'dir', 'json'] },
  certify: { run: certify, takes: ['csr', 'data', 'days', 'json'] },
  enrol: {
    run: enrol,
    takes: ['chain', 'server', 'token', 'data', 'wait', 'json'],
    apart: [['token', 'data', "the operator token is read from one of them: the file, or the data directory's"]],
  },
  publish: {
    run: publish,
    takes: ['id', 'key', 'cert', 'account', 'version', 'identity', 'protocol', 'delete', 'server', 'wait', 'json'],
    apart: [['protocol', 'delete', 'a deletion binds no identity key, so it names no protocol']],
  },
};

export async function provider(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, tokens } = parseArgs({ args: rest, options: OPTIONS, tokens: true });
  if (sub === undefined || sub === '--help' || sub === '-h' || values.help)
    return (console.log(PROVIDER_HELP), sub === undefined ? 2 : 0);
  const subcommand = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
  if (!subcommand) throw new UsageError(`unknown provider command ${sub}\n${PROVIDER_HELP}`);
  checkSubcommandOptions('provider', sub, tokens, subcommand.takes, subcommand.apart);
  const [human, json] = await subcommand.run(values);
  output(values.json).result(human, json);
  return 0;
}
