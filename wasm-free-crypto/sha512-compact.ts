/**
 * SHA-512 and SHA-384 (FIPS 180-4 sections 6.4 and 6.5) with the API of sha512.ts, in compact pure
 * JavaScript: each 64-bit word a pair of 32-bit halves, the rounds in one loop, the 80 round constants and
 * the initial values computed at load (sha2-compact.ts) rather than written out. The client package's
 * browser builds use it in place of sha512.ts (the `browser` field of packages/client/package.json), with
 * sha256-compact.ts, so that they carry no @noble/hashes; a web client computes a few dozen SHA-512 per
 * lookup (Ed25519 and the VRF). Node and the server keep sha512.ts. Equal on every input
 * (test/wasm-free-crypto/sha512.test.ts).
 */
import { mdDigest, primeRootWords, readWord } from './sha2-compact.js';

const K = primeRootWords(0, 80, 3n); // FIPS 180-4 section 4.2.3
const IV512 = primeRootWords(0, 8, 2n); // section 5.3.5: the first eight primes
const IV384 = primeRootWords(8, 8, 2n); // section 5.3.4: the ninth to the sixteenth

// Scratch space, reused: hashing is synchronous and never re-entered. Word j is at [2j] (high), [2j+1] (low).
const W = new Int32Array(160);
const V = new Int32Array(16); // the working variables a..h
const T = new Int32Array(2);
const state = new Int32Array(16);
const block = new Uint8Array(128);

/** The high half of the 64-bit word (h, l) rotated right by n (0 < n < 64, n != 32); (l, h) gives the low. */
function rotr(h: number, l: number, n: number): number {
  return n < 32 ? (h >>> n) | (l << (32 - n)) : (l >>> (n - 32)) | (h << (64 - n));
}

/**
 * A sigma function of section 4.1.3 on the word (h, l): the high half of ROTR^a ^ ROTR^b ^ ROTR^c (SHR^c
 * when `shr`); (l, h) without `shr` gives the low half, which is the same for SHR^c as for ROTR^c (c < 32).
 */
function sigma(h: number, l: number, a: number, b: number, c: number, shr = false): number {
  return rotr(h, l, a) ^ rotr(h, l, b) ^ (shr ? h >>> c : rotr(h, l, c));
}

// Section 4.1.3: Ch and Maj, bitwise, so the same on either half.
const ch = (x: number, y: number, z: number) => (x & y) ^ (~x & z);
const maj = (x: number, y: number, z: number) => (x & y) ^ (x & z) ^ (y & z);

/** Adds the 64-bit word (h, l) to the one at out[i], out[i + 1], modulo 2^64. */
function add(out: Int32Array, i: number, h: number, l: number): void {
  const low = (out[i + 1] >>> 0) + (l >>> 0);
  out[i] += h + (low > 0xffffffff ? 1 : 0);
  out[i + 1] = low;
}

/** Section 6.4.2 step 1: message word t of the block at data[offset..] (t < 16) or of the schedule. */
function schedule(data: Uint8Array, offset: number, t: number): void {
  const j = 2 * t;
  if (t < 16) {
    W[j] = readWord(data, offset + 4 * j);
    W[j + 1] = readWord(data, offset + 4 * j + 4);
    return;
  }
  const h15 = W[j - 30];
  const l15 = W[j - 29];
  const h2 = W[j - 4];
  const l2 = W[j - 3];
  W[j] = W[j - 32];
  W[j + 1] = W[j - 31];
  add(W, j, sigma(h15, l15, 1, 8, 7, true), sigma(l15, h15, 1, 8, 7));
  add(W, j, W[j - 14], W[j - 13]);
  add(W, j, sigma(h2, l2, 19, 61, 6, true), sigma(l2, h2, 19, 61, 6));
}

/**
 * Section 6.4.2: one compression of the 128-byte block at `data[offset..]` into `state`. The working
 * variables stay in place and their names move: in round t, variable j (a = 0 .. h = 7) is word (j - t) mod 8
 * of V, so that a round writes only the new e (over d) and the new a (over h).
 */
function compress(data: Uint8Array, offset: number): void {
  V.set(state);
  for (let t = 0; t < 80; t++) {
    schedule(data, offset, t);
    const a = 2 * (-t & 7);
    const b = (a + 2) & 15;
    const c = (a + 4) & 15;
    const d = (a + 6) & 15;
    const e = (a + 8) & 15;
    const f = (a + 10) & 15;
    const g = (a + 12) & 15;
    const h = (a + 14) & 15;
    T[0] = V[h];
    T[1] = V[h + 1];
    add(T, 0, sigma(V[e], V[e + 1], 14, 18, 41), sigma(V[e + 1], V[e], 14, 18, 41));
    add(T, 0, ch(V[e], V[f], V[g]), ch(V[e + 1], V[f + 1], V[g + 1]));
    add(T, 0, K[2 * t], K[2 * t + 1]);
    add(T, 0, W[2 * t], W[2 * t + 1]);
    add(V, d, T[0], T[1]); // e = d + T1
    add(T, 0, sigma(V[a], V[a + 1], 28, 34, 39), sigma(V[a + 1], V[a], 28, 34, 39));
    add(T, 0, maj(V[a], V[b], V[c]), maj(V[a + 1], V[b + 1], V[c + 1]));
    V[h] = T[0]; // a = T1 + T2
    V[h + 1] = T[1];
  }
  for (let j = 0; j < 16; j += 2) add(state, j, V[j], V[j + 1]);
}

/** SHA-512 of the concatenation of `parts`. */
export function sha512(...parts: Uint8Array[]): Uint8Array {
  state.set(IV512);
  return mdDigest(parts, block, compress, state, 64);
}

/** SHA-384 (section 6.5) of the concatenation of `parts`: SHA-512 from another initial value, truncated. */
export function sha384(...parts: Uint8Array[]): Uint8Array {
  state.set(IV384);
  return mdDigest(parts, block, compress, state, 48);
}
