/**
 * Tests for verifier/keytrans/prefix-prove.ts, the log's PrefixProof (draft-ietf-keytrans-protocol-05 "Tree
 * Proofs / Prefix Tree"): every proof of test/vectors/keytrans/primitives/prefix-tree.json reproduced byte for byte
 * from its tree's entries (the 7 trees, 1 to 100 entries and keys sharing 254 bits); then, against the client's
 * own hashing, seeded random trees of 0 to 300 entries (uniform keys and clusters sharing long prefixes) searched
 * for present keys, absent ones, absent ones sharing a prefix with present ones and repeated keys, each proof
 * accepted by prefixProofRoot with prefixTreeRoot's root and the result the tree implies; a flipped bit in any
 * element refused; and the inputs a proof cannot carry refused with 'kt_bad_input'.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../wasm-free-crypto/bytes.js';
import { provePrefix } from '../../../verifier/keytrans/prefix-prove.js';
import { type PrefixSearch, prefixTreeRoot, verifyPrefixProof } from '../../../verifier/keytrans/prefix-tree.js';
import { writePrefixProof } from '../../../verifier/keytrans/structures.js';
import { KT_128_SHA256_Ed25519 } from '../../../verifier/keytrans/suites.js';
import { encodeWith } from '../../../verifier/keytrans/tls.js';
import type { PrefixLeaf, PrefixProof } from '../../../verifier/keytrans/types.js';
import { expectKtError, prefixProofFromFields } from '../../helpers/keytrans-primitives.js';
import { MemoryPrefixTree } from '../../helpers/memory-prefix-tree.js';
import { prng } from '../../helpers/prng.js';
import { vectorJson } from '../../helpers/vectors.js';

const suite = KT_128_SHA256_Ed25519;

const VECTORS: {
  empty_tree_root: string;
  trees: {
    description: string;
    entries: { vrf_output: string; commitment: string }[];
    root: string;
    searches: { search_keys: string[]; proof: { results: any[]; elements: string[] }; proof_encoding: string }[];
  }[];
} = vectorJson('keytrans/primitives/prefix-tree.json');

describe.each(VECTORS.trees.map((t) => [t.description, t] as const))('vector tree: %s', (_, t) => {
  const leaves = t.entries.map((e) => ({ vrfOutput: fromHex(e.vrf_output), commitment: fromHex(e.commitment) }));
  const tree = new MemoryPrefixTree(suite, leaves);

  it.each(t.searches.map((s, i) => [i, s] as const))('search %i reproduced byte for byte', (_, s) => {
    expect(toHex(tree.root)).toBe(t.root);
    const proof = provePrefix(suite, tree, s.search_keys.map(fromHex));
    expect(proof).toEqual(prefixProofFromFields(s.proof));
    expect(toHex(encodeWith(proof, writePrefixProof))).toBe(s.proof_encoding);
  });
});

/** The searches the client makes for `keys`: a commitment expected exactly for the keys in `leaves`. */
function searchesFor(leaves: readonly PrefixLeaf[], keys: readonly Uint8Array[]): PrefixSearch[] {
  const commitments = new Map(leaves.map((l) => [toHex(l.vrfOutput), l.commitment]));
  return keys.map((vrfOutput) => ({ vrfOutput, commitment: commitments.get(toHex(vrfOutput)) ?? null }));
}

/** Flips one random bit of each element in turn: the proof must then be refused. */
function expectFlipsRefused(
  proof: PrefixProof,
  searches: PrefixSearch[],
  root: Uint8Array,
  pick: (n: number) => number,
) {
  for (const element of proof.elements) {
    const b = pick(256);
    element[b >> 3] ^= 1 << (b & 7);
    expectKtError(() => verifyPrefixProof(suite, proof, searches, root), 'kt_bad_proof');
    element[b >> 3] ^= 1 << (b & 7);
  }
}

describe('the empty tree', () => {
  it('has the all-zero root and proves any search absent at depth 0 with no elements', () => {
    const tree = new MemoryPrefixTree(suite, []);
    expect(toHex(tree.root)).toBe(VECTORS.empty_tree_root);
    const keys = [new Uint8Array(32), new Uint8Array(32).fill(0xff), new Uint8Array(32)];
    const proof = provePrefix(suite, tree, keys);
    expect(proof.results).toEqual(keys.map(() => ({ resultType: 'nonInclusionParent', depth: 0 })));
    expect(proof.elements).toEqual([]);
    const searches = keys.map((vrfOutput) => ({ vrfOutput, commitment: null }));
    verifyPrefixProof(suite, proof, searches, tree.root);
  });
});

describe('random trees, checked by the client', () => {
  const random = prng(0x7072);
  const pick = (n: number) => Math.floor(random() * n);
  const randomBytes = () => Uint8Array.from({ length: 32 }, () => pick(256));
  /** `key` with bit `i` flipped. */
  const flip = (key: Uint8Array, i: number) => {
    const out = key.slice();
    out[i >> 3] ^= 1 << (7 - (i & 7));
    return out;
  };

  /** `n` entries: uniform keys, or (clustered) keys derived from a few by flipping a bit past depth 200. */
  function randomLeaves(n: number, clustered: boolean): PrefixLeaf[] {
    const byKey = new Map<string, PrefixLeaf>();
    const bases = Array.from({ length: 3 }, randomBytes);
    while (byKey.size < n) {
      const base = bases[pick(bases.length)];
      const key = clustered ? flip(base, 200 + pick(55)) : randomBytes();
      if (clustered && pick(4) === 0) bases.push(key);
      byKey.set(toHex(key), { vrfOutput: key, commitment: randomBytes() });
    }
    return [...byKey.values()];
  }

  /** A batch of searches: present keys, absent ones, absent ones near present ones, a repeat. */
  function randomKeys(leaves: readonly PrefixLeaf[]): Uint8Array[] {
    const keys: Uint8Array[] = [randomBytes()];
    for (let i = 0; i < 1 + pick(6); i++) {
      if (leaves.length === 0) break;
      const present = leaves[pick(leaves.length)].vrfOutput;
      keys.push(present, flip(present, pick(255)));
    }
    keys.push(keys[pick(keys.length)]);
    return keys;
  }

  it.each([
    [0, false],
    [1, false],
    [2, false],
    [3, true],
    [17, false],
    [40, true],
    [100, false],
    [300, false],
    [300, true],
  ] as const)('%i entries (clustered: %s)', (n, clustered) => {
    const leaves = randomLeaves(n, clustered);
    const tree = new MemoryPrefixTree(suite, leaves);
    const root = prefixTreeRoot(suite, leaves);
    expect(tree.root).toEqual(root);
    const seen = new Set<string>();
    for (let round = 0; round < 12; round++) {
      const keys = randomKeys(leaves);
      const proof = provePrefix(suite, tree, keys);
      const searches = searchesFor(leaves, keys);
      verifyPrefixProof(suite, proof, searches, root);
      proof.results.forEach((r, i) => expect(r.resultType === 'inclusion').toBe(searches[i].commitment !== null));
      for (const r of proof.results) seen.add(r.resultType);
      if (round === 0) expectFlipsRefused(proof, searches, root, pick);
    }
    // Past a few entries, the searches meet every kind of terminal node.
    if (n >= 17) expect(seen.size).toBe(3);
  });

  it('refuses what a proof cannot carry with kt_bad_input', () => {
    const a = randomBytes();
    const leaves = [a, flip(a, 255), flip(a, 3)].map((vrfOutput) => ({ vrfOutput, commitment: randomBytes() }));
    const tree = new MemoryPrefixTree(suite, leaves);
    // The leaves of a and flip(a, 255) sit at depth 256: a uint8 depth cannot say so.
    expectKtError(() => provePrefix(suite, tree, [a]), 'kt_bad_input');
    expectKtError(() => provePrefix(suite, tree, [flip(a, 3), flip(a, 255)]), 'kt_bad_input');
    expectKtError(() => provePrefix(suite, tree, []), 'kt_bad_input');
    expectKtError(() => provePrefix(suite, tree, [a.subarray(1)]), 'kt_bad_input');
    expectKtError(
      () =>
        provePrefix(
          suite,
          tree,
          Array.from({ length: 256 }, () => flip(a, 3)),
        ),
      'kt_bad_input',
    );
    // Keys beside the depth-255 parent are still proven: its value is an element, or they end beside it.
    for (const keys of [[flip(a, 3)], [flip(a, 254)], [flip(a, 3), flip(a, 200)]]) {
      const proof = provePrefix(suite, tree, keys);
      verifyPrefixProof(suite, proof, searchesFor(leaves, keys), tree.root);
    }
  });
});
