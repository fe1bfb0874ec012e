/**
 * What the compact SHA-256 and SHA-512 of the browser builds (sha256-compact.ts, sha512-compact.ts) share:
 * their constants, computed when the module loads from their FIPS 180-4 definition (sections 4.2.2, 4.2.3
 * and 5.3: the first bits of the fractional parts of the square and cube roots of the first primes) rather
 * than written out as tables of 80 and 64 words, and the Merkle-Damgard framing with the section 5.1
 * padding, which hashes the concatenation of several parts without copying them into one buffer. Words are
 * 32-bit signed integers, big-endian in the message; a 64-bit word is a pair (high, low) of them.
 */

/** floor(n^(1/k)) for n > 0: Newton's method on integers, from a start above the root. */
function integerRoot(n: bigint, k: bigint): bigint {
  let x = 1n << (BigInt(n.toString(2).length) / k + 1n);
  for (;;) {
    const y = ((k - 1n) * x + n / x ** (k - 1n)) / k;
    if (y >= x) return x;
    x = y;
  }
}

/**
 * The first 64 bits of the fractional part of the k-th root of each of `count` primes, from the `skip`+1-th
 * prime on, as 2 * count words (high, low): k = 3 gives the round constants (FIPS 180-4 section 4.2.3, whose
 * high words are section 4.2.2's), k = 2 the initial hash values (section 5.3).
 */
export function primeRootWords(skip: number, count: number, k: bigint): Int32Array {
  const words = new Int32Array(2 * count);
  for (let n = 2, found = 0; found < skip + count; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) prime &&= n % d !== 0;
    if (!prime || found++ < skip) continue;
    const root = integerRoot(BigInt(n) << (64n * k), k); // floor(root of n, times 2^64)
    words[2 * (found - skip - 1)] = Number((root >> 32n) & 0xffffffffn);
    words[2 * (found - skip) - 1] = Number(root & 0xffffffffn);
  }
  return words;
}

/** The big-endian 32-bit word at `data[offset..]`. */
export function readWord(data: Uint8Array, offset: number): number {
  return (data[offset] << 24) | (data[offset + 1] << 16) | (data[offset + 2] << 8) | data[offset + 3];
}

/**
 * The digest of the concatenation of `parts` (FIPS 180-4 sections 5.1 and 6): `compress` takes each block
 * of `block.length` bytes (whole blocks of a part in place, the rest through `block`) into its state, which
 * the caller has set to the initial value; the padding ends with the length in bits (in the last 16 or 8
 * bytes of the block); the first `outLength` bytes of `state`, big-endian, are the digest.
 */
export function mdDigest(
  parts: Uint8Array[],
  block: Uint8Array,
  compress: (data: Uint8Array, offset: number) => void,
  state: Int32Array,
  outLength: number,
): Uint8Array {
  const size = block.length;
  let pos = 0;
  let length = 0;
  for (const p of parts) {
    length += p.length;
    for (let off = 0; off < p.length; ) {
      if (pos === 0 && off + size <= p.length) {
        compress(p, off);
        off += size;
        continue;
      }
      const take = Math.min(size - pos, p.length - off);
      block.set(p.subarray(off, off + take), pos);
      pos += take;
      off += take;
      if (pos === size) pos = (compress(block, 0), 0);
    }
  }
  return finish(block, pos, length, compress, state, outLength);
}

/** FIPS 180-4 section 5.1: 0x80, zeros, the length in bits in the last size/8 bytes; then the digest. */
function finish(
  block: Uint8Array,
  pos: number,
  length: number,
  compress: (data: Uint8Array, offset: number) => void,
  state: Int32Array,
  outLength: number,
): Uint8Array {
  const size = block.length;
  block[pos++] = 0x80;
  block.fill(0, pos);
  if (pos > size - size / 8) {
    compress(block, 0);
    block.fill(0);
  }
  const view = new DataView(block.buffer, block.byteOffset, size);
  view.setUint32(size - 8, Math.floor(length / 0x20000000));
  view.setUint32(size - 4, (length * 8) >>> 0);
  compress(block, 0);
  const out = new Uint8Array(outLength);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < outLength; i += 4) outView.setInt32(i, state[i / 4]);
  return out;
}
