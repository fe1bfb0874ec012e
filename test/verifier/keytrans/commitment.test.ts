/**
 * Tests for verifier/keytrans/commitment.ts against test/vectors/keytrans/primitives/commitment.json: Kc and Nc
 * are the suites'; every case's UpdateValue and CommitmentValue encode to the vector's bytes and give its
 * commitment under both suites; a changed value, opening, label, version or suffix no longer opens it; an opening
 * of the wrong length is refused.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../wasm-free-crypto/bytes.js';
import { computeCommitment, verifyCommitment } from '../../../verifier/keytrans/commitment.js';
import {
  type CommitmentValue,
  encodeCommitmentValue,
  encodeUpdateValue,
} from '../../../verifier/keytrans/signed-structures.js';
import { KT_128_SHA256_Ed25519, KT_128_SHA256_P256 } from '../../../verifier/keytrans/suites.js';
import { expectKtError } from '../../helpers/keytrans-primitives.js';
import { vectorJson } from '../../helpers/vectors.js';

interface CommitmentCase {
  description: string;
  opening: string;
  label_hex: string;
  version: number;
  update_value: { value: string; suffix: { signature?: string } };
  update_value_encoding: string;
  commitment_value: string;
  commitment: string;
}

const VECTORS: { Kc: string; Nc: number; cases: CommitmentCase[] } = vectorJson('keytrans/primitives/commitment.json');

function valueOf(c: CommitmentCase): CommitmentValue {
  const sig = c.update_value.suffix.signature;
  return {
    opening: fromHex(c.opening),
    label: fromHex(c.label_hex),
    version: c.version,
    update: { value: fromHex(c.update_value.value), suffix: sig === undefined ? {} : { signature: fromHex(sig) } },
  };
}

describe('commitments', () => {
  it('use the vectors Kc and Nc in both suites', () => {
    for (const suite of [KT_128_SHA256_P256, KT_128_SHA256_Ed25519]) {
      expect(toHex(suite.commitmentKey)).toBe(VECTORS.Kc);
      expect(suite.openingLength).toBe(VECTORS.Nc);
    }
  });

  it.each(VECTORS.cases.map((c) => [c.description, c] as const))('%s', (_, c) => {
    const value = valueOf(c);
    expect(toHex(encodeUpdateValue(value.update))).toBe(c.update_value_encoding);
    expect(toHex(encodeCommitmentValue(value, VECTORS.Nc))).toBe(c.commitment_value);
    for (const suite of [KT_128_SHA256_P256, KT_128_SHA256_Ed25519]) {
      expect(toHex(computeCommitment(suite, value))).toBe(c.commitment);
      verifyCommitment(suite, fromHex(c.commitment), value);
    }
  });

  it('refuse every change of what they commit to', () => {
    const suite = KT_128_SHA256_Ed25519;
    for (const c of VECTORS.cases) {
      const commitment = fromHex(c.commitment);
      const v = valueOf(c);
      const opening = v.opening.slice();
      opening[15] ^= 1;
      const changed: CommitmentValue[] = [
        { ...v, opening },
        { ...v, label: new Uint8Array([...v.label, 0x61]) },
        { ...v, version: v.version === 0 ? 1 : v.version - 1 },
        { ...v, update: { ...v.update, value: new Uint8Array([...v.update.value, 0]) } },
        { ...v, update: { ...v.update, suffix: v.update.suffix.signature ? {} : { signature: new Uint8Array(0) } } },
      ];
      for (const x of changed) expectKtError(() => verifyCommitment(suite, commitment, x), 'kt_bad_proof');
      const flipped = commitment.slice();
      flipped[0] ^= 0x80;
      expectKtError(() => verifyCommitment(suite, flipped, v), 'kt_bad_proof');
    }
  });

  it('refuse an opening that is not Nc bytes', () => {
    const v = valueOf(VECTORS.cases[0]);
    for (const n of [0, 15, 17, 32])
      expectKtError(() => computeCommitment(KT_128_SHA256_P256, { ...v, opening: new Uint8Array(n) }), 'kt_bad_input');
  });
});
