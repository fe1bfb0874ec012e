/**
 * What the D1 replica's refill and prune tests share: a provider enrolled with a leaf of its own, its statements
 * (the provider is the account's domain, the algorithm the leaf's), and epochs of them published either as the
 * Worker does (closed and replicated by the object's alarm) or closed without the alarm, so that a refill under
 * way replays them.
 */
import { expect } from 'vitest';
import { makeLeaf, type PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { inSequencer, operator, post, settle, testRoot } from './helpers.js';

/**
 * Enrols `provider` with a new leaf, committed and replicated. P-256 by default: no KEYTRANS deployment, whose
 * rows each epoch would add faster than a refill of a few rows a run copies them.
 */
export async function enrolProvider(provider: string, keyType: 'p256' | 'ed25519' = 'p256'): Promise<PkiCert> {
  const leaf = await makeLeaf(await testRoot(), { dnsNames: [provider], keyType });
  expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
  return leaf;
}

/** `account` (`name@provider`) at `version`, signed with `leaf`. */
export function signedBinding(leaf: PkiCert, account: string, version: number) {
  const algorithm = leaf.algorithm === 'p256' ? 'p256' : 'ed25519';
  const statement = statementOf(account.split('@')[1], account, version, Date.now(), `${account} ${version}`);
  return signStatement(algorithm, leaf.secretKey, statement);
}

/** Publishes versions of accounts, closes the epoch and replicates it by the object's alarm, as the Worker does. */
export async function publishReplicated(leaf: PkiCert, versions: [string, number][]): Promise<void> {
  const statements = versions.map(([account, version]) => signedBinding(leaf, account, version));
  expect((await settle(post('/v1/bindings?wait=1', { statements }))).status).toBe(200);
}

/** Publishes and closes the epoch without the alarm: not replicated (a refill under way replays it). */
export async function publishUnreplicated(leaf: PkiCert, versions: [string, number][]): Promise<void> {
  const statements = versions.map(([account, version]) => signedBinding(leaf, account, version));
  expect((await post('/v1/bindings', { statements })).status).toBe(202);
  await inSequencer(async (open) => void (await open.directory.closeEpoch(false)));
}
