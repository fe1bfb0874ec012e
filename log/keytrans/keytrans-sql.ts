/**
 * The SQL tables of the KEYTRANS deployments (docs/PROTOCOL.md section 22.4), one set for every provider's
 * deployment, told apart by a small integer id; and the encodings of their BLOB columns. CREATE TABLE IF NOT
 * EXISTS: a file written by a release without KEYTRANS gets the (empty) tables in place when it is opened.
 * - kt_deployments: the provider's id and the encoded Configuration the deployment signs heads under.
 * - kt_entries: each log entry's timestamp and prefix-tree root, and the signature of the head of size position + 1.
 * - kt_log_nodes: the log tree's balanced subtrees by (level, idx).
 * - kt_prefix_nodes: prefix-tree rows by (depth, path, position); the tree of entry p is each name's newest row at
 *   or before p. `node` is 0x01 || vrf_output[32] || commitment[32] (a leaf) or 0x02 || value[32] (a parent).
 * - kt_anchors: each epoch's KEYTRANS heads entry (docs/PROTOCOL.md section 22.7): its log index, bytes and
 *   inclusion proof (hashes concatenated) in the tree of that epoch's checkpoint.
 * - kt_versions: each version of a label with the position that first holds it, its VRF output and proof, its
 *   commitment, and until erased its opening, value and (thirdPartyManagement) the provider's signature.
 */
import type { PrefixNode } from '../../verifier/keytrans/tree-readers.js';
import { DeploymentError } from './deployment-error.js';
import type { StoredPrefixNode } from './deployment-store.js';
import type { StoredVersion } from './deployment-view.js';

export const KEYTRANS_SCHEMA = `
CREATE TABLE IF NOT EXISTS kt_deployments (id INTEGER PRIMARY KEY, provider TEXT NOT NULL UNIQUE, config BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS kt_entries (
  deployment INTEGER NOT NULL, position INTEGER NOT NULL, timestamp INTEGER NOT NULL, prefix_root BLOB NOT NULL,
  head_signature BLOB NOT NULL, PRIMARY KEY (deployment, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kt_log_nodes (
  deployment INTEGER NOT NULL, level INTEGER NOT NULL, idx INTEGER NOT NULL, value BLOB NOT NULL,
  PRIMARY KEY (deployment, level, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kt_prefix_nodes (
  deployment INTEGER NOT NULL, depth INTEGER NOT NULL, path BLOB NOT NULL, position INTEGER NOT NULL, node BLOB NOT NULL,
  PRIMARY KEY (deployment, depth, path, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kt_anchors (
  epoch INTEGER PRIMARY KEY, log_index INTEGER NOT NULL, entry BLOB NOT NULL, proof BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS kt_versions (
  deployment INTEGER NOT NULL, label BLOB NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL,
  vrf_output BLOB NOT NULL, vrf_proof BLOB NOT NULL, commitment BLOB NOT NULL, opening BLOB, value BLOB, signature BLOB,
  PRIMARY KEY (deployment, label, version)) WITHOUT ROWID;
`;

export const KEYTRANS_QUERIES = {
  deployments: 'SELECT provider, config FROM kt_deployments ORDER BY id',
  anchor: 'SELECT epoch, log_index, entry, proof FROM kt_anchors WHERE epoch = ?',
  newestAnchor: 'SELECT MAX(epoch) AS epoch FROM kt_anchors',
  addAnchor: 'INSERT INTO kt_anchors (epoch, log_index, entry, proof) VALUES (?, ?, ?, ?)',
  deployment: 'SELECT id, config FROM kt_deployments WHERE provider = ?',
  addDeployment: 'INSERT INTO kt_deployments (provider, config) VALUES (?, ?) RETURNING id',
  size: 'SELECT COALESCE(MAX(position) + 1, 0) AS size FROM kt_entries WHERE deployment = ?',
  entry: 'SELECT timestamp, prefix_root, head_signature FROM kt_entries WHERE deployment = ? AND position = ?',
  addEntry:
    'INSERT INTO kt_entries (deployment, position, timestamp, prefix_root, head_signature) VALUES (?, ?, ?, ?, ?)',
  logNode: 'SELECT value FROM kt_log_nodes WHERE deployment = ? AND level = ? AND idx = ?',
  addLogNode: 'INSERT INTO kt_log_nodes (deployment, level, idx, value) VALUES (?, ?, ?, ?)',
  prefixNode:
    'SELECT node FROM kt_prefix_nodes WHERE deployment = ? AND depth = ? AND path = ? AND position <= ? ORDER BY position DESC LIMIT 1',
  addPrefixNode: 'INSERT INTO kt_prefix_nodes (deployment, depth, path, position, node) VALUES (?, ?, ?, ?, ?)',
  // Versions are dense from 0, so the greatest plus one is their count, also once an edge object trimmed the lowest.
  versionCount: 'SELECT COALESCE(MAX(version) + 1, 0) AS n FROM kt_versions WHERE deployment = ? AND label = ?',
  versions:
    'SELECT version, position, vrf_output, vrf_proof, commitment, opening, value, signature FROM kt_versions WHERE deployment = ? AND label = ? AND position <= ? ORDER BY version',
  addVersion:
    'INSERT INTO kt_versions (deployment, label, version, position, vrf_output, vrf_proof, commitment, opening, value, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  hasVersion: 'SELECT 1 AS n FROM kt_versions WHERE deployment = ? AND label = ? AND version = ?',
  anchorsTable: "SELECT 1 AS n FROM sqlite_master WHERE type = 'table' AND name = 'kt_anchors'",
  erase:
    'UPDATE kt_versions SET opening = NULL, value = NULL, signature = NULL WHERE deployment = ? AND label = ? AND version = ?',
} as const;

const LEAF = 0x01;
const PARENT = 0x02;

/** The `node` column of a prefix-tree row. */
export function encodePrefixNode(node: StoredPrefixNode): Uint8Array {
  if (node.kind === 'parent') return Uint8Array.of(PARENT, ...node.value);
  return Uint8Array.of(LEAF, ...node.leaf.vrfOutput, ...node.leaf.commitment);
}

/** Reads a `node` column back; anything else is 'deployment_corrupt'. */
export function decodePrefixNode(bytes: Uint8Array): PrefixNode {
  if (bytes.length === 33 && bytes[0] === PARENT) return { kind: 'parent', value: bytes.slice(1) };
  if (bytes.length === 65 && bytes[0] === LEAF)
    return { kind: 'leaf', leaf: { vrfOutput: bytes.slice(1, 33), commitment: bytes.slice(33) } };
  throw new DeploymentError('deployment_corrupt', 'a stored prefix-tree node is malformed');
}

/** A kt_versions row (BLOBs as Uint8Array). */
export interface RawKeyTransVersion {
  version: number;
  position: number;
  vrf_output: Uint8Array;
  vrf_proof: Uint8Array;
  commitment: Uint8Array;
  opening: Uint8Array | null;
  value: Uint8Array | null;
  signature: Uint8Array | null;
}

/** A StoredVersion from its row. */
export function versionFromRow(row: RawKeyTransVersion): StoredVersion {
  if ((row.opening === null) !== (row.value === null))
    throw new DeploymentError('deployment_corrupt', 'a stored version has an opening without a value, or the reverse');
  const value =
    row.value === null
      ? null
      : { value: row.value, suffix: row.signature === null ? {} : { signature: row.signature } };
  const { version, position, vrf_output: vrfOutput, vrf_proof: vrfProof, commitment, opening } = row;
  return { version, position, vrfOutput, vrfProof, commitment, opening, value };
}
