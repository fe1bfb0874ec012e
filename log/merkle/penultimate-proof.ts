/**
 * The inclusion proof (RFC 9162 section 2.1.3.1) of a batch's second-to-last entry in the tree the batch ends,
 * from what the appender holds while it appends: the perfect subtrees of the tree before that entry (its
 * frontier) and the last entry's leaf hash. In the recursion of PATH(n - 2, D[0:n]) every sibling is either a
 * perfect subtree left of leaf n - 2, which is one of that frontier's, or the subtree right of it, which is leaf
 * n - 1 alone; so these hashes are all `proveRecord` reads. The directory anchors the KEYTRANS heads entry, which
 * sits just before each epoch head, with it (docs/PROTOCOL.md section 22.7).
 */
import { type Hash, type HashReader, proveRecord, recordHash, storedHashIndex } from '../../verifier/formats/tlog.js';

/**
 * The proof of leaf `size - 2` in the tree of `size` leaves, given `frontier` (the perfect subtrees of the first
 * `size - 2` leaves, smallest first, as TileWriter.nextLeafInclusionProof gives them) and the last entry.
 */
export function penultimateEntryProof(frontier: readonly Hash[], size: number, lastEntry: Uint8Array): Hash[] {
  const known = new Map<number, Hash>([[storedHashIndex(0, size - 1), recordHash(lastEntry)]]);
  const before = size - 2;
  const largestFirst = [...frontier].reverse();
  let start = 0;
  for (let level = 52, i = 0; level >= 0; level--) {
    if (before < 2 ** level || Math.floor(before / 2 ** level) % 2 === 0) continue;
    known.set(storedHashIndex(level, start / 2 ** level), largestFirst[i++]);
    start += 2 ** level;
  }
  const reader: HashReader = {
    readHashes: (indexes) =>
      indexes.map((x) => {
        const h = known.get(x);
        if (!h) throw new Error(`the proof of the penultimate entry needs stored hash ${x}, not at hand`);
        return h;
      }),
  };
  return proveRecord(size, before, reader);
}
