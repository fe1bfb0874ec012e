/**
 * What the KEYTRANS provers read (the log's side of draft-ietf-keytrans-protocol-05 "Tree Proofs"; provers sit
 * beside the checks in this room, as golang.org/x/mod/sumdb/tlog's proveRecord beside checkRecord), as small
 * one-method readers in the style of tlog's HashReader, so that the same provers work over a tree in memory (the
 * tests), in SQLite (Node) or in a Durable Object's storage and D1 (the Worker), and read only the nodes a proof
 * needs. The log tree is read by balanced subtree, the prefix tree by node along a key's path. Hashing is the
 * client's (log-tree.ts, prefix-tree.ts): what a prover makes is checked by the same code the clients run.
 */
import type { PrefixLeaf } from './types.js';

/** The value of the log tree's balanced subtree of leaves [start, end) (end - start a power of two). */
export interface LogHashReader {
  subtree(start: number, end: number): Uint8Array;
}

/**
 * A node of a prefix tree: nothing there, a leaf (the only entry of its subtree, at the shallowest depth no other
 * entry shares), or a parent (two entries or more below it) with its value.
 */
export type PrefixNode = { kind: 'empty' } | { kind: 'leaf'; leaf: PrefixLeaf } | { kind: 'parent'; value: Uint8Array };

/** The node at `depth` on the path of `key` (a VRF output: its bits, most significant first, 0 going left). */
export interface PrefixTreeReader {
  node(key: Uint8Array, depth: number): PrefixNode;
}
