/**
 * ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381, suite_string 0x03): a verifiable random function whose
 * proofs are 80 bytes (Gamma || c || s) and whose outputs (beta) are 64 bytes. Keys are RFC 8032
 * Ed25519 seeds and public keys; hash-to-curve is try-and-increment (5.4.1.1), the nonce is derived
 * as in RFC 8032 (5.4.2.2) and all integers are little-endian. Verification always validates the
 * public key (validate_key = TRUE, 5.4.5) and decodes points strictly per RFC 8032 5.1.3 (no
 * ZIP-215 leniency: y >= p and x = 0 with the sign bit set are rejected). The group is noble's Edwards
 * arithmetic (ed25519-point.ts). Multiplications by the secret scalar x and the nonce k use noble's
 * constant-time `Point.multiply`; `multiplyUnsafe` only touches public values during verification. Every failure throws a `VrfError` with a stable code.
 * Pure JavaScript (@noble/curves, @noble/hashes); no `Buffer`, no platform crypto, no WASM.
 */
import { CodedError } from './errors.js';
import { concatBytes, equalBytes } from './bytes.js';
import { ED25519_POINT, type EdwardsPoint } from './ed25519-point.js';
import { sha512 } from './sha512.js';

export type VrfErrorCode =
  | 'vrf_bad_proof'
  | 'vrf_bad_public_key'
  | 'vrf_bad_secret_key'
  | 'vrf_bad_input'
  | 'vrf_verify_failed'
  | 'vrf_encode_failed';

/** A typed VRF failure. */
export class VrfError extends CodedError<VrfErrorCode> {
  override readonly name = 'VrfError';
}

/** ptLen + cLen + qLen = 32 + 16 + 32 (RFC 9381 5.5). */
export const VRF_PROOF_LENGTH = 80;
/** hLen of SHA-512 (RFC 9381 5.5). */
export const VRF_OUTPUT_LENGTH = 64;

const Point = ED25519_POINT;
const SUITE = Uint8Array.of(0x03); // suite_string, 5.5
const PT_LEN = 32; // ptLen = fLen, 5.5
const C_LEN = 16; // cLen, 5.5
const Q_LEN = 32; // qLen, 5.5
const SECRET_KEY_LENGTH = 32; // RFC 8032 5.1.5 seed
const Q: bigint = Point.Fn.ORDER; // q, prime order of G
const ZERO_BYTE = Uint8Array.of(0x00); // every *_domain_separator_back
const ENCODE_FRONT = Uint8Array.of(0x01); // encode_to_curve_domain_separator_front, 5.4.1.1
const CHALLENGE_FRONT = Uint8Array.of(0x02); // challenge_generation_domain_separator_front, 5.4.3
const PROOF_TO_HASH_FRONT = Uint8Array.of(0x03); // proof_to_hash_domain_separator_front, 5.2

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array || (ArrayBuffer.isView(value) && value.constructor.name === 'Uint8Array');
}

/** Checks that `value` is a Uint8Array (of `length` bytes, if given), else throws `code`. */
function requireBytes(value: unknown, length: number | undefined, code: VrfErrorCode, what: string): Uint8Array {
  if (!isBytes(value)) throw new VrfError(code, `${what} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) {
    throw new VrfError(code, `${what} must be ${length} bytes, got ${value.length}`);
  }
  return value;
}

/** string_to_int (5.5): little-endian. */
function bytesToIntLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/** int_to_string(n, len) (5.5, RFC 8032 5.1.2): little-endian, `n` must fit. */
function intToBytesLE(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/**
 * string_to_point (5.5): strict RFC 8032 5.1.3 decoding, returning null for INVALID. noble's
 * non-ZIP-215 `fromBytes` already rejects y >= p and (x = 0, x_0 = 1); the round trip through
 * `toBytes` re-checks canonicity explicitly so no non-canonical string is ever accepted.
 */
function stringToPoint(bytes: Uint8Array): EdwardsPoint | null {
  if (bytes.length !== PT_LEN) return null;
  let point: EdwardsPoint;
  try {
    point = Point.fromBytes(bytes, false);
  } catch {
    return null;
  }
  return equalBytes(point.toBytes(), bytes) ? point : null;
}

/** Constant-time `scalar * point` for secret scalars (x, k); 0 <= scalar < q. */
function multiplySecret(point: EdwardsPoint, scalar: bigint): EdwardsPoint {
  // noble's multiply rejects 0; k = 0 has probability ~2^-252 and x mod q is never 0 for a clamped
  // RFC 8032 scalar, but the spec defines 0 * P as the identity, so honour it.
  if (scalar === 0n) return Point.ZERO;
  return point.multiply(scalar);
}

/** RFC 9381 5.4.1.1 ECVRF_encode_to_curve_try_and_increment, salt = PK_string (5.5). */
function encodeToCurve(pkString: Uint8Array, alpha: Uint8Array): { H: EdwardsPoint; ctr: number } {
  // Step 5: loop while H is INVALID or the identity; ctr_string is one byte, so stop at 256
  // (probability ~2^-256, 5.4.1.1 note).
  for (let ctr = 0; ctr < 256; ctr++) {
    const ctrString = Uint8Array.of(ctr); // 5a
    const hashString = sha512(SUITE, ENCODE_FRONT, pkString, alpha, ctrString, ZERO_BYTE); // 5b
    // 5c: interpret_hash_value_as_a_point(s) = string_to_point(s[0]...s[31]) (5.5)
    const candidate = stringToPoint(hashString.subarray(0, PT_LEN));
    if (candidate === null) continue;
    const H = candidate.clearCofactor(); // 5d: H = cofactor * H, cofactor = 8
    if (!H.is0()) return { H, ctr };
  }
  throw new VrfError('vrf_encode_failed', 'try-and-increment found no point within 256 attempts');
}

/**
 * RFC 9381 5.4.1.1 exposed for tests: H = encode_to_curve(PK_string, alpha) as its 32-byte
 * point_to_string, and the ctr value on which try-and-increment succeeded.
 */
export function encodeToCurveTai(publicKey: Uint8Array, alpha: Uint8Array): { point: Uint8Array; ctr: number } {
  const pk = requireBytes(publicKey, PT_LEN, 'vrf_bad_public_key', 'public key');
  const a = requireBytes(alpha, undefined, 'vrf_bad_input', 'alpha');
  const { H, ctr } = encodeToCurve(pk, a);
  return { point: H.toBytes(), ctr };
}

/** RFC 9381 5.4.2.2 ECVRF_nonce_generation_RFC8032 (RFC 8032 5.1.6 steps 2-3): k in [0, q). */
export function nonceGeneration(secretKey: Uint8Array, hString: Uint8Array): bigint {
  const sk = requireBytes(secretKey, SECRET_KEY_LENGTH, 'vrf_bad_secret_key', 'secret key');
  const h = requireBytes(hString, undefined, 'vrf_bad_input', 'h_string');
  const hashedSk = sha512(sk); // step 1
  const truncatedHashedSk = hashedSk.subarray(32, 64); // step 2
  const kString = sha512(truncatedHashedSk, h); // step 3
  return bytesToIntLE(kString) % Q; // step 4
}

/** RFC 9381 5.4.3 ECVRF_challenge_generation; returns truncated_c_string (cLen bytes, c in LE). */
function challengeGeneration(...points: EdwardsPoint[]): Uint8Array {
  const parts: Uint8Array[] = [SUITE, CHALLENGE_FRONT]; // steps 1-2
  for (const p of points) parts.push(p.toBytes()); // step 3: point_to_string(PJ)
  parts.push(ZERO_BYTE); // steps 4-5
  const cString = sha512(...parts); // step 6
  return cString.slice(0, C_LEN); // steps 7-8 (c = string_to_int of these bytes)
}

/** RFC 9381 5.4.4 ECVRF_decode_proof, strict: exact length, canonical Gamma, s < q. */
function decodeProof(pi: unknown): { Gamma: EdwardsPoint; cString: Uint8Array; c: bigint; s: bigint } {
  const proof = requireBytes(pi, VRF_PROOF_LENGTH, 'vrf_bad_proof', 'proof');
  const gammaString = proof.subarray(0, PT_LEN); // step 1
  const cString = proof.slice(PT_LEN, PT_LEN + C_LEN); // step 2
  const sString = proof.subarray(PT_LEN + C_LEN, PT_LEN + C_LEN + Q_LEN); // step 3
  const Gamma = stringToPoint(gammaString); // step 4
  if (Gamma === null) throw new VrfError('vrf_bad_proof', 'proof Gamma is not a canonical curve point'); // 5
  const c = bytesToIntLE(cString); // step 6
  const s = bytesToIntLE(sString); // step 7
  if (s >= Q) throw new VrfError('vrf_bad_proof', 'proof scalar s is not reduced mod q'); // step 8
  return { Gamma, cString, c, s }; // step 9
}

/** RFC 9381 5.3 steps 1-3 with 5.4.5 ECVRF_validate_key: canonical encoding, not of small order. */
function decodePublicKey(publicKey: unknown): EdwardsPoint {
  const pk = requireBytes(publicKey, PT_LEN, 'vrf_bad_public_key', 'public key');
  const Y = stringToPoint(pk); // 5.3 step 1
  if (Y === null) throw new VrfError('vrf_bad_public_key', 'public key is not a canonical curve point'); // step 2
  // 5.4.5: Y' = cofactor * Y; INVALID if Y' is the identity (the 8 torsion points).
  if (Y.clearCofactor().is0()) throw new VrfError('vrf_bad_public_key', 'public key has small order');
  return Y;
}

/** RFC 9381 5.2 steps 4-7: beta = Hash(suite || 0x03 || point_to_string(cofactor * Gamma) || 0x00). */
function gammaToHash(Gamma: EdwardsPoint): Uint8Array {
  return sha512(SUITE, PROOF_TO_HASH_FRONT, Gamma.clearCofactor().toBytes(), ZERO_BYTE);
}

/**
 * RFC 9381 5.5 / RFC 8032 5.1.5: the secret scalar x of a 32-byte seed (the first half of SHA-512(SK),
 * clamped, reduced mod q) and the public key Y = x*B with its 32-byte encoding.
 */
function expandSecretKey(sk: Uint8Array): { x: bigint; Y: EdwardsPoint; pkString: Uint8Array } {
  const head = sha512(sk).subarray(0, 32);
  head[0] &= 248; // clear the cofactor bits
  head[31] &= 127; // clear bit 255
  head[31] |= 64; // set bit 254
  const x = bytesToIntLE(head) % Q;
  const Y = multiplySecret(Point.BASE, x);
  return { x, Y, pkString: Y.toBytes() };
}

/** RFC 9381 5.5 / RFC 8032 5.1.5: the 32-byte public key of a 32-byte secret key (seed). */
export function vrfPublicKey(secretKey: Uint8Array): Uint8Array {
  const sk = requireBytes(secretKey, SECRET_KEY_LENGTH, 'vrf_bad_secret_key', 'secret key');
  return expandSecretKey(sk).pkString;
}

/** RFC 9381 5.1 ECVRF_prove: pi = point_to_string(Gamma) || int_to_string(c, 16) || int_to_string(s, 32). */
export function vrfProve(secretKey: Uint8Array, alpha: Uint8Array): Uint8Array {
  return proveWithGamma(secretKey, alpha).proof;
}

/**
 * The proof of `alpha` (5.1) and its output beta (5.2 steps 4-7), beta computed from the Gamma the proof
 * step already holds rather than decoded again from the proof: equal to `vrfProofToHash(vrfProve(...))`.
 */
export function vrfEvaluate(secretKey: Uint8Array, alpha: Uint8Array): { proof: Uint8Array; output: Uint8Array } {
  const { proof, Gamma } = proveWithGamma(secretKey, alpha);
  return { proof, output: gammaToHash(Gamma) };
}

function proveWithGamma(secretKey: Uint8Array, alpha: Uint8Array): { proof: Uint8Array; Gamma: EdwardsPoint } {
  const sk = requireBytes(secretKey, SECRET_KEY_LENGTH, 'vrf_bad_secret_key', 'secret key');
  const a = requireBytes(alpha, undefined, 'vrf_bad_input', 'alpha');
  // Step 1 (5.5: RFC 8032 5.1.5): x = clamped SHA-512(SK)[0..31] (reduced mod q), Y = x*B.
  const { x, Y, pkString } = expandSecretKey(sk);
  const { H } = encodeToCurve(pkString, a); // step 2 (5.4.1.1, salt = PK_string)
  const hString = H.toBytes(); // step 3
  const Gamma = multiplySecret(H, x); // step 4
  const k = nonceGeneration(sk, hString); // step 5 (5.4.2.2)
  const kB = multiplySecret(Point.BASE, k);
  const kH = multiplySecret(H, k);
  const cString = challengeGeneration(Y, H, Gamma, kB, kH); // step 6 (5.4.3)
  const c = bytesToIntLE(cString);
  const s = (k + c * x) % Q; // step 7
  return { proof: concatBytes(Gamma.toBytes(), cString, intToBytesLE(s, Q_LEN)), Gamma }; // steps 8-9
}

/**
 * RFC 9381 5.2 ECVRF_proof_to_hash: beta (64 bytes) from a proof, decoded strictly (5.4.4).
 * Like the RFC says, only use this on proofs you produced or have verified; `vrfVerify` returns beta.
 */
export function vrfProofToHash(pi: Uint8Array): Uint8Array {
  const { Gamma } = decodeProof(pi); // steps 1-3
  return gammaToHash(Gamma); // steps 4-7
}

/**
 * RFC 9381 5.3 ECVRF_verify with validate_key = TRUE (the only option supported). Returns beta
 * when the proof is valid; otherwise throws VrfError (never returns a boolean).
 */
export function vrfVerify(publicKey: Uint8Array, alpha: Uint8Array, pi: Uint8Array): Uint8Array {
  const Y = decodePublicKey(publicKey); // steps 1-3 (5.4.5)
  const a = requireBytes(alpha, undefined, 'vrf_bad_input', 'alpha');
  const { Gamma, cString, c, s } = decodeProof(pi); // steps 4-6 (5.4.4)
  // Step 7: PK_string is the canonical encoding of Y (checked by stringToPoint).
  const { H } = encodeToCurve(publicKey, a);
  // All inputs below are public, so variable-time multiplication is fine; 0 <= s < q, c < 2^128 < q.
  const U = Point.BASE.multiplyUnsafe(s).subtract(Y.multiplyUnsafe(c)); // step 8
  const V = H.multiplyUnsafe(s).subtract(Gamma.multiplyUnsafe(c)); // step 9
  const cPrime = challengeGeneration(Y, H, Gamma, U, V); // step 10 (5.4.3)
  if (!equalBytes(cString, cPrime)) throw new VrfError('vrf_verify_failed', 'VRF proof does not verify'); // step 11
  return gammaToHash(Gamma); // step 11: ECVRF_proof_to_hash(pi_string)
}
