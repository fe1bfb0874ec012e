/**
 * Tests for verifier/keytrans/prefix-tree.ts against test/vectors/keytrans/primitives/prefix-tree.json: leaf and
 * parent hashing; the root of every tree (1 to 100 entries, keys sharing 254 bits); every PrefixProof's fields
 * match its encoding and the proof computes the tree's root for its searches; every invalid proof is refused with
 * KeyTransError 'kt_bad_proof', the last being the one katie accepts (a nonInclusionLeaf revealing the leaf of a
 * key the proof claims included with another commitment). Also: single-bit flips of elements, revealed leaves and
 * depths, results that contradict the expected commitments, and malformed searches.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../wasm-free-crypto/bytes.js';
import {
  type PrefixSearch,
  prefixLeafHash,
  prefixParentHash,
  prefixProofRoot,
  prefixTreeRoot,
  verifyPrefixProof,
} from '../../../verifier/keytrans/prefix-tree.js';
import { KT_128_SHA256_Ed25519 } from '../../../verifier/keytrans/suites.js';
import type { PrefixProof } from '../../../verifier/keytrans/types.js';
import { decodePrefixProof, expectKtError, prefixProofFromFields } from '../../helpers/keytrans-primitives.js';
import { vectorJson } from '../../helpers/vectors.js';

const suite = KT_128_SHA256_Ed25519;

interface Search {
  search_keys: string[];
  found_commitments: (string | null)[];
  proof: { results: any[]; elements: string[] };
  proof_encoding: string;
}

const VECTORS: {
  empty_tree_root: string;
  hashing: { kind: string; vrf_output?: string; commitment?: string; left?: string; right?: string; value: string }[];
  trees: {
    description: string;
    entries: { vrf_output: string; commitment: string }[];
    root: string;
    searches: Search[];
  }[];
  invalid_proofs: {
    description: string;
    search_keys: string[];
    commitments: (string | null)[];
    proof_encoding: string;
    expected_root: string;
  }[];
} = vectorJson('keytrans/primitives/prefix-tree.json');

function searchesOf(keys: string[], commitments: (string | null)[]): PrefixSearch[] {
  return keys.map((k, i) => {
    const c = commitments[i];
    return { vrfOutput: fromHex(k), commitment: c === null ? null : fromHex(c) };
  });
}

describe('prefix tree hashing', () => {
  it.each(VECTORS.hashing.map((h) => [h.kind, h] as const))('%s', (kind, h) => {
    const value =
      kind === 'leaf'
        ? prefixLeafHash(suite, fromHex(h.vrf_output as string), fromHex(h.commitment as string))
        : prefixParentHash(suite, fromHex(h.left as string), fromHex(h.right as string));
    expect(toHex(value)).toBe(h.value);
  });

  it('counts a missing child as zeros, and the empty tree as zeros', () => {
    const left = fromHex(VECTORS.hashing[0].value);
    expect(prefixParentHash(suite, left, null)).toEqual(prefixParentHash(suite, left, new Uint8Array(32)));
    expect(toHex(prefixTreeRoot(suite, []))).toBe(VECTORS.empty_tree_root);
  });
});

describe.each(VECTORS.trees.map((t) => [t.description, t] as const))('tree: %s', (_, tree) => {
  const root = fromHex(tree.root);

  it('has the vectors root', () => {
    const leaves = tree.entries.map((e) => ({ vrfOutput: fromHex(e.vrf_output), commitment: fromHex(e.commitment) }));
    expect(toHex(prefixTreeRoot(suite, leaves))).toBe(tree.root);
  });

  it.each(tree.searches.map((s, i) => [i, s] as const))('search %i: proof verifies', (_, s) => {
    const proof = prefixProofFromFields(s.proof);
    expect(decodePrefixProof(s.proof_encoding)).toEqual(proof);
    const searches = searchesOf(s.search_keys, s.found_commitments);
    expect(toHex(prefixProofRoot(suite, proof, searches))).toBe(tree.root);
    verifyPrefixProof(suite, proof, searches, root);
  });
});

describe('invalid prefix proofs', () => {
  it.each(VECTORS.invalid_proofs.map((p) => [p.description, p] as const))('refuses: %s', (_, p) => {
    const proof = decodePrefixProof(p.proof_encoding);
    const searches = searchesOf(p.search_keys, p.commitments);
    expectKtError(() => verifyPrefixProof(suite, proof, searches, fromHex(p.expected_root)), 'kt_bad_proof');
  });
});

/** The batch search of the 100-entry tree: inclusions, nonInclusionLeaf and nonInclusionParent results. */
const BATCH = VECTORS.trees[5].searches[6];
const BATCH_ROOT = fromHex(VECTORS.trees[5].root);

function batch(): { proof: PrefixProof; searches: PrefixSearch[] } {
  return {
    proof: prefixProofFromFields(BATCH.proof),
    searches: searchesOf(BATCH.search_keys, BATCH.found_commitments),
  };
}

/** `items` with item `i` replaced (Array.prototype.with is ES2023). */
function replaced<T>(items: readonly T[], i: number, item: T): T[] {
  return items.map((x, j) => (j === i ? item : x));
}

describe('tampered prefix proofs', () => {
  it('the batch used has every result type', () => {
    const types = new Set(BATCH.proof.results.map((r) => r.result_type));
    expect(types).toEqual(new Set(['inclusion', 'nonInclusionLeaf', 'nonInclusionParent']));
    verifyPrefixProof(suite, batch().proof, batch().searches, BATCH_ROOT);
  });

  it('refuses a single-bit flip of any element (every 5th bit) or revealed leaf', () => {
    const { proof, searches } = batch();
    for (const element of proof.elements)
      for (let bit = 0; bit < 256; bit += 5) {
        element[bit >> 3] ^= 1 << (bit & 7);
        expectKtError(() => verifyPrefixProof(suite, proof, searches, BATCH_ROOT), 'kt_bad_proof');
        element[bit >> 3] ^= 1 << (bit & 7);
      }
    for (const r of proof.results)
      if (r.resultType === 'nonInclusionLeaf')
        for (const bytes of [r.leaf.vrfOutput, r.leaf.commitment])
          for (let bit = 0; bit < 256; bit += 3) {
            bytes[bit >> 3] ^= 1 << (bit & 7);
            expectKtError(() => verifyPrefixProof(suite, proof, searches, BATCH_ROOT), 'kt_bad_proof');
            bytes[bit >> 3] ^= 1 << (bit & 7);
          }
  });

  it('refuses every other depth and result type, and results that contradict the commitments', () => {
    const { proof, searches } = batch();
    proof.results.forEach((r, i) => {
      const depth = r.depth;
      for (const d of [0, depth - 1, depth + 1, 255]) {
        if (d === depth || d < 0) continue;
        r.depth = d;
        expectKtError(() => verifyPrefixProof(suite, proof, searches, BATCH_ROOT), 'kt_bad_proof');
      }
      r.depth = depth;
      const original = proof.results[i];
      proof.results[i] = { resultType: r.resultType === 'inclusion' ? 'nonInclusionParent' : 'inclusion', depth };
      expectKtError(() => verifyPrefixProof(suite, proof, searches, BATCH_ROOT), 'kt_bad_proof');
      proof.results[i] = original;
      const flipped = searches.map((s, j) =>
        j === i ? { ...s, commitment: s.commitment ? null : new Uint8Array(32) } : s,
      );
      expectKtError(() => verifyPrefixProof(suite, proof, flipped, BATCH_ROOT), 'kt_bad_proof');
    });
    verifyPrefixProof(suite, proof, searches, BATCH_ROOT);
  });

  it('refuses missing, extra or reordered results and elements', () => {
    const { proof, searches } = batch();
    const variants: PrefixProof[] = [
      { ...proof, results: proof.results.slice(1) },
      { ...proof, results: [...proof.results, proof.results[0]] },
      { ...proof, results: [...proof.results].reverse() },
      { ...proof, elements: proof.elements.slice(1) },
      { ...proof, elements: [...proof.elements, new Uint8Array(32)] },
      { ...proof, elements: [...proof.elements].reverse() },
      { ...proof, elements: proof.elements.map((e, i) => (i === 0 ? e.subarray(1) : e)) },
    ];
    for (const v of variants) expectKtError(() => verifyPrefixProof(suite, v, searches, BATCH_ROOT), 'kt_bad_proof');
    expectKtError(() => verifyPrefixProof(suite, proof, [...searches].reverse(), BATCH_ROOT), 'kt_bad_proof');
  });

  it('refuses a nonInclusionLeaf that reveals the searched key or a leaf off its path', () => {
    const { proof, searches } = batch();
    const i = proof.results.findIndex((r) => r.resultType === 'nonInclusionLeaf');
    const r = proof.results[i];
    if (r.resultType !== 'nonInclusionLeaf') throw new Error('unreachable');
    const own = { ...r, leaf: { ...r.leaf, vrfOutput: searches[i].vrfOutput } };
    expectKtError(
      () => prefixProofRoot(suite, { ...proof, results: replaced(proof.results, i, own) }, searches),
      'kt_bad_proof',
    );
    const off = r.leaf.vrfOutput.slice();
    off[0] ^= 0x80;
    const offPath = { ...r, leaf: { ...r.leaf, vrfOutput: off } };
    expectKtError(
      () => prefixProofRoot(suite, { ...proof, results: replaced(proof.results, i, offPath) }, searches),
      'kt_bad_proof',
    );
  });

  it('refuses malformed searches with kt_bad_input', () => {
    const { proof, searches } = batch();
    expectKtError(() => prefixProofRoot(suite, proof, []), 'kt_bad_input');
    const short = searches.map((s, i) => (i === 0 ? { ...s, vrfOutput: s.vrfOutput.subarray(1) } : s));
    expectKtError(() => prefixProofRoot(suite, proof, short), 'kt_bad_input');
    const dup = [{ vrfOutput: new Uint8Array(32), commitment: new Uint8Array(32) }];
    expectKtError(
      () =>
        prefixTreeRoot(
          suite,
          [...dup, ...dup].map((d) => ({ vrfOutput: d.vrfOutput, commitment: d.commitment })),
        ),
      'kt_bad_input',
    );
  });
});
