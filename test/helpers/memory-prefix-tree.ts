/**
 * An in-memory KEYTRANS prefix tree for the provers' tests, built from PrefixLeaf[] as prefixTreeRoot builds it
 * (draft-ietf-keytrans-protocol-05 "Cryptographic Computations / Prefix Tree", with the client's
 * `prefixLeafHash`/`prefixParentHash`): a subtree with one entry is that entry's leaf, one with two or more a
 * parent, one with none empty (all-zero as a child; the empty tree's root is all-zero, the vectors'
 * `empty_tree_root`). It answers `PrefixTreeReader.node` by walking down a key's path, and refuses a depth below a
 * leaf or an empty position (no node there) with KeyTransError 'kt_bad_input', which catches a prover asking.
 */
import { KeyTransError } from '../../verifier/keytrans/errors.js';
import { bit, prefixLeafHash, prefixParentHash } from '../../verifier/keytrans/prefix-tree.js';
import type { CipherSuite } from '../../verifier/keytrans/suites.js';
import type { PrefixNode, PrefixTreeReader } from '../../verifier/keytrans/tree-readers.js';
import type { PrefixLeaf } from '../../verifier/keytrans/types.js';

type MemoryNode =
  | { kind: 'empty' }
  | { kind: 'leaf'; leaf: PrefixLeaf }
  | { kind: 'parent'; value: Uint8Array; left: MemoryNode; right: MemoryNode };

export class MemoryPrefixTree implements PrefixTreeReader {
  private readonly top: MemoryNode;
  /** How many nodes were read, for tests that bound a prover's reads. */
  reads = 0;

  constructor(
    private readonly suite: CipherSuite,
    leaves: readonly PrefixLeaf[],
  ) {
    for (const l of leaves) prefixLeafHash(suite, l.vrfOutput, l.commitment); // lengths
    this.top = this.build(leaves, 0);
  }

  private build(group: readonly PrefixLeaf[], depth: number): MemoryNode {
    if (group.length === 0) return { kind: 'empty' };
    if (group.length === 1) return { kind: 'leaf', leaf: group[0] };
    if (depth >= 8 * this.suite.vrfOutputLength)
      throw new KeyTransError('kt_bad_input', 'two prefix leaves have the same VRF output');
    const left = this.build(
      group.filter((l) => bit(l.vrfOutput, depth) === 0),
      depth + 1,
    );
    const right = this.build(
      group.filter((l) => bit(l.vrfOutput, depth) === 1),
      depth + 1,
    );
    return {
      kind: 'parent',
      value: prefixParentHash(this.suite, this.valueOf(left), this.valueOf(right)),
      left,
      right,
    };
  }

  private valueOf(node: MemoryNode): Uint8Array | null {
    if (node.kind === 'empty') return null;
    if (node.kind === 'leaf') return prefixLeafHash(this.suite, node.leaf.vrfOutput, node.leaf.commitment);
    return node.value;
  }

  /** The root value: all-zero for the empty tree. */
  get root(): Uint8Array {
    return this.valueOf(this.top) ?? new Uint8Array(this.suite.hashLength);
  }

  node(key: Uint8Array, depth: number): PrefixNode {
    let at = this.top;
    for (let d = 0; d < depth; d++) {
      if (at.kind !== 'parent') throw new KeyTransError('kt_bad_input', `no node at depth ${depth} on this path`);
      at = bit(key, d) === 0 ? at.left : at.right;
    }
    this.reads++;
    return at.kind === 'parent' ? { kind: 'parent', value: at.value } : at;
  }
}
