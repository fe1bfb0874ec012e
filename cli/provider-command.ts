/**
 * `kt provider`: a messaging provider's side. `keygen` makes its Ed25519 key (PKCS#8, mode 0600) and a
 * certificate request for its id; `certify` has a development CA sign the request (a production provider
 * gets its certificate from a CA the directory trusts instead); `enrol` asks the directory's operator
 * route to enrol the certificate chain (operator token); `publish` signs a binding statement for one of
 * its accounts with its key and publishes it, naming its credential (`--cert`) so that the directory checks
 * the signature against that one only, and waiting for the epoch with `--wait`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { equalBytes, fromBase64, toBase64, toHex } from '../wasm-free-crypto/bytes.js';
import { ed25519KeyPairFromSeed } from '../wasm-free-crypto/ed25519.js';
import { sha256 } from '../wasm-free-crypto/sha256.js';
import { signSync } from '../wasm-free-crypto/signatures.js';
import { ClientError, relayedCode } from '../verifier/verification/errors.js';
import { request } from '../verifier/http/request.js';
import type { Statement } from '../verifier/formats/statement.js';
import { encodeStatement, providerSignedMessage } from '../verifier/formats/statement-binary.js';
import { decodeConfiguration, encodeUpdateTbs } from '../verifier/keytrans/signed-structures.js';
import { parseCertificate } from '../verifier/enrolment/certificate.js';
import { parsePemCertificates } from '../verifier/enrolment/pem.js';
import { certifyRequest, ed25519SeedFromPem, loadDevCa, providerKeyAndRequest } from '../api/node/dev-ca.js';
import { writeFileAtomic } from './files.js';
import { output, UsageError } from './output.js';

export const PROVIDER_HELP = `usage: kt provider keygen --id PROVIDER [--dir DIR]
       kt provider certify --csr FILE --data DIR [--days N]
       kt provider enrol --chain FILE --server URL (--token FILE | --data DIR) [--wait]
       kt provider publish --id PROVIDER --key FILE [--cert FILE] --account ACCOUNT --version N
                           (--identity B64 [--protocol P] | --delete) --server URL [--wait]
keygen writes DIR/PROVIDER.key (Ed25519, PKCS#8, mode 0600) and DIR/PROVIDER.csr (CN=PROVIDER and that
DNS name). certify signs a request with the development CA of a server's data directory (development
mode) and prints the certificate. enrol sends a PEM chain (leaf first) to POST /v1/providers with the
operator token. publish signs the statement binding ACCOUNT, at version N, to the Ed25519 identity key B64
(or deleting it) and sends it to POST /v1/bindings, naming the credential it is signed with when --cert gives
the key's certificate (PEM; a chain's first certificate), so that the directory checks that one only.
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

async function post(server: string, path: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await request(fetch, `${server.replace(/\/+$/, '')}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  const error = (json.error ??
    (json.results as { error?: { code: string; message: string } }[] | undefined)?.[0]?.error) as
    | { code?: string; message?: string }
    | undefined;
  if (!res.ok || error)
    throw new ClientError(
      error?.code ? relayedCode(error.code) : 'http_error',
      `${path}: HTTP ${res.status}: ${error?.message ?? 'no message'}`,
    );
  return json;
}

async function keygen(v: Values): Promise<[string, unknown]> {
  const id = need(v.id, 'id');
  const keyPath = join(v.dir, `${id}.key`);
  if (existsSync(keyPath)) throw new UsageError(`${keyPath} exists; a provider key is never overwritten`);
  const { keyPem, csrPem } = await providerKeyAndRequest(id);
  writeFileAtomic(keyPath, keyPem, 0o600);
  writeFileAtomic(join(v.dir, `${id}.csr`), csrPem);
  return [`created ${keyPath} and ${join(v.dir, `${id}.csr`)}`, { key: keyPath, csr: join(v.dir, `${id}.csr`) }];
}

async function certify(v: Values): Promise<[string, unknown]> {
  const data = need(v.data, 'data');
  if (!/^[1-9][0-9]{0,3}$/.test(v.days)) throw new UsageError('--days must be 1 to 9999');
  const { providerId, pem } = await certifyRequest(
    await loadDevCa(data),
    read(need(v.csr, 'csr')),
    Number(v.days),
  ).catch((e: Error) => {
    throw new UsageError(`cannot certify: ${e.message}`);
  });
  return [pem.trimEnd(), { providerId, certificate: pem }];
}

async function enrol(v: Values): Promise<[string, unknown]> {
  const token = v.token ? read(v.token).trim() : read(join(need(v.data, 'token or --data'), 'operator.token')).trim();
  const r = await post(
    need(v.server, 'server'),
    `/v1/providers${v.wait ? '?wait=1' : ''}`,
    { chain: read(need(v.chain, 'chain')) },
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
  const r = await post(server, `/v1/bindings${v.wait ? '?wait=1' : ''}`, {
    statements: [{ statement: toBase64(bytes), signature: toBase64(signature), ...extra }],
  });
  const result = (r.results as Record<string, unknown>[])[0];
  return [
    `${result.status} ${id} / ${statement.account} version ${version}${result.epoch !== undefined ? ` in epoch ${result.epoch}` : ''}`,
    result,
  ];
}

const SUBCOMMANDS: Record<string, (v: Values) => Promise<[string, unknown]>> = { keygen, certify, enrol, publish };

export async function provider(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: OPTIONS });
  if (sub === undefined || sub === '--help' || sub === '-h' || values.help)
    return (console.log(PROVIDER_HELP), sub === undefined ? 2 : 0);
  const run = SUBCOMMANDS[sub];
  if (!run) throw new UsageError(`unknown provider command ${sub}\n${PROVIDER_HELP}`);
  const [human, json] = await run(values);
  output(values.json).result(human, json);
  return 0;
}
