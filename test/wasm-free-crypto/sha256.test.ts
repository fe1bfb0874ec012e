/**
 * SHA-256: FIPS 180-4 examples and equality with @noble/hashes on every length and split, for sha256.ts
 * and for the browser builds' sha256-compact.ts.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../wasm-free-crypto/bytes.js';
import { sha256 as fastSha256 } from '../../wasm-free-crypto/sha256.js';
import { sha256 as compactSha256 } from '../../wasm-free-crypto/sha256-compact.js';
import { prng } from '../helpers/log.js';

describe.each([
  ['sha256.ts', fastSha256],
  ['sha256-compact.ts', compactSha256],
])('%s', (_name, sha256) => {
  it('matches the FIPS 180-4 examples', () => {
    expect(toHex(sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(sha256(utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    expect(toHex(sha256(new Uint8Array(1_000_000).fill(0x61)))).toBe(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });

  it('equals @noble/hashes on every length 0..300 and on random multi-part splits', () => {
    const rand = prng(1);
    const data = new Uint8Array(1000).map(() => Math.floor(rand() * 256));
    for (let n = 0; n <= 300; n++)
      expect(sha256(data.subarray(0, n)), `length ${n}`).toEqual(nobleSha256(data.subarray(0, n)));
    for (let k = 0; k < 500; k++) {
      const n = Math.floor(rand() * 1000);
      const cuts = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => Math.floor(rand() * n)).sort(
        (a, b) => a - b,
      );
      const parts = [0, ...cuts, n].slice(1).map((end, i, ends) => data.subarray(i === 0 ? 0 : ends[i - 1], end));
      expect(sha256(...parts)).toEqual(nobleSha256(data.subarray(0, n)));
    }
  });

  it('is not disturbed by being called with no part or empty parts', () => {
    expect(sha256()).toEqual(nobleSha256(new Uint8Array(0)));
    expect(sha256(new Uint8Array(0), utf8('abc'), new Uint8Array(0))).toEqual(nobleSha256(utf8('abc')));
  });
});
