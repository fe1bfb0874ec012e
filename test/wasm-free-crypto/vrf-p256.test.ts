/**
 * Tests for wasm-free-crypto/vrf-p256.ts (ECVRF-P256-SHA256-TAI, RFC 9381, verification): the RFC's Appendix B.1
 * examples and the KEYTRANS vectors (test/vectors/keytrans/primitives/vrf.json, suite 0x0001) verify to their
 * beta, equal to proof_to_hash; H is a compressed point; every invalid vector is refused with the VrfError code
 * its defect calls for; zero c or s, wrong lengths and uncompressed keys are refused.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../wasm-free-crypto/bytes.js';
import { VrfError } from '../../wasm-free-crypto/vrf.js';
import {
  VRF_P256_OUTPUT_LENGTH,
  VRF_P256_PROOF_LENGTH,
  encodeToCurveTaiP256,
  vrfProofToHashP256,
  vrfVerifyP256,
} from '../../wasm-free-crypto/vrf-p256.js';
import { errorCode } from '../helpers/error-code.js';
import { vectorJson } from '../helpers/vectors.js';

interface Suite {
  ciphersuite: number;
  public_key: string;
  cases: { alpha: string; proof: string; output: string }[];
  invalid: { description: string; public_key: string; alpha: string; proof: string }[];
  rfc9381_cross_check: { pk: string; alpha: string; proof: string; output: string }[];
}

const P256 = (vectorJson('keytrans/primitives/vrf.json').suites as Suite[]).find((s) => s.ciphersuite === 1) as Suite;
const PK = fromHex(P256.public_key);

/** The VrfError code `f` throws (and that it is a VrfError). */
function vrfCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(VrfError);
  }
  return errorCode(f);
}

const INVALID_CODES: Record<string, string> = {
  'one bit flipped in Gamma': 'vrf_bad_proof',
  'proof truncated by one byte': 'vrf_bad_proof',
  's replaced by the group order n': 'vrf_bad_proof',
  'Gamma prefix byte changed to 0x04': 'vrf_bad_proof',
};

describe('ECVRF-P256-SHA256-TAI', () => {
  it('has the RFC 9381 lengths', () => {
    expect([VRF_P256_PROOF_LENGTH, VRF_P256_OUTPUT_LENGTH]).toEqual([81, 32]);
  });

  it('verifies the RFC 9381 B.1 examples', () => {
    for (const c of P256.rfc9381_cross_check) {
      expect(toHex(vrfVerifyP256(fromHex(c.pk), fromHex(c.alpha), fromHex(c.proof)))).toBe(c.output);
      expect(toHex(vrfProofToHashP256(fromHex(c.proof)))).toBe(c.output);
    }
  });

  it('verifies every KEYTRANS case, and H is a compressed point', () => {
    for (const c of P256.cases) {
      expect(toHex(vrfVerifyP256(PK, fromHex(c.alpha), fromHex(c.proof)))).toBe(c.output);
      const H = encodeToCurveTaiP256(PK, fromHex(c.alpha));
      expect(H.length).toBe(33);
      expect([2, 3]).toContain(H[0]);
    }
  });

  it.each(P256.invalid.map((c) => [c.description, c] as const))('refuses: %s', (description, c) => {
    const code = vrfCode(() => vrfVerifyP256(fromHex(c.public_key), fromHex(c.alpha), fromHex(c.proof)));
    expect(code).toBe(INVALID_CODES[description] ?? 'vrf_verify_failed');
  });

  it('refuses zero c or s, bad lengths, uncompressed and off-curve keys', () => {
    const { alpha: a, proof: p } = P256.cases[0];
    const alpha = fromHex(a);
    const proof = fromHex(p);
    const zeroC = proof.slice();
    zeroC.fill(0, 33, 49);
    const zeroS = proof.slice();
    zeroS.fill(0, 49);
    expect(vrfCode(() => vrfVerifyP256(PK, alpha, zeroC))).toBe('vrf_verify_failed');
    expect(vrfCode(() => vrfVerifyP256(PK, alpha, zeroS))).toBe('vrf_verify_failed');
    expect(vrfCode(() => vrfVerifyP256(PK, alpha, proof.subarray(1)))).toBe('vrf_bad_proof');
    expect(vrfCode(() => vrfVerifyP256(PK, alpha, new Uint8Array([...proof, 0])))).toBe('vrf_bad_proof');
    const uncompressed = new Uint8Array(65);
    uncompressed[0] = 4;
    expect(vrfCode(() => vrfVerifyP256(uncompressed, alpha, proof))).toBe('vrf_bad_public_key');
    const offCurve = PK.slice();
    offCurve.fill(0xff, 1);
    expect(vrfCode(() => vrfVerifyP256(offCurve, alpha, proof))).toBe('vrf_bad_public_key');
  });
});
