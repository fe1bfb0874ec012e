/**
 * SHA-256 (FIPS 180-4 section 6.2) with the API of sha256.ts, in compact pure JavaScript: smaller than
 * sha256.ts (its constants computed at load, sha2-compact.ts, and its rounds in one loop), slower on the
 * 65-byte node hashes a server or an auditor computes by the million. The client package's browser builds
 * use it in place of sha256.ts (the `browser` field of packages/client/package.json), with sha512-compact.ts,
 * because a web client hashes a few hundred times per lookup and pays for every byte it downloads; Node and
 * the server keep sha256.ts. Equal on every input (test/wasm-free-crypto/sha256.test.ts).
 */
import { mdDigest, primeRootWords, readWord } from './sha2-compact.js';

// FIPS 180-4 section 4.2.2: the high words of section 4.2.3's; section 5.3.3: those of SHA-512's initial value.
const K = primeRootWords(0, 64, 3n).filter((_, i) => i % 2 === 0);
const IV = primeRootWords(0, 8, 2n).filter((_, i) => i % 2 === 0);

// Scratch space, reused: hashing is synchronous and never re-entered.
const W = new Int32Array(64);
const state = new Int32Array(8);
const block = new Uint8Array(64);

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

/** FIPS 180-4 section 6.2.2: one compression of the 64-byte block at `data[offset..]` into `state`. */
function compress(data: Uint8Array, offset: number): void {
  let [a, b, c, d, e, f, g, h] = state;
  for (let i = 0; i < 64; i++) {
    if (i < 16) W[i] = readWord(data, offset + 4 * i);
    else {
      const w15 = W[i - 15];
      const w2 = W[i - 2];
      W[i] =
        W[i - 16] +
        (rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3)) +
        W[i - 7] +
        (rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10));
    }
    const t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + W[i];
    const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  const vars = [a, b, c, d, e, f, g, h];
  for (let i = 0; i < 8; i++) state[i] += vars[i];
}

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  state.set(IV);
  return mdDigest(parts, block, compress, state, 32);
}
