/**
 * The log tree of draft-ietf-keytrans-protocol-05: a left-balanced binary tree over the log entries ("Tree
 * Construction / Log Tree"), whose leaf values are Hash(LogEntry) and whose parents are Hash(hashContent(left) ||
 * hashContent(right)), hashContent prefixing a leaf's value with 0x00 and a parent's with 0x01 ("Cryptographic
 * Computations / Log Tree"; RFC 9162's shape, not its hashing). Here are the leaf and parent hashes, roots and
 * full subtrees (the largest balanced subtrees, left to right, that a client retains), and the batch proof of
 * "Tree Proofs / Log Tree": from the leaves proven included, the full subtrees retained from an earlier size and
 * the proof's elements (the heads of balanced subtrees, left to right), the root, the new full subtrees and, for
 * an auditor's tree head, the root at one more size. Ranges are [start, end) of leaf positions.
 */
import { concatBytes, equalBytes, u64be } from '../../wasm-free-crypto/bytes.js';
import { KeyTransError } from './errors.js';
import type { CipherSuite } from './suites.js';
import type { InclusionProof, LogEntry } from './types.js';

/** A subtree of the log tree: the leaves [start, end). */
export interface LogRange {
  start: number;
  end: number;
}

/** A leaf proven included: its position and value (`logLeafHash` of its LogEntry). */
export interface LogLeaf {
  index: number;
  value: Uint8Array;
}

/** What a batch proof proves: the tree size, the leaves, the retained full subtrees, an additional size. */
export interface LogBatch {
  treeSize: number;
  leaves: readonly LogLeaf[];
  /** The full subtrees' values the client kept from `size` (its last tree head), or null. */
  retained: { size: number; fullSubtrees: readonly Uint8Array[] } | null;
  /** A second size whose root the proof must also give (an AuditorTreeHead's tree_size), or null. */
  additionalSize: number | null;
}

/** What a verified batch proof gives: the root and full subtrees of `treeSize`, and the additional root. */
export interface LogBatchResult {
  root: Uint8Array;
  fullSubtrees: Uint8Array[];
  additionalRoot: Uint8Array | null;
}

/** What of a cipher suite the log tree's hashes use: its hash (an auditor's history needs no more, section 22.7). */
export type LogTreeHash = Pick<CipherSuite, 'hash'>;

const LEAF_CONTENT = Uint8Array.of(0x00);
const PARENT_CONTENT = Uint8Array.of(0x01);

function fail(message: string): never {
  throw new KeyTransError('kt_bad_proof', `log proof: ${message}`);
}

function checkSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new KeyTransError('kt_bad_input', `${what} must be at least 1`);
}

/** The largest power of two below `n` (n >= 2): the size of a left-balanced tree's left subtree. */
function leftSize(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** "Log Tree": a leaf's value is Hash(LogEntry). */
export function logLeafHash(suite: LogTreeHash, entry: LogEntry): Uint8Array {
  return suite.hash(logEntryBytes(entry));
}

/**
 * A LogEntry's TLS encoding ("Log Tree": `uint64 timestamp; opaque prefix_tree[Hash.Nh]`), written here rather than
 * with the codec (signed-structures.ts `encodeLogEntry`, the same bytes) so that the auditor's history check
 * (keytrans-anchor/history.ts) does not carry the codec into the client's bundle.
 */
function logEntryBytes({ timestamp, prefixTree }: LogEntry): Uint8Array {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0)
    throw new KeyTransError('kt_bad_input', `LogEntry.timestamp: ${timestamp} is not a uint64 here`);
  if (prefixTree.length !== 32)
    throw new KeyTransError('kt_bad_input', `LogEntry.prefix_tree: ${prefixTree.length} bytes, not 32`);
  return concatBytes(u64be(timestamp), prefixTree);
}

/** "Log Tree": Hash(hashContent(left) || hashContent(right)); `isLeaf` says which children are leaves. */
export function logParentHash(
  suite: LogTreeHash,
  left: Uint8Array,
  leftIsLeaf: boolean,
  right: Uint8Array,
  rightIsLeaf: boolean,
): Uint8Array {
  const l = leftIsLeaf ? LEAF_CONTENT : PARENT_CONTENT;
  const r = rightIsLeaf ? LEAF_CONTENT : PARENT_CONTENT;
  return suite.hash(l, left, r, right);
}

/** The full subtrees of a tree of `n` leaves, left to right: the binary digits of n, largest first. */
export function fullSubtreeRanges(n: number): LogRange[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new KeyTransError('kt_bad_input', 'a tree size is a natural number');
  const out: LogRange[] = [];
  let start = 0;
  for (let k = 2 ** Math.floor(Math.log2(Math.max(n, 1))); k >= 1; k /= 2) {
    if (start + k <= n) {
      out.push({ start, end: start + k });
      start += k;
    }
  }
  return out;
}

/** The value of the subtree `range` of the tree over `leaves` (each a leaf value). */
function subtreeValue(suite: CipherSuite, leaves: readonly Uint8Array[], start: number, end: number): Uint8Array {
  if (end - start === 1) return leaves[start];
  const mid = start + leftSize(end - start);
  const l = subtreeValue(suite, leaves, start, mid);
  const r = subtreeValue(suite, leaves, mid, end);
  return logParentHash(suite, l, mid - start === 1, r, end - mid === 1);
}

/** The root of the log tree whose leaf values are `leaves` (at least one). */
export function logRoot(suite: CipherSuite, leaves: readonly Uint8Array[]): Uint8Array {
  checkSize(leaves.length, 'a log tree');
  return subtreeValue(suite, leaves, 0, leaves.length);
}

/** The values of the full subtrees of the log tree whose leaf values are `leaves`, left to right. */
export function logFullSubtrees(suite: CipherSuite, leaves: readonly Uint8Array[]): Uint8Array[] {
  return fullSubtreeRanges(leaves.length).map((r) => subtreeValue(suite, leaves, r.start, r.end));
}

/** The root of a tree of `n` leaves from the values of its full subtrees (folded from the right). */
export function rootFromFullSubtrees(suite: LogTreeHash, n: number, values: readonly Uint8Array[]): Uint8Array {
  checkSize(n, 'a tree size');
  const ranges = fullSubtreeRanges(n);
  if (values.length !== ranges.length)
    throw new KeyTransError('kt_bad_input', `a tree of ${n} has ${ranges.length} full subtrees, not ${values.length}`);
  let value = values[values.length - 1];
  let isLeaf = ranges[ranges.length - 1].end - ranges[ranges.length - 1].start === 1;
  for (let i = ranges.length - 2; i >= 0; i--) {
    value = logParentHash(suite, values[i], ranges[i].end - ranges[i].start === 1, value, isLeaf);
    isLeaf = false;
  }
  return value;
}

/** The state of a batch proof's walk: what the client knows, what it must compute, the elements left. */
interface BatchWalk {
  suite: CipherSuite;
  leaves: Map<number, Uint8Array>;
  retained: Map<string, Uint8Array>;
  /** Retained and additional full subtrees: a subtree strictly containing one is never taken whole. */
  marks: LogRange[];
  /** The subtrees whose values the walk records (the full subtrees of both sizes). */
  recorded: Map<string, Uint8Array | null>;
  elements: readonly Uint8Array[];
  next: number;
  /**
   * The full subtrees of the additional size that are also retained ones, when the proof resends their values:
   * katie's does (its scenario auditing/q03), though the draft's minimum set leaves them out. Each is read then
   * and must equal the value retained, so accepting both forms proves nothing less.
   */
  resent: Set<string>;
}

const rangeKey = (start: number, end: number): string => `${start}:${end}`;

/** Whether [start, end) must be computed from its children: it holds a proven leaf or strictly holds a mark. */
function mustDescend(walk: BatchWalk, start: number, end: number): boolean {
  if (end - start === 1) return false;
  for (const i of walk.leaves.keys()) if (i >= start && i < end) return true;
  return walk.marks.some((m) => m.start >= start && m.end <= end && m.end - m.start < end - start);
}

function takeElement(walk: BatchWalk): Uint8Array {
  if (walk.next >= walk.elements.length) fail('too few elements');
  const element = walk.elements[walk.next++];
  if (element.length !== walk.suite.hashLength) fail('an element has the wrong length');
  return element;
}

function parentOf(walk: BatchWalk, start: number, end: number): Uint8Array {
  const mid = start + leftSize(end - start);
  const l = batchNode(walk, start, mid);
  const r = batchNode(walk, mid, end);
  return logParentHash(walk.suite, l, mid - start === 1, r, end - mid === 1);
}

/**
 * The value of the subtree [start, end) ("Tree Proofs / Log Tree"): a proven leaf's value; else computed from its
 * children when it holds something proven; else a retained value; else, balanced, the next element; else (not
 * balanced: the proof holds only balanced heads) from its children. A retained subtree computed from proven
 * leaves must equal the value retained (the draft's edge case, which a naive verifier misses).
 */
function batchNode(walk: BatchWalk, start: number, end: number): Uint8Array {
  const key = rangeKey(start, end);
  const kept = walk.retained.get(key);
  const size = end - start;
  let value: Uint8Array;
  if (size === 1 && walk.leaves.has(start)) value = walk.leaves.get(start) as Uint8Array;
  else if (mustDescend(walk, start, end)) value = parentOf(walk, start, end);
  else if (kept !== undefined) {
    if (walk.resent.has(key) && !equalBytes(takeElement(walk), kept))
      fail(`the resent head of the retained [${start}, ${end}) differs`);
    value = kept;
  } else if ((size & (size - 1)) === 0) value = takeElement(walk);
  else value = parentOf(walk, start, end);
  if (kept !== undefined && !equalBytes(kept, value)) fail(`the retained head of [${start}, ${end}) differs`);
  if (walk.recorded.has(key)) walk.recorded.set(key, value);
  return value;
}

/** Checks a batch's inputs ('kt_bad_input') and returns the map of its proven leaves. */
function batchLeaves(suite: CipherSuite, batch: LogBatch): Map<number, Uint8Array> {
  checkSize(batch.treeSize, 'the tree size');
  const leaves = new Map<number, Uint8Array>();
  for (const { index, value } of batch.leaves) {
    if (!Number.isSafeInteger(index) || index < 0 || index >= batch.treeSize || leaves.has(index))
      throw new KeyTransError('kt_bad_input', `leaf ${index} is out of range or repeated`);
    if (value.length !== suite.hashLength) throw new KeyTransError('kt_bad_input', `leaf ${index}: wrong length`);
    leaves.set(index, value);
  }
  const sizes = [batch.retained?.size ?? 1, batch.additionalSize ?? 1];
  for (const n of sizes)
    if (!Number.isSafeInteger(n) || n < 1 || n > batch.treeSize)
      throw new KeyTransError('kt_bad_input', `size ${n} is not between 1 and the tree size`);
  return leaves;
}

/** The retained full subtrees as a map by range, checked against the retained size. */
function retainedMap(suite: CipherSuite, batch: LogBatch): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  if (batch.retained === null) return out;
  const ranges = fullSubtreeRanges(batch.retained.size);
  const values = batch.retained.fullSubtrees;
  if (values.length !== ranges.length || values.some((v) => v.length !== suite.hashLength))
    throw new KeyTransError('kt_bad_input', `a tree of ${batch.retained.size} has ${ranges.length} full subtrees`);
  ranges.forEach((r, i) => out.set(rangeKey(r.start, r.end), values[i]));
  return out;
}

/**
 * Verifies a batch proof ("Tree Proofs / Log Tree": inclusion of `batch.leaves` and consistency with the retained
 * full subtrees, and the root at `additionalSize`) and returns what it computes; 'kt_bad_proof' when the elements
 * are too few or too many or a retained head differs. The root is then checked by the tree head's signature.
 */
export function evaluateLogBatchProof(suite: CipherSuite, batch: LogBatch, proof: InclusionProof): LogBatchResult {
  try {
    return evaluateBatch(suite, batch, proof, false);
  } catch (e) {
    // The form with the retained heads of the additional size resent (see BatchWalk.resent), if it has any.
    if (!(e instanceof KeyTransError) || !/elements too many/.test(e.message)) throw e;
    return evaluateBatch(suite, batch, proof, true);
  }
}

function evaluateBatch(suite: CipherSuite, batch: LogBatch, proof: InclusionProof, resend: boolean): LogBatchResult {
  const ownRanges = fullSubtreeRanges(batch.treeSize);
  const extraRanges = batch.additionalSize === null ? [] : fullSubtreeRanges(batch.additionalSize);
  const retained = retainedMap(suite, batch);
  const resent = new Set(resend ? extraRanges.map((r) => rangeKey(r.start, r.end)).filter((k) => retained.has(k)) : []);
  if (resend && resent.size === 0) fail(`${proof.elements.length} elements, too many for this batch`);
  const walk: BatchWalk = {
    suite,
    leaves: batchLeaves(suite, batch),
    retained,
    marks: [...(batch.retained === null ? [] : fullSubtreeRanges(batch.retained.size)), ...extraRanges],
    recorded: new Map([...ownRanges, ...extraRanges].map((r) => [rangeKey(r.start, r.end), null])),
    elements: proof.elements,
    next: 0,
    resent,
  };
  const root = batchNode(walk, 0, batch.treeSize);
  if (walk.next !== proof.elements.length) fail(`${proof.elements.length - walk.next} elements too many`);
  const valuesOf = (ranges: LogRange[]) => ranges.map((r) => walk.recorded.get(rangeKey(r.start, r.end)) as Uint8Array);
  const additionalRoot =
    batch.additionalSize === null ? null : rootFromFullSubtrees(suite, batch.additionalSize, valuesOf(extraRanges));
  return { root, fullSubtrees: valuesOf(ownRanges), additionalRoot };
}

/** `evaluateLogBatchProof`, then the root must be `root` ('kt_bad_proof'). */
export function verifyLogBatchProof(
  suite: CipherSuite,
  batch: LogBatch,
  proof: InclusionProof,
  root: Uint8Array,
): LogBatchResult {
  const result = evaluateLogBatchProof(suite, batch, proof);
  if (!equalBytes(result.root, root)) fail('the proof computes a different root');
  return result;
}
