/**
 * The log's side of a PrefixProof (draft-ietf-keytrans-protocol-05 "Tree Proofs / Prefix Tree"): for the searched
 * keys (VRF outputs) in the order given, each search's terminal node (`inclusion` for the searched key's leaf,
 * `nonInclusionLeaf` with another key's leaf, `nonInclusionParent` where a parent lacks the child the key goes to,
 * its depth being that of the missing child as in the vectors and prefix-tree.ts) and the fewest node values,
 * left to right, that hash with them to the root: the value of every child no search enters, all-zero for an
 * absent one. It walks the searched part of the tree as `prefixProofRoot` (prefix-tree.ts) does, the searches
 * that share a node as one group, reading each node once through a `PrefixTreeReader`. The empty tree's root is
 * Hash.Nh zero bytes (the vectors' `empty_tree_root`); any search of it is a nonInclusionParent at depth 0 with no
 * elements. A key searched twice gets the same result twice. As golang.org/x/mod/sumdb/tlog's proveRecord beside
 * checkRecord, the prover sits beside the check.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { KeyTransError } from './errors.js';
import { bit, prefixLeafHash } from './prefix-tree.js';
import type { CipherSuite } from './suites.js';
import type { PrefixNode, PrefixTreeReader } from './tree-readers.js';
import type { PrefixProof, PrefixSearchResult } from './types.js';

/** Depths are uint8 ("PrefixSearchResult"): a search cannot end below depth 255. */
const MAX_DEPTH = 255;
/** `results<0..2^8-1>`: at most 255 searches in one proof. */
const MAX_SEARCHES = 255;

function badInput(message: string): never {
  throw new KeyTransError('kt_bad_input', `prefix proof: ${message}`);
}

/** A node that ends a search: a leaf or an empty position. */
type TerminalNode = Exclude<PrefixNode, { kind: 'parent' }>;

/** The walk: the reader, the searched keys, a result per key as found, the elements in order. */
interface Walk {
  suite: CipherSuite;
  reader: PrefixTreeReader;
  keys: readonly Uint8Array[];
  results: (PrefixSearchResult | undefined)[];
  elements: Uint8Array[];
}

/** The value of a node as its parent hashes it: all-zero when absent ("Cryptographic Computations"). */
function valueOf(walk: Walk, node: PrefixNode, depth: number): Uint8Array {
  if (node.kind === 'empty') return new Uint8Array(walk.suite.hashLength);
  if (node.kind === 'leaf') return prefixLeafHash(walk.suite, node.leaf.vrfOutput, node.leaf.commitment);
  if (node.value.length !== walk.suite.hashLength) badInput(`the reader gave a wrong-length node at depth ${depth}`);
  return node.value;
}

/** The value of the child at `depth` that no search enters: read along `key` with bit `depth - 1` flipped. */
function siblingValue(walk: Walk, key: Uint8Array, depth: number): Uint8Array {
  const other = key.slice();
  other[(depth - 1) >> 3] ^= 1 << (7 - ((depth - 1) & 7));
  return valueOf(walk, walk.reader.node(other, depth), depth);
}

/** Records the result of every search in `group`, all ending at the terminal `node` at `depth`. */
function endSearches(walk: Walk, node: TerminalNode, depth: number, group: readonly number[]): void {
  for (const i of group) {
    if (node.kind === 'empty') walk.results[i] = { resultType: 'nonInclusionParent', depth };
    else if (equalBytes(node.leaf.vrfOutput, walk.keys[i])) walk.results[i] = { resultType: 'inclusion', depth };
    else walk.results[i] = { resultType: 'nonInclusionLeaf', leaf: node.leaf, depth };
  }
}

/**
 * Proves the searches in `group`, whose keys share the path to the node at `depth`: a leaf or an empty position
 * ends them all; a parent's children are proven left then right, a child none of them enters given by its value.
 */
function proveNode(walk: Walk, depth: number, group: readonly number[]): void {
  const node = walk.reader.node(walk.keys[group[0]], depth);
  if (node.kind !== 'parent') {
    endSearches(walk, node, depth, group);
    return;
  }
  if (depth >= MAX_DEPTH) badInput(`a search goes below depth ${MAX_DEPTH}, which a result cannot encode`);
  const left = group.filter((i) => bit(walk.keys[i], depth) === 0);
  const right = group.filter((i) => bit(walk.keys[i], depth) === 1);
  for (const side of [left, right]) {
    if (side.length > 0) proveNode(walk, depth + 1, side);
    else walk.elements.push(siblingValue(walk, walk.keys[group[0]], depth + 1));
  }
}

/**
 * The PrefixProof of the searches for `keys` (VRF outputs, in the order given; a key may repeat) in the prefix
 * tree `reader` reads ("Tree Proofs / Prefix Tree"): exactly what prefixProofRoot consumes to compute that tree's
 * root. 'kt_bad_input' for no keys, more than 255, a key of the wrong length, or a search that would end below
 * depth 255 (two entries sharing 255 bits: their leaves sit at depth 256, which a uint8 depth cannot say).
 */
export function provePrefix(suite: CipherSuite, reader: PrefixTreeReader, keys: readonly Uint8Array[]): PrefixProof {
  if (keys.length === 0 || keys.length > MAX_SEARCHES) badInput(`${keys.length} searches: 1 to ${MAX_SEARCHES}`);
  for (const key of keys)
    if (key.length !== suite.vrfOutputLength) badInput(`a search key must be ${suite.vrfOutputLength} bytes`);
  const walk: Walk = { suite, reader, keys, results: keys.map(() => undefined), elements: [] };
  proveNode(
    walk,
    0,
    keys.map((_, i) => i),
  );
  return { results: walk.results as PrefixSearchResult[], elements: walk.elements };
}
