/**
 * Merkle tree maths for the log (RFC 9162 section 2.1, the tree of RFC 6962 with SHA-256), modelled on
 * Go's golang.org/x/mod/sumdb/tlog: small free functions over a one-method `HashReader`, and the
 * "stored hash" numbering in which every complete subtree hash gets a permanent index the moment the
 * record completing it is appended (record m stores its leaf hash, then one hash per subtree it
 * completes; see `storedHashIndex`). Proof generation reads exactly the stored hashes it needs;
 * proof verification (`verifyInclusion`, `verifyConsistency`) follows the RFC 9162 algorithms literally
 * and with the edge-case rules of transparency-dev/merkle. Sizes and indexes are JS numbers: safe
 * non-negative integers, and below 2^52 wherever stored-hash indexes are involved (indexes are about
 * twice the tree size). Every failure is a `LogError` with a stable code.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';

/** A SHA-256 tree hash, always HASH_SIZE bytes. */
export type Hash = Uint8Array;
export const HASH_SIZE = 32;

/**
 * A typed error with a stable code: 'bad_index' (size or index out of range), 'bad_hash' (not 32
 * bytes, or a reader returned garbage), 'bad_proof' (wrong shape), 'not_included' (inclusion proof does
 * not lead to the root), 'inconsistent' (consistency proof does not lead to both roots), in tiles.ts
 * 'bad_tile', 'bad_tile_path', 'bad_bundle', and in frontier.ts 'bad_frontier'.
 */
export type LogErrorCode =
  | 'bad_index'
  | 'bad_hash'
  | 'bad_proof'
  | 'not_included'
  | 'inconsistent'
  | 'bad_tile'
  | 'bad_tile_path'
  | 'bad_bundle'
  | 'bad_frontier'
  | 'corrupt_log';

export class LogError extends CodedError<LogErrorCode> {
  override readonly name = 'LogError';
}

/** Reads stored hashes by stored-hash index, returning them in the order asked; throws if any is missing. */
export interface HashReader {
  readHashes(indexes: number[]): Hash[];
}

/** Trees indexed by stored hashes hold fewer than 2^52 records, so every index is a safe integer. */
const MAX_RECORDS = 2 ** 52;
const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/** MTH({}) = SHA-256() (RFC 9162 2.1.1). Shared: never modify it (functions here return copies). */
export const EMPTY_TREE_HASH: Hash = sha256(new Uint8Array(0));

// ---- small integer helpers on safe integers (bitwise operators only see 32 bits) ----

function checkCount(x: number, what: string): void {
  if (!Number.isSafeInteger(x) || x < 0)
    throw new LogError('bad_index', `${what} must be a non-negative safe integer, got ${String(x)}`);
}

function checkHash(h: Uint8Array, what: string): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE)
    throw new LogError('bad_hash', `${what} must be ${HASH_SIZE} bytes`);
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function popcount(x: number): number {
  return popcount32(x % 2 ** 32) + popcount32(Math.floor(x / 2 ** 32));
}

/** Number of trailing zero bits of x > 0. */
function trailingZeros(x: number): number {
  const lo = x % 2 ** 32;
  const v = lo !== 0 ? lo : Math.floor(x / 2 ** 32);
  return (lo !== 0 ? 0 : 32) + 31 - Math.clz32(v & -v);
}

const half = (x: number): number => Math.floor(x / 2);
const isPowerOfTwo = (x: number): boolean => x > 0 && popcount(x) === 1;

// ---- hashing (RFC 9162 2.1.1) ----

/** The leaf hash of a record: SHA-256(0x00 || data) (RFC 9162 2.1.1). */
export function recordHash(data: Uint8Array): Hash {
  return sha256(LEAF_PREFIX, data);
}

/** The interior node hash: SHA-256(0x01 || left || right) (RFC 9162 2.1.1). */
export function nodeHash(left: Hash, right: Hash): Hash {
  checkHash(left, 'left child hash');
  checkHash(right, 'right child hash');
  return sha256(NODE_PREFIX, left, right);
}

/** MTH over the given leaf hashes by the recursive definition of RFC 9162 2.1.1, independently of storage. */
export function rootFromLeafHashes(leafHashes: Hash[]): Hash {
  for (const h of leafHashes) checkHash(h, 'leaf hash');
  if (leafHashes.length === 0) return EMPTY_TREE_HASH.slice();
  const mth = (lo: number, hi: number): Hash => {
    if (hi - lo === 1) return leafHashes[lo].slice();
    const k = largestPowerOfTwoBelow(hi - lo);
    return nodeHash(mth(lo, lo + k), mth(lo + k, hi));
  };
  return mth(0, leafHashes.length);
}

/**
 * PATH(m, D[0:n]) of RFC 9162 2.1.3.1 computed directly from all the leaf hashes: the inclusion proof of
 * leaf m, bottom-up. For small trees held whole in memory (the directory's credential set).
 */
export function pathFromLeafHashes(leafHashes: Hash[], m: number): Hash[] {
  checkCount(m, 'leaf index');
  if (m >= leafHashes.length) throw new LogError('bad_index', `leaf ${m} is not in a tree of ${leafHashes.length}`);
  const path = (lo: number, hi: number, i: number): Hash[] => {
    if (hi - lo === 1) return [];
    const k = largestPowerOfTwoBelow(hi - lo);
    return i < k
      ? [...path(lo, lo + k, i), rootFromLeafHashes(leafHashes.slice(lo + k, hi))]
      : [...path(lo + k, hi, i - k), rootFromLeafHashes(leafHashes.slice(lo, lo + k))];
  };
  return path(0, leafHashes.length, m);
}

/** k, the largest power of two strictly smaller than n >= 2 (the split point of RFC 9162 2.1.1). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// ---- stored-hash indexing ----

/**
 * The stored-hash index of the n-th hash at `level` (the MTH of records [n·2^level, (n+1)·2^level)).
 * Hashes are stored in the order they become complete: appending record m stores its leaf hash and
 * then, for each of the t trailing one bits of m, the hash of the subtree it completes at levels
 * 1..t. Record m therefore starts at index 2m - popcount(m) (the sum over j < m of 1 + t(j)), and the
 * level-L hash completed by its last record m = (n+1)·2^L - 1 sits L places after m's leaf hash.
 */
export function storedHashIndex(level: number, n: number): number {
  if (!Number.isInteger(level) || level < 0 || level > 63)
    throw new LogError('bad_index', `bad level ${String(level)}`);
  checkCount(n, 'n');
  const last = (n + 1) * 2 ** level - 1;
  if (last >= MAX_RECORDS) throw new LogError('bad_index', `hash (${level}, ${n}) is beyond the supported tree size`);
  return 2 * last - popcount(last) + level;
}

/** The inverse of `storedHashIndex`. */
export function splitStoredHashIndex(index: number): { level: number; n: number } {
  checkCount(index, 'stored hash index');
  if (index >= Number.MAX_SAFE_INTEGER) throw new LogError('bad_index', 'stored hash index out of range');
  // Record m's hashes start at 2m - popcount(m) <= index, so m >= index/2; walk forward from there.
  let m = half(index);
  let start = 2 * m - popcount(m);
  for (;;) {
    const next = start + 1 + trailingZeros(m + 1); // record m stores 1 + trailingOnes(m) hashes
    if (next > index) break;
    start = next;
    m++;
  }
  const level = index - start;
  return { level, n: Math.floor(m / 2 ** level) };
}

/** The number of stored hashes of a tree of n records (equal to the index where record n would start). */
export function storedHashCount(n: number): number {
  checkCount(n, 'tree size');
  if (n > MAX_RECORDS) throw new LogError('bad_index', 'tree size beyond the supported maximum');
  return 2 * n - popcount(n);
}

/** The stored hashes to append when adding record n (with data `data`) to a tree of size n. */
export function storedHashes(n: number, data: Uint8Array, r: HashReader): Hash[] {
  return storedHashesForRecordHash(n, recordHash(data), r);
}

/** Like `storedHashes`, given the record's leaf hash: the leaf hash, then each newly completed subtree. */
export function storedHashesForRecordHash(n: number, h: Hash, r: HashReader): Hash[] {
  checkCount(n, 'record index');
  if (n >= MAX_RECORDS) throw new LogError('bad_index', 'record index beyond the supported maximum');
  checkHash(h, 'record hash');
  // Each trailing one bit of n completes a subtree with the left sibling at that level.
  const completed = trailingZeros(n + 1);
  const indexes: number[] = [];
  for (let i = completed - 1; i >= 0; i--) indexes.push(storedHashIndex(i, Math.floor(n / 2 ** i) - 1));
  const siblings = readChecked(r, indexes); // ascending index order: highest level first
  const out: Hash[] = [h.slice()];
  let cur = h;
  for (let i = 0; i < completed; i++) {
    cur = nodeHash(siblings[completed - 1 - i], cur);
    out.push(cur);
  }
  return out;
}

/** Reads hashes and checks the reader kept its contract. */
function readChecked(r: HashReader, indexes: number[]): Hash[] {
  if (indexes.length === 0) return [];
  const hashes = r.readHashes(indexes);
  if (hashes.length !== indexes.length)
    throw new LogError('bad_hash', `hash reader returned ${hashes.length} hashes for ${indexes.length} indexes`);
  for (const h of hashes) checkHash(h, 'stored hash');
  return hashes;
}

// ---- tree hashes and proofs from stored hashes ----

/** A queue of hashes read in the order the planning pass asked for them. */
interface HashQueue {
  hashes: Hash[];
  next: number;
}

function take(q: HashQueue): Hash {
  if (q.next >= q.hashes.length) throw new LogError('bad_hash', 'ran out of stored hashes');
  return q.hashes[q.next++];
}

/**
 * Appends the indexes of the complete subtrees that make up records [lo, hi), left to right, each the
 * largest power of two that fits (callers only pass lo aligned to the first such subtree).
 */
function subTreeIndexes(lo: number, hi: number, need: number[]): number[] {
  while (lo < hi) {
    let level = 0;
    while (2 ** (level + 1) <= hi - lo) level++;
    need.push(storedHashIndex(level, lo / 2 ** level));
    lo += 2 ** level;
  }
  return need;
}

/** MTH(D[lo:hi]) from the hashes planned by `subTreeIndexes(lo, hi)`, folded right to left (RFC 9162 2.1.1). */
function subTreeHash(lo: number, hi: number, q: HashQueue): Hash {
  const parts = subTreeIndexes(lo, hi, []).map(() => take(q));
  let h = parts[parts.length - 1];
  for (let i = parts.length - 2; i >= 0; i--) h = nodeHash(parts[i], h);
  return h;
}

/** MTH of the first n records (RFC 9162 2.1.1); EMPTY_TREE_HASH for n = 0. */
export function treeHash(n: number, r: HashReader): Hash {
  checkCount(n, 'tree size');
  if (n === 0) return EMPTY_TREE_HASH.slice();
  const q = { hashes: readChecked(r, subTreeIndexes(0, n, [])), next: 0 };
  return subTreeHash(0, n, q).slice();
}

/** Indexes needed by `leafProof(lo, hi, n)`, in the order it consumes them. */
function leafProofIndexes(lo: number, hi: number, n: number, need: number[]): number[] {
  if (hi - lo === 1) return need;
  const k = largestPowerOfTwoBelow(hi - lo);
  if (n < lo + k) return subTreeIndexes(lo + k, hi, leafProofIndexes(lo, lo + k, n, need));
  return leafProofIndexes(lo + k, hi, n, subTreeIndexes(lo, lo + k, need));
}

/** PATH(n - lo, D[lo:hi]) of RFC 9162 2.1.3.1: the path below, then the sibling subtree at this split. */
function leafProof(lo: number, hi: number, n: number, q: HashQueue): Hash[] {
  if (hi - lo === 1) return [];
  const k = largestPowerOfTwoBelow(hi - lo);
  if (n < lo + k) {
    const p = leafProof(lo, lo + k, n, q);
    return [...p, subTreeHash(lo + k, hi, q)];
  }
  const sibling = subTreeHash(lo, lo + k, q);
  return [...leafProof(lo + k, hi, n, q), sibling];
}

/** The inclusion proof of record n in the tree of size t, leaf to root (RFC 9162 2.1.3.1). */
export function proveRecord(t: number, n: number, r: HashReader): Hash[] {
  checkCount(t, 'tree size');
  checkCount(n, 'record index');
  if (n >= t) throw new LogError('bad_index', `record ${n} is not in a tree of size ${t}`);
  const q = { hashes: readChecked(r, leafProofIndexes(0, t, n, [])), next: 0 };
  return leafProof(0, t, n, q).map((h) => h.slice()); // copies: callers may not alias storage
}

/** Indexes needed by `treeProof(lo, hi, n)`, in the order it consumes them. */
function treeProofIndexes(lo: number, hi: number, n: number, need: number[]): number[] {
  if (n === hi) return lo === 0 ? need : subTreeIndexes(lo, hi, need);
  const k = largestPowerOfTwoBelow(hi - lo);
  if (n <= lo + k) return subTreeIndexes(lo + k, hi, treeProofIndexes(lo, lo + k, n, need));
  return treeProofIndexes(lo + k, hi, n, subTreeIndexes(lo, lo + k, need));
}

/**
 * SUBPROOF(n - lo, D[lo:hi], lo == 0) of RFC 9162 2.1.4.1: the flag "D[0:m] is a complete subtree whose
 * hash the verifier knows" is true exactly while the recursion has not moved right of 0.
 */
function treeProof(lo: number, hi: number, n: number, q: HashQueue): Hash[] {
  if (n === hi) return lo === 0 ? [] : [subTreeHash(lo, hi, q)];
  const k = largestPowerOfTwoBelow(hi - lo);
  if (n <= lo + k) {
    const p = treeProof(lo, lo + k, n, q);
    return [...p, subTreeHash(lo + k, hi, q)];
  }
  const sibling = subTreeHash(lo, lo + k, q);
  return [...treeProof(lo + k, hi, n, q), sibling];
}

/** The consistency proof from the tree of size n to the tree of size t, 0 < n <= t (RFC 9162 2.1.4.1). */
export function proveTree(t: number, n: number, r: HashReader): Hash[] {
  checkCount(t, 'tree size');
  checkCount(n, 'old tree size');
  if (n < 1 || n > t) throw new LogError('bad_index', `no consistency proof from size ${n} to size ${t}`);
  const q = { hashes: readChecked(r, treeProofIndexes(0, t, n, [])), next: 0 };
  return treeProof(0, t, n, q).map((h) => h.slice());
}

// ---- verification ----

/** Go tlog's CheckRecord: verifies that record n with leaf hash h is in the tree of size t and hash th. */
export function checkRecord(proof: Hash[], t: number, th: Hash, n: number, h: Hash): void {
  verifyInclusion(n, t, h, proof, th);
}

/** Go tlog's CheckTree: verifies that the tree of size t and hash th extends the tree of size n and hash h. */
export function checkTree(proof: Hash[], t: number, th: Hash, n: number, h: Hash): void {
  verifyConsistency(n, t, proof, h, th);
}

/** Right-shifts fn and sn together until fn is odd or zero (the inner loop of RFC 9162 2.1.3.2 and 2.1.4.2). */
function shiftWhileEven(s: { fn: number; sn: number }): void {
  while (s.fn % 2 === 0 && s.fn !== 0) {
    s.fn = half(s.fn);
    s.sn = half(s.sn);
  }
}

/**
 * Verifies an inclusion proof by the algorithm of RFC 9162 2.1.3.2. A proof that is too long runs sn
 * to 0 early and one that is too short leaves sn > 0; both are 'bad_proof'.
 */
export function verifyInclusion(leafIndex: number, treeSize: number, leafHash: Hash, proof: Hash[], root: Hash): void {
  checkCount(leafIndex, 'leaf index');
  checkCount(treeSize, 'tree size');
  if (leafIndex >= treeSize)
    throw new LogError('bad_index', `leaf index ${leafIndex} is not below tree size ${treeSize}`);
  checkHash(leafHash, 'leaf hash');
  checkHash(root, 'root hash');
  proof.forEach((p) => checkHash(p, 'proof hash'));
  const s = { fn: leafIndex, sn: treeSize - 1 };
  let r = leafHash;
  for (const p of proof) {
    if (s.sn === 0) throw new LogError('bad_proof', 'inclusion proof is too long');
    if (s.fn % 2 === 1 || s.fn === s.sn) {
      r = nodeHash(p, r);
      shiftWhileEven(s);
    } else {
      r = nodeHash(r, p);
    }
    s.fn = half(s.fn);
    s.sn = half(s.sn);
  }
  if (s.sn !== 0) throw new LogError('bad_proof', 'inclusion proof is too short');
  if (!equalBytes(r, root)) throw new LogError('not_included', 'inclusion proof does not lead to the root hash');
}

/**
 * Verifies a consistency proof. Edge cases first, as in transparency-dev/merkle: size1 > size2 fails;
 * equal sizes need an empty proof and equal roots (compared as opaque values; for size 0 both must be
 * EMPTY_TREE_HASH); size1 = 0 < size2 needs an empty proof and root1 = EMPTY_TREE_HASH, since every
 * tree extends the empty tree. Otherwise 0 < size1 < size2 and the RFC 9162 2.1.4.2 algorithm runs.
 */
export function verifyConsistency(size1: number, size2: number, proof: Hash[], root1: Hash, root2: Hash): void {
  checkCount(size1, 'size1');
  checkCount(size2, 'size2');
  if (size1 > size2) throw new LogError('bad_index', `size1 ${size1} is greater than size2 ${size2}`);
  if (size1 === 0 || size1 === size2) {
    if (proof.length !== 0) throw new LogError('bad_proof', 'consistency proof must be empty');
    if (size1 === 0 && !equalBytes(root1, EMPTY_TREE_HASH))
      throw new LogError('inconsistent', 'root1 is not the empty tree hash');
    if (size2 === size1 && !equalBytes(root1, root2))
      throw new LogError('inconsistent', 'roots of equal-size trees differ');
    if (size2 !== size1) checkHash(root2, 'root2');
    return;
  }
  checkHash(root1, 'root1');
  checkHash(root2, 'root2');
  proof.forEach((p) => checkHash(p, 'proof hash'));
  verifyConsistencyPath(size1, size2, proof, root1, root2);
}

/** Steps 1-7 of RFC 9162 2.1.4.2, for 0 < size1 < size2 and well-formed hashes. */
function verifyConsistencyPath(size1: number, size2: number, proof: Hash[], root1: Hash, root2: Hash): void {
  if (proof.length === 0) throw new LogError('bad_proof', 'consistency proof is empty');
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  const s = { fn: size1 - 1, sn: size2 - 1 };
  while (s.fn % 2 === 1) {
    s.fn = half(s.fn);
    s.sn = half(s.sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (s.sn === 0) throw new LogError('bad_proof', 'consistency proof is too long');
    if (s.fn % 2 === 1 || s.fn === s.sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      shiftWhileEven(s);
    } else {
      sr = nodeHash(sr, c);
    }
    s.fn = half(s.fn);
    s.sn = half(s.sn);
  }
  if (s.sn !== 0) throw new LogError('bad_proof', 'consistency proof is too short');
  if (!equalBytes(fr, root1)) throw new LogError('inconsistent', 'consistency proof does not lead to root1');
  if (!equalBytes(sr, root2)) throw new LogError('inconsistent', 'consistency proof does not lead to root2');
}
