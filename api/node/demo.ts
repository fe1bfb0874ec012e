/**
 * `npm run demo -- --server URL --data DIR`: the whole flow against a running server in a minute. With the
 * server's operator token and development CA (from its data directory) it enrols two example providers,
 * each publishes a few accounts (new versions on later runs), and then a client with only the pins looks
 * accounts up across providers, checks a history and a discovery, and prints what it verified.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fromBase64, fromHex, toBase64, toHex } from '../../wasm-free-crypto/bytes.js';
import { ed25519KeyPairFromSeed } from '../../wasm-free-crypto/ed25519.js';
import { randomBytes } from '../../wasm-free-crypto/random.js';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import { signSync } from '../../wasm-free-crypto/signatures.js';
import { HISTORY_ZERO } from '../../verifier/formats/directory-hashes.js';
import { discoveryFromJson, historyFromJson, lookupFromJson } from '../../verifier/formats/proof-json.js';
import type { Statement } from '../../verifier/formats/statement.js';
import { encodeStatement, providerSignedMessage } from '../../verifier/formats/statement-binary.js';
import { LookupVerifier } from '../../verifier/verification/lookup-verifier.js';
import { issueProviderCertificate, loadDevCa } from './dev-ca.js';

const PROVIDERS = ['chat.example', 'talk.example'];
const ACCOUNTS = ['alice@example.org', 'bob@example.org', 'tel:+15550100001'];

interface Ctx {
  server: string;
  data: string;
  token: string;
}

async function call(ctx: Ctx, path: string, body?: unknown, auth = false): Promise<any> {
  const headers: Record<string, string> = body ? { 'Content-Type': 'application/json' } : {};
  if (auth) headers.Authorization = `Bearer ${ctx.token}`;
  const res = await fetch(
    `${ctx.server}${path}`,
    body ? { method: 'POST', body: JSON.stringify(body), headers } : { headers },
  );
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${json.error?.code}: ${json.error?.message}`);
  return json;
}

/** The provider's key: created, certified by the development CA and enrolled on first run, then reused. */
async function provider(ctx: Ctx, id: string): Promise<Uint8Array> {
  const dir = join(ctx.data, 'demo');
  const file = join(dir, `${id}.key`);
  if (existsSync(file)) return fromHex(readFileSync(file, 'utf8').trim());
  const cert = await issueProviderCertificate(await loadDevCa(ctx.data), id);
  const r = await call(ctx, '/v1/providers?wait=1', { chain: [toBase64(cert.der)] }, true);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${toHex(cert.secretKey)}\n`, { mode: 0o600 });
  console.log(
    `enrolled provider ${id} (epoch ${r.epoch}, log index ${r.logIndex}) with a certificate from the development CA`,
  );
  return cert.secretKey;
}

async function publish(ctx: Ctx, v: LookupVerifier, id: string, secretKey: Uint8Array, account: string): Promise<void> {
  const current = v.verifyLookup(
    lookupFromJson(await call(ctx, `/v1/lookup/${id}/${encodeURIComponent(account)}`)),
    id,
    account,
  );
  const version = (current.statement?.version ?? 0) + 1;
  const identity = ed25519KeyPairFromSeed(randomBytes(32)).publicKey;
  const statement: Statement = {
    provider: id,
    account,
    version,
    issuedAt: Date.now(),
    status: 'active',
    keys: [{ id: 'identity', algorithm: 'ed25519', publicKey: identity, protocol: 'signal/v3', capabilities: ['fs'] }],
  };
  const bytes = encodeStatement(statement);
  const signature = signSync('ed25519', secretKey, providerSignedMessage(bytes));
  const r = await call(ctx, '/v1/bindings?wait=1', {
    statements: [{ statement: toBase64(bytes), signature: toBase64(signature) }],
  });
  console.log(
    `  ${id} published ${account} v${version} (identity key ${toBase64(identity).slice(0, 12)}...) in epoch ${r.results[0].epoch}`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { server: { type: 'string' }, data: { type: 'string' } }, strict: true });
  const data = values.data ?? './data';
  const ctx = {
    server: (values.server ?? 'http://127.0.0.1:8787').replace(/\/$/, ''),
    data,
    token: readFileSync(join(data, 'operator.token'), 'utf8').trim(),
  };
  const config = await call(ctx, '/v1/config');
  console.log(
    `pins (a real client gets these out of band): origin ${config.origin}, log key ${config.logKey}, vrf key ${config.vrfKey}`,
  );
  const v = new LookupVerifier({
    origin: config.origin,
    logKey: parseVerifierKey(config.logKey),
    vrfKey: fromBase64(config.vrfKey),
  });
  for (const id of PROVIDERS) {
    const key = await provider(ctx, id);
    for (const account of id === PROVIDERS[0] ? ACCOUNTS : ACCOUNTS.slice(0, 1))
      await publish(ctx, v, id, key, account);
  }
  console.log('client checks, with only the pins:');
  for (const id of PROVIDERS) {
    for (const account of ACCOUNTS) {
      const r = v.verifyLookup(
        lookupFromJson(await call(ctx, `/v1/lookup/${id}/${encodeURIComponent(account)}`)),
        id,
        account,
      );
      const what = r.statement
        ? `v${r.statement.version}, ${r.statement.keys.length} key(s), signed by ${id}`
        : 'proven absent';
      console.log(
        `  ok  ${id} / ${account}: ${r.status}, ${what}; VRF label, map proof, epoch ${r.epoch} head and checkpoint of size ${r.checkpoint.size} verified`,
      );
    }
  }
  const found = v.verifyDiscovery(
    discoveryFromJson(await call(ctx, '/v1/lookup', { discover: ACCOUNTS[0] })),
    ACCOUNTS[0],
  );
  console.log(
    `  ok  discovery of ${ACCOUNTS[0]} across all ${found.size} providers: ${[...found].map(([p, r]) => `${p}=${r.status}`).join(', ')}`,
  );
  const h = v.verifyHistory(
    historyFromJson(await call(ctx, `/v1/history/${PROVIDERS[0]}/${encodeURIComponent(ACCOUNTS[0])}?since=0`)),
    PROVIDERS[0],
    ACCOUNTS[0],
    HISTORY_ZERO,
  );
  console.log(
    `  ok  history of ${ACCOUNTS[0]} at ${PROVIDERS[0]}: versions ${h.statements.map((s) => s?.version ?? 'erased').join(', ')} chain to the current map leaf`,
  );
}

main().catch((e) => {
  console.error(`demo failed: ${(e as Error).message}`);
  process.exit(1);
});
