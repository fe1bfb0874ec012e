/**
 * What the Worker's KEYTRANS tests share: a binding item signed with the provider's UpdateTBS signature, the
 * deployment's configuration as the Worker serves it, and a KEYTRANS client of the Worker given only the C2SP pins
 * of /v1/config (verifier/keytrans-client/client.ts), its state in memory.
 */
import { expect } from 'vitest';
import { KeyTransClient } from '../../../verifier/keytrans-client/client.js';
import { KEYTRANS_MEDIA_TYPE } from '../../../verifier/keytrans/messages.js';
import { decodeConfiguration, encodeUpdateTbs } from '../../../verifier/keytrans/signed-structures.js';
import type { Configuration } from '../../../verifier/keytrans/types.js';
import { CheckpointVerifier } from '../../../verifier/verification/checkpoint-policy.js';
import { fromBase64, toBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { signSync } from '../../../wasm-free-crypto/signatures.js';
import type { PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { get } from './helpers.js';

/** The item of POST /v1/bindings for `account` version `version` of `provider`, with its UpdateTBS signature. */
export function signedItem(
  provider: string,
  leaf: PkiCert,
  config: Configuration,
  account: string,
  version: number,
  deleted = false,
) {
  const seed = deleted ? null : `${account} ${version}`;
  const item = signStatement('ed25519', leaf.secretKey, statementOf(provider, account, version, Date.now(), seed));
  const tbs = encodeUpdateTbs(config, utf8(account), version - 1, fromBase64(item.statement));
  return { ...item, keytrans_signature: toBase64(signSync('ed25519', leaf.secretKey, tbs)) };
}

/** `provider`'s deployment configuration, from the Worker's config route. */
export async function keytransConfig(provider: string): Promise<Configuration> {
  const res = await get(`/keytrans/v1/${provider}/config`);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('content-type')).toBe(KEYTRANS_MEDIA_TYPE);
  return decodeConfiguration(new Uint8Array(await res.arrayBuffer()));
}

/**
 * A KEYTRANS client of the Worker for `provider`, pinned to the log's origin and key from /v1/config, its requests
 * from `clientIp` (the lookup limit is shared by every test of the project: its limiter objects).
 */
export async function keytransClient(provider: string, clientIp: string): Promise<KeyTransClient> {
  const c = (await (await get('/v1/config')).json()) as { origin: string; logKey: string };
  const checkpoints = new CheckpointVerifier({ origin: c.origin, logKey: parseVerifierKey(c.logKey) });
  let kept: string | undefined;
  const store = { load: async () => kept, save: async (text: string) => void (kept = text) };
  const headers = (init?: RequestInit) => ({
    ...(init?.headers as Record<string, string>),
    'cf-connecting-ip': clientIp,
  });
  const fetch = (url: string, init?: RequestInit) =>
    get(url.slice('https://kt.example'.length), { ...init, headers: headers(init) });
  return new KeyTransClient({ server: 'https://kt.example', provider, fetch, checkpoints, store });
}
