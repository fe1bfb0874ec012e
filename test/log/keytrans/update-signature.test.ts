/**
 * The server's two checks of a provider's UpdateTBS signature (log/keytrans/update-signature.ts): the WebCrypto one
 * at acceptance gives the client's @noble answer on every input, honest, for another version or statement,
 * malleated (S + L, S = L), with a small-order or non-canonical R, of the wrong length, or under a leaf key that is
 * of small order, non-canonical or no point; and it falls back to @noble when the platform lacks Ed25519.
 */
import { ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { updateSignatureFits, updateSignatureVerifies } from '../../../log/keytrans/update-signature.js';
import { encodeUpdateTbs } from '../../../verifier/keytrans/signed-structures.js';
import type { Configuration } from '../../../verifier/keytrans/types.js';
import { concatBytes, fromHex, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { ED25519_L, resetPlatformCache, signSync } from '../../../wasm-free-crypto/signatures.js';
import { LEAF_SEED, testConfig } from '../../helpers/keytrans-keys.js';

const config = testConfig('thirdPartyManagement');
const label = utf8('alice@chat.example');
const statement = utf8('a canonical binding statement');
const honest = signSync('ed25519', LEAF_SEED, encodeUpdateTbs(config, label, 1, statement));
const leBytes = (n: bigint) => new Uint8Array(32).map((_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
const s = honest.subarray(32).reduceRight((n, b) => (n << 8n) | BigInt(b), 0n);

/** Both answers for statement version `version` (KEYTRANS version `version - 1`), expected equal. */
async function both(signature: Uint8Array | null, c: Configuration = config, version = 2, value = statement) {
  const u = { version, statement: value, signature };
  const sync = updateSignatureFits(c, label, u);
  expect(await updateSignatureVerifies(c, label, u)).toBe(sync);
  return sync;
}

afterEach(() => {
  vi.restoreAllMocks();
  resetPlatformCache();
});

describe('the UpdateTBS signature at acceptance (WebCrypto) and at an epoch (@noble)', () => {
  it('accept the honest signature only for its version and statement', async () => {
    expect(await both(honest)).toBe(true);
    expect(await both(honest, config, 3)).toBe(false);
    expect(await both(honest, config, 2, utf8('another statement'))).toBe(false);
    expect(await both(null)).toBe(false);
    const flipped = honest.slice();
    flipped[5] ^= 1;
    expect(await both(flipped)).toBe(false);
  });

  it('refuse a malleated S, a small-order or non-canonical R, and a signature of the wrong length', async () => {
    const R = honest.subarray(0, 32);
    expect(await both(concatBytes(R, leBytes(s + ED25519_L)))).toBe(false);
    expect(await both(concatBytes(R, leBytes(ED25519_L)))).toBe(false);
    for (const h of ED25519_TORSION_SUBGROUP)
      expect(await both(concatBytes(fromHex(h), honest.subarray(32)))).toBe(false);
    const nonCanonical = new Uint8Array(32).fill(0xff);
    nonCanonical[0] = 0xee; // y = p + 1
    nonCanonical[31] = 0x7f;
    expect(await both(concatBytes(nonCanonical, honest.subarray(32)))).toBe(false);
    expect(await both(honest.subarray(0, 63))).toBe(false);
    expect(await both(concatBytes(honest, new Uint8Array(1)))).toBe(false);
  });

  it('refuse every signature under a leaf key of small order, non-canonical, or not a point', async () => {
    const identity = fromHex(ED25519_TORSION_SUBGROUP[0]);
    const forged = concatBytes(identity, new Uint8Array(32)); // holds for every message under the identity key
    for (const h of ED25519_TORSION_SUBGROUP)
      expect(await both(forged, { ...config, leafPublicKey: fromHex(h) })).toBe(false);
    const yAboveP = new Uint8Array(32).fill(0xff);
    yAboveP[31] = 0x7f;
    expect(await both(honest, { ...config, leafPublicKey: yAboveP })).toBe(false);
    expect(await both(honest, { ...config, leafPublicKey: leBytes(2n) })).toBe(false); // y = 2: no point
    expect(await both(honest, { ...config, leafPublicKey: new Uint8Array(31) })).toBe(false);
  });

  it('give the same answers through @noble when the platform lacks Ed25519', async () => {
    vi.spyOn(globalThis.crypto.subtle, 'importKey').mockRejectedValue(
      Object.assign(new Error('no Ed25519'), { name: 'NotSupportedError' }),
    );
    expect(await both(honest)).toBe(true);
    expect(await both(concatBytes(honest.subarray(0, 32), leBytes(s + ED25519_L)))).toBe(false);
  });
});
