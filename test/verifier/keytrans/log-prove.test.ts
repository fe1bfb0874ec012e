/**
 * Tests for verifier/keytrans/log-prove.ts, the log's batch proof (draft-ietf-keytrans-protocol-05 "Tree Proofs /
 * Log Tree"): every batch proof of test/vectors/keytrans/primitives/log-tree.json reproduced byte for byte from the
 * leaf values of the vectors' log entries (every vector tree is a prefix of those 40 leaves, and its retained full
 * subtrees are those of the prefix of m leaves, which is checked); then, against the client's own hashing, every
 * tree size n ≤ 64 with every retained size m ≤ n (and none), a few leaf sets (none, random, one inside a retained
 * full subtree, the rightmost) and additional sizes, each proof accepted by evaluateLogBatchProof with logRoot's
 * root, the full subtrees and the additional root, and never resending a retained head; a flipped bit in any
 * element refused; requests the verifier would refuse refused with 'kt_bad_input'.
 */
import { describe, expect, it } from 'vitest';
import { equalBytes, fromHex, toHex } from '../../../wasm-free-crypto/bytes.js';
import {
  type LogBatch,
  evaluateLogBatchProof,
  logFullSubtrees,
  logLeafHash,
  logRoot,
  verifyLogBatchProof,
} from '../../../verifier/keytrans/log-tree.js';
import { type LogBatchRequest, proveLogBatch } from '../../../verifier/keytrans/log-prove.js';
import { writeInclusionProof } from '../../../verifier/keytrans/structures.js';
import { KT_128_SHA256_Ed25519 } from '../../../verifier/keytrans/suites.js';
import { encodeWith } from '../../../verifier/keytrans/tls.js';
import type { InclusionProof } from '../../../verifier/keytrans/types.js';
import { expectKtError } from '../../helpers/keytrans-primitives.js';
import { MemoryLogTree } from '../../helpers/memory-log-tree.js';
import { prng } from '../../helpers/prng.js';
import { vectorJson } from '../../helpers/vectors.js';

const suite = KT_128_SHA256_Ed25519;

const VECTORS: {
  log_entries: { leaf_value: string }[];
  batch_proofs: {
    description: string;
    n: number;
    leaves: number[];
    leaf_values: string[];
    m: number | null;
    retained_full_subtrees: string[];
    n_additional?: number | null;
    proof: string[];
    proof_encoding: string;
  }[];
} = vectorJson('keytrans/primitives/log-tree.json');

/** The batch the client verifies for `request` over `leaves`; `fulls[m - 1]`: the full subtrees of size m. */
function batchOf(leaves: readonly Uint8Array[], fulls: readonly Uint8Array[][], request: LogBatchRequest): LogBatch {
  const m = request.retainedSize;
  return {
    treeSize: request.treeSize,
    leaves: request.leaves.map((index) => ({ index, value: leaves[index] })),
    retained: m === null ? null : { size: m, fullSubtrees: fulls[m - 1] },
    additionalSize: request.additionalSize,
  };
}

describe('the vectors batch proofs, reproduced', () => {
  const leaves = VECTORS.log_entries.map((e) => fromHex(e.leaf_value));
  const tree = new MemoryLogTree(suite, leaves);
  const fulls = leaves.map((_, i) => logFullSubtrees(suite, leaves.slice(0, i + 1)));

  it.each(VECTORS.batch_proofs.map((v) => [v.description, v] as const))('%s', (_, v) => {
    expect(v.leaf_values).toEqual(v.leaves.map((i) => toHex(leaves[i])));
    if (v.m !== null) expect(fulls[v.m - 1].map(toHex)).toEqual(v.retained_full_subtrees);
    const request = { treeSize: v.n, leaves: v.leaves, retainedSize: v.m, additionalSize: v.n_additional ?? null };
    const proof = proveLogBatch(suite, tree, request);
    expect(proof.elements.map(toHex)).toEqual(v.proof);
    expect(toHex(encodeWith(proof, writeInclusionProof))).toBe(v.proof_encoding);
  });
});

describe('batch proofs for every size up to 64, checked by the client', () => {
  const entries = Array.from({ length: 64 }, (_, i) => ({ timestamp: 1_700_000_000_000 + i, prefixTree: leafSeed(i) }));
  const leaves = entries.map((e) => logLeafHash(suite, e));
  const tree = new MemoryLogTree(suite, leaves);
  const roots = leaves.map((_, i) => logRoot(suite, leaves.slice(0, i + 1)));
  const fulls = leaves.map((_, i) => logFullSubtrees(suite, leaves.slice(0, i + 1)));
  const random = prng(0x6b74);
  const pick = (n: number) => Math.floor(random() * n);

  /** The requests tried for sizes n and m: no leaves, random ones, one inside the retained part, the rightmost. */
  function requests(n: number, m: number | null): LogBatchRequest[] {
    const some = [...new Set(Array.from({ length: 1 + pick(4) }, () => pick(n)))];
    return [
      { treeSize: n, leaves: [], retainedSize: m, additionalSize: null },
      { treeSize: n, leaves: some, retainedSize: m, additionalSize: 1 + pick(n) },
      { treeSize: n, leaves: m === null ? [] : [pick(m)], retainedSize: m, additionalSize: m },
      { treeSize: n, leaves: [n - 1], retainedSize: m, additionalSize: n },
    ];
  }

  function check(request: LogBatchRequest): InclusionProof {
    const batch = batchOf(leaves, fulls, request);
    const proof = proveLogBatch(suite, tree, request);
    const result = verifyLogBatchProof(suite, batch, proof, roots[request.treeSize - 1]);
    const extra = request.additionalSize;
    const additionalRoot = extra === null ? null : roots[extra - 1];
    const same = (a: Uint8Array | null, b: Uint8Array | null) =>
      a === null ? b === null : b !== null && equalBytes(a, b);
    if (
      !result.fullSubtrees.every((v, i) => same(v, fulls[request.treeSize - 1][i])) ||
      !same(result.additionalRoot, additionalRoot)
    )
      expect.fail(`full subtrees or additional root differ for ${JSON.stringify(request)}`);
    // The minimum set: a retained head is never resent (katie's quirk), so no element equals one.
    const kept = batch.retained?.fullSubtrees ?? [];
    if (proof.elements.some((e) => kept.some((k) => equalBytes(e, k))))
      expect.fail(`a retained head resent for ${JSON.stringify(request)}`);
    return proof;
  }

  it('is accepted with the root, full subtrees and additional root of logRoot', () => {
    let proofs = 0;
    for (let n = 1; n <= 64; n++)
      for (let m = 0; m <= n; m++)
        for (const request of requests(n, m === 0 ? null : m)) {
          check(request);
          proofs++;
        }
    expect(proofs).toBe(4 * 2144); // 4 requests for each of the 2,144 pairs (n, m), m = 0 meaning none
  });

  it('is refused with any element flipped (one random bit of each element, for every n and m)', () => {
    for (let n = 1; n <= 64; n++)
      for (let m = 0; m <= n; m += 3) {
        const request = requests(n, m === 0 ? null : m)[1];
        const batch = batchOf(leaves, fulls, request);
        const proof = check(request);
        for (const element of proof.elements) {
          const b = pick(256);
          element[b >> 3] ^= 1 << (b & 7);
          expectKtError(() => verifyLogBatchProof(suite, batch, proof, roots[n - 1]), 'kt_bad_proof');
          element[b >> 3] ^= 1 << (b & 7);
        }
      }
  });

  it('refuses with kt_bad_input what the verifier would refuse', () => {
    const ok: LogBatchRequest = { treeSize: 8, leaves: [3], retainedSize: 5, additionalSize: 6 };
    const bad: LogBatchRequest[] = [
      { ...ok, treeSize: 0 },
      { ...ok, treeSize: 2.5 },
      { ...ok, leaves: [8] },
      { ...ok, leaves: [-1] },
      { ...ok, leaves: [3, 3] },
      { ...ok, retainedSize: 0 },
      { ...ok, retainedSize: 9 },
      { ...ok, additionalSize: 9 },
    ];
    for (const request of bad) expectKtError(() => proveLogBatch(suite, tree, request), 'kt_bad_input');
    expectKtError(() => evaluateLogBatchProof(suite, batchOf(leaves, fulls, ok), { elements: [] }), 'kt_bad_proof');
    check(ok);
  });
});

/** A distinct 32-byte prefix-tree root for the i-th synthetic log entry. */
function leafSeed(i: number): Uint8Array {
  return suite.hash(Uint8Array.of(i));
}
