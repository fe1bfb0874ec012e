/**
 * The edwards25519 group (RFC 8032 section 5.1, RFC 7748 section 4.1) over @noble/curves' twisted Edwards
 * point arithmetic alone, for the verifiers (signatures.ts, vrf.ts): the points of noble's `ed25519.Point`,
 * built without noble's EdDSA object (signing, key generation, Montgomery conversion, its SHA-512 binding),
 * which is about 1 KB gzip of a browser bundle that only verifies. A point decodes (RFC 8032 section 5.1.3)
 * through noble's generic square root of u/v (p = 5 mod 8, Atkin's method), the same x as noble's ed25519
 * gives. Signing stays with noble's `ed25519` (ed25519.ts, signatures.ts). Equal to noble's point on every
 * encoding, valid or not, and on sums and multiples (test/wasm-free-crypto/ed25519-point.test.ts).
 */
import { edwards, type EdwardsPoint, type EdwardsPointCons } from '@noble/curves/abstract/edwards.js';

export type { EdwardsPoint };

const P = 2n ** 255n - 19n;

/** RFC 8032 section 5.1: L = 2^252 + 27742317777372353535851937790883648493, the prime group order. */
export const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** RFC 8032 section 5.1: p, L, cofactor 8, a = -1, d = -121665/121666 mod p and the base point B. */
export const ED25519_POINT: EdwardsPointCons = edwards({
  p: P,
  n: ED25519_L,
  h: 8n,
  a: P - 1n,
  d: 0x52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3n,
  Gx: 0x216936d3cd6e53fec0a4e231fdd6dc5c692cc7609525a7b2c9562d608f25d51an,
  Gy: 0x6666666666666666666666666666666666666666666666666666666666666658n,
});
