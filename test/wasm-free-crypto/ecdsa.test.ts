/**
 * ECDSA verification (wasm-free-crypto/ecdsa.ts) against @noble/curves' own verify, which it replaces in
 * the verifier: the curves' constants are noble's, and on every curve and hash the two agree on valid
 * signatures (low and high S), on flipped bits of the digest (every 11th) and of r and s (every 29th), on r or
 * s of 0, n or beyond, on another key, and on a digest longer or shorter than the order.
 */
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { decodeNistPublicKey, ecdsaVerifyDigest, nistCurve, type NistCurve } from '../../wasm-free-crypto/ecdsa.js';

const NOBLE = { p256, p384, p521 };
const HASHES = { sha256, sha384, sha512 };

describe.each(['p256', 'p384', 'p521'] as NistCurve[])('ECDSA on %s', (curve) => {
  const noble = NOBLE[curve];
  const ours = nistCurve(curve);

  it("has noble's constants", () => {
    expect(ours.CURVE()).toEqual(noble.Point.CURVE());
    expect(ours.BASE.toBytes()).toEqual(noble.Point.BASE.toBytes());
  });

  it.each(Object.keys(HASHES))("agrees with noble's verify with %s", (hashName) => {
    const hash = HASHES[hashName as keyof typeof HASHES];
    const n = ours.Fn.ORDER;
    const size = ours.Fn.BYTES;
    for (let k = 0; k < 2; k++) {
      const secret = noble.utils.randomSecretKey();
      const publicKey = noble.getPublicKey(secret, false);
      const digest = hash(Uint8Array.of(k, 1, 2, 3));
      const sig = noble.sign(digest, secret, { prehash: false, lowS: k % 2 === 0, format: 'compact' });
      const agree = (d: Uint8Array, r: bigint, s: bigint, key = publicKey) => {
        const compact = new Uint8Array([
          ...numberToBytesBE(r % (1n << BigInt(8 * size)), size),
          ...numberToBytesBE(s % (1n << BigInt(8 * size)), size),
        ]);
        const theirs =
          r < 1n << BigInt(8 * size) && s < 1n << BigInt(8 * size)
            ? noble.verify(compact, d, key, { prehash: false, lowS: false, format: 'compact' })
            : false;
        expect(ecdsaVerifyDigest(curve, decodeNistPublicKey(curve, key), d, r, s)).toBe(theirs);
        return theirs;
      };
      const r = bytesToNumberBE(sig.subarray(0, size));
      const s = bytesToNumberBE(sig.subarray(size));
      expect(agree(digest, r, s)).toBe(true);
      expect(agree(digest, r, n - s)).toBe(true); // the other S
      for (let bit = 0; bit < digest.length * 8; bit += 11) {
        const d = digest.slice();
        d[bit >> 3] ^= 0x80 >> (bit & 7);
        // A bit past the order's length is not part of e (SEC 1 section 4.1.4 step 5): still valid.
        expect(agree(d, r, s)).toBe(bit >= ours.Fn.BITS);
      }
      for (let bit = 0; bit < 8 * size - 7; bit += 29) {
        agree(digest, r ^ (1n << BigInt(bit)), s);
        agree(digest, r, s ^ (1n << BigInt(bit)));
      }
      for (const bad of [0n, n, n + 1n]) {
        expect(agree(digest, bad, s)).toBe(false);
        expect(agree(digest, r, bad)).toBe(false);
      }
      const other = noble.getPublicKey(noble.utils.randomSecretKey(), true);
      expect(agree(digest, r, s, other)).toBe(false);
    }
  });

  it('refuses the identity and points off the curve as public keys', () => {
    expect(() => decodeNistPublicKey(curve, Uint8Array.of(0))).toThrow();
    const key = noble.getPublicKey(noble.utils.randomSecretKey(), false);
    key[key.length - 1] ^= 1;
    expect(() => decodeNistPublicKey(curve, key)).toThrow();
  });
});
