/**
 * The prefix tree of draft-ietf-keytrans-protocol-05: its hashing ("Cryptographic Computations / Prefix Tree":
 * leaf = Hash(0x02 || vrf_output || commitment), parent = Hash(0x03 || left || right), a missing child counting as
 * Hash.Nh zero bytes) and the verification of a PrefixProof ("Tree Proofs / Prefix Tree"). Search keys are VRF
 * outputs read bit by bit from the most significant bit of their first byte, 0 going left. A subtree holding one
 * entry is that entry's leaf, so a leaf's depth is the length of the shortest prefix no other key shares. The proof
 * gives, per searched key in the order searched, the terminal node of its search and its depth; the verifier builds
 * the part of the tree the searches cover, takes every other subtree's value from `elements` in left-to-right
 * order, and hashes up to the root. As in the vectors (katie), a nonInclusionParent's depth is that of the missing
 * child, the position where the search found nothing. Searches that meet at one node must agree on it: this is
 * what refuses a nonInclusionLeaf revealing the leaf of a key the same proof claims included with another
 * commitment (the vectors README's "prefix-proof verification gap").
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { KeyTransError } from './errors.js';
import type { CipherSuite } from './suites.js';
import type { PrefixLeaf, PrefixProof, PrefixSearchResult } from './types.js';

/** One searched key: its VRF output and, when the caller expects it included, the commitment it expects. */
export interface PrefixSearch {
  vrfOutput: Uint8Array;
  /** Non-null exactly when the search must end in `inclusion` (a BinaryLadderStep's commitment). */
  commitment: Uint8Array | null;
}

const LEAF = Uint8Array.of(0x02);
const PARENT = Uint8Array.of(0x03);
/** Depths are uint8 ("PrefixSearchResult"); a key has 256 bits (VRF.Nh = 32 bytes). */
const MAX_DEPTH = 255;

function fail(message: string): never {
  throw new KeyTransError('kt_bad_proof', `prefix proof: ${message}`);
}

/** Bit `i` of a search key: bit 0 is the most significant bit of byte 0. */
export function bit(key: Uint8Array, i: number): number {
  return (key[i >> 3] >> (7 - (i & 7))) & 1;
}

/** Whether `a` and `b` agree on their first `n` bits. */
function sharePrefix(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (bit(a, i) !== bit(b, i)) return false;
  return true;
}

/** "Prefix Tree": leaf.value = Hash(0x02 || vrf_output || commitment). */
export function prefixLeafHash(suite: CipherSuite, vrfOutput: Uint8Array, commitment: Uint8Array): Uint8Array {
  if (vrfOutput.length !== suite.vrfOutputLength || commitment.length !== suite.hashLength)
    throw new KeyTransError('kt_bad_input', 'a prefix leaf is a VRF.Nh-byte output and a Hash.Nh-byte commitment');
  return suite.hash(LEAF, vrfOutput, commitment);
}

/** "Prefix Tree": parent.value = Hash(0x03 || left || right), null (a missing child) as Hash.Nh zero bytes. */
export function prefixParentHash(suite: CipherSuite, left: Uint8Array | null, right: Uint8Array | null): Uint8Array {
  const zero = new Uint8Array(suite.hashLength);
  return suite.hash(PARENT, left ?? zero, right ?? zero);
}

/**
 * The root value of the prefix tree holding `leaves` (all-zero for an empty tree, as katie): used by auditors and
 * tests. Refuses two leaves with the same VRF output ('kt_bad_input').
 */
export function prefixTreeRoot(suite: CipherSuite, leaves: readonly PrefixLeaf[]): Uint8Array {
  for (const l of leaves) prefixLeafHash(suite, l.vrfOutput, l.commitment); // lengths
  const build = (group: readonly PrefixLeaf[], depth: number): Uint8Array | null => {
    if (group.length === 0) return null;
    if (group.length === 1) return prefixLeafHash(suite, group[0].vrfOutput, group[0].commitment);
    if (depth > MAX_DEPTH) throw new KeyTransError('kt_bad_input', 'two prefix leaves have the same VRF output');
    const left = build(
      group.filter((l) => bit(l.vrfOutput, depth) === 0),
      depth + 1,
    );
    const right = build(
      group.filter((l) => bit(l.vrfOutput, depth) === 1),
      depth + 1,
    );
    return prefixParentHash(suite, left, right);
  };
  return build(leaves, 0) ?? new Uint8Array(suite.hashLength);
}

/** The terminal node a search result names: a leaf (its key and commitment) or an empty position. */
type Terminal = { leaf: PrefixLeaf } | { leaf: null };

/**
 * What search `search` says its terminal node is ("Tree Proofs / Prefix Tree"), checked against what the caller
 * expects: inclusion exactly when a commitment is expected; a nonInclusionLeaf's leaf on the searched key's path
 * but not the searched key.
 */
function terminalOf(suite: CipherSuite, search: PrefixSearch, result: PrefixSearchResult, i: number): Terminal {
  if (!Number.isInteger(result.depth) || result.depth < 0 || result.depth > MAX_DEPTH)
    fail(`result ${i}: depth ${result.depth} is out of range`);
  if (result.resultType === 'inclusion') {
    if (search.commitment === null) fail(`result ${i}: inclusion of a key expected absent`);
    return { leaf: { vrfOutput: search.vrfOutput, commitment: search.commitment } };
  }
  if (search.commitment !== null) fail(`result ${i}: ${result.resultType} of a key expected included`);
  if (result.resultType === 'nonInclusionParent') return { leaf: null };
  if (result.resultType !== 'nonInclusionLeaf') fail(`result ${i}: unknown result type`);
  const { leaf } = result;
  if (leaf.vrfOutput.length !== suite.vrfOutputLength || leaf.commitment.length !== suite.hashLength)
    fail(`result ${i}: the leaf has the wrong length`);
  if (equalBytes(leaf.vrfOutput, search.vrfOutput)) fail(`result ${i}: nonInclusionLeaf reveals the searched key`);
  if (!sharePrefix(leaf.vrfOutput, search.vrfOutput, result.depth))
    fail(`result ${i}: the revealed leaf is not on the searched key's path`);
  return { leaf };
}

function sameTerminal(a: Terminal, b: Terminal): boolean {
  if (a.leaf === null || b.leaf === null) return a.leaf === b.leaf;
  return equalBytes(a.leaf.vrfOutput, b.leaf.vrfOutput) && equalBytes(a.leaf.commitment, b.leaf.commitment);
}

/** The walk over the searched part of the tree: the searches, their terminals and the proof's elements. */
interface Walk {
  suite: CipherSuite;
  keys: Uint8Array[];
  depths: number[];
  terminals: Terminal[];
  elements: readonly Uint8Array[];
  next: number;
}

/** The next element: the value of a subtree no search enters, left to right. */
function takeElement(walk: Walk): Uint8Array {
  if (walk.next >= walk.elements.length) fail('too few elements');
  const element = walk.elements[walk.next++];
  if (element.length !== walk.suite.hashLength) fail('an element has the wrong length');
  return element;
}

/**
 * The value of the node at `depth` on the path the searches in `group` share. If one of them ends here, all must
 * (a terminal node has no subtree to continue in) and all must name the same node.
 */
function nodeValue(walk: Walk, depth: number, group: number[]): Uint8Array {
  const ending = group.filter((i) => walk.depths[i] === depth);
  if (ending.length > 0) {
    if (ending.length !== group.length) fail(`a search ends at depth ${depth} where another goes on`);
    const first = walk.terminals[group[0]];
    for (const i of group) if (!sameTerminal(first, walk.terminals[i])) fail(`searches disagree at depth ${depth}`);
    if (first.leaf === null) return new Uint8Array(walk.suite.hashLength);
    return prefixLeafHash(walk.suite, first.leaf.vrfOutput, first.leaf.commitment);
  }
  if (depth >= MAX_DEPTH) fail('a search goes deeper than a key');
  const left = group.filter((i) => bit(walk.keys[i], depth) === 0);
  const right = group.filter((i) => bit(walk.keys[i], depth) === 1);
  const l = left.length > 0 ? nodeValue(walk, depth + 1, left) : takeElement(walk);
  const r = right.length > 0 ? nodeValue(walk, depth + 1, right) : takeElement(walk);
  return prefixParentHash(walk.suite, l, r);
}

/**
 * The root a PrefixProof computes for `searches` ("Tree Proofs / Prefix Tree"), or 'kt_bad_proof' when the proof is
 * malformed (a result per search, depths in range, every element used, searches that agree on shared nodes) or
 * contradicts the searches (inclusion exactly where a commitment is expected, with that commitment).
 */
export function prefixProofRoot(suite: CipherSuite, proof: PrefixProof, searches: readonly PrefixSearch[]): Uint8Array {
  if (searches.length === 0) throw new KeyTransError('kt_bad_input', 'a prefix proof needs at least one search');
  for (const s of searches) {
    const c = s.commitment;
    if (s.vrfOutput.length !== suite.vrfOutputLength || (c !== null && c.length !== suite.hashLength))
      throw new KeyTransError('kt_bad_input', 'a search is a VRF.Nh-byte key and a Hash.Nh-byte commitment or null');
  }
  if (proof.results.length !== searches.length) fail(`${proof.results.length} results for ${searches.length} searches`);
  const walk: Walk = {
    suite,
    keys: searches.map((s) => s.vrfOutput),
    depths: proof.results.map((r) => r.depth),
    terminals: proof.results.map((r, i) => terminalOf(suite, searches[i], r, i)),
    elements: proof.elements,
    next: 0,
  };
  const root = nodeValue(
    walk,
    0,
    searches.map((_, i) => i),
  );
  if (walk.next !== proof.elements.length) fail(`${proof.elements.length - walk.next} elements too many`);
  return root;
}

/** Returns when the PrefixProof proves `searches` in the prefix tree whose root is `root`; else 'kt_bad_proof'. */
export function verifyPrefixProof(
  suite: CipherSuite,
  proof: PrefixProof,
  searches: readonly PrefixSearch[],
  root: Uint8Array,
): void {
  if (!equalBytes(prefixProofRoot(suite, proof, searches), root)) fail('the proof computes a different root');
}
