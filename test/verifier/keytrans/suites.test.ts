/**
 * Tests for verifier/keytrans/suites.ts against
 * test/vectors/keytrans/primitives/vrf.json: for both cipher suites every VrfInput encodes to the vector's alpha and
 * its proof verifies to the vector's 32-byte output (Ed25519's 64-byte beta truncated); every invalid proof or key
 * is refused with KeyTransError 'kt_vrf_failed'; the RFC 9381 cross-checks (B.1 for P-256, B.3 for Ed25519) pass;
 * single-bit flips of a valid proof (all bits of both ends, one of every third byte) are refused; the suites' constants and lookup by id.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../wasm-free-crypto/bytes.js';
import { encodeVrfInput } from '../../../verifier/keytrans/signed-structures.js';
import {
  type CipherSuite,
  KT_128_SHA256_Ed25519,
  KT_128_SHA256_P256,
  cipherSuite,
} from '../../../verifier/keytrans/suites.js';
import { expectKtError } from '../../helpers/keytrans-primitives.js';
import { vectorJson } from '../../helpers/vectors.js';

interface VrfSuiteVectors {
  suite: string;
  ciphersuite: number;
  public_key: string;
  proof_size: number;
  cases: { label_hex: string; version: number; alpha: string; proof: string; output: string }[];
  invalid: { description: string; public_key: string; alpha: string; proof: string }[];
  rfc9381_cross_check: { pk: string; alpha: string; proof: string; output?: string; output_kt?: string }[];
}

const VRF: { suites: VrfSuiteVectors[] } = vectorJson('keytrans/primitives/vrf.json');

/**
 * The bits flipped in a proof: all of its first and last bytes, and one bit of every third byte between (a
 * verification costs milliseconds, so not all of them).
 */
function representativeBits(length: number): number[] {
  const bits: number[] = [];
  for (let b = 0; b < 8; b++) bits.push(b, (length - 1) * 8 + b);
  for (let i = 1; i < length - 1; i += 3) bits.push(i * 8 + (i % 8));
  return bits;
}

describe('cipher suites', () => {
  it('are found by id, with the draft constants', () => {
    expect(cipherSuite(1)).toBe(KT_128_SHA256_P256);
    expect(cipherSuite(2)).toBe(KT_128_SHA256_Ed25519);
    for (const id of [0, 3, 0xf000]) expectKtError(() => cipherSuite(id), 'kt_unknown_suite');
    for (const s of [KT_128_SHA256_P256, KT_128_SHA256_Ed25519]) {
      expect([s.hashLength, s.openingLength, s.vrfOutputLength]).toEqual([32, 16, 32]);
      expect(toHex(s.commitmentKey)).toBe('d821f8790d97709796b4d7903357c3f5');
      expect(toHex(s.hash(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    }
    expect(KT_128_SHA256_P256.vrfProofLength).toBe(81);
    expect(KT_128_SHA256_Ed25519.vrfProofLength).toBe(80);
  });
});

for (const vectors of VRF.suites) {
  const suite: CipherSuite = cipherSuite(vectors.ciphersuite);
  const pk = fromHex(vectors.public_key);

  describe(`VRF of ${vectors.suite}`, () => {
    it('has the vectors proof size', () => {
      expect(suite.vrfProofLength).toBe(vectors.proof_size);
    });

    it.each(vectors.cases.map((c, i) => [i, c] as const))('case %i: VrfInput encoding and output', (_, c) => {
      const alpha = encodeVrfInput({ label: fromHex(c.label_hex), version: c.version });
      expect(toHex(alpha)).toBe(c.alpha);
      expect(toHex(suite.vrfVerify(pk, alpha, fromHex(c.proof)))).toBe(c.output);
    });

    it.each(vectors.invalid.map((c) => [c.description, c] as const))('refuses: %s', (_, c) => {
      expectKtError(() => suite.vrfVerify(fromHex(c.public_key), fromHex(c.alpha), fromHex(c.proof)), 'kt_vrf_failed');
    });

    it('passes the RFC 9381 cross-checks', () => {
      for (const c of vectors.rfc9381_cross_check) {
        const out = suite.vrfVerify(fromHex(c.pk), fromHex(c.alpha), fromHex(c.proof));
        expect(toHex(out)).toBe(c.output ?? c.output_kt);
      }
    });

    it('refuses single-bit flips of a valid proof (every component, both ends)', () => {
      const c = vectors.cases[0];
      const proof = fromHex(c.proof);
      const alpha = fromHex(c.alpha);
      for (const bit of representativeBits(proof.length)) {
        const flipped = proof.slice();
        flipped[bit >> 3] ^= 1 << (bit & 7);
        expectKtError(() => suite.vrfVerify(pk, alpha, flipped), 'kt_vrf_failed');
      }
    });

    it('refuses proofs of the wrong length and other keys', () => {
      const c = vectors.cases[0];
      const proof = fromHex(c.proof);
      const alpha = fromHex(c.alpha);
      expectKtError(() => suite.vrfVerify(pk, alpha, new Uint8Array([...proof, 0])), 'kt_vrf_failed');
      expectKtError(() => suite.vrfVerify(pk.subarray(1), alpha, proof), 'kt_vrf_failed');
      expectKtError(() => suite.vrfVerify(pk, new Uint8Array([...alpha, 0]), proof), 'kt_vrf_failed');
    });
  });
}
