/**
 * How many deployments one KEYTRANS heads entry holds (docs/PROTOCOL.md sections 14 and 22.3): at most 255 heads,
 * and an encoded entry of at most 65,535 bytes. Providers enrolled beyond either bound get no deployment and the
 * epochs go on; a P-256 or revoked credential gets none either. The heads each epoch prepares are encoded as the
 * directory encodes them (verifier/formats/entries.ts), and must decode back, within the bounds.
 */
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Credential, CredentialRegistry } from '../../../log/directory/credentials.js';
import { KeyTransDeployments } from '../../../log/keytrans/deployments.js';
import { operatorKeys } from '../../../log/keytrans/operator-keys.js';
import { SqliteDeploymentStores } from '../../../log/keytrans/sqlite-store.js';
import { decodeEntry, encodeEntry } from '../../../verifier/formats/entries.js';
import Database from 'better-sqlite3';

const VRF_SECRET = new Uint8Array(32).fill(7);

/** A credential of `providerId` as the registry holds it (only what deployments read is filled in). */
function credential(providerId: string, logIndex: number, algorithm: 'ed25519' | 'p256' = 'ed25519'): Credential {
  const publicKey = ed25519.getPublicKey(new Uint8Array(32).fill(logIndex % 251));
  const entry = { type: 'enrol', providerId, time: 0, algorithm, publicKey, notBefore: 0, notAfter: 1, chain: [] };
  return {
    logIndex,
    entryBytes: new Uint8Array(),
    entry,
    fingerprint: new Uint8Array(32),
    revokedIndex: null,
  } as Credential;
}

/** The deployments of the providers `ids`, after one epoch, and that epoch's encoded heads entry. */
async function oneEpoch(credentials: Credential[]) {
  const registry = { all: () => credentials } as unknown as CredentialRegistry;
  const keytrans = new KeyTransDeployments(
    new SqliteDeploymentStores(new Database(':memory:')),
    (p) => operatorKeys(VRF_SECRET, p),
    () => credentials,
  );
  const { heads } = await keytrans.prepareEpoch([], registry, 1_700_000_000_000);
  const entry = encodeEntry({ type: 'keytrans', epoch: 1, heads });
  return { keytrans, heads, entry };
}

describe('the deployments one KEYTRANS heads entry holds', () => {
  it('makes at most 255, in enrolment order, and leaves the rest without one', async () => {
    const ids = Array.from({ length: 260 }, (_, i) => `p${i}.example`);
    const { keytrans, heads, entry } = await oneEpoch(ids.map((id, i) => credential(id, i)));
    expect(keytrans.providers()).toEqual(ids.slice(0, 255));
    expect(heads.map((h) => h.providerId)).toEqual(ids.slice(0, 255));
    expect(keytrans.config('p255.example')).toBeUndefined();
    expect(decodeEntry(entry)).toMatchObject({ type: 'keytrans', epoch: 1 });
  }, 60_000);

  it('stops where the entry would pass 65,535 bytes, for long provider ids', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `${String(i).padStart(3, '0')}.${'x'.repeat(245)}`);
    const { keytrans, entry } = await oneEpoch(ids.map((id, i) => credential(id, i)));
    const made = keytrans.providers().length;
    // Each head is 147 bytes and its id; the entry 10 bytes besides: one more would not fit.
    expect(made).toBe(Math.floor((65_535 - 10) / (147 + 249)));
    expect(entry.length).toBeLessThanOrEqual(65_535);
    expect(entry.length + 147 + 249).toBeGreaterThan(65_535);
    expect(decodeEntry(entry)).toMatchObject({ type: 'keytrans' });
  }, 60_000);

  it('makes none for a P-256 or a revoked credential', async () => {
    const revoked = { ...credential('revoked.example', 2), revokedIndex: 3 };
    const { keytrans } = await oneEpoch([credential('p256.example', 1, 'p256'), revoked, credential('ok.example', 4)]);
    expect(keytrans.providers()).toEqual(['ok.example']);
  });
});
