/**
 * The public key of a binding statement's key, checked for the algorithm it declares (docs/PROTOCOL.md section
 * 12.3), so that a directory publishes, and a client accepts, only keys that can be used as what they claim to be:
 * - `ed25519`: a canonical RFC 8032 encoding (y < p, no "negative zero"), a point on the curve, not of small
 *   order: the checks provider and owner signing keys get (wasm-free-crypto/signatures.ts);
 * - `p256`: a SEC 1 compressed point (prefix 02 or 03, x < p) that is on the curve;
 * - `x25519`: the canonical encoding of a u-coordinate (below p = 2^255 - 19, so its top bit is clear; RFC 7748
 *   section 5 has receivers mask that bit and reduce, which would give one key several spellings), and not one
 *   of the five u-coordinates of points of small order (on the curve or its twist), with which every X25519
 *   result is all zeros (RFC 7748 section 6.1). Any other u is accepted, also one on the twist: X25519 is
 *   twist-secure and RFC 7748 asks no curve check;
 * - `ml-kem-768`, `ml-dsa-65`: the length only. Every 1,952-byte string is an ML-DSA-65 public key encoding
 *   (FIPS 204: rho and 10-bit coefficients, all values allowed); ML-KEM's modulus check (FIPS 203 section
 *   7.2) is the encapsulating party's, which must make it anyway.
 * The lengths (and the p256 prefix) are the encoding's rules, checked by verifier/formats/statement.ts before these.
 */
import { equalBytes, fromHex } from '../../wasm-free-crypto/bytes.js';
import { normalizePublicKey } from '../../wasm-free-crypto/signatures.js';
import type { KeyAlgorithm } from './statement.js';

// RFC 7748: the u-coordinates (little-endian) of the points of order 1, 2, 4 and 8 on Curve25519 and its twist:
// 0, 1, the two of order 8 and p - 1; the images of the Edwards 8-torsion points and the twist's point of order 4.
const X25519_SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map(fromHex);

/** Whether 32 little-endian bytes are a canonical field element: below p = 2^255 - 19 (top bit clear). */
function isCanonicalX25519(u: Uint8Array): boolean {
  if (u[31] & 0x80) return false;
  if (u[31] !== 0x7f || u[0] < 0xed) return true;
  for (let i = 1; i < 31; i++) if (u[i] !== 0xff) return true;
  return false; // 2^255 - 19 .. 2^255 - 1
}

// Ed25519 and P-256 keys found valid, most recently used last: a point decoding costs about 0.1 ms, and the same
// keys come back (a client verifying an account again, an owner's monitor). Public data; only valid keys are kept.
const validPoints = new Map<string, true>();
const VALID_POINTS = 256;

/** Whether an Ed25519 or P-256 key decodes to a valid point (wasm-free-crypto/signatures.ts), or why not. */
function pointProblem(algorithm: 'ed25519' | 'p256', publicKey: Uint8Array): string | undefined {
  const id = algorithm + String.fromCharCode.apply(null, publicKey as unknown as number[]);
  if (validPoints.delete(id)) {
    validPoints.set(id, true);
    return undefined;
  }
  try {
    normalizePublicKey(algorithm, publicKey);
  } catch (e) {
    return (e as Error).message;
  }
  validPoints.set(id, true);
  if (validPoints.size > VALID_POINTS) validPoints.delete(validPoints.keys().next().value!);
  return undefined;
}

/**
 * Why `publicKey` is not a valid key of `algorithm`, or undefined when it is. The key has the algorithm's length
 * (and a p256 key its compressed prefix): the statement's encoding checked that first.
 */
export function publicKeyProblem(algorithm: KeyAlgorithm, publicKey: Uint8Array): string | undefined {
  switch (algorithm) {
    case 'ed25519':
    case 'p256':
      return pointProblem(algorithm, publicKey);
    case 'x25519':
      if (!isCanonicalX25519(publicKey)) return 'X25519 public key is not canonical (not below 2^255 - 19)';
      if (X25519_SMALL_ORDER.some((s) => equalBytes(s, publicKey))) return 'small-order X25519 public key';
      return undefined;
    default:
      return undefined;
  }
}
