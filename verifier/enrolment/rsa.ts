/**
 * RSA public keys and RSASSA-PKCS1-v1_5 verification (RFC 8017) in BigInt arithmetic, for the keys of
 * certificate issuers. The key is the RSAPublicKey of a SubjectPublicKeyInfo (RFC 8017 appendix A.1.1, RFC
 * 3279 section 2.3.1), with the bounds OpenSSL puts on it (and so WebCrypto in Node): an odd modulus of at
 * most 16384 bits, an odd exponent in [3, n), of at most 64 bits when the modulus is above 3072 bits. The
 * signature is checked the way RFC 8017 section 8.2.2 describes: exactly k bytes, s < n, m = s^e mod n, and
 * the k-byte encoding of m compared byte for byte with EMSA-PKCS1-v1_5-ENCODE of the message (section 9.2),
 * whose DigestInfo carries the NULL parameters; nothing of the decrypted block is parsed. Variable time is
 * fine: keys, signatures and certificates are public.
 */
import { equalBytes, fromHex } from '../../wasm-free-crypto/bytes.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { sha384, sha512 } from '../../wasm-free-crypto/sha512.js';
import { fail, readChildren, readPositive, readWhole, TAG } from './der.js';

export type HashName = 'SHA-256' | 'SHA-384' | 'SHA-512';

export interface RsaPublicKey {
  n: bigint;
  e: bigint;
  /** The modulus length in bits. */
  bits: number;
}

const MAX_MODULUS_BITS = 16384; // OpenSSL's OPENSSL_RSA_MAX_MODULUS_BITS
const SMALL_MODULUS_BITS = 3072; // above it, OpenSSL allows exponents of at most 64 bits

/** RFC 8017 appendix A.1.1: RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }. */
export function readRsaPublicKey(bytes: Uint8Array): RsaPublicKey {
  const [nt, et, ...rest] = readChildren(bytes, readWhole(bytes, TAG.sequence, 'RSAPublicKey'));
  if (rest.length > 0) fail('RSAPublicKey with more than two fields');
  const n = readPositive(bytes, nt, 'RSA modulus');
  const e = readPositive(bytes, et, 'RSA public exponent');
  return { n, e, bits: n.toString(2).length };
}

/** The bounds of the key, as OpenSSL applies them before any RSA operation (rsa_ossl_public_decrypt). */
function usableKey(key: RsaPublicKey): boolean {
  const eBits = key.e.toString(2).length;
  return (
    key.bits <= MAX_MODULUS_BITS &&
    (key.n & 1n) === 1n &&
    (key.e & 1n) === 1n &&
    key.e >= 3n &&
    key.e < key.n &&
    (key.bits <= SMALL_MODULUS_BITS || eBits <= 64)
  );
}

/** RFC 8017 section 5.2.2 (RSAVP1) with the square-and-multiply exponentiation: base^exp mod m. */
function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = base % m;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}

// RFC 8017 section 9.2, note 1: the DER of DigestInfo up to the digest, for each hash (parameters NULL).
const DIGEST_INFO_PREFIX: Record<HashName, Uint8Array> = {
  'SHA-256': fromHex('3031300d060960864801650304020105000420'),
  'SHA-384': fromHex('3041300d060960864801650304020205000430'),
  'SHA-512': fromHex('3051300d060960864801650304020305000440'),
};
/** The hash functions of the certificate signature algorithms (signatures.ts uses them too). */
export const HASHES: Record<HashName, (m: Uint8Array) => Uint8Array> = {
  'SHA-256': sha256,
  'SHA-384': sha384,
  'SHA-512': sha512,
};

/**
 * RFC 8017 section 9.2, EMSA-PKCS1-v1_5-ENCODE(M, emLen): 0x00 || 0x01 || PS || 0x00 || T, where T is the
 * DigestInfo of H(M) and PS is emLen - tLen - 3 bytes 0xFF (at least 8: emLen >= tLen + 11, step 3).
 */
export function emsaPkcs1v15Encode(hash: HashName, message: Uint8Array, emLen: number): Uint8Array | null {
  const prefix = DIGEST_INFO_PREFIX[hash];
  const digest = HASHES[hash](message);
  const tLen = prefix.length + digest.length;
  if (emLen < tLen + 11) return null; // "intended encoded message length too short"
  const em = new Uint8Array(emLen).fill(0xff, 2, emLen - tLen - 1);
  em[1] = 0x01;
  em.set(prefix, emLen - tLen);
  em.set(digest, emLen - digest.length);
  return em;
}

/** RFC 8017 section 8.2.2: RSASSA-PKCS1-V1_5-VERIFY((n, e), M, S), true only for a valid signature. */
export function verifyRsaPkcs1v15(
  key: RsaPublicKey,
  hash: HashName,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!usableKey(key)) return false;
  const k = Math.ceil(key.bits / 8);
  if (signature.length !== k) return false; // step 1: length checking
  const s = bytesToNumberBE(signature); // step 2a: OS2IP
  if (s >= key.n) return false; // RSAVP1 step 1: "signature representative out of range"
  const em = numberToBytesBE(modPow(s, key.e, key.n), k); // steps 2b-2c: RSAVP1, I2OSP
  const expected = emsaPkcs1v15Encode(hash, message, k); // step 3
  return expected !== null && equalBytes(em, expected); // step 4
}
