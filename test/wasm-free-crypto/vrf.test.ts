/**
 * Tests for wasm-free-crypto/vrf.ts (ECVRF-EDWARDS25519-SHA512-TAI, RFC 9381): the three Appendix B.3
 * vectors (test/vectors/vrf-rfc9381-tai.json) checked step by step (public key, H and
 * ctr, nonce k, proof, beta from proof_to_hash and verify); rejection of every single-bit flip of a
 * proof, wrong alpha / public key, bad lengths, non-reduced s, non-canonical and small-order Gamma,
 * small-order and non-canonical public keys; determinism and random prove/verify round trips.
 */
import { describe, it, expect } from 'vitest';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { concatBytes, fromHex, toHex } from '../../wasm-free-crypto/bytes.js';
import {
  VRF_OUTPUT_LENGTH,
  VRF_PROOF_LENGTH,
  VrfError,
  encodeToCurveTai,
  nonceGeneration,
  vrfEvaluate,
  vrfProofToHash,
  vrfProve,
  vrfPublicKey,
  vrfVerify,
} from '../../wasm-free-crypto/vrf.js';
import { vectorJson } from '../helpers/vectors.js';

interface Vector {
  sk: string;
  pk: string;
  alpha: string;
  ctr: number;
  H: string;
  k: string;
  pi: string;
  beta: string;
}

const VECTORS: Vector[] = vectorJson('vrf-rfc9381-tai.json').vectors;

const P = 2n ** 255n - 19n;
const Q = 2n ** 252n + 27742317777372353535851937790883648493n;

function leBytes(n: bigint, length = 32): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

function leInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/** Expects `fn` to throw a VrfError, optionally with the given code. */
function expectVrfError(fn: () => unknown, code?: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(VrfError);
  if (code !== undefined) expect((caught as VrfError).code).toBe(code);
}

/** The 8 small-order points, built from the RFC 9381 5.4.5 y-coordinates with both x signs. */
function smallOrderEncodings(): string[] {
  const badY2 = 2707385501144840649318225287225658788936804267575313519463743609750303402022n;
  const out: string[] = [];
  for (const y of [0n, 1n, badY2, P - badY2, P - 1n]) {
    for (const sign of [0, 0x80]) {
      const enc = leBytes(y);
      enc[31] |= sign;
      try {
        if (ed25519.Point.fromBytes(enc, false).isSmallOrder()) out.push(toHex(enc));
      } catch {
        // x = 0 with the sign bit set (y = 1, y = p - 1) is not a valid encoding
      }
    }
  }
  return out;
}

/** A non-canonical encoding (y + p) of a point that is not of small order. */
function nonCanonicalNonSmallOrder(): Uint8Array {
  for (let y = 2n; y < 19n; y++) {
    try {
      if (ed25519.Point.fromBytes(leBytes(y), false).isSmallOrder()) continue;
    } catch {
      continue;
    }
    return leBytes(y + P);
  }
  throw new Error('no candidate y < 19');
}

const NON_CANONICAL_POINTS: string[] = [
  toHex(leBytes(P)), // y = p (non-canonical y = 0)
  toHex(leBytes(P + 1n)), // y = p + 1 (non-canonical identity)
  '0100000000000000000000000000000000000000000000000000000000000080', // identity, x = 0 with sign bit
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // (0, -1), x = 0 with sign bit
  toHex(nonCanonicalNonSmallOrder()),
];

describe('vrf: RFC 9381 Appendix B.3 vectors', () => {
  it('has the three vectors', () => {
    expect(VECTORS).toHaveLength(3);
    expect(VRF_PROOF_LENGTH).toBe(80);
    expect(VRF_OUTPUT_LENGTH).toBe(64);
  });

  VECTORS.forEach((v, i) => {
    describe(`vector ${i} (alpha = "${v.alpha}")`, () => {
      const sk = fromHex(v.sk);
      const pk = fromHex(v.pk);
      const alpha = fromHex(v.alpha);

      it('derives the public key', () => {
        expect(toHex(vrfPublicKey(sk))).toBe(v.pk);
      });

      it('encodes alpha to H with the expected ctr (5.4.1.1)', () => {
        const { point, ctr } = encodeToCurveTai(pk, alpha);
        expect(toHex(point)).toBe(v.H);
        expect(ctr).toBe(v.ctr);
      });

      it('generates the nonce k (5.4.2.2), 32-byte little-endian', () => {
        const k = nonceGeneration(sk, fromHex(v.H));
        expect(k).toBeLessThan(Q);
        expect(toHex(leBytes(k))).toBe(v.k);
      });

      it('proves pi (5.1)', () => {
        expect(toHex(vrfProve(sk, alpha))).toBe(v.pi);
      });

      it('proof_to_hash (5.2) and verify (5.3) give beta', () => {
        expect(toHex(vrfProofToHash(fromHex(v.pi)))).toBe(v.beta);
        expect(toHex(vrfVerify(pk, alpha, fromHex(v.pi)))).toBe(v.beta);
      });

      it('evaluates pi and beta together (5.1, 5.2)', () => {
        const { proof, output } = vrfEvaluate(sk, alpha);
        expect(toHex(proof)).toBe(v.pi);
        expect(toHex(output)).toBe(v.beta);
      });
    });
  });
});

describe('vrf: rejection', () => {
  const v = VECTORS[1];
  const sk = fromHex(v.sk);
  const pk = fromHex(v.pk);
  const alpha = fromHex(v.alpha);
  const pi = fromHex(v.pi);

  it('rejects every single-bit flip of pi (640 bits)', () => {
    let failures = 0;
    for (let bit = 0; bit < VRF_PROOF_LENGTH * 8; bit++) {
      const bad = pi.slice();
      bad[bit >> 3] ^= 1 << (bit & 7);
      try {
        vrfVerify(pk, alpha, bad);
        failures++;
      } catch (e) {
        if (!(e instanceof VrfError)) throw e;
      }
    }
    expect(failures).toBe(0);
  });

  it('rejects a wrong alpha', () => {
    expectVrfError(() => vrfVerify(pk, fromHex('73'), pi), 'vrf_verify_failed');
    expectVrfError(() => vrfVerify(pk, new Uint8Array(0), pi), 'vrf_verify_failed');
    expectVrfError(() => vrfVerify(pk, concatBytes(alpha, Uint8Array.of(0)), pi), 'vrf_verify_failed');
  });

  it('rejects a wrong public key', () => {
    expectVrfError(() => vrfVerify(fromHex(VECTORS[0].pk), alpha, pi), 'vrf_verify_failed');
    expectVrfError(() => vrfVerify(fromHex(VECTORS[2].pk), alpha, pi), 'vrf_verify_failed');
    // The negated public key (sign bit flipped) is a valid point but the wrong key.
    const negated = pk.slice();
    negated[31] ^= 0x80;
    expectVrfError(() => vrfVerify(negated, alpha, pi), 'vrf_verify_failed');
  });

  it('rejects truncated and extended proofs', () => {
    for (const len of [0, 1, 32, 48, 79]) {
      expectVrfError(() => vrfVerify(pk, alpha, pi.slice(0, len)), 'vrf_bad_proof');
      expectVrfError(() => vrfProofToHash(pi.slice(0, len)), 'vrf_bad_proof');
    }
    for (const extra of [Uint8Array.of(0), new Uint8Array(32)]) {
      expectVrfError(() => vrfVerify(pk, alpha, concatBytes(pi, extra)), 'vrf_bad_proof');
      expectVrfError(() => vrfProofToHash(concatBytes(pi, extra)), 'vrf_bad_proof');
    }
  });

  it('rejects s >= q (s + q, and q itself)', () => {
    const s = leInt(pi.subarray(48));
    expect(s).toBeLessThan(Q);
    for (const bigS of [s + Q, Q, 2n ** 256n - 1n]) {
      const bad = concatBytes(pi.subarray(0, 48), leBytes(bigS));
      expectVrfError(() => vrfVerify(pk, alpha, bad), 'vrf_bad_proof');
      expectVrfError(() => vrfProofToHash(bad), 'vrf_bad_proof');
    }
  });

  it('rejects a non-canonical Gamma', () => {
    for (const enc of NON_CANONICAL_POINTS) {
      const bad = concatBytes(fromHex(enc), pi.subarray(32));
      expectVrfError(() => vrfVerify(pk, alpha, bad), 'vrf_bad_proof');
      expectVrfError(() => vrfProofToHash(bad), 'vrf_bad_proof');
    }
  });

  it('rejects a Gamma that is not on the curve', () => {
    // y = 2 gives no valid x on edwards25519.
    let y = 2n;
    for (; ; y++) {
      try {
        ed25519.Point.fromBytes(leBytes(y), false);
      } catch {
        break;
      }
    }
    const bad = concatBytes(leBytes(y), pi.subarray(32));
    expectVrfError(() => vrfVerify(pk, alpha, bad), 'vrf_bad_proof');
  });

  it('rejects a small-order Gamma', () => {
    const small = smallOrderEncodings();
    expect(small).toHaveLength(8);
    for (const enc of small) {
      expectVrfError(() => vrfVerify(pk, alpha, concatBytes(fromHex(enc), pi.subarray(32))));
    }
  });

  it('rejects each of the 8 small-order public keys', () => {
    const small = smallOrderEncodings();
    expect(new Set(small)).toEqual(new Set(ED25519_TORSION_SUBGROUP));
    for (const enc of small) expectVrfError(() => vrfVerify(fromHex(enc), alpha, pi), 'vrf_bad_public_key');
  });

  it('rejects non-canonical and invalid public key encodings', () => {
    for (const enc of NON_CANONICAL_POINTS) {
      expectVrfError(() => vrfVerify(fromHex(enc), alpha, pi), 'vrf_bad_public_key');
    }
    expectVrfError(() => vrfVerify(pk.slice(0, 31), alpha, pi), 'vrf_bad_public_key');
    expectVrfError(() => vrfVerify(concatBytes(pk, Uint8Array.of(0)), alpha, pi), 'vrf_bad_public_key');
  });

  it('rejects bad secret keys and non-byte inputs', () => {
    expectVrfError(() => vrfPublicKey(sk.slice(0, 31)), 'vrf_bad_secret_key');
    expectVrfError(() => vrfProve(concatBytes(sk, Uint8Array.of(1)), alpha), 'vrf_bad_secret_key');
    expectVrfError(() => nonceGeneration(new Uint8Array(0), fromHex(v.H)), 'vrf_bad_secret_key');
    expectVrfError(() => vrfProve(sk, 'r' as unknown as Uint8Array), 'vrf_bad_input');
    expectVrfError(() => vrfVerify(v.pk as unknown as Uint8Array, alpha, pi), 'vrf_bad_public_key');
    expectVrfError(() => vrfVerify(pk, alpha, v.pi as unknown as Uint8Array), 'vrf_bad_proof');
  });
});

describe('vrf: determinism and round trips', () => {
  it('proves deterministically', () => {
    const sk = fromHex(VECTORS[2].sk);
    const alpha = fromHex('0102030405');
    expect(toHex(vrfProve(sk, alpha))).toBe(toHex(vrfProve(sk, alpha)));
  });

  it('round-trips prove/verify on random keys and alphas (20 iterations)', () => {
    for (let i = 0; i < 20; i++) {
      const sk = globalThis.crypto.getRandomValues(new Uint8Array(32));
      const alpha = globalThis.crypto.getRandomValues(new Uint8Array(i * 7));
      const pk = vrfPublicKey(sk);
      expect(toHex(pk)).toBe(toHex(ed25519.getPublicKey(sk)));
      const pi = vrfProve(sk, alpha);
      expect(pi).toHaveLength(VRF_PROOF_LENGTH);
      const beta = vrfVerify(pk, alpha, pi);
      expect(beta).toHaveLength(VRF_OUTPUT_LENGTH);
      expect(toHex(beta)).toBe(toHex(vrfProofToHash(pi)));
      const otherAlpha = concatBytes(alpha, Uint8Array.of(i));
      expectVrfError(() => vrfVerify(pk, otherAlpha, pi), 'vrf_verify_failed');
      expect(toHex(vrfVerify(pk, otherAlpha, vrfProve(sk, otherAlpha)))).not.toBe(toHex(beta));
    }
  });
});
