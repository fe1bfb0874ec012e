/**
 * ECDSA verification (wasm-free-crypto/ecdsa.ts) against Project Wycheproof's known answers, a source
 * independent of @noble/curves: the IEEE P1363 (r||s) verification vectors of P-256 with SHA-256 and
 * SHA-512, P-384 with SHA-384 and SHA-512, and P-521 with SHA-512 (test/vectors/wycheproof/, copied byte
 * for byte; commit and licence in test/vectors/README.md). Every case is run: the message is hashed with
 * the file's hash, the group's uncompressed SEC 1 key decoded (a key that does not decode rejects), and
 * the signature split into r and s of the curve's size (a signature of another length is not a P1363
 * signature, so it is rejected before ecdsaVerifyDigest; if one of its halves is n or more, the verifier
 * must refuse it too). The verdict must be Wycheproof's for "valid" and "invalid" cases, and noble's
 * verify's for "acceptable" ones (the files of this commit have none). Disagreements are collected and
 * compared with the empty list, so that a failure names every case (a verifier that throws is one).
 */
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { bytesToNumberBE, hexToBytes } from '@noble/curves/utils.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { decodeNistPublicKey, ecdsaVerifyDigest, nistCurve, type NistCurve } from '../../wasm-free-crypto/ecdsa.js';
import { vectorJson } from '../helpers/vectors.js';

/** The fields of Wycheproof's ecdsa_p1363_verify_schema_v1.json that the test reads. */
interface WycheproofFile {
  algorithm: string;
  schema: string;
  numberOfTests: number;
  testGroups: {
    type: string;
    sha: string;
    publicKey: { curve: string; uncompressed: string };
    tests: { tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: string }[];
  }[];
}

const FILES: { file: string; curve: NistCurve; name: string; sha: 'SHA-256' | 'SHA-384' | 'SHA-512' }[] = [
  { file: 'ecdsa_secp256r1_sha256_p1363_test.json', curve: 'p256', name: 'secp256r1', sha: 'SHA-256' },
  { file: 'ecdsa_secp256r1_sha512_p1363_test.json', curve: 'p256', name: 'secp256r1', sha: 'SHA-512' },
  { file: 'ecdsa_secp384r1_sha384_p1363_test.json', curve: 'p384', name: 'secp384r1', sha: 'SHA-384' },
  { file: 'ecdsa_secp384r1_sha512_p1363_test.json', curve: 'p384', name: 'secp384r1', sha: 'SHA-512' },
  { file: 'ecdsa_secp521r1_sha512_p1363_test.json', curve: 'p521', name: 'secp521r1', sha: 'SHA-512' },
];
const HASHES = { 'SHA-256': sha256, 'SHA-384': sha384, 'SHA-512': sha512 };
const NOBLE = { p256, p384, p521 };

describe.each(FILES)('Wycheproof $file', ({ file, curve, name, sha }) => {
  it('verifies as Wycheproof says', () => {
    const data = vectorJson<WycheproofFile>(`wycheproof/${file}`);
    expect(data.algorithm).toBe('ECDSA');
    expect(data.schema).toBe('ecdsa_p1363_verify_schema_v1.json');
    const hash = HASHES[sha];
    const n = nistCurve(curve).Fn.ORDER;
    const size = nistCurve(curve).Fn.BYTES;
    const count = { cases: 0, verified: 0, wrongSize: 0, keyRejected: 0, acceptable: 0 };
    const disagreements: string[] = [];
    for (const group of data.testGroups) {
      expect(group.type).toBe('EcdsaP1363Verify');
      expect(group.sha).toBe(sha);
      expect(group.publicKey.curve).toBe(name);
      const keyBytes = hexToBytes(group.publicKey.uncompressed);
      let key: ReturnType<typeof decodeNistPublicKey> | undefined;
      try {
        key = decodeNistPublicKey(curve, keyBytes);
      } catch {
        key = undefined;
      }
      for (const t of group.tests) {
        count.cases++;
        const digest = hash(hexToBytes(t.msg));
        const sig = hexToBytes(t.sig);
        /** ecdsaVerifyDigest on (r, s); a throw is recorded as a disagreement and read as a rejection. */
        const verify = (r: bigint, s: bigint): boolean => {
          try {
            return ecdsaVerifyDigest(curve, key!, digest, r, s);
          } catch (e) {
            disagreements.push(`tcId ${t.tcId} (${t.comment}): throws ${(e as Error).message}`);
            return false;
          }
        };
        let ours: boolean;
        if (key === undefined) {
          count.keyRejected++;
          ours = false;
        } else if (sig.length !== 2 * size) {
          count.wrongSize++;
          ours = false;
          if (sig.length > 0 && sig.length % 2 === 0) {
            const r = bytesToNumberBE(sig.subarray(0, sig.length / 2));
            const s = bytesToNumberBE(sig.subarray(sig.length / 2));
            if ((r >= n || s >= n) && verify(r, s)) {
              disagreements.push(`tcId ${t.tcId} (${t.comment}): r or s of n or more verifies`);
            }
          }
        } else {
          count.verified++;
          ours = verify(bytesToNumberBE(sig.subarray(0, size)), bytesToNumberBE(sig.subarray(size)));
        }
        let expected: boolean;
        if (t.result === 'valid') expected = true;
        else if (t.result === 'invalid') expected = false;
        else {
          expect(t.result).toBe('acceptable');
          count.acceptable++;
          try {
            expected = NOBLE[curve].verify(sig, digest, keyBytes, { prehash: false, lowS: false, format: 'compact' });
          } catch {
            expected = false;
          }
        }
        if (ours !== expected) {
          disagreements.push(
            `tcId ${t.tcId} (${t.comment}; ${t.flags.join(', ')}): ${t.result}, ours ${ours ? 'accepts' : 'rejects'}`,
          );
        }
      }
    }
    expect(disagreements).toEqual([]);
    expect(count.cases).toBe(data.numberOfTests);
    expect(count.verified).toBeGreaterThan(0);
    expect(count.verified + count.wrongSize + count.keyRejected).toBe(count.cases);
  });
});
