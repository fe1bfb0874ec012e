/**
 * An in-memory KEYTRANS log tree for the provers' tests: the leaf values (`logLeafHash` of each LogEntry) and,
 * level by level, the value of every aligned balanced subtree, hashed with the client's `logParentHash`
 * (draft-ietf-keytrans-protocol-05 "Cryptographic Computations / Log Tree"), so that it answers
 * `LogHashReader.subtree` by lookup. It refuses a range that is not a balanced subtree of the tree (misaligned,
 * not a power of two, or past its end) with KeyTransError 'kt_bad_input', which catches a prover asking for one.
 */
import { KeyTransError } from '../../verifier/keytrans/errors.js';
import { logParentHash } from '../../verifier/keytrans/log-tree.js';
import type { CipherSuite } from '../../verifier/keytrans/suites.js';
import type { LogHashReader } from '../../verifier/keytrans/tree-readers.js';

export class MemoryLogTree implements LogHashReader {
  /** levels[k][i]: the value of the balanced subtree [i * 2^k, (i + 1) * 2^k). */
  private readonly levels: Uint8Array[][];
  /** How many subtree values were read, for tests that bound a prover's reads. */
  reads = 0;

  constructor(suite: CipherSuite, leaves: readonly Uint8Array[]) {
    this.levels = [leaves.slice()];
    for (let k = 0; this.levels[k].length > 1; k++) {
      const below = this.levels[k];
      const level: Uint8Array[] = [];
      for (let i = 0; i + 1 < below.length; i += 2)
        level.push(logParentHash(suite, below[i], k === 0, below[i + 1], k === 0));
      this.levels.push(level);
    }
  }

  get size(): number {
    return this.levels[0].length;
  }

  subtree(start: number, end: number): Uint8Array {
    const size = end - start;
    const k = Math.log2(size);
    const value = Number.isInteger(k) && start % size === 0 ? this.levels[k]?.[start / size] : undefined;
    if (value === undefined || end > this.size)
      throw new KeyTransError('kt_bad_input', `[${start}, ${end}) is not a balanced subtree of a tree of ${this.size}`);
    this.reads++;
    return value;
  }
}
