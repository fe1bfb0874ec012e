/**
 * What the Worker's KEYTRANS tests share: a binding item signed with the provider's UpdateTBS signature, the
 * deployment's configuration as the Worker serves it, a search request's init, a KEYTRANS client of the Worker given only the C2SP pins
 * of /v1/config (verifier/keytrans-client/client.ts), its state in memory, and for an edge object, trimming all it
 * can and reading a deployment's prefix tree back from D1.
 */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { indexLayout } from '../../../api/worker/d1-layout.js';
import { KeyTransClient } from '../../../verifier/keytrans-client/client.js';
import { encodeMessage, KEYTRANS_MEDIA_TYPE } from '../../../verifier/keytrans/messages.js';
import { decodeConfiguration, encodeUpdateTbs } from '../../../verifier/keytrans/signed-structures.js';
import type { Configuration } from '../../../verifier/keytrans/types.js';
import { CheckpointVerifier } from '../../../verifier/verification/checkpoint-policy.js';
import { fromBase64, toBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { signSync } from '../../../wasm-free-crypto/signatures.js';
import type { PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { get, inSequencer } from './helpers.js';

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

/** The init of a KEYTRANS search (`POST /keytrans/v1/<provider>/search`) for `label`, from `clientIp`. */
export const searchRequest = (
  config: Configuration,
  label: string,
  version: number | null,
  clientIp: string,
): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': KEYTRANS_MEDIA_TYPE, 'cf-connecting-ip': clientIp },
  body: encodeMessage(
    'SearchRequest',
    { last: null, label: utf8(label), version },
    { suite: 2, mode: config.mode },
  ) as Uint8Array<ArrayBuffer>,
});

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

/**
 * Replicates, then trims until nothing is left, keeping prefix-tree and map rows above `keptDepth` only (not 12:
 * most paths are then read from D1); the map's cache is dropped, so that it is read from D1 too.
 */
export const trimAll = (keptDepth: number) =>
  inSequencer(async (o) => {
    await o.replica!.replicate();
    let total = 0;
    for (let n = await o.replica!.trim(50, 7, keptDepth); n > 0; n = await o.replica!.trim(50, 7, keptDepth))
      total += n;
    (o.directory as unknown as { map: { failed(): void } }).map.failed();
    return total;
  });

/** D1's leaves of `provider`'s prefix tree (each version's VRF output and commitment) and its newest entry's root. */
export async function d1PrefixTree(provider: string) {
  const layout = indexLayout(env)!;
  const leaves = [];
  for (const db of layout.shards) {
    const q = 'SELECT vrf_output, commitment FROM ktr_versions WHERE provider = ?';
    const { results } = await db.prepare(q).bind(provider).all<{ vrf_output: ArrayBuffer; commitment: ArrayBuffer }>();
    for (const r of results)
      leaves.push({ vrfOutput: new Uint8Array(r.vrf_output), commitment: new Uint8Array(r.commitment) });
  }
  const q = 'SELECT prefix_root FROM ktr_entries WHERE provider = ? ORDER BY position DESC LIMIT 1';
  const newest = await layout.meta.prepare(q).bind(provider).first<{ prefix_root: ArrayBuffer }>();
  return { leaves, root: new Uint8Array(newest!.prefix_root) };
}
