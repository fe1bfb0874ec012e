/**
 * Tests for verifier/formats/tlog.ts: the transparency-dev/merkle inclusion and consistency vectors (every file,
 * good and bad), and an exhaustive check over all trees of 1..100 records built through stored hashes:
 * tree hashes against an independent MTH, every inclusion and consistency proof verified by both APIs,
 * and every single-byte mutation, wrong index/size/root, truncation and extension rejected.
 */
import { describe, expect, it } from 'vitest';
import { fromBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';
import {
  EMPTY_TREE_HASH,
  LogError,
  checkRecord,
  checkTree,
  nodeHash,
  proveRecord,
  proveTree,
  recordHash,
  rootFromLeafHashes,
  splitStoredHashIndex,
  storedHashCount,
  storedHashIndex,
  storedHashesForRecordHash,
  treeHash,
  verifyConsistency,
  verifyInclusion,
  type Hash,
} from '../../../verifier/formats/tlog.js';
import { vectorFiles, vectorJson } from '../../helpers/vectors.js';
import { MemoryHashStore } from '../../helpers/log.js';

const b64 = (s: string): Uint8Array => fromBase64(s);
const proofOf = (p: string[] | null): Hash[] => (p ?? []).map(b64);

function throwsLog(f: () => void): boolean {
  try {
    f();
    return false;
  } catch (e) {
    if (!(e instanceof LogError)) throw e;
    return true;
  }
}

describe('RFC 9162 vectors (transparency-dev/merkle)', () => {
  for (const file of vectorFiles('merkle/inclusion')) {
    it(file, () => {
      const v = vectorJson(file);
      const proof = proofOf(v.proof);
      const [leaf, root] = [b64(v.leafHash), b64(v.root)];
      expect(throwsLog(() => verifyInclusion(v.leafIdx, v.treeSize, leaf, proof, root))).toBe(v.wantErr);
      expect(throwsLog(() => checkRecord(proof, v.treeSize, root, v.leafIdx, leaf))).toBe(v.wantErr);
    });
  }
  for (const file of vectorFiles('merkle/consistency')) {
    it(file, () => {
      const v = vectorJson(file);
      const proof = proofOf(v.proof);
      const [root1, root2] = [b64(v.root1), b64(v.root2)];
      expect(throwsLog(() => verifyConsistency(v.size1, v.size2, proof, root1, root2))).toBe(v.wantErr);
      expect(throwsLog(() => checkTree(proof, v.size2, root2, v.size1, root1))).toBe(v.wantErr);
    });
  }
});

const N = 100;
const store = new MemoryHashStore();
const leaves: Hash[] = [];
for (let i = 0; i < N; i++) {
  leaves.push(recordHash(utf8(`record ${i}`)));
  store.append(utf8(`record ${i}`));
}
const roots: Hash[] = [EMPTY_TREE_HASH];
for (let t = 1; t <= N; t++) roots.push(treeHash(t, store));

/** A copy of `proof` with byte b of hash j xored with 1. */
function flip(proof: Hash[], j: number, b: number): Hash[] {
  const out = proof.slice();
  out[j] = proof[j].slice();
  out[j][b] ^= 1;
  return out;
}
const sameProof = (a: Hash[], b: Hash[]): boolean =>
  a.length === b.length && a.every((h, i) => h.every((x, j) => x === b[i][j]));
const extra = nodeHash(leaves[0], leaves[1]);

/** The byte positions flipped (xor 1) in each hash of a proof, leaf or root: every one of them. */
const ALL_BYTES = Array.from({ length: 32 }, (_, b) => b);

/**
 * Collects the labels of checks whose outcome was wrong, so the exhaustive loops make one assertion
 * each instead of a million. Stack traces are switched off while they run: building them for every
 * rejected proof dominates the run time.
 */
class Tally {
  wrong: string[] = [];
  expect(label: string, f: () => void, rejected = true): void {
    if (throwsLog(f) !== rejected) this.wrong.push(label);
  }
  run(body: (tally: Tally) => void): string[] {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      body(this);
    } finally {
      Error.stackTraceLimit = limit;
    }
    return this.wrong;
  }
}

describe('stored hashes', () => {
  it('index and split are inverse, count matches appends', () => {
    expect(store.hashes.length).toBe(storedHashCount(N));
    for (let i = 0; i < 5000; i++) {
      const { level, n } = splitStoredHashIndex(i);
      expect(storedHashIndex(level, n)).toBe(i);
    }
    for (const [level, n] of [
      [0, 2 ** 51],
      [40, 4095],
      [0, 2 ** 52 - 1],
      [52, 0],
    ]) {
      expect(splitStoredHashIndex(storedHashIndex(level, n))).toEqual({ level, n });
    }
    expect(storedHashCount(2 ** 52)).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => storedHashIndex(0, 2 ** 52)).toThrow(LogError);
    expect(() => storedHashIndex(-1, 0)).toThrow(LogError);
    expect(() => storedHashIndex(0, 1.5)).toThrow(LogError);
    expect(() => splitStoredHashIndex(-1)).toThrow(LogError);
    expect(() => storedHashesForRecordHash(0, new Uint8Array(31), store)).toThrow(LogError);
  });

  it('tree hashes equal an independent MTH for sizes 0..100', () => {
    expect(treeHash(0, store)).toEqual(EMPTY_TREE_HASH);
    expect(rootFromLeafHashes([])).toEqual(EMPTY_TREE_HASH);
    for (let t = 1; t <= N; t++) expect(roots[t]).toEqual(rootFromLeafHashes(leaves.slice(0, t)));
    expect(() => treeHash(N + 1, store)).toThrow(LogError);
  });
});

describe('exhaustive inclusion proofs, sizes 1..100', () => {
  it('every proof verifies, every mutation is rejected', () => {
    const wrong = new Tally().run((tally) => {
      for (let t = 1; t <= N; t++) {
        for (let n = 0; n < t; n++) {
          const [proof, leaf, root] = [proveRecord(t, n, store), leaves[n], roots[t]];
          const check = (what: string, f: () => void, rejected = true) =>
            tally.expect(`${n}/${t} ${what}`, f, rejected);
          check('valid', () => verifyInclusion(n, t, leaf, proof, root), false);
          check('valid (checkRecord)', () => checkRecord(proof, t, root, n, leaf), false);
          for (let j = 0; j < proof.length; j++) {
            for (const b of ALL_BYTES)
              check(`flip [${j}][${b}]`, () => verifyInclusion(n, t, leaf, flip(proof, j, b), root));
          }
          for (const b of ALL_BYTES) {
            check(`flip leaf [${b}]`, () => verifyInclusion(n, t, flip([leaf], 0, b)[0], proof, root));
            check(`flip root [${b}]`, () => checkRecord(proof, t, flip([root], 0, b)[0], n, leaf));
          }
          for (const n2 of [n - 1, n + 1, n ^ 2, t]) {
            if (n2 < 0 || n2 === n) continue;
            check(`index ${n2}`, () => verifyInclusion(n2, t, leaf, proof, root));
            // With the right leaf hash, another index is accepted only if its proof is the same.
            if (n2 < t)
              check(
                `index ${n2} (own leaf)`,
                () => verifyInclusion(n2, t, leaves[n2], proof, root),
                !sameProof(proof, proveRecord(t, n2, store)),
              );
          }
          for (const t2 of [t - 1, t + 1, 2 * t]) {
            if (t2 <= n || t2 > N || t2 === t) continue;
            check(
              `size ${t2}`,
              () => verifyInclusion(n, t2, leaf, proof, roots[t2]),
              !sameProof(proof, proveRecord(t2, n, store)),
            );
          }
          if (proof.length > 0) check('truncated', () => verifyInclusion(n, t, leaf, proof.slice(0, -1), root));
          check('extended', () => verifyInclusion(n, t, leaf, [...proof, extra], root));
          check('prefixed', () => verifyInclusion(n, t, leaf, [extra, ...proof], root));
        }
      }
    });
    expect(wrong).toEqual([]);
  });

  it('rejects bad arguments', () => {
    expect(() => proveRecord(5, 5, store)).toThrow(LogError);
    expect(() => proveRecord(5, -1, store)).toThrow(LogError);
    expect(() => verifyInclusion(0, 2 ** 53, leaves[0], [], roots[1])).toThrow(LogError);
    expect(() => verifyInclusion(0, 1, leaves[0], [], roots[1].slice(1))).toThrow(LogError);
    expect(() => verifyInclusion(0, 2, leaves[0], [leaves[1].slice(1)], roots[2])).toThrow(LogError);
    verifyInclusion(0, 2, leaves[0], [leaves[1]], roots[2]);
  });
});

describe('exhaustive consistency proofs, sizes 1..100', () => {
  it('every proof verifies, every mutation is rejected', () => {
    const wrong = new Tally().run((tally) => {
      for (let t = 1; t <= N; t++) {
        for (let n = 1; n <= t; n++) {
          const [proof, r1, r2] = [proveTree(t, n, store), roots[n], roots[t]];
          const check = (what: string, f: () => void, rejected = true) =>
            tally.expect(`${n}->${t} ${what}`, f, rejected);
          check('valid', () => verifyConsistency(n, t, proof, r1, r2), false);
          check('valid (checkTree)', () => checkTree(proof, t, r2, n, r1), false);
          for (let j = 0; j < proof.length; j++) {
            for (const b of ALL_BYTES)
              check(`flip [${j}][${b}]`, () => verifyConsistency(n, t, flip(proof, j, b), r1, r2));
          }
          for (const b of ALL_BYTES) {
            check(`flip root1 [${b}]`, () => verifyConsistency(n, t, proof, flip([r1], 0, b)[0], r2));
            check(`flip root2 [${b}]`, () => checkTree(proof, t, flip([r2], 0, b)[0], n, r1));
          }
          if (n < t) {
            check('swapped roots', () => verifyConsistency(n, t, proof, r2, r1));
            check('swapped sizes', () => verifyConsistency(t, n, proof, r1, r2));
            check('truncated', () => verifyConsistency(n, t, proof.slice(0, -1), r1, r2));
            check('root1 of n-1', () => verifyConsistency(n, t, proof, roots[n - 1], r2));
          }
          for (const t2 of [t - 1, t + 1]) {
            if (t2 < n || t2 > N || t2 === t) continue;
            check(
              `size2 ${t2}`,
              () => verifyConsistency(n, t2, proof, r1, roots[t2]),
              !sameProof(proof, proveTree(t2, n, store)),
            );
          }
          check('extended', () => verifyConsistency(n, t, [...proof, extra], r1, r2));
          check('prefixed', () => verifyConsistency(n, t, [extra, ...proof], r1, r2));
        }
      }
    });
    expect(wrong).toEqual([]);
  });

  it('handles the empty tree and rejects bad arguments', () => {
    verifyConsistency(0, 0, [], EMPTY_TREE_HASH, EMPTY_TREE_HASH);
    verifyConsistency(0, 5, [], EMPTY_TREE_HASH, roots[5]);
    expect(() => verifyConsistency(0, 5, [], roots[1], roots[5])).toThrow(LogError);
    expect(() => verifyConsistency(0, 5, [roots[1]], EMPTY_TREE_HASH, roots[5])).toThrow(LogError);
    expect(() => proveTree(5, 0, store)).toThrow(LogError);
    expect(() => proveTree(5, 6, store)).toThrow(LogError);
    expect(() => verifyConsistency(3, 5, proveTree(5, 3, store), roots[3], roots[5].slice(1))).toThrow(LogError);
    expect(() => verifyConsistency(-1, 5, [], EMPTY_TREE_HASH, roots[5])).toThrow(LogError);
  });
});
