/**
 * Tests for log/tlog.ts: the transparency-dev/merkle inclusion and consistency vectors (every file,
 * good and bad), and an exhaustive check over all trees of 1..100 records built through stored hashes:
 * tree hashes against an independent MTH, every inclusion and consistency proof verified by both APIs,
 * and every single-byte mutation, wrong index/size/root, truncation and extension rejected.
 */
import { describe, expect, it } from 'vitest';
import { fromBase64, utf8 } from '../wasm-free-crypto/bytes.js';
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
  storedHashes,
  storedHashesForRecordHash,
  treeHash,
  verifyConsistency,
  verifyInclusion,
  type Hash,
  type HashReader,
} from '../log/tlog.js';
import { vectorFiles, vectorJson } from './vectors.js';

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

/** An in-memory store of stored hashes, appended to by storedHashes. */
class MemoryStore implements HashReader {
  hashes: Hash[] = [];
  readHashes(indexes: number[]): Hash[] {
    return indexes.map((i) => {
      const h = this.hashes[i];
      if (h === undefined) throw new LogError('missing_hash', `no stored hash ${i}`);
      return h;
    });
  }
}

const N = 100;
const store = new MemoryStore();
const leaves: Hash[] = [];
for (let i = 0; i < N; i++) {
  leaves.push(recordHash(utf8(`record ${i}`)));
  store.hashes.push(...storedHashes(i, utf8(`record ${i}`), store));
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

/**
 * Single-byte mutations (xor 1) to try on a proof of `len` hashes: every byte of every hash for trees
 * of up to FULL_MUTATION_SIZE records, and beyond that one byte per hash, at a position that rotates
 * with (n, t), to keep the file's run time reasonable.
 */
const FULL_MUTATION_SIZE = 32;
function mutations(len: number, t: number, n: number): [number, number][] {
  const out: [number, number][] = [];
  for (let j = 0; j < len; j++) {
    if (t <= FULL_MUTATION_SIZE) for (let b = 0; b < 32; b++) out.push([j, b]);
    else out.push([j, (7 * j + n + t) % 32]);
  }
  return out;
}

describe('stored hashes', () => {
  it('index and split are inverse, count matches appends', () => {
    expect(store.hashes.length).toBe(storedHashCount(N));
    for (let i = 0; i < 5000; i++) {
      const { level, n } = splitStoredHashIndex(i);
      expect(storedHashIndex(level, n)).toBe(i);
    }
    for (const [level, n] of [[0, 2 ** 51], [40, 4095], [0, 2 ** 52 - 1], [52, 0]]) {
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
    const accepted: string[] = [];
    for (let t = 1; t <= N; t++) {
      for (let n = 0; n < t; n++) {
        const proof = proveRecord(t, n, store);
        const root = roots[t];
        verifyInclusion(n, t, leaves[n], proof, root);
        checkRecord(proof, t, root, n, leaves[n]);
        for (const [j, b] of mutations(proof.length, t, n)) {
          if (!throwsLog(() => verifyInclusion(n, t, leaves[n], flip(proof, j, b), root))) accepted.push(`proof ${n}/${t} [${j}][${b}]`);
        }
        for (const b of [0, (n + t) % 32, 31]) {
          expect(throwsLog(() => verifyInclusion(n, t, flip([leaves[n]], 0, b)[0], proof, root))).toBe(true);
          expect(throwsLog(() => verifyInclusion(n, t, leaves[n], proof, flip([root], 0, b)[0]))).toBe(true);
        }
        for (const n2 of [n - 1, n + 1, n ^ 2]) {
          if (n2 < 0 || n2 === n) continue;
          expect(throwsLog(() => verifyInclusion(n2, t, leaves[n], proof, root))).toBe(true);
          if (n2 < t) expect(throwsLog(() => verifyInclusion(n2, t, leaves[n2], proof, root))).toBe(!sameProof(proof, proveRecord(t, n2, store)));
        }
        for (const t2 of [t - 1, t + 1, 2 * t]) {
          if (t2 <= n || t2 > N || t2 === t) continue;
          expect(throwsLog(() => verifyInclusion(n, t2, leaves[n], proof, roots[t2]))).toBe(!sameProof(proof, proveRecord(t2, n, store)));
        }
        if (proof.length > 0) expect(throwsLog(() => verifyInclusion(n, t, leaves[n], proof.slice(0, -1), root))).toBe(true);
        expect(throwsLog(() => verifyInclusion(n, t, leaves[n], [...proof, extra], root))).toBe(true);
        expect(throwsLog(() => verifyInclusion(n, t, leaves[n], [extra, ...proof], root))).toBe(true);
      }
    }
    expect(accepted).toEqual([]);
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
    const accepted: string[] = [];
    for (let t = 1; t <= N; t++) {
      for (let n = 1; n <= t; n++) {
        const proof = proveTree(t, n, store);
        const [r1, r2] = [roots[n], roots[t]];
        verifyConsistency(n, t, proof, r1, r2);
        checkTree(proof, t, r2, n, r1);
        for (const [j, b] of mutations(proof.length, t, n)) {
          if (!throwsLog(() => verifyConsistency(n, t, flip(proof, j, b), r1, r2))) accepted.push(`proof ${n}/${t} [${j}][${b}]`);
        }
        for (const b of [0, (n + t) % 32, 31]) {
          expect(throwsLog(() => verifyConsistency(n, t, proof, flip([r1], 0, b)[0], r2))).toBe(true);
          expect(throwsLog(() => verifyConsistency(n, t, proof, r1, flip([r2], 0, b)[0]))).toBe(true);
        }
        if (n < t) {
          expect(throwsLog(() => verifyConsistency(n, t, proof, r2, r1))).toBe(true);
          expect(throwsLog(() => verifyConsistency(n, t, proof.slice(0, -1), r1, r2))).toBe(true);
          expect(throwsLog(() => verifyConsistency(t, n, proof, r2, r1))).toBe(true);
        }
        expect(throwsLog(() => verifyConsistency(n, t, [...proof, extra], r1, r2))).toBe(true);
        expect(throwsLog(() => verifyConsistency(n, t, [extra, ...proof], r1, r2))).toBe(true);
      }
    }
    expect(accepted).toEqual([]);
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
