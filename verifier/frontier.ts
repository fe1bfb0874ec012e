/**
 * The right edge of a Merkle tree (RFC 9162 section 2.1.1) as leaves are appended: the roots of its
 * perfect subtrees, largest first, one per 1-bit of the size. Appending a leaf merges equal-sized subtrees;
 * the tree hash folds the edge from the right. Lets an auditor that reads every entry check each
 * checkpoint's root from the entries alone, with O(log n) memory and no hash tiles.
 */
import { EMPTY_TREE_HASH, HASH_SIZE, nodeHash, recordHash, type Hash } from './tlog.js';
import { VerifyError } from './errors.js';

export class Frontier {
  private edge: Hash[];
  private count: number;

  constructor(size = 0, edge: Hash[] = []) {
    let bits = 0;
    for (let s = size; s > 0; s = Math.floor(s / 2)) bits += s % 2;
    if (edge.length !== bits || edge.some((h) => h.length !== HASH_SIZE))
      throw new VerifyError('bad_frontier', `a tree of ${size} entries has ${bits} edge hashes, not ${edge.length}`);
    this.count = size;
    this.edge = edge.map((h) => h.slice());
  }

  get size(): number {
    return this.count;
  }

  /** The edge hashes, largest subtree first (copies, for saving). */
  hashes(): Hash[] {
    return this.edge.map((h) => h.slice());
  }

  /** Appends one entry. */
  push(entry: Uint8Array): void {
    let h = recordHash(entry);
    for (let s = this.count; s % 2 === 1; s = Math.floor(s / 2)) h = nodeHash(this.edge.pop()!, h);
    this.edge.push(h);
    this.count++;
  }

  /** The tree hash of the entries so far. */
  root(): Hash {
    if (this.edge.length === 0) return EMPTY_TREE_HASH.slice();
    let acc = this.edge[this.edge.length - 1];
    for (let i = this.edge.length - 2; i >= 0; i--) acc = nodeHash(this.edge[i], acc);
    return acc.slice();
  }
}
