/**
 * Builds the stored map (map-nodes.ts) of a set of leaves in one pass over them in ascending label order,
 * holding one open node per depth at most: the upgrade of a directory that kept no map rows, and a bulk
 * load. In label order, the node between two neighbouring labels branches on the first bit where they
 * differ, and the tree is the one these branching bits make (a node is closed, hashed and written once a
 * label differs from its left neighbour above the node's depth). The tests check it against PrefixTree and
 * against the root computed from the definition.
 */
import { checkMapLeaf, labelBit, MAP_EMPTY_ROOT, MapError, mapNodeHash, type MapLeaf } from './map-proof.js';
import {
  encodeMapNode,
  encodeMapRoot,
  firstDifferingBit,
  MAP_ROOT_KEY,
  mapNodeKey,
  refHash,
  type MapNodeRow,
  type MapRef,
} from './map-nodes.js';

interface OpenNode {
  depth: number;
  key: Uint8Array;
  left: MapRef;
}

/** Writes the node whose right child is now complete and returns the reference to it. */
function close(node: OpenNode, right: MapRef, write: (row: MapNodeRow) => void): MapRef {
  write({ key: node.key, value: encodeMapNode({ key: node.key, depth: node.depth, children: [node.left, right] }) });
  return {
    kind: 'node',
    key: node.key,
    depth: node.depth,
    hash: mapNodeHash(node.depth, refHash(node.left), refHash(right)),
  };
}

/**
 * Writes the node rows of `leaves` (ascending label order; a repeated or out-of-order label is a MapError)
 * as each is completed, then the root row; returns the map root.
 */
export function buildStoredMap(leaves: Iterable<MapLeaf>, write: (row: MapNodeRow) => void): Uint8Array {
  const open: OpenNode[] = [];
  let current: MapRef | null = null; // the previous leaf, at the top of each turn
  let previous: Uint8Array | null = null;
  for (const leaf of leaves) {
    checkMapLeaf(leaf);
    if (current !== null && previous !== null) {
      const d = firstDifferingBit(previous, leaf.label);
      if (d === 256) throw new MapError('duplicate_label', 'a label appears twice');
      if (labelBit(leaf.label, d) !== 1)
        throw new MapError('unsorted_leaves', 'the leaves are not in ascending label order');
      while (open.length > 0 && open[open.length - 1].depth > d)
        current = close(open.pop() as OpenNode, current, write);
      open.push({ depth: d, key: mapNodeKey(leaf.label, d), left: current });
    }
    current = { kind: 'leaf', label: leaf.label.slice(), version: leaf.version, historyHash: leaf.historyHash.slice() };
    previous = leaf.label;
  }
  while (open.length > 0) current = close(open.pop() as OpenNode, current as MapRef, write);
  write({ key: MAP_ROOT_KEY, value: encodeMapRoot(current) });
  return current === null ? MAP_EMPTY_ROOT.slice() : refHash(current).slice();
}
