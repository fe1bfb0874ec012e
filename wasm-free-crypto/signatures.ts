/**
 * Provider and owner signatures: Ed25519 (RFC 8032) and ECDSA P-256 with SHA-256 (FIPS 186-5), behind one
 * `verifySignatureSync` in pure JavaScript (@noble/curves) and one async `verifySignature` that uses the
 * platform's WebCrypto (Node 20, browsers, Workers) after the same strict pre-checks, so that both give the
 * same answer on every input (tested on valid, bit-flipped, malleated and degenerate signatures and keys).
 * Ed25519 follows the W3C WebCrypto Secure Curves rules, which are RFC 8032 section 5.1.7 made strict:
 * canonical encodings only, small-order A and R refused, s < L, and the cofactorless equation
 * [S]B = R + [k]A' (the one OpenSSL, BoringSSL and CryptoKit implement); anything accepted here is therefore
 * accepted by every mainstream verifier, cofactored or not. ECDSA accepts low and high S (FIPS 186-5 does not
 * normalise S) but refuses r or s outside [1, n-1]. A malformed public key, a signature of the wrong length
 * or an unknown algorithm throws a `SignatureError`; a signature that merely does not verify returns false.
 */
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { bytesToNumberBE, bytesToNumberLE } from '@noble/curves/utils.js';
import { equalBytes, fromHex, toHex } from './bytes.js';
import { decodeNistPublicKey, ecdsaVerifyDigest, nistCurve } from './ecdsa.js';
import { CodedError } from './errors.js';
import { ED25519_L, ED25519_POINT } from './ed25519-point.js';
import { sha256 } from './sha256.js';
import { sha512 } from './sha512.js';

/** The signature algorithms a provider or an owner key may use. */
export type SignatureAlgorithm = 'ed25519' | 'p256';

export type SignatureErrorCode = 'bad_public_key' | 'bad_secret_key' | 'bad_signature_encoding' | 'unknown_algorithm';

/** A malformed key or signature, or an unknown algorithm. */
export class SignatureError extends CodedError<SignatureErrorCode> {
  override readonly name = 'SignatureError';
}

/** Signature length in bytes: Ed25519 R || S (RFC 8032 section 5.1.6), P-256 IEEE P1363 r || s. */
export const SIGNATURE_LENGTH = 64;

/** True when `alg` names a supported algorithm (for strings read from untrusted input). */
export function isSignatureAlgorithm(alg: unknown): alg is SignatureAlgorithm {
  return alg === 'ed25519' || alg === 'p256';
}

function checkAlgorithm(alg: unknown): asserts alg is SignatureAlgorithm {
  if (!isSignatureAlgorithm(alg))
    throw new SignatureError('unknown_algorithm', `unknown signature algorithm ${JSON.stringify(alg)}`);
}

// ---------------------------------------------------------------------------------------------------
// Ed25519 strict pre-checks (byte-level, no field arithmetic, shared by both paths)

/** RFC 8032 section 5.1: L, the prime order of the base point (ed25519-point.ts). */
export { ED25519_L };

// The eight canonical encodings of the points of order 1, 2, 4 and 8 (the whole 8-torsion subgroup).
const ED25519_SMALL_ORDER = ED25519_TORSION_SUBGROUP.map((h) => fromHex(h));

/**
 * RFC 8032 section 5.1.3 decoding is canonical only when y < p = 2^255 - 19 and the sign bit is not set on
 * a point with x = 0 (y = 1 or y = p - 1, the only points with x = 0). Checks both on the bytes alone.
 */
function isCanonicalEd25519Point(b: Uint8Array): boolean {
  let allOnes = (b[31] & 0x7f) === 0x7f;
  for (let i = 1; i < 31 && allOnes; i++) allOnes = b[i] === 0xff;
  if (allOnes && b[0] >= 0xed) return false; // y >= p
  if ((b[31] & 0x80) === 0) return true;
  let yIsOne = b[0] === 1;
  for (let i = 1; i < 31 && yIsOne; i++) yIsOne = b[i] === 0;
  yIsOne &&= (b[31] & 0x7f) === 0;
  const yIsPMinusOne = allOnes && b[0] === 0xec;
  return !(yIsOne || yIsPMinusOne); // x = 0 with sign bit 1: "-0"
}

const { p: ED_P, d: ED_D } = ED25519_POINT.CURVE();
const Y_MASK = (1n << 255n) - 1n;

/**
 * The Jacobi symbol (a/n) for an odd n > 0: 1, -1 or 0 (a multiple of n). For a prime n it is Legendre's
 * symbol, 1 exactly when a is a non-zero square mod n. The binary algorithm (Cohen, "A Course in
 * Computational Algebraic Number Theory", algorithm 1.4.10), about 4 times faster here than an
 * exponentiation mod p.
 */
function jacobiSymbol(a: bigint, n: bigint): number {
  let t = 1;
  a %= n;
  while (a !== 0n) {
    while ((a & 1n) === 0n) {
      a >>= 1n;
      const r = n & 7n;
      if (r === 3n || r === 5n) t = -t; // (2/n) = -1 for n = 3 or 5 mod 8
    }
    [a, n] = [n, a]; // quadratic reciprocity: the sign flips when both are 3 mod 4
    if ((a & 3n) === 3n && (n & 3n) === 3n) t = -t;
    a %= n;
  }
  return n === 1n ? t : 0;
}

/**
 * Whether the canonical encoding `b` (see isCanonicalEd25519Point) names a point of the curve, without
 * computing it: RFC 8032 section 5.1.3 step 2 finds x from x^2 = u/v, u = y^2 - 1, v = d y^2 + 1 (v is never
 * 0), and fails exactly when u/v, equivalently u*v, is not a square mod p. u = 0 is x = 0, a point.
 */
function isEd25519PointEncoding(b: Uint8Array): boolean {
  const y = bytesToNumberLE(b) & Y_MASK; // the sign bit cleared
  const y2 = (y * y) % ED_P;
  const u = (y2 + ED_P - 1n) % ED_P;
  return u === 0n || jacobiSymbol((u * ((ED_D * y2 + 1n) % ED_P)) % ED_P, ED_P) === 1;
}

/** Throws 'bad_public_key' for a canonical Ed25519 key that names no curve point. */
function checkEd25519OnCurve(publicKey: Uint8Array): void {
  if (!isEd25519PointEncoding(publicKey))
    throw new SignatureError('bad_public_key', 'Ed25519 public key is not a curve point');
}

function isSmallOrderEd25519Point(b: Uint8Array): boolean {
  let found = false;
  for (const p of ED25519_SMALL_ORDER) found = equalBytes(p, b) || found;
  return found;
}

/** Throws for a public key that can never verify anything: wrong length, non-canonical, small order. */
function checkEd25519PublicKey(publicKey: Uint8Array): void {
  if (publicKey.length !== 32) throw new SignatureError('bad_public_key', 'Ed25519 public key must be 32 bytes');
  if (!isCanonicalEd25519Point(publicKey))
    throw new SignatureError('bad_public_key', 'non-canonical Ed25519 public key');
  if (isSmallOrderEd25519Point(publicKey)) throw new SignatureError('bad_public_key', 'small-order Ed25519 public key');
}

/**
 * The pre-checks both paths run before the group equation. Throws on a malformed key or a signature of the
 * wrong length; returns false when R is non-canonical or of small order or when s >= L (RFC 8032 section
 * 5.1.7 step 1, made strict as the WebCrypto Secure Curves specification requires).
 */
function ed25519Precheck(publicKey: Uint8Array, signature: Uint8Array): boolean {
  checkEd25519PublicKey(publicKey);
  if (signature.length !== SIGNATURE_LENGTH)
    throw new SignatureError('bad_signature_encoding', 'Ed25519 signature must be 64 bytes');
  const r = signature.subarray(0, 32);
  if (!isCanonicalEd25519Point(r) || isSmallOrderEd25519Point(r)) return false;
  return bytesToNumberLE(signature.subarray(32)) < ED25519_L;
}

/** Decodes A strictly (RFC 8032 section 5.1.3), throwing 'bad_public_key' when y has no square root. */
function decodeEd25519PublicKey(publicKey: Uint8Array) {
  try {
    return ED25519_POINT.fromBytes(publicKey, false);
  } catch {
    throw new SignatureError('bad_public_key', 'Ed25519 public key is not a curve point');
  }
}

type EdPoint = ReturnType<typeof decodeEd25519PublicKey>;

/** Decoded public keys by their bytes (public data), most recently used last. */
const keyPoints = new Map<string, { point: EdPoint; uses: number }>();
const KEY_POINTS = 32;

/**
 * The decoded point of an Ed25519 public key. A key verified again (a provider's, checked on every lookup
 * of its accounts) gets a window table, which makes [k]A several times faster; one seen once does not pay
 * for the table. Variable time is fine here: public keys, signatures and messages are public.
 */
function publicKeyPoint(publicKey: Uint8Array): EdPoint {
  const key = String.fromCharCode.apply(null, publicKey as unknown as number[]);
  let e = keyPoints.get(key);
  if (e) keyPoints.delete(key);
  else e = { point: decodeEd25519PublicKey(publicKey), uses: 0 };
  keyPoints.set(key, e);
  if (keyPoints.size > KEY_POINTS) keyPoints.delete(keyPoints.keys().next().value!);
  if (++e.uses === 2) e.point.precompute(4, false);
  return e.point;
}

/**
 * RFC 8032 section 5.1.7 steps 2-3 with the cofactorless equation: k = SHA-512(R || A || M) mod L, then
 * accept iff encode([S]B - [k]A) equals the R bytes. Runs after `ed25519Precheck` returned true.
 */
function ed25519Equation(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const A = publicKeyPoint(publicKey);
  const r = signature.subarray(0, 32);
  const s = bytesToNumberLE(signature.subarray(32));
  const k = bytesToNumberLE(sha512(r, publicKey, message)) % ED25519_L;
  const check = ED25519_POINT.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k));
  return equalBytes(check.toBytes(), r);
}

// ---------------------------------------------------------------------------------------------------
// P-256 (FIPS 186-5 section 6.4.2, SEC 1 section 2.3.4 point decoding)

/** FIPS 186-5 / SP 800-186 section 3.2.1.3: n, the order of the P-256 base point. */
export const P256_N: bigint = nistCurve('p256').Fn.ORDER;

/** Decodes a SEC 1 public key (65 bytes 04||x||y or 33 bytes 02/03||x) and returns it uncompressed. */
function normalizeP256PublicKey(publicKey: Uint8Array): Uint8Array {
  const ok =
    (publicKey.length === 65 && publicKey[0] === 4) ||
    (publicKey.length === 33 && (publicKey[0] === 2 || publicKey[0] === 3));
  if (!ok)
    throw new SignatureError(
      'bad_public_key',
      'P-256 public key must be 65 bytes uncompressed or 33 bytes compressed SEC 1',
    );
  try {
    return decodeNistPublicKey('p256', publicKey).toBytes(false); // on the curve, coordinates < p, not 0
  } catch {
    throw new SignatureError('bad_public_key', 'P-256 public key is not a valid curve point');
  }
}

/** Length check (throws), then FIPS 186-5 section 6.4.2 step 1: r and s must lie in [1, n-1]. */
function p256Precheck(signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH)
    throw new SignatureError('bad_signature_encoding', 'P-256 signature must be 64 bytes (IEEE P1363 r || s)');
  const r = bytesToNumberBE(signature.subarray(0, 32));
  const s = bytesToNumberBE(signature.subarray(32));
  return r > 0n && r < P256_N && s > 0n && s < P256_N;
}

/**
 * Validates a public key for `alg` and returns its canonical form (Ed25519: the 32 bytes; P-256: 65 bytes
 * uncompressed). Throws SignatureError 'bad_public_key' or 'unknown_algorithm'. Ed25519 keys are checked
 * fully here (canonical, on the curve, not of small order) without computing the point.
 */
export function normalizePublicKey(alg: SignatureAlgorithm, publicKey: Uint8Array): Uint8Array {
  checkAlgorithm(alg);
  if (alg === 'p256') return normalizeP256PublicKey(publicKey);
  checkEd25519PublicKey(publicKey);
  checkEd25519OnCurve(publicKey);
  return publicKey.slice();
}

/** Verifies in pure JavaScript. Never throws for a signature that does not verify. */
export function verifySignatureSync(
  alg: SignatureAlgorithm,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  checkAlgorithm(alg);
  if (alg === 'ed25519') {
    if (!ed25519Precheck(publicKey, signature)) return false;
    return ed25519Equation(publicKey, message, signature);
  }
  const key = normalizeP256PublicKey(publicKey);
  if (!p256Precheck(signature)) return false;
  // FIPS 186-5 section 6.4.2 (wasm-free-crypto/ecdsa.ts): high S accepted, the message hashed with SHA-256.
  const r = bytesToNumberBE(signature.subarray(0, 32));
  const s = bytesToNumberBE(signature.subarray(32));
  return ecdsaVerifyDigest('p256', decodeNistPublicKey('p256', key), sha256(message), r, s);
}

// ---------------------------------------------------------------------------------------------------
// WebCrypto fast path

const KEY_CACHE_LIMIT = 1024;
/** Imports under way or done, so that verifications started together import a key once. */
const keyCache = new Map<string, Promise<CryptoKey | null>>();
const unsupported = new Set<SignatureAlgorithm>();

const WEB_ALGORITHMS = {
  ed25519: { importParams: { name: 'Ed25519' }, verifyParams: { name: 'Ed25519' } },
  p256: { importParams: { name: 'ECDSA', namedCurve: 'P-256' }, verifyParams: { name: 'ECDSA', hash: 'SHA-256' } },
} as const;

/** WebCrypto's BufferSource type excludes SharedArrayBuffer views; a shared view throws and falls back. */
function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

/**
 * Imports (or reuses) a raw public key that already passed the pre-checks; null when the platform cannot.
 * A failed import is not kept: the next verification tries again (or falls back for good when the platform
 * said it lacks the algorithm).
 */
function platformKey(alg: SignatureAlgorithm, publicKey: Uint8Array): Promise<CryptoKey | null> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined || unsupported.has(alg)) return Promise.resolve(null);
  const id = `${alg}:${toHex(publicKey)}`;
  const cached = keyCache.get(id);
  if (cached !== undefined) return cached;
  const key = importPlatformKey(subtle, alg, publicKey).then((k) => {
    if (k === null && keyCache.get(id) === key) keyCache.delete(id);
    return k;
  });
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value as string);
  keyCache.set(id, key);
  return key;
}

async function importPlatformKey(
  subtle: SubtleCrypto,
  alg: SignatureAlgorithm,
  publicKey: Uint8Array,
): Promise<CryptoKey | null> {
  try {
    return await subtle.importKey('raw', bufferSource(publicKey), WEB_ALGORITHMS[alg].importParams, false, ['verify']);
  } catch (e) {
    if ((e as { name?: string }).name === 'NotSupportedError') unsupported.add(alg);
    return null;
  }
}

/** The platform's verdict, or null when the platform lacks the algorithm or fails. */
async function platformVerify(
  alg: SignatureAlgorithm,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean | null> {
  const key = await platformKey(alg, publicKey);
  if (key === null) return null;
  try {
    return await globalThis.crypto.subtle.verify(
      WEB_ALGORITHMS[alg].verifyParams,
      key,
      bufferSource(signature),
      bufferSource(message),
    );
  } catch {
    return null;
  }
}

/**
 * Verifies with the platform's WebCrypto after the same strict pre-checks as `verifySignatureSync`, and
 * falls back to it when the platform lacks the algorithm. Same results, same errors, on every input: for
 * Ed25519 a platform `false` is followed by the check that A is a curve point, so a key that is not one
 * throws 'bad_public_key' here too (OpenSSL imports such keys and merely fails to verify).
 */
export async function verifySignature(
  alg: SignatureAlgorithm,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  checkAlgorithm(alg);
  let key = publicKey;
  if (alg === 'ed25519') {
    if (!ed25519Precheck(publicKey, signature)) return false;
  } else {
    key = normalizeP256PublicKey(publicKey); // WebCrypto is given the uncompressed form only
    if (!p256Precheck(signature)) return false;
  }
  const verdict = await platformVerify(alg, key, message, signature);
  if (verdict === null) return verifySignatureSync(alg, publicKey, message, signature);
  if (!verdict && alg === 'ed25519') checkEd25519OnCurve(publicKey);
  return verdict;
}

// ---------------------------------------------------------------------------------------------------
// Signing (tests and tools)

function checkSecretKey(alg: SignatureAlgorithm, secretKey: Uint8Array): void {
  const valid = secretKey.length === 32 && (alg === 'ed25519' || p256.utils.isValidSecretKey(secretKey));
  if (!valid)
    throw new SignatureError(
      'bad_secret_key',
      `${alg} secret key must be 32 bytes${alg === 'p256' ? ', a scalar in [1, n-1]' : ''}`,
    );
}

/**
 * Signs `message`. Ed25519: the 32-byte seed, RFC 8032 section 5.1.6. P-256: the 32-byte big-endian scalar,
 * SHA-256, deterministic nonce (RFC 6979 section 3.2), S not normalised, so the output reproduces the
 * RFC 6979 appendix A.2.5 vectors exactly; 64 bytes IEEE P1363 r || s.
 */
export function signSync(alg: SignatureAlgorithm, secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  checkAlgorithm(alg);
  checkSecretKey(alg, secretKey);
  if (alg === 'ed25519') return ed25519.sign(message, secretKey);
  return p256.sign(message, secretKey, { lowS: false, prehash: true, format: 'compact' });
}

/** The public key for a secret key: Ed25519 32 bytes; P-256 65 bytes uncompressed SEC 1. */
export function publicKeyFor(alg: SignatureAlgorithm, secretKey: Uint8Array): Uint8Array {
  checkAlgorithm(alg);
  checkSecretKey(alg, secretKey);
  if (alg === 'ed25519') return ed25519.getPublicKey(secretKey);
  return p256.getPublicKey(secretKey, false);
}

/** Test hook: forgets imported platform keys and platform capability (does not change any result). */
export function resetPlatformCache(): void {
  keyCache.clear();
  unsupported.clear();
}
