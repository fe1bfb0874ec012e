/**
 * The log's side of the log tree's batch proof (draft-ietf-keytrans-protocol-05 "Tree Proofs / Log Tree"): given
 * the leaves the client will prove included, the size whose full subtrees it retained and an additional size (an
 * AuditorTreeHead's), the minimum set of balanced-subtree heads, left to right, that lets the client compute the
 * root. It walks the tree as `evaluateLogBatchProof` (log-tree.ts) does, node for node, and sends exactly what that
 * walk takes: a subtree holding a proven leaf, or strictly holding a retained or additional full subtree, is
 * opened; a retained full subtree is never sent (not even when it is also a full subtree of the additional size,
 * which katie resends); any other balanced subtree is one element, read through a `LogHashReader`; an unbalanced
 * one is opened. As golang.org/x/mod/sumdb/tlog's proveRecord beside checkRecord, the prover sits beside the check.
 */
import { KeyTransError } from './errors.js';
import { fullSubtreeRanges } from './log-tree.js';
import type { LogRange } from './log-tree.js';
import type { CipherSuite } from './suites.js';
import type { LogHashReader } from './tree-readers.js';
import type { InclusionProof } from './types.js';

/** What a batch proof must prove: as log-tree.ts's LogBatch, with positions and sizes only (no values). */
export interface LogBatchRequest {
  treeSize: number;
  /** The positions of the leaves proven included (the client has their values). */
  leaves: readonly number[];
  /** The size of the client's last tree head, whose full subtrees it retained, or null. */
  retainedSize: number | null;
  /** A second size whose root the client must also compute (an AuditorTreeHead's tree_size), or null. */
  additionalSize: number | null;
}

/** What the walk knows: the sorted proven positions, the retained ranges, the marks, and what it has read. */
interface ProveWalk {
  suite: CipherSuite;
  reader: LogHashReader;
  leaves: number[];
  retained: Set<string>;
  /** Retained and additional full subtrees: a subtree strictly containing one is opened, never sent whole. */
  marks: LogRange[];
  elements: Uint8Array[];
}

const rangeKey = (start: number, end: number): string => `${start}:${end}`;

function badInput(message: string): never {
  throw new KeyTransError('kt_bad_input', `log proof: ${message}`);
}

/** The largest power of two below `n` (n >= 2): the size of a left-balanced tree's left subtree. */
function leftSize(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Whether some proven leaf lies in [start, end) (the positions sorted: a binary search). */
function holdsLeaf(leaves: readonly number[], start: number, end: number): boolean {
  let lo = 0;
  let hi = leaves.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (leaves[mid] < start) lo = mid + 1;
    else hi = mid;
  }
  return lo < leaves.length && leaves[lo] < end;
}

/** Whether [start, end) must be computed from its children: it holds a proven leaf or strictly holds a mark. */
function mustOpen(walk: ProveWalk, start: number, end: number): boolean {
  if (end - start === 1) return false;
  if (holdsLeaf(walk.leaves, start, end)) return true;
  return walk.marks.some((m) => m.start >= start && m.end <= end && m.end - m.start < end - start);
}

/** Appends to the proof what the client needs to compute the subtree [start, end), left to right. */
function proveNode(walk: ProveWalk, start: number, end: number): void {
  const size = end - start;
  if (size === 1 && holdsLeaf(walk.leaves, start, end)) return;
  if (!mustOpen(walk, start, end)) {
    if (walk.retained.has(rangeKey(start, end))) return;
    if ((size & (size - 1)) === 0) {
      const value = walk.reader.subtree(start, end);
      if (value.length !== walk.suite.hashLength) badInput(`the reader gave a wrong-length head of [${start}, ${end})`);
      walk.elements.push(value);
      return;
    }
  }
  const mid = start + leftSize(size);
  proveNode(walk, start, mid);
  proveNode(walk, mid, end);
}

/** Checks a request as evaluateLogBatchProof checks a batch ('kt_bad_input'); returns the sorted positions. */
function checkRequest(batch: LogBatchRequest): number[] {
  const n = batch.treeSize;
  if (!Number.isSafeInteger(n) || n < 1) badInput('the tree size must be at least 1');
  const leaves = [...batch.leaves].sort((a, b) => a - b);
  leaves.forEach((index, i) => {
    if (!Number.isSafeInteger(index) || index < 0 || index >= n || (i > 0 && leaves[i - 1] === index))
      badInput(`leaf ${index} is out of range or repeated`);
  });
  for (const size of [batch.retainedSize, batch.additionalSize])
    if (size !== null && (!Number.isSafeInteger(size) || size < 1 || size > n))
      badInput(`size ${size} is not between 1 and the tree size`);
  return leaves;
}

/**
 * The batch proof of `batch` ("Tree Proofs / Log Tree"): the minimum set of balanced-subtree heads, left to right,
 * that with the proven leaves' values and the full subtrees retained from `retainedSize` gives the root of
 * `treeSize` and, when `additionalSize` is given, the full subtrees (so the root) of that size. Exactly what
 * evaluateLogBatchProof consumes. 'kt_bad_input' for a request the verifier would refuse.
 */
export function proveLogBatch(suite: CipherSuite, reader: LogHashReader, batch: LogBatchRequest): InclusionProof {
  const leaves = checkRequest(batch);
  const retainedRanges = batch.retainedSize === null ? [] : fullSubtreeRanges(batch.retainedSize);
  const extraRanges = batch.additionalSize === null ? [] : fullSubtreeRanges(batch.additionalSize);
  const walk: ProveWalk = {
    suite,
    reader,
    leaves,
    retained: new Set(retainedRanges.map((r) => rangeKey(r.start, r.end))),
    marks: [...retainedRanges, ...extraRanges],
    elements: [],
  };
  proveNode(walk, 0, batch.treeSize);
  return { elements: walk.elements };
}
