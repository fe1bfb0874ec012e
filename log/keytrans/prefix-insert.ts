/**
 * Adding leaves to a KEYTRANS prefix tree (draft-ietf-keytrans-protocol-05, "Cryptographic Computations / Prefix
 * Tree") by reading only the nodes on the new keys' paths. A key walks down from the root through parents to the
 * first empty name or leaf. An empty name takes the new leaf. A leaf already there is pushed down with the new one
 * to the first bit their keys differ on, the names between becoming parents. Then every parent on a changed path
 * is hashed again, deepest first, from its children (a missing child as Hash.Nh zero bytes). The result is the
 * rows to write (prefix-tree rows are versioned by log position, deployment-store.ts) and the new root value.
 */
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { bit, prefixLeafHash, prefixParentHash } from '../../verifier/keytrans/prefix-tree.js';
import type { CipherSuite } from '../../verifier/keytrans/suites.js';
import type { PrefixNode } from '../../verifier/keytrans/tree-readers.js';
import type { PrefixLeaf } from '../../verifier/keytrans/types.js';
import { DeploymentError } from './deployment-error.js';
import { pathOf, type PrefixNodeRow } from './deployment-store.js';

/** Reads the current tree's node named (depth, path), which is on the path of `key`. */
export type PrefixNodeRead = (depth: number, path: Uint8Array, key: Uint8Array) => PrefixNode;

/** The tree as read, with this insertion's changes over it. */
class Overlay {
  readonly changed = new Map<string, { depth: number; path: Uint8Array; node: PrefixNode }>();
  private readonly seen = new Map<string, PrefixNode>();

  constructor(private readonly read: PrefixNodeRead) {}

  get(depth: number, key: Uint8Array): PrefixNode {
    const path = pathOf(key, depth);
    const name = `${depth}:${toHex(path)}`;
    const known = this.changed.get(name)?.node ?? this.seen.get(name);
    if (known) return known;
    const node = this.read(depth, path, key);
    this.seen.set(name, node);
    return node;
  }

  set(depth: number, key: Uint8Array, node: PrefixNode): void {
    const path = pathOf(key, depth);
    this.changed.set(`${depth}:${toHex(path)}`, { depth, path, node });
  }
}

/** Puts `leaf` into the overlay; a leaf met on the way is pushed down beside it. */
function insertOne(overlay: Overlay, leaf: PrefixLeaf, maxDepth: number): void {
  const key = leaf.vrfOutput;
  for (let depth = 0; depth <= maxDepth; depth++) {
    const node = overlay.get(depth, key);
    if (node.kind === 'parent') {
      overlay.set(depth, key, node); // its value is hashed again below
      continue;
    }
    if (node.kind === 'empty') return overlay.set(depth, key, { kind: 'leaf', leaf });
    const other = node.leaf.vrfOutput;
    let split = depth;
    while (split < maxDepth && bit(other, split) === bit(key, split)) split++;
    if (bit(other, split) === bit(key, split))
      throw new DeploymentError('deployment_bad_update', 'two versions have the same VRF output');
    for (let d = depth; d <= split; d++) overlay.set(d, key, { kind: 'parent', value: new Uint8Array(0) });
    overlay.set(split + 1, other, node);
    return overlay.set(split + 1, key, { kind: 'leaf', leaf });
  }
}

/** The value a node contributes to its parent (null for an empty name). */
function valueOf(suite: CipherSuite, node: PrefixNode): Uint8Array | null {
  if (node.kind === 'empty') return null;
  if (node.kind === 'leaf') return prefixLeafHash(suite, node.leaf.vrfOutput, node.leaf.commitment);
  return node.value;
}

/** The child of the name (depth, path) on side `side` (0 left, 1 right), as a key reaching it. */
function childKey(path: Uint8Array, depth: number, side: number, keyLength: number): Uint8Array {
  const key = new Uint8Array(keyLength);
  key.set(path);
  if (side === 1) key[depth >> 3] |= 0x80 >> (depth & 7);
  return key;
}

/**
 * The rows that inserting `leaves` into the tree `read` shows writes, and the new root's value (all-zero for a
 * tree that stays empty, as katie and the vectors' `empty_tree_root`).
 */
export function insertPrefixLeaves(
  suite: CipherSuite,
  read: PrefixNodeRead,
  leaves: readonly PrefixLeaf[],
): { rows: PrefixNodeRow[]; root: Uint8Array } {
  const overlay = new Overlay(read);
  const maxDepth = 8 * suite.vrfOutputLength - 1;
  for (const leaf of leaves) {
    prefixLeafHash(suite, leaf.vrfOutput, leaf.commitment); // lengths
    insertOne(overlay, leaf, maxDepth);
  }
  const byDepth = [...overlay.changed.values()].sort((a, b) => b.depth - a.depth);
  for (const row of byDepth) {
    if (row.node.kind !== 'parent') continue;
    const [l, r] = [0, 1].map((side) =>
      valueOf(suite, overlay.get(row.depth + 1, childKey(row.path, row.depth, side, suite.vrfOutputLength))),
    );
    row.node = { kind: 'parent', value: prefixParentHash(suite, l, r) };
  }
  const top = overlay.get(0, new Uint8Array(suite.vrfOutputLength));
  const rows = byDepth.map(({ depth, path, node }) => ({ depth, path, node: node as PrefixNodeRow['node'] }));
  return { rows, root: valueOf(suite, top) ?? new Uint8Array(suite.hashLength) };
}
