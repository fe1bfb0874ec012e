/**
 * The map root computed straight from its definition (docs/PROTOCOL.md, the map section), sharing no code
 * with PrefixTree (verifier/formats/prefix-tree.ts): the independent recomputation the map's tests and the
 * replay tests check the tree against; and a log of epochs built from it, for the replay's tests.
 */
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { historyHash, HISTORY_ZERO } from '../../verifier/formats/directory-hashes.js';
import { encodeEntry } from '../../verifier/formats/entries.js';
import { EMPTY_TREE_HASH } from '../../verifier/formats/tlog.js';
import {
  checkMapLeaf,
  labelBit,
  MAP_EMPTY_ROOT,
  MapError,
  mapLeafHash,
  mapNodeHash,
  type MapLeaf,
} from '../../verifier/formats/map-proof.js';

/**
 * The map root of a set of leaves computed straight from the definition, sharing no code with PrefixTree
 * (the tests' independent recomputation of PrefixTree's roots): the empty root for no leaves, otherwise the root of
 * the whole set as `subtreeRoot` defines it. Refuses malformed leaves and repeated labels. It costs
 * O(n · depth) bit tests and one hash per leaf and per internal node.
 */
export function rootFromLeaves(leaves: MapLeaf[]): Uint8Array {
  leaves.forEach(checkMapLeaf);
  if (new Set(leaves.map((l) => toHex(l.label))).size !== leaves.length)
    throw new MapError('duplicate_label', 'a label appears twice');
  return leaves.length === 0 ? MAP_EMPTY_ROOT.slice() : subtreeRoot(leaves, 0);
}

/**
 * The root of a non-empty set of distinct labels that agree on bits 0..from-1: a single leaf is its leaf
 * hash; otherwise the node on the first bit d >= `from` where the labels differ, over the roots of the
 * labels with bit d = 0 (left) and = 1 (right), each of which agrees on bits 0..d.
 */
function subtreeRoot(leaves: MapLeaf[], from: number): Uint8Array {
  if (leaves.length === 1) return mapLeafHash(leaves[0].label, leaves[0].version, leaves[0].historyHash);
  let d = from;
  while (leaves.every((l) => labelBit(l.label, d) === labelBit(leaves[0].label, d))) d++;
  const left = leaves.filter((l) => labelBit(l.label, d) === 0);
  const right = leaves.filter((l) => labelBit(l.label, d) === 1);
  return mapNodeHash(d, subtreeRoot(left, d + 1), subtreeRoot(right, d + 1));
}

/** A log of epochs of the given updates (no enrolments), each closed by a head with its true map root. */
export function syntheticLog(epochs: { label: Uint8Array; version: number; commitment: Uint8Array }[][]): Uint8Array[] {
  const leaves = new Map<string, MapLeaf>();
  const entries: Uint8Array[] = [];
  epochs.forEach((updates, epoch) => {
    const firstIndex = entries.length;
    for (const u of updates) {
      const before = leaves.get(toHex(u.label));
      const history = historyHash(before?.historyHash ?? HISTORY_ZERO, u.version, u.commitment);
      leaves.set(toHex(u.label), { label: u.label, version: u.version, historyHash: history });
      entries.push(encodeEntry({ type: 'update', ...u }));
    }
    const mapRoot = rootFromLeaves([...leaves.values()]);
    const count = entries.length - firstIndex;
    const head = { type: 'epoch' as const, epoch, time: 1_767_139_200_000 + epoch, firstIndex, count, mapRoot };
    entries.push(encodeEntry({ ...head, credentialsRoot: EMPTY_TREE_HASH, credentialCount: 0 }));
  });
  return entries;
}
