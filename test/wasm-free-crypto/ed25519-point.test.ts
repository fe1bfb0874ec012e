/**
 * The edwards25519 group of wasm-free-crypto/ed25519-point.ts against @noble/curves' `ed25519.Point`, which
 * it replaces in the verifiers: the same constants, the same decoding of every encoding (random ones, of
 * which about half name no point, the edges y = 0, 1, p - 1, p and above, both sign bits, the eight
 * small-order points) with the same refusals, and the same sums and multiples.
 */
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../wasm-free-crypto/bytes.js';
import { ED25519_L, ED25519_POINT } from '../../wasm-free-crypto/ed25519-point.js';
import { randomBytes } from '../../wasm-free-crypto/random.js';

const P = 2n ** 255n - 19n;

/** The decoded point's encoding under both, or the fact that it was refused, for `fromBytes(b, zip215)`. */
function decode(b: Uint8Array, zip215: boolean): [string, string] {
  const run = (f: () => { toHex(): string }) => {
    try {
      return f().toHex();
    } catch {
      return 'refused';
    }
  };
  return [run(() => ED25519_POINT.fromBytes(b, zip215)), run(() => ed25519.Point.fromBytes(b, zip215))];
}

/** The edge encodings: y of 0, 1, 2, p - 1, p, p + 1 and 2^255 - 1, each with both sign bits. */
function edgeEncodings(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const y of [0n, 1n, 2n, P - 1n, P, P + 1n, 2n ** 255n - 1n]) {
    out.push(numberToBytesLE(y, 32), numberToBytesLE(y | (1n << 255n), 32));
  }
  return out;
}

describe('the edwards25519 group', () => {
  it("has noble's constants and base point", () => {
    expect(ED25519_POINT.CURVE()).toEqual(ed25519.Point.CURVE());
    expect(ED25519_POINT.BASE.toBytes()).toEqual(ed25519.Point.BASE.toBytes());
    expect(ED25519_POINT.Fn.ORDER).toBe(ED25519_L);
  });

  it('decodes and refuses exactly what noble does, strict and ZIP-215', () => {
    const inputs = [...edgeEncodings(), ...ED25519_TORSION_SUBGROUP.map((h) => fromHex(h))];
    for (let i = 0; i < 200; i++) inputs.push(randomBytes(32));
    let refused = 0;
    for (const b of inputs) {
      for (const zip215 of [false, true]) {
        const [ours, theirs] = decode(b, zip215);
        expect(ours).toBe(theirs);
        if (ours === 'refused') refused++;
      }
    }
    expect(refused).toBeGreaterThan(100); // the refusals were exercised, not only the points
  });

  it('adds, subtracts and multiplies as noble does', () => {
    for (let i = 0; i < 8; i++) {
      const k = bytesToNumberLE(randomBytes(32)) % ED25519_L;
      const j = BigInt(i + 1);
      const ours = ED25519_POINT.BASE.multiply(k);
      const theirs = ed25519.Point.BASE.multiply(k);
      expect(ours.toHex()).toBe(theirs.toHex());
      expect(ours.multiplyUnsafe(j).subtract(ED25519_POINT.BASE).toHex()).toBe(
        theirs.multiplyUnsafe(j).subtract(ed25519.Point.BASE).toHex(),
      );
      expect(ours.clearCofactor().add(ours).toHex()).toBe(theirs.clearCofactor().add(theirs).toHex());
    }
  });
});
