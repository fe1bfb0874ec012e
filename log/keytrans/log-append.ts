/**
 * Appending a leaf to a KEYTRANS log tree (draft-ietf-keytrans-protocol-05, "Cryptographic Computations / Log
 * Tree": a left-balanced binary tree whose leaves are the hashes of LogEntry) kept as its balanced subtrees by
 * (level, index) (deployment-store.ts). Leaf n is the subtree (0, n); each time it completes a pair, the pair's
 * parent is the next level's subtree. Hashing is the client's (`logParentHash`, which marks a child that is a
 * leaf), so what the server stores is what the client computes.
 */
import { fullSubtreeRanges, logParentHash, rootFromFullSubtrees } from '../../verifier/keytrans/log-tree.js';
import type { CipherSuite } from '../../verifier/keytrans/suites.js';
import type { LogNodeRow } from './deployment-store.js';

/** Reads a stored balanced subtree's value. */
export type LogNodeRead = (level: number, index: number) => Uint8Array;

/** The level of a balanced subtree of `width` leaves (a power of two). */
export function levelOf(width: number): number {
  return Math.round(Math.log2(width));
}

/**
 * The subtrees that leaf `position` (whose value is `leaf`) completes, from itself upward, and the root of the
 * tree of position + 1 leaves.
 */
export function appendLogLeaf(
  suite: CipherSuite,
  read: LogNodeRead,
  position: number,
  leaf: Uint8Array,
): { rows: LogNodeRow[]; root: Uint8Array } {
  const rows: LogNodeRow[] = [{ level: 0, index: position, value: leaf }];
  let value = leaf;
  for (let level = 0, index = position; index % 2 === 1; level++, index = Math.floor(index / 2)) {
    value = logParentHash(suite, read(level, index - 1), level === 0, value, level === 0);
    rows.push({ level: level + 1, index: Math.floor(index / 2), value });
  }
  const fresh = new Map(rows.map((r) => [`${r.level}:${r.index}`, r.value]));
  const values = fullSubtreeRanges(position + 1).map(({ start, end }) => {
    const level = levelOf(end - start);
    const index = start / (end - start);
    return fresh.get(`${level}:${index}`) ?? read(level, index);
  });
  return { rows, root: rootFromFullSubtrees(suite, position + 1, values) };
}
