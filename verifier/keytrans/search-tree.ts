/**
 * The implicit binary search tree over a KEYTRANS log's entries (draft-ietf-keytrans-protocol-05, section
 * "Implicit Binary Search Tree" and Appendix A), the full subtrees of its log tree, and the entries whose
 * timestamps update a client's view from one tree size to the next (section "Updating Views of the Tree", its
 * "Algorithm"). Positions are 0-based log entry indexes and sizes count entries, as JS numbers: safe integers
 * (tls.ts refuses a uint64 above 2^53 - 1), with a size of at least 1. Nothing here uses a bitwise operator, which
 * sees only 32 bits: every node lies inside the root's complete subtree, below 2^53 - 1, so the arithmetic is
 * exact. In the style of golang.org/x/mod/sumdb/tlog: small free functions; a child or parent that does not exist
 * is null, and an argument out of range throws TreeMathError. A node's level is its level in the complete
 * infinite tree (the number of trailing 1 bits), which Appendix A's level() gives and which is also the max of its
 * children's levels plus one in the tree of any size that holds it.
 */
import { TreeMathError } from './tree-math-error.js';

/** Throws unless n is a tree size: a safe integer of at least 1. */
function checkSize(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new TreeMathError('bad_size', `tree size must be a safe integer of at least 1, got ${String(n)}`);
}

/** Throws unless x is a log position: a non-negative safe integer, below n if a size is given. */
function checkPosition(x: number, n?: number): void {
  if (!Number.isSafeInteger(x) || x < 0 || (n !== undefined && x >= n))
    throw new TreeMathError(
      'bad_position',
      `log position must be a safe integer in 0..${n === undefined ? '2^53-2' : n - 1}, got ${String(x)}`,
    );
}

/** floor(log2(n)) for n >= 1: Appendix A's log2(). */
function floorLog2(n: number): number {
  let k = 0;
  while (2 ** (k + 1) <= n) k++;
  return k;
}

/** The parent of x in the complete infinite tree: x + 2^k if x is a left child, x - 2^k if a right one. */
function completeParent(x: number): number {
  const k = level(x);
  return Math.floor(x / 2 ** (k + 1)) % 2 === 0 ? x + 2 ** k : x - 2 ** k;
}

/** The level of x: 0 for a leaf (an even position), else the number of trailing 1 bits (Appendix A, level()). */
export function level(x: number): number {
  checkPosition(x);
  let k = 0;
  for (let v = x; v % 2 === 1; v = (v - 1) / 2) k++;
  return k;
}

/** The root of the tree of n entries: 2^floor(log2(n)) - 1 (section "Implicit Binary Search Tree"). */
export function root(n: number): number {
  checkSize(n);
  return 2 ** floorLog2(n) - 1;
}

/** The left child of x, null for a leaf (Appendix A, left()); it is the same in every tree that holds x. */
export function left(x: number): number | null {
  const k = level(x);
  return k === 0 ? null : x - 2 ** (k - 1);
}

/**
 * The right child of x in the tree of n entries, null where Appendix A's right() raises: for a leaf, and for a
 * node with no entry to its right (x = n - 1). The complete tree's right child, then left children until below n.
 */
export function right(x: number, n: number): number | null {
  checkSize(n);
  checkPosition(x, n);
  let k = level(x);
  if (k === 0) return null;
  let r = x + 2 ** (k - 1);
  for (k--; r >= n; k--) {
    if (k === 0) return null;
    r -= 2 ** (k - 1);
  }
  return r;
}

/**
 * The parent of x in the tree of n entries, null for the root: the first ancestor in the complete tree that is
 * below n (the ones at or above n are cut away, and their left children hang from the next one down).
 */
export function parent(x: number, n: number): number | null {
  checkSize(n);
  checkPosition(x, n);
  if (x === root(n)) return null;
  let p = completeParent(x);
  while (p >= n) p = completeParent(p);
  return p;
}

/** The direct path of x in the tree of n entries: its ancestors from its parent up to the root; empty for the root. */
export function directPath(x: number, n: number): number[] {
  checkSize(n);
  checkPosition(x, n);
  const top = root(n);
  const out: number[] = [];
  for (let p = x; p !== top; ) {
    p = completeParent(p);
    if (p < n) out.push(p);
  }
  return out;
}

/** The ancestors of x to its right (greater than x), from x upwards: the entries whose left subtree holds x. */
export function rightDirectPath(x: number, n: number): number[] {
  return directPath(x, n).filter((p) => p > x);
}

/** The frontier of the tree of n entries: the root, its right child, that one's, ..., down to n - 1. */
export function frontier(n: number): number[] {
  const out = [root(n)];
  for (let r = right(out[0], n); r !== null; r = right(r, n)) out.push(r);
  return out;
}

/** A range of leaves of the log tree, [start, end). */
export interface LeafRange {
  start: number;
  end: number;
}

/**
 * The full subtrees of the log tree of n entries, left to right (section "Updating Views of the Tree",
 * "Algorithm", item 2): one complete subtree per 1 bit of n, the largest first.
 */
export function fullSubtrees(n: number): LeafRange[] {
  checkSize(n);
  const out: LeafRange[] = [];
  let start = 0;
  for (let k = floorLog2(n); k >= 0; k--) {
    if (Math.floor(n / 2 ** k) % 2 === 0) continue;
    out.push({ start, end: start + 2 ** k });
    start += 2 ** k;
  }
  return out;
}

/**
 * The log entries whose timestamps update the view of a client that last saw m entries to n entries, in the order
 * the log provides them (section "Updating Views of the Tree", "Algorithm"). m = 0 means the client saw no tree:
 * the frontier of n. Otherwise the direct path of entry m - 1 in the tree of n entries, from the entries at or
 * after m, then the rest of the frontier after the last of them; if there is none, m - 1 is itself on the
 * frontier and the rest continues from it (the clarification made after draft-05, vectors' README deviation 3).
 * m = n gives no entry.
 */
export function updateView(m: number, n: number): number[] {
  checkSize(n);
  if (!Number.isSafeInteger(m) || m < 0 || m > n)
    throw new TreeMathError('bad_size', `previous tree size must be a safe integer in 0..${n}, got ${String(m)}`);
  if (m === 0) return frontier(n);
  const out = directPath(m - 1, n).filter((p) => p >= m);
  const last = out.length > 0 ? out[out.length - 1] : m - 1;
  for (let r = right(last, n); r !== null; r = right(r, n)) out.push(r);
  return out;
}
