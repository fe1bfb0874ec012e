/**
 * The frontier of a Merkle tree (RFC 9162 section 2.1.1) as leaves are appended: the roots of its perfect
 * subtrees, largest first, one per 1-bit of the size. Appending a leaf merges equal-sized subtrees; the
 * tree hash folds the frontier from the right. An auditor that reads every entry checks each checkpoint's
 * root from the entries alone, with O(log n) memory and no hash tiles; the log's writer builds on it and
 * collects, from the subtrees each append completes, the hashes its tiles store (log/merkle/tile-writer.ts).
 */
import { EMPTY_TREE_HASH, HASH_SIZE, LogError, nodeHash, recordHash, type Hash } from './tlog.js';

/** Sees each subtree an append completes: its height (0 for the leaf) and its hash, bottom up. */
export type SubtreeVisitor = (height: number, hash: Hash) => void;

export class Frontier {
  private subtrees: Hash[];
  private count: number;

  /** The frontier of a tree of `size` entries, from its subtree roots (as `hashes()` gives them). */
  constructor(size = 0, subtrees: Hash[] = []) {
    let bits = 0;
    for (let s = size; s > 0; s = Math.floor(s / 2)) bits += s % 2;
    if (subtrees.length !== bits || subtrees.some((h) => h.length !== HASH_SIZE)) {
      throw new LogError('bad_frontier', `a tree of ${size} entries has ${bits} subtree roots, not ${subtrees.length}`);
    }
    this.count = size;
    this.subtrees = subtrees.map((h) => h.slice());
  }

  get size(): number {
    return this.count;
  }

  /** The subtree roots, largest subtree first (copies, for saving). */
  hashes(): Hash[] {
    return this.subtrees.map((h) => h.slice());
  }

  /** Appends one entry; `visit`, if given, sees the leaf and every subtree the entry completes. */
  push(entry: Uint8Array, visit?: SubtreeVisitor): void {
    let h = recordHash(entry);
    visit?.(0, h);
    let height = 0;
    for (let s = this.count; s % 2 === 1; s = Math.floor(s / 2)) {
      h = nodeHash(this.subtrees.pop()!, h);
      visit?.(++height, h);
    }
    this.subtrees.push(h);
    this.count++;
  }

  /** The tree hash of the entries so far. */
  root(): Hash {
    if (this.subtrees.length === 0) return EMPTY_TREE_HASH.slice();
    let acc = this.subtrees[this.subtrees.length - 1];
    for (let i = this.subtrees.length - 2; i >= 0; i--) acc = nodeHash(this.subtrees[i], acc);
    return acc.slice();
  }
}
