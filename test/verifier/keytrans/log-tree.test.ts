/**
 * Tests for verifier/keytrans/log-tree.ts against test/vectors/keytrans/primitives/log-tree.json: every LogEntry's
 * encoding and leaf value; the hashing examples; the root and full subtrees of every size 1..40 (and the root
 * folded from them); every batch proof (inclusion, consistency, both, an additional size, the draft's figures and
 * worked example) gives the expected root, full subtrees and additional root, its elements matching the encoding;
 * every invalid batch proof, the retained-subtree edge case among them, is refused with KeyTransError
 * 'kt_bad_proof'. Also: single-bit flips of elements, leaves and retained values, and malformed inputs.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../wasm-free-crypto/bytes.js';
import {
  type LogBatch,
  evaluateLogBatchProof,
  fullSubtreeRanges,
  logFullSubtrees,
  logLeafHash,
  logRoot,
  rootFromFullSubtrees,
  verifyLogBatchProof,
} from '../../../verifier/keytrans/log-tree.js';
import { encodeLogEntry } from '../../../verifier/keytrans/signed-structures.js';
import { KT_128_SHA256_Ed25519 } from '../../../verifier/keytrans/suites.js';
import { decodeWhole } from '../../../verifier/keytrans/tls.js';
import type { InclusionProof } from '../../../verifier/keytrans/types.js';
import { expectKtError } from '../../helpers/keytrans-primitives.js';
import { vectorJson } from '../../helpers/vectors.js';

const suite = KT_128_SHA256_Ed25519;

interface BatchVector {
  description: string;
  n: number;
  leaves: number[];
  leaf_values: string[];
  m: number | null;
  retained_full_subtrees: string[];
  n_additional?: number | null;
  proof: string[];
  proof_encoding?: string;
  expected_root?: string;
  expected_full_subtrees?: string[];
  expected_root_additional?: string;
}

const VECTORS: {
  log_entries: { timestamp: number; prefix_tree: string; encoding: string; leaf_value: string }[];
  hashing: { description: string; value: string }[];
  roots: { n: number; root: string; full_subtrees: string[]; full_subtree_ranges: [number, number][] }[];
  batch_proofs: BatchVector[];
  invalid_batch_proofs: BatchVector[];
} = vectorJson('keytrans/primitives/log-tree.json');

const LEAVES = VECTORS.log_entries.map((e) => fromHex(e.leaf_value));

function batchOf(v: BatchVector): LogBatch {
  return {
    treeSize: v.n,
    leaves: v.leaves.map((index, i) => ({ index, value: fromHex(v.leaf_values[i]) })),
    retained: v.m === null ? null : { size: v.m, fullSubtrees: v.retained_full_subtrees.map(fromHex) },
    additionalSize: v.n_additional ?? null,
  };
}

function proofOf(v: BatchVector): InclusionProof {
  return { elements: v.proof.map(fromHex) };
}

/** An InclusionProof's encoding as katie writes it: a 2-byte count of elements, then the elements. */
function decodeInclusionProof(hex: string): InclusionProof {
  return decodeWhole(fromHex(hex), 'InclusionProof', (r) => ({
    elements: Array.from({ length: r.u16('elements count') }, () => r.bytesFixed(32, 'element')),
  }));
}

describe('log tree hashing', () => {
  it('encodes every LogEntry and hashes it to its leaf value', () => {
    for (const e of VECTORS.log_entries) {
      const entry = { timestamp: e.timestamp, prefixTree: fromHex(e.prefix_tree) };
      expect(toHex(encodeLogEntry(entry))).toBe(e.encoding);
      expect(toHex(logLeafHash(suite, entry))).toBe(e.leaf_value);
    }
  });

  it('gives the hashing examples (roots of 2 and 3 leaves)', () => {
    expect(toHex(logRoot(suite, LEAVES.slice(0, 2)))).toBe(VECTORS.hashing[0].value);
    expect(toHex(logRoot(suite, LEAVES.slice(0, 3)))).toBe(VECTORS.hashing[1].value);
  });

  it.each(VECTORS.roots.map((r) => [r.n, r] as const))('size %i: root and full subtrees', (n, r) => {
    const leaves = LEAVES.slice(0, n);
    expect(toHex(logRoot(suite, leaves))).toBe(r.root);
    expect(fullSubtreeRanges(n).map((x) => [x.start, x.end])).toEqual(r.full_subtree_ranges);
    expect(logFullSubtrees(suite, leaves).map(toHex)).toEqual(r.full_subtrees);
    expect(toHex(rootFromFullSubtrees(suite, n, r.full_subtrees.map(fromHex)))).toBe(r.root);
  });
});

describe('log batch proofs', () => {
  it.each(VECTORS.batch_proofs.map((v) => [v.description, v] as const))('%s', (_, v) => {
    const proof = proofOf(v);
    if (v.proof_encoding !== undefined) expect(decodeInclusionProof(v.proof_encoding)).toEqual(proof);
    const result = verifyLogBatchProof(suite, batchOf(v), proof, fromHex(v.expected_root as string));
    expect(toHex(result.root)).toBe(v.expected_root);
    expect(result.fullSubtrees.map(toHex)).toEqual(v.expected_full_subtrees);
    expect(result.additionalRoot === null ? null : toHex(result.additionalRoot)).toBe(
      v.expected_root_additional ?? null,
    );
  });

  it.each(VECTORS.invalid_batch_proofs.map((v) => [v.description, v] as const))('refuses: %s', (_, v) => {
    // The retained-subtree edge case gives no root: the proof must be refused before any root is compared.
    const check =
      v.expected_root === undefined
        ? () => evaluateLogBatchProof(suite, batchOf(v), proofOf(v))
        : () => verifyLogBatchProof(suite, batchOf(v), proofOf(v), fromHex(v.expected_root as string));
    expectKtError(check, 'kt_bad_proof');
  });
});

describe('tampered log batch proofs', () => {
  /** Every batch with something to tamper with: its proof, its leaves and its retained subtrees. */
  const batches = VECTORS.batch_proofs.filter((v) => v.proof.length + v.leaves.length > 0);

  it('refuses a single-bit flip (every 11th bit) of any element, leaf or retained value', () => {
    for (const v of batches) {
      const batch = batchOf(v);
      const proof = proofOf(v);
      const root = fromHex(v.expected_root as string);
      const values = [...proof.elements, ...batch.leaves.map((l) => l.value), ...(batch.retained?.fullSubtrees ?? [])];
      for (const value of values)
        for (let bit = 0; bit < 256; bit += 11) {
          value[bit >> 3] ^= 1 << (bit & 7);
          expectKtError(() => verifyLogBatchProof(suite, batch, proof, root), 'kt_bad_proof');
          value[bit >> 3] ^= 1 << (bit & 7);
        }
      verifyLogBatchProof(suite, batch, proof, root);
    }
  });

  it('refuses missing, extra, reordered elements, a leaf moved or another size', () => {
    for (const v of batches) {
      const batch = batchOf(v);
      const { elements } = proofOf(v);
      const root = fromHex(v.expected_root as string);
      const variants: InclusionProof[] = [
        { elements: [...elements, new Uint8Array(32)] },
        { elements: [new Uint8Array(32), ...elements] },
      ];
      if (elements.length > 0) variants.push({ elements: elements.slice(1) }, { elements: elements.slice(0, -1) });
      if (elements.length > 1) variants.push({ elements: [...elements].reverse() });
      for (const p of variants) expectKtError(() => verifyLogBatchProof(suite, batch, p, root), 'kt_bad_proof');
      const proof = { elements };
      if (v.n > 1) {
        const moved = batch.leaves.map((l) => ({ ...l, index: (l.index + 1) % v.n }));
        if (new Set(moved.map((l) => l.index)).size === moved.length && moved.length > 0)
          expectKtError(() => verifyLogBatchProof(suite, { ...batch, leaves: moved }, proof, root), 'kt_bad_proof');
      }
      expectKtError(() => verifyLogBatchProof(suite, { ...batch, treeSize: v.n + 1 }, proof, root), 'kt_bad_proof');
    }
  });

  it('refuses malformed inputs with kt_bad_input', () => {
    const v = VECTORS.batch_proofs[7];
    const batch = batchOf(v);
    const proof = proofOf(v);
    const leaf = batch.leaves[0];
    const bad: LogBatch[] = [
      { ...batch, treeSize: 0 },
      { ...batch, leaves: [{ ...leaf, index: v.n }] },
      { ...batch, leaves: [leaf, leaf] },
      { ...batch, leaves: [{ ...leaf, value: leaf.value.subarray(1) }] },
      { ...batch, retained: { size: v.n + 1, fullSubtrees: [] } },
      { ...batch, retained: { size: 4, fullSubtrees: [] } },
      { ...batch, additionalSize: 0 },
      { ...batch, additionalSize: v.n + 1 },
    ];
    for (const b of bad) expectKtError(() => evaluateLogBatchProof(suite, b, proof), 'kt_bad_input');
    expectKtError(() => logRoot(suite, []), 'kt_bad_input');
    expectKtError(() => rootFromFullSubtrees(suite, 3, [new Uint8Array(32)]), 'kt_bad_input');
  });

  it('derives proofs for other shapes from a tree of 40: inclusion, consistency and an additional size', () => {
    // Elements computed here from the leaves (the heads of the untouched balanced subtrees, left to right), so the
    // verifier is checked on more shapes than the vectors list; each must give logRoot and the full subtrees.
    for (const [n, indices, m, extra] of [
      [40, [0, 39], 17, 33],
      [37, [31, 32], 32, 5],
      [8, [7], 3, 2],
      [33, [], 33, 1],
    ] as [number, number[], number, number][]) {
      const leaves = LEAVES.slice(0, n);
      const batch: LogBatch = {
        treeSize: n,
        leaves: indices.map((index) => ({ index, value: leaves[index] })),
        retained: { size: m, fullSubtrees: logFullSubtrees(suite, leaves.slice(0, m)) },
        additionalSize: extra,
      };
      const result = evaluateLogBatchProof(suite, batch, { elements: honestElements(leaves, batch) });
      expect(result.root).toEqual(logRoot(suite, leaves));
      expect(result.fullSubtrees).toEqual(logFullSubtrees(suite, leaves));
      expect(result.additionalRoot).toEqual(logRoot(suite, leaves.slice(0, extra)));
    }
  });
});

/** The elements an honest log sends: a straightforward restatement of the draft's rule, for the test above. */
function honestElements(leaves: Uint8Array[], batch: LogBatch): Uint8Array[] {
  const marks = [
    ...(batch.retained ? fullSubtreeRanges(batch.retained.size) : []),
    ...(batch.additionalSize ? fullSubtreeRanges(batch.additionalSize) : []),
  ];
  const indices = batch.leaves.map((l) => l.index);
  const out: Uint8Array[] = [];
  const walk = (start: number, end: number): void => {
    const size = end - start;
    const holds =
      size > 1 &&
      (indices.some((i) => i >= start && i < end) ||
        marks.some((r) => r.start >= start && r.end <= end && r.end - r.start < size));
    const retained = fullSubtreeRanges(batch.retained?.size ?? 0).some((r) => r.start === start && r.end === end);
    if (size === 1 && indices.includes(start)) return;
    if (!holds && retained) return;
    if (!holds && (size & (size - 1)) === 0) {
      out.push(logRoot(suite, leaves.slice(start, end)));
      return;
    }
    let k = 1;
    while (k * 2 < size) k *= 2;
    walk(start, start + k);
    walk(start + k, end);
  };
  walk(0, batch.treeSize);
  return out;
}
