/**
 * ECVRF-P256-SHA256-TAI (RFC 9381 section 5.5, suite_string 0x01), verification only: proofs are 81 bytes
 * (Gamma as a 33-byte SEC 1 compressed point || c in 16 bytes || s in 32 bytes, big-endian) and outputs (beta) are
 * the 32 bytes of SHA-256. Hash-to-curve is try-and-increment (5.4.1.1) with interpret_hash_value_as_a_point(s) =
 * string_to_point(0x02 || s); public keys are 33-byte compressed points, validated (validate_key = TRUE, 5.4.5)
 * and decoded strictly (on the curve, x < p, the round trip through the compressed encoding exact). The point
 * arithmetic is @noble/curves' short Weierstrass code over the P-256 of ecdsa.ts, without noble's ECDSA object;
 * every value it touches is public, so variable-time multiplication is fine. Proving (with RFC 6979 nonces) is
 * not here: a client only verifies. Every failure throws the `VrfError` of vrf.ts with a stable code.
 */
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { concatBytes, equalBytes } from './bytes.js';
import { nistCurve } from './ecdsa.js';
import { sha256 } from './sha256.js';
import { VrfError } from './vrf.js';

type Point = WeierstrassPoint<bigint>;

const P256 = nistCurve('p256');
const Q: bigint = P256.Fn.ORDER; // q, the prime order of G; the cofactor is 1
const SUITE = Uint8Array.of(0x01); // suite_string, 5.5
const PT_LEN = 33; // ptLen = fLen + 1, 5.5
const C_LEN = 16; // cLen, 5.5
const Q_LEN = 32; // qLen, 5.5
/** ptLen + cLen + qLen (RFC 9381 5.5). */
export const VRF_P256_PROOF_LENGTH = PT_LEN + C_LEN + Q_LEN;
/** hLen of SHA-256 (RFC 9381 5.5). */
export const VRF_P256_OUTPUT_LENGTH = 32;
const ZERO_BYTE = Uint8Array.of(0x00); // every *_domain_separator_back
const ENCODE_FRONT = Uint8Array.of(0x01); // 5.4.1.1
const CHALLENGE_FRONT = Uint8Array.of(0x02); // 5.4.3
const PROOF_TO_HASH_FRONT = Uint8Array.of(0x03); // 5.2
const EVEN_Y = Uint8Array.of(0x02); // interpret_hash_value_as_a_point's prefix, 5.5

/** string_to_point (5.5, SEC 1 2.3.4) restricted to compressed points, exact; null for INVALID. */
function stringToPoint(bytes: Uint8Array): Point | null {
  if (bytes.length !== PT_LEN || (bytes[0] !== 2 && bytes[0] !== 3)) return null;
  let point: Point;
  try {
    point = P256.fromBytes(bytes);
  } catch {
    return null;
  }
  return equalBytes(point.toBytes(true), bytes) ? point : null;
}

/** point_to_string (5.5): SEC 1 2.3.3 with compression; the identity has no such encoding (INVALID). */
function pointToString(point: Point): Uint8Array {
  if (point.is0()) throw new VrfError('vrf_verify_failed', 'the identity point has no encoding');
  return point.toBytes(true);
}

/** RFC 9381 5.4.1.1 ECVRF_encode_to_curve_try_and_increment, salt = PK_string; H as its point. */
function encodeToCurve(pkString: Uint8Array, alpha: Uint8Array): Point {
  for (let ctr = 0; ctr < 256; ctr++) {
    const hashString = sha256(SUITE, ENCODE_FRONT, pkString, alpha, Uint8Array.of(ctr), ZERO_BYTE); // 5a-5b
    const H = stringToPoint(concatBytes(EVEN_Y, hashString)); // 5c (cofactor 1: 5d is nothing)
    if (H !== null) return H;
  }
  throw new VrfError('vrf_encode_failed', 'try-and-increment found no point within 256 attempts');
}

/**
 * RFC 9381 5.4.1.1 exposed for tests: H = encode_to_curve(PK_string, alpha) as its 33-byte point_to_string.
 */
export function encodeToCurveTaiP256(publicKey: Uint8Array, alpha: Uint8Array): Uint8Array {
  if (stringToPoint(publicKey) === null) throw new VrfError('vrf_bad_public_key', 'not a compressed P-256 point');
  return pointToString(encodeToCurve(publicKey, alpha));
}

/** RFC 9381 5.4.3 ECVRF_challenge_generation: the first cLen bytes of the hash (c, big-endian). */
function challengeGeneration(...points: Point[]): Uint8Array {
  const cString = sha256(SUITE, CHALLENGE_FRONT, ...points.map(pointToString), ZERO_BYTE); // steps 1-6
  return cString.slice(0, C_LEN); // steps 7-8
}

/** RFC 9381 5.4.4 ECVRF_decode_proof, strict: exact length, canonical compressed Gamma, s < q. */
function decodeProof(pi: Uint8Array): { Gamma: Point; cString: Uint8Array; c: bigint; s: bigint } {
  if (pi.length !== VRF_P256_PROOF_LENGTH)
    throw new VrfError('vrf_bad_proof', `proof must be ${VRF_P256_PROOF_LENGTH} bytes, got ${pi.length}`);
  const Gamma = stringToPoint(pi.subarray(0, PT_LEN)); // steps 1, 4
  if (Gamma === null) throw new VrfError('vrf_bad_proof', 'proof Gamma is not a compressed P-256 point'); // 5
  const cString = pi.slice(PT_LEN, PT_LEN + C_LEN); // step 2
  const c = bytesToNumberBE(cString); // step 6
  const s = bytesToNumberBE(pi.subarray(PT_LEN + C_LEN)); // steps 3, 7
  if (s >= Q) throw new VrfError('vrf_bad_proof', 'proof scalar s is not reduced mod q'); // step 8
  return { Gamma, cString, c, s };
}

/** RFC 9381 5.2 steps 4-7: beta = SHA-256(suite || 0x03 || point_to_string(cofactor * Gamma) || 0x00). */
function gammaToHash(Gamma: Point): Uint8Array {
  return sha256(SUITE, PROOF_TO_HASH_FRONT, pointToString(Gamma), ZERO_BYTE);
}

/** The point U or V of 5.3 steps 8-9: s·A - c·B (Strauss-Shamir; both scalars public and below q). */
function combination(A: Point, s: bigint, B: Point, c: bigint): Point {
  return A.mulAddUnsafe(s, B, P256.Fn.create(-c));
}

/**
 * RFC 9381 5.3 ECVRF_verify with validate_key = TRUE: beta (32 bytes) when the proof is valid, VrfError
 * otherwise ('vrf_bad_public_key', 'vrf_bad_proof', 'vrf_verify_failed').
 */
export function vrfVerifyP256(publicKey: Uint8Array, alpha: Uint8Array, pi: Uint8Array): Uint8Array {
  const Y = stringToPoint(publicKey); // steps 1-2; 5.4.5: the identity has no compressed encoding
  if (Y === null) throw new VrfError('vrf_bad_public_key', 'public key is not a compressed P-256 point');
  const { Gamma, cString, c, s } = decodeProof(pi); // steps 4-6
  const H = encodeToCurve(publicKey, alpha); // step 7
  const U = combination(P256.BASE, s, Y, c); // step 8
  const V = combination(H, s, Gamma, c); // step 9
  const cPrime = challengeGeneration(Y, H, Gamma, U, V); // step 10
  if (!equalBytes(cString, cPrime)) throw new VrfError('vrf_verify_failed', 'VRF proof does not verify'); // 11
  return gammaToHash(Gamma);
}

/** RFC 9381 5.2 ECVRF_proof_to_hash, for proofs already verified (or produced) by the caller. */
export function vrfProofToHashP256(pi: Uint8Array): Uint8Array {
  return gammaToHash(decodeProof(pi).Gamma);
}
