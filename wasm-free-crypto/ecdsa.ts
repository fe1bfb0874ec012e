/**
 * ECDSA verification (FIPS 186-5 section 6.4.2; SEC 1 v2 section 4.1.4) on the NIST curves P-256, P-384
 * and P-521 (SP 800-186 section 3.2.1), over @noble/curves' short Weierstrass point arithmetic alone. It is
 * what noble's `p256.verify` computes, without noble's ECDSA object: a verifier then carries no signing
 * code (RFC 6979 nonces, HMAC-DRBG, DER signatures, key recovery), which is about 6 KB gzip of a browser
 * bundle. Signing stays with noble's `p256` (signatures.ts, tests and tools). Equal to noble's verify on
 * valid, bit-flipped, high-S and out-of-range signatures of every curve and hash (test/wasm-free-crypto/ecdsa.test.ts).
 */
import { weierstrass, type WeierstrassPoint, type WeierstrassPointCons } from '@noble/curves/abstract/weierstrass.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';

export type NistCurve = 'p256' | 'p384' | 'p521';

// SP 800-186 section 3.2.1.3-3.2.1.5: the prime p, the order n, cofactor h, a = -3 mod p, b and the base point.
const P256 = weierstrass({
  p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  h: 1n,
  a: 0xffffffff00000001000000000000000000000000fffffffffffffffffffffffcn,
  b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  Gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  Gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
});
const P384 = weierstrass({
  p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
  n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  h: 1n,
  a: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffcn,
  b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  Gx: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
  Gy: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
});
const P521 = weierstrass({
  p: (1n << 521n) - 1n,
  n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  h: 1n,
  a: (1n << 521n) - 4n,
  b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
  Gx: 0x00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66n,
  Gy: 0x011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650n,
});

const CURVES: Record<NistCurve, WeierstrassPointCons<bigint>> = { p256: P256, p384: P384, p521: P521 };

/** The curve's point constructor (noble's short Weierstrass points). */
export function nistCurve(curve: NistCurve): WeierstrassPointCons<bigint> {
  return CURVES[curve];
}

/**
 * Decodes a SEC 1 public key (section 2.3.4: 04||x||y, or 02/03||x): on the curve, coordinates below p,
 * not the identity. Throws on anything else.
 */
export function decodeNistPublicKey(curve: NistCurve, bytes: Uint8Array): WeierstrassPoint<bigint> {
  const point = CURVES[curve].fromBytes(bytes);
  if (point.is0()) throw new Error('the public key is the identity');
  return point;
}

/**
 * FIPS 186-5 section 6.4.2: whether (r, s) is a signature of the message whose hash is `digest` under
 * `publicKey`. r and s outside [1, n-1] do not verify; high S is accepted (S is not normalised). e is the
 * leftmost bits of the digest, as many as n has (SEC 1 section 4.1.4 step 5), reduced mod n.
 */
export function ecdsaVerifyDigest(
  curve: NistCurve,
  publicKey: WeierstrassPoint<bigint>,
  digest: Uint8Array,
  r: bigint,
  s: bigint,
): boolean {
  const Point = CURVES[curve];
  const { Fn } = Point;
  if (r <= 0n || r >= Fn.ORDER || s <= 0n || s >= Fn.ORDER) return false;
  const excess = digest.length * 8 - Fn.BITS;
  const e = Fn.create(excess > 0 ? bytesToNumberBE(digest) >> BigInt(excess) : bytesToNumberBE(digest));
  const w = Fn.inv(s);
  const R = Point.BASE.mulAddUnsafe(Fn.create(e * w), publicKey, Fn.create(r * w)); // u1·G + u2·Q
  if (R.is0()) return false;
  return Fn.create(R.toAffine().x) === r;
}
