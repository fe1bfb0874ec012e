/**
 * The KEYTRANS deployments (docs/PROTOCOL.md section 22.8) replicated to D1 beside the directory (d1-layout.ts,
 * d1-replica.ts), so that the Worker's isolates answer the KEYTRANS routes without the Durable Object. The replica's
 * tables are the object's (log/keytrans/keytrans-sql.ts) keyed by the provider's id instead of the deployment's
 * number (`ktr_`): every row is written once and never changes, but for erasure, which sets a version's opening,
 * value and signature to NULL; so every write is `INSERT OR IGNORE` and idempotent. Where they go:
 * - in the meta database: the deployments, the log entries and log subtrees, the anchors (of the last KEEP_EPOCHS
 *   epochs), and the prefix-tree nodes above the shards' depth;
 * - in the shard of a prefix-tree node's first b bits of path, the node (depth b or deeper): a key's path below
 *   depth b is in one shard;
 * - in the shard of the first b bits of SHA-256("kt-directory d1 keytrans label" || 0x00 || provider || 0x00 ||
 *   label), a label's versions and their erasures.
 * The object keeps each epoch's rows in its outbox (`kt_outbox`, beside `dir_outbox`, in parts of at most
 * OUTBOX_PART_ROWS rows, a Durable Object row being at most 2 MB), written in the epoch's transaction and deleted
 * with the epoch's `dir_outbox` row once D1 holds both.
 */
import { emptyKeyTransRows, type KeyTransRows } from '../../log/directory/keytrans-hook.js';
import { concatBytes, utf8 } from '../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { blob } from './do-directory-store.js';
import { decodeBytesJson, encodeBytesJson } from './outbox-json.js';

type Statement = [string, ...unknown[]];

/** Every D1 database's KEYTRANS tables. */
export const KEYTRANS_REPLICA_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS ktr_deployments (provider TEXT PRIMARY KEY, config BLOB NOT NULL) WITHOUT ROWID',
  'CREATE TABLE IF NOT EXISTS ktr_entries (provider TEXT NOT NULL, position INTEGER NOT NULL, timestamp INTEGER NOT NULL, prefix_root BLOB NOT NULL, head_signature BLOB NOT NULL, PRIMARY KEY (provider, position)) WITHOUT ROWID',
  'CREATE TABLE IF NOT EXISTS ktr_log_nodes (provider TEXT NOT NULL, level INTEGER NOT NULL, idx INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY (provider, level, idx)) WITHOUT ROWID',
  'CREATE TABLE IF NOT EXISTS ktr_prefix_nodes (provider TEXT NOT NULL, depth INTEGER NOT NULL, path BLOB NOT NULL, position INTEGER NOT NULL, node BLOB NOT NULL, PRIMARY KEY (provider, depth, path, position)) WITHOUT ROWID',
  'CREATE TABLE IF NOT EXISTS ktr_versions (provider TEXT NOT NULL, label BLOB NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL, vrf_output BLOB NOT NULL, vrf_proof BLOB NOT NULL, commitment BLOB NOT NULL, opening BLOB, value BLOB, signature BLOB, PRIMARY KEY (provider, label, version)) WITHOUT ROWID',
  'CREATE TABLE IF NOT EXISTS ktr_anchors (epoch INTEGER PRIMARY KEY, log_index INTEGER NOT NULL, entry BLOB NOT NULL, proof BLOB NOT NULL)',
];

/** The tables a refill empties (d1-refill.ts). */
export const KEYTRANS_REPLICA_TABLES = [
  'ktr_deployments',
  'ktr_entries',
  'ktr_log_nodes',
  'ktr_prefix_nodes',
  'ktr_versions',
  'ktr_anchors',
];

export const KEYTRANS_REPLICA_QUERIES = {
  putDeployment: 'INSERT OR IGNORE INTO ktr_deployments (provider, config) VALUES (?, ?)',
  putEntry:
    'INSERT OR IGNORE INTO ktr_entries (provider, position, timestamp, prefix_root, head_signature) VALUES (?, ?, ?, ?, ?)',
  putLogNode: 'INSERT OR IGNORE INTO ktr_log_nodes (provider, level, idx, value) VALUES (?, ?, ?, ?)',
  putPrefixNode:
    'INSERT OR IGNORE INTO ktr_prefix_nodes (provider, depth, path, position, node) VALUES (?, ?, ?, ?, ?)',
  putVersion:
    'INSERT OR IGNORE INTO ktr_versions (provider, label, version, position, vrf_output, vrf_proof, commitment, opening, value, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  erase:
    'UPDATE ktr_versions SET opening = NULL, value = NULL, signature = NULL WHERE provider = ? AND label = ? AND version < ?',
  putAnchor: 'INSERT OR REPLACE INTO ktr_anchors (epoch, log_index, entry, proof) VALUES (?, ?, ?, ?)',
  pruneAnchors: 'DELETE FROM ktr_anchors WHERE epoch < ?',
  deployment: 'SELECT config FROM ktr_deployments WHERE provider = ?',
  anchor: 'SELECT epoch, log_index, entry, proof FROM ktr_anchors WHERE epoch = ?',
  entry: 'SELECT position, timestamp, prefix_root, head_signature FROM ktr_entries WHERE provider = ? AND position = ?',
  logNode: 'SELECT value FROM ktr_log_nodes WHERE provider = ? AND level = ? AND idx = ?',
  prefixNode:
    'SELECT node FROM ktr_prefix_nodes WHERE provider = ? AND depth = ? AND path = ? AND position <= ? ORDER BY position DESC LIMIT 1',
  versions:
    'SELECT version, position, vrf_output, vrf_proof, commitment, opening, value, signature FROM ktr_versions WHERE provider = ? AND label = ? AND position <= ? ORDER BY version',
} as const;
const K = KEYTRANS_REPLICA_QUERIES;

const LABEL_SHARD_DOMAIN = utf8('kt-directory d1 keytrans label');

/** The shard of a label's versions in a provider's deployment. */
export function keyTransLabelShard(provider: string, label: Uint8Array, bits: number): number {
  if (bits === 0) return 0;
  return (
    sha256(concatBytes(LABEL_SHARD_DOMAIN, Uint8Array.of(0), utf8(provider), Uint8Array.of(0), label))[0] >> (8 - bits)
  );
}

/** The shard of a prefix-tree node, or -1 for the meta database (above the shards' depth). */
export function keyTransNodeShard(depth: number, path: Uint8Array, bits: number): number {
  if (depth < bits) return -1;
  return bits === 0 ? 0 : path[0] >> (8 - bits);
}

/**
 * The statements of an epoch's KEYTRANS rows for each shard (index 0..n-1) and the meta database (index n), added
 * to `out`; the anchors older than `prunedBelow` deleted.
 */
export function addKeyTransStatements(out: Statement[][], rows: KeyTransRows, bits: number, prunedBelow = 0): void {
  const n = out.length - 1;
  const meta = out[n];
  for (const d of rows.deployments) meta.push([K.putDeployment, d.provider, blob(d.config)]);
  for (const e of rows.entries)
    meta.push([K.putEntry, e.provider, e.position, e.timestamp, blob(e.prefixRoot), blob(e.headSignature)]);
  for (const l of rows.logNodes) meta.push([K.putLogNode, l.provider, l.level, l.index, blob(l.value)]);
  for (const p of rows.prefixNodes) {
    const shard = keyTransNodeShard(p.depth, p.path, bits);
    out[shard < 0 ? n : shard].push([K.putPrefixNode, p.provider, p.depth, blob(p.path), p.position, blob(p.node)]);
  }
  for (const v of rows.versions) {
    const row = [v.version, v.position, blob(v.vrfOutput), blob(v.vrfProof), blob(v.commitment)];
    const secret = [blob(v.opening), blob(v.value), blob(v.signature)];
    out[keyTransLabelShard(v.provider, v.label, bits)].push([
      K.putVersion,
      v.provider,
      blob(v.label),
      ...row,
      ...secret,
    ]);
  }
  for (const e of rows.erasures)
    out[keyTransLabelShard(e.provider, e.label, bits)].push([K.erase, e.provider, blob(e.label), e.below]);
  const a = rows.anchor;
  if (a) meta.push([K.putAnchor, a.epoch, a.logIndex, blob(a.entry), blob(concatBytes(...a.proof))]);
  if (prunedBelow > 0) meta.push([K.pruneAnchors, prunedBelow]);
}

/** The object's outbox of KEYTRANS rows (see the file comment). */
export const KEYTRANS_OUTBOX_SCHEMA =
  'CREATE TABLE IF NOT EXISTS kt_outbox (epoch INTEGER NOT NULL, part INTEGER NOT NULL, rows TEXT NOT NULL, PRIMARY KEY (epoch, part))';

/** Rows per outbox part (a prefix-tree node's row is about 150 bytes of JSON). */
export const OUTBOX_PART_ROWS = 4000;

/** `rows` as the outbox parts that hold them: the first with all but the nodes and versions, which are spread. */
export function keyTransOutboxParts(rows: KeyTransRows): string[] {
  const { prefixNodes, versions, ...rest } = rows;
  const parts: KeyTransRows[] = [{ ...rest, prefixNodes: [], versions: [] }];
  for (let i = 0; i < prefixNodes.length; i += OUTBOX_PART_ROWS)
    parts.push({ ...emptyKeyTransRows(), prefixNodes: prefixNodes.slice(i, i + OUTBOX_PART_ROWS) });
  for (let i = 0; i < versions.length; i += OUTBOX_PART_ROWS / 4)
    parts.push({ ...emptyKeyTransRows(), versions: versions.slice(i, i + OUTBOX_PART_ROWS / 4) });
  return parts.map((p) => encodeBytesJson(p));
}

/** The rows of an epoch's outbox parts, in part order (none: undefined). */
export function keyTransFromParts(parts: string[]): KeyTransRows | undefined {
  if (parts.length === 0) return undefined;
  const decoded = parts.map((p) => decodeBytesJson<KeyTransRows>(p));
  const [first, ...rest] = decoded;
  for (const p of rest) {
    first.prefixNodes.push(...p.prefixNodes);
    first.versions.push(...p.versions);
  }
  return first;
}
