/**
 * The inclusion proof of a batch's second-to-last entry (log/merkle/penultimate-proof.ts), for every tree size
 * from 2 to 100: checked with the client's RFC 9162 verifier against the root, and against proveRecord over
 * every leaf hash (an independent recomputation); a flipped bit in any element is refused.
 */
import { describe, expect, it } from 'vitest';
import { penultimateEntryProof } from '../../../log/merkle/penultimate-proof.js';
import { TileWriter } from '../../../log/merkle/tile-writer.js';
import { pathFromLeafHashes, recordHash, rootFromLeafHashes, verifyInclusion } from '../../../verifier/formats/tlog.js';

const entry = (i: number) => new TextEncoder().encode(`entry ${i}`);

describe('penultimateEntryProof', () => {
  it('proves leaf n - 2 of every tree of 2 to 100 leaves', () => {
    for (let n = 2; n <= 100; n++) {
      const w = new TileWriter();
      for (let i = 0; i < n - 2; i++) w.push(entry(i));
      const frontier = w.nextLeafInclusionProof();
      const leaves = Array.from({ length: n }, (_, i) => recordHash(entry(i)));
      const proof = penultimateEntryProof(frontier, n, entry(n - 1));
      expect(proof).toEqual(pathFromLeafHashes(leaves, n - 2));
      const root = rootFromLeafHashes(leaves);
      verifyInclusion(n - 2, n, leaves[n - 2], proof, root);
      proof.forEach((_, i) => {
        const bad = proof.map((h) => h.slice());
        bad[i][i % 32] ^= 1;
        expect(() => verifyInclusion(n - 2, n, leaves[n - 2], bad, root)).toThrow();
      });
    }
  });
});
