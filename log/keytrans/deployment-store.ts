/**
 * Where a KEYTRANS deployment (draft-ietf-keytrans-protocol-05) keeps its trees, shaped by what the backends offer
 * (SQLite on Node and in a Durable Object, maps in memory for the tests): point reads by primary key, and one
 * atomic append per log entry. The log tree is kept as the values of its balanced subtrees by (level, index): the
 * subtree of leaves [index * 2^level, (index + 1) * 2^level). The prefix tree is kept as rows versioned by log
 * position: a node is named by its depth and its path (the first `depth` bits of the keys below it, packed most
 * significant bit first, unused low bits zero), and the tree that log entry p commits to is, for each name, the
 * newest row written at or before p. A name only ever goes from empty to a leaf to a parent, so no row is deleted
 * and every earlier tree stays readable. Versions are kept per label with the position that first holds them;
 * erasure forgets a version's opening and value and keeps its commitment, which the trees hash.
 */
import type { KeyTransAnchor } from '../directory/keytrans-hook.js';
import type { StoredVersion } from './deployment-view.js';
import type { PrefixNode } from '../../verifier/keytrans/tree-readers.js';
import type { Configuration, LogEntry, TreeHead } from '../../verifier/keytrans/types.js';

/** A stored node of the prefix tree: a leaf or a parent (an empty name has no row). */
export type StoredPrefixNode = Exclude<PrefixNode, { kind: 'empty' }>;

/** One prefix-tree row: the node named (depth, path) as of `position`. */
export interface PrefixNodeRow {
  depth: number;
  path: Uint8Array;
  node: StoredPrefixNode;
}

/** One balanced log subtree's value. */
export interface LogNodeRow {
  level: number;
  index: number;
  value: Uint8Array;
}

/** Everything one log entry adds, written at once or not at all. */
export interface DeploymentAppend {
  /** The entry's position: the store's size before the append. */
  position: number;
  entry: LogEntry;
  /** The operator's signature of the tree head of size position + 1. */
  headSignature: Uint8Array;
  logNodes: LogNodeRow[];
  prefixNodes: PrefixNodeRow[];
  versions: { label: Uint8Array; version: StoredVersion }[];
}

export interface DeploymentStore {
  /** How many log entries are stored. */
  size(): number;
  /** The log entry at `position` (below the size). */
  entry(position: number): LogEntry;
  /** The signed tree head of size `treeSize` (1 to the size). */
  treeHead(treeSize: number): TreeHead;
  /** The value of the balanced subtree (level, index); it must be stored. */
  logNode(level: number, index: number): Uint8Array;
  /**
   * The node named (depth, path) in the prefix tree of log entry `position`; empty if it has no row yet. `key`: a
   * key whose path passes there, for a store that fetches the names below it ahead (`settle`).
   */
  prefixNode(depth: number, path: Uint8Array, position: number, key?: Uint8Array): PrefixNode;
  /** How many versions of `label` are stored. */
  versionCount(label: Uint8Array): number;
  /** The versions of `label` first held at or before `position` (null: all), from version 0. */
  versions(label: Uint8Array, position: number | null): StoredVersion[];
  /** Writes `a` atomically; refused with 'deployment_conflict', writing nothing, unless a.position is the size. */
  append(a: DeploymentAppend): void;
  /** Forgets the opening and value of one version (its commitment stays); false if there is no such version. */
  erase(label: Uint8Array, version: number): boolean;
  /**
   * For a store whose rows are partly elsewhere (an edge object's, api/worker/edge-deployment-store.ts): fetches
   * what `walk`, a run of this store's synchronous reads of its newest tree, reads, until it reads only rows at
   * hand, so that the same reads made right after are answered. Absent: every row is at hand.
   */
  settle?(walk: () => void): Promise<void>;
}

/** Every provider's deployment in one backend, and the anchors of their heads in the directory's log. */
export interface DeploymentStores {
  /** Stores an epoch's anchor (written in the epoch's commit, with the entries it names). */
  putAnchor(anchor: KeyTransAnchor): void;
  /** The anchor of `epoch`, or null if that epoch anchored no head. */
  anchor(epoch: number): KeyTransAnchor | null;
  /** The stored deployments: each provider's id and encoded Configuration. */
  configured(): Map<string, Uint8Array>;
  /** The deployment of `provider`, made with `config` if none is stored ('deployment_corrupt' if another is). */
  open(provider: string, config: Configuration): DeploymentStore;
}

/** `key` with bit `depth - 1` flipped (depth >= 1): a key whose path at `depth` names the sibling of `key`'s node. */
export function siblingKey(key: Uint8Array, depth: number): Uint8Array {
  const other = key.slice();
  other[(depth - 1) >> 3] ^= 1 << (7 - ((depth - 1) & 7));
  return other;
}

/** The name of the node at `depth` on the path of `key`: its first `depth` bits, the rest of the last byte zero. */
export function pathOf(key: Uint8Array, depth: number): Uint8Array {
  const path = key.slice(0, Math.ceil(depth / 8));
  if (depth % 8 !== 0) path[path.length - 1] &= (0xff << (8 - (depth % 8))) & 0xff;
  return path;
}
