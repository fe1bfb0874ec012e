/**
 * SHA-512 and SHA-384: FIPS 180-4 examples (the NIST example values) and equality with @noble/hashes on every
 * length and split, for sha512.ts and for the browser builds' sha512-compact.ts, whose round constants and
 * initial values are computed at load (sha2-compact.ts) and checked here against FIPS 180-4's tables.
 */
import { sha384 as nobleSha384, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../wasm-free-crypto/bytes.js';
import { primeRootWords } from '../../wasm-free-crypto/sha2-compact.js';
import { sha384 as compactSha384, sha512 as compactSha512 } from '../../wasm-free-crypto/sha512-compact.js';
import { sha384 as nodeSha384, sha512 as nodeSha512 } from '../../wasm-free-crypto/sha512.js';
import { prng } from '../helpers/log.js';

const ABC = utf8('abc');
const TWO_BLOCKS = utf8(
  'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
);

describe.each([
  ['sha512.ts', nodeSha512, nodeSha384],
  ['sha512-compact.ts', compactSha512, compactSha384],
])('%s', (_name, sha512, sha384) => {
  it('matches the FIPS 180-4 examples', () => {
    expect(toHex(sha512(ABC))).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
    expect(toHex(sha512(TWO_BLOCKS))).toBe(
      '8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909',
    );
    expect(toHex(sha384(ABC))).toBe(
      'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
    );
    expect(toHex(sha384(TWO_BLOCKS))).toBe(
      '09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039',
    );
  });

  it('equals @noble/hashes on every length 0..300 and on random multi-part splits', () => {
    const rand = prng(2);
    const data = new Uint8Array(1000).map(() => Math.floor(rand() * 256));
    for (let n = 0; n <= 300; n++) {
      expect(sha512(data.subarray(0, n)), `length ${n}`).toEqual(nobleSha512(data.subarray(0, n)));
      expect(sha384(data.subarray(0, n)), `length ${n}`).toEqual(nobleSha384(data.subarray(0, n)));
    }
    for (let k = 0; k < 300; k++) {
      const n = Math.floor(rand() * 1000);
      const cuts = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => Math.floor(rand() * n)).sort(
        (a, b) => a - b,
      );
      const parts = [0, ...cuts, n].slice(1).map((end, i, ends) => data.subarray(i === 0 ? 0 : ends[i - 1], end));
      expect(sha512(...parts)).toEqual(nobleSha512(data.subarray(0, n)));
      expect(sha384(...parts)).toEqual(nobleSha384(data.subarray(0, n)));
    }
  });

  it('is not disturbed by being called with no part or empty parts, or by a long input', () => {
    expect(sha512()).toEqual(nobleSha512(new Uint8Array(0)));
    expect(sha384(new Uint8Array(0), ABC, new Uint8Array(0))).toEqual(nobleSha384(ABC));
    const long = new Uint8Array(100_003).fill(0x61);
    expect(sha512(long.subarray(0, 7), long.subarray(7))).toEqual(nobleSha512(long));
  });
});

describe('the constants of the compact SHA-2', () => {
  const hex = (words: Int32Array) => Array.from(words, (w) => (w >>> 0).toString(16).padStart(8, '0')).join('');

  it('are FIPS 180-4 section 4.2.3 and 5.3 tables', () => {
    const k = hex(primeRootWords(0, 80, 3n));
    expect(k.slice(0, 32)).toBe('428a2f98d728ae227137449123ef65cd'); // K0, K1
    expect(k.slice(-32)).toBe('5fcb6fab3ad6faec6c44198c4a475817'); // K78, K79
    expect(hex(primeRootWords(0, 8, 2n)).slice(0, 16)).toBe('6a09e667f3bcc908'); // SHA-512 H0
    expect(hex(primeRootWords(8, 8, 2n)).slice(-16)).toBe('47b5481dbefa4fa4'); // SHA-384 H7
  });
});
