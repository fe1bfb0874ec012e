/**
 * What a KEYTRANS deployment's responders read (draft-ietf-keytrans-protocol-05, "User Operations"): one
 * provider's deployment as the directory operates it, at one tree size, through a few read methods shaped by
 * what the storages offer (SQLite on Node, D1 on the Worker, maps in memory for the tests). Nothing here writes:
 * the epoch's writer commits new log entries, prefix-tree nodes and versions, and a view is taken at a tree size
 * it committed. The log tree and prefix tree are read through the provers' readers
 * (verifier/keytrans/tree-readers.ts), so a response reads only the nodes its proofs need.
 */
import type { CipherSuite } from '../../verifier/keytrans/suites.js';
import type { LogHashReader, PrefixTreeReader } from '../../verifier/keytrans/tree-readers.js';
import type { Configuration, LogEntry, TreeHead, UpdateValue } from '../../verifier/keytrans/types.js';

/** One version of a label as the deployment keeps it. */
export interface StoredVersion {
  version: number;
  /** The log entry whose prefix tree first holds this version. */
  position: number;
  /** The VRF output (Nh bytes, truncated as the suite says) and proof of `VrfInput{label, version}`. */
  vrfOutput: Uint8Array;
  vrfProof: Uint8Array;
  commitment: Uint8Array;
  /** The opening and the value; both null once the version was erased (its commitment stays in the tree). */
  opening: Uint8Array | null;
  value: UpdateValue | null;
}

/** A deployment at one tree size (`treeHead.treeSize` log entries, at least one). */
export interface DeploymentView {
  readonly suite: CipherSuite;
  readonly config: Configuration;
  /** The signed head of the tree this view shows. */
  readonly treeHead: TreeHead;
  /** The log entry at `position` (below the tree size): its timestamp and prefix-tree root. */
  entry(position: number): LogEntry;
  /** The log tree's balanced subtrees, within the tree size. */
  readonly logHashes: LogHashReader;
  /** The prefix tree as the log entry at `position` commits to it. */
  prefixAt(position: number): PrefixTreeReader;
  /** Every version of `label` that the tree holds at this size, in order from version 0 (none: empty). */
  versions(label: Uint8Array): StoredVersion[];
  /**
   * The search key of a version of `label` that the tree does not hold at this size: a binary ladder also looks
   * up versions above the greatest (and version 0 of a label with none), whose VRF output (truncated) and proof
   * of `VrfInput{label, version}` only the deployment's VRF key gives, computed or kept from an earlier request.
   */
  searchKey(label: Uint8Array, version: number): SearchKey;
}

/** The VRF output (Nh bytes, truncated as the suite says) and proof of one `VrfInput{label, version}`. */
export interface SearchKey {
  vrfOutput: Uint8Array;
  vrfProof: Uint8Array;
}
