/**
 * How the directory's read replica is laid out over D1 databases (docs/ARCHITECTURE.md, "The read path on the
 * Worker"; docs/PROTOCOL.md section 21.4): one meta database (the binding `INDEX`) and 2^b index shards (`INDEX`
 * itself is shard 0; `INDEX_1` ... `INDEX_{2^b-1}`, with `INDEX_SHARDS` = 2^b, at most 32: see MAX_SHARDS), so that
 * no single
 * database nears D1's 10 GB cap. Every database has the same tables; each holds the rows routed to it:
 * - by the label's first b bits: its account row, its versions, and the stored map's nodes at depth b or deeper
 *   under that prefix (a node's key is `u8 depth || prefix`);
 * - by the name's first b bits of SHA-256("kt-directory d1 name shard" || 0x00 || provider || 0x00 || account): the
 *   name's label (`dir_name_labels`), so that a lookup by name finds its shard without computing the VRF;
 * - in the meta database: the credentials, the epoch heads (`dir_heads`: the last epochs' log index, entry and
 *   inclusion proof, the checkpoint served with each once it is known) and the map's root row and the nodes above
 *   depth b.
 * Map rows are versioned by epoch (`dir_map_rows (key, epoch, node)`): a reader at epoch E reads, per key, the row
 * of the greatest epoch at most E, so that shards replicated at different moments still give one epoch's map.
 * Rows superseded before the oldest servable epoch are pruned (`KEEP_EPOCHS`).
 */
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { concatBytes, utf8 } from '../../wasm-free-crypto/bytes.js';
import { DIRECTORY_SCHEMA } from '../../log/directory/directory-sql.js';
import { ConfigError } from '../wiring/settings.js';
import { KEYTRANS_REPLICA_SCHEMA } from './d1-keytrans.js';
import { TRIMMED_SCHEMA } from './object-trim.js';

/** The part of a D1 prepared statement used here. */
export interface IndexStatement {
  bind(...values: unknown[]): IndexStatement;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>;
  run(): Promise<unknown>;
}

/** The part of `D1Database` used here: a batch is one transaction, its reads one snapshot. */
export interface IndexDatabase {
  prepare(query: string): IndexStatement;
  batch<T = Record<string, unknown>>(statements: IndexStatement[]): Promise<{ results: T[] }[]>;
}

/** The meta database and the shards (shards[0] is the meta database). */
export interface IndexLayout {
  meta: IndexDatabase;
  shards: IndexDatabase[];
  /** log2 of the number of shards. */
  bits: number;
}

/** Epochs whose map a reader can still be answered from, behind the newest served one. */
export const KEEP_EPOCHS = 16;
/**
 * The most shards. The routing works to 2^8 (a shard is named by one byte's bits at most, `prefixBits`), and a
 * reader's cost does not grow with them (d1-reader.ts reads only its label's path above the shards' depth). The
 * writer's does, within the 1,000 D1 queries a Worker invocation may make (Workers Paid): in one alarm a
 * replication run reads every database's marker, applies each epoch in a batch per database, an edge object's
 * epoch plan fetches its paths with a query or more per database a round (directory-map.ts `fetchPaths`), its
 * KEYTRANS deployments theirs (edge-deployment-store.ts), and a refill writes a chunk's rows to the databases they
 * go to, and a run's replayed epochs in whole lists per database (d1-refill-replay.ts).
 * At 32 shards the worst of these alarms stays under about 800 queries; at 128 a refill or a busy epoch would not
 * (docs/ARCHITECTURE.md, the design to 1B accounts).
 */
export const MAX_SHARDS = 32;

/** Every database's tables: the directory's (dir_names unused), and the replica's own. */
export const REPLICA_SCHEMA = [
  ...DIRECTORY_SCHEMA.split(';')
    .map((q) => q.trim())
    .filter((q) => q.length > 0),
  'CREATE TABLE IF NOT EXISTS dir_replica (id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL)',
  'CREATE TABLE IF NOT EXISTS dir_name_labels (provider TEXT NOT NULL, account TEXT NOT NULL, label BLOB NOT NULL, PRIMARY KEY (provider, account)) WITHOUT ROWID',
  'CREATE TABLE IF NOT EXISTS dir_map_rows (key BLOB NOT NULL, epoch INTEGER NOT NULL, node BLOB NOT NULL, PRIMARY KEY (key, epoch)) WITHOUT ROWID',
  'CREATE INDEX IF NOT EXISTS dir_map_rows_epoch ON dir_map_rows (epoch)',
  'CREATE TABLE IF NOT EXISTS dir_layout (id INTEGER PRIMARY KEY CHECK (id = 1), shards INTEGER NOT NULL)',
  'CREATE TABLE IF NOT EXISTS dir_heads (epoch INTEGER PRIMARY KEY, log_index INTEGER NOT NULL, entry BLOB NOT NULL, proof BLOB NOT NULL, checkpoint TEXT NOT NULL, served TEXT)',
  TRIMMED_SCHEMA, // meta database: the epoch at which the object moved its rows here (api/worker/object-trim.ts)
  // meta database: the token of a refill under way (api/worker/d1-refill.ts)
  'CREATE TABLE IF NOT EXISTS dir_refilling (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL)',
  ...KEYTRANS_REPLICA_SCHEMA, // the KEYTRANS deployments (d1-keytrans.ts)
];

export const REPLICA_QUERIES = {
  marker: 'SELECT epoch FROM dir_replica WHERE id = 1',
  setMarker: 'INSERT OR REPLACE INTO dir_replica (id, epoch) VALUES (1, ?)',
  putNameLabel: 'INSERT OR REPLACE INTO dir_name_labels (provider, account, label) VALUES (?, ?, ?)',
  nameLabel: 'SELECT label FROM dir_name_labels WHERE provider = ? AND account = ?',
  putMapRow: 'INSERT OR REPLACE INTO dir_map_rows (key, epoch, node) VALUES (?, ?, ?)',
  /**
   * The rows superseded at or before epoch ?1, the oldest servable one, by rows written after epoch ?2: no
   * reader reads them again. ?2 is KEEP_EPOCHS before the lower of ?1 and the last prune point (the oldest epoch
   * head), so that a jump of the servable epoch, however long, is caught up (d1-replica.ts, applyEpoch).
   */
  pruneMapRows:
    'DELETE FROM dir_map_rows WHERE epoch < ?1 AND key IN (SELECT key FROM dir_map_rows WHERE epoch > ?2 AND epoch <= ?1) ' +
    'AND epoch < (SELECT MAX(n.epoch) FROM dir_map_rows n WHERE n.key = dir_map_rows.key AND n.epoch <= ?1)',
  /** A key's rows older than its newest at most ?2 (a refill's finish: no reader reads before its epoch). */
  pruneMapKey:
    'DELETE FROM dir_map_rows WHERE key = ?1 AND epoch < (SELECT MAX(n.epoch) FROM dir_map_rows n WHERE n.key = ?1 AND n.epoch <= ?2)',
  putHead:
    'INSERT OR REPLACE INTO dir_heads (epoch, log_index, entry, proof, checkpoint, served) VALUES (?, ?, ?, ?, ?, ?)',
  serveHead: 'UPDATE dir_heads SET served = ? WHERE epoch = ? AND served IS NULL',
  pruneHeads: 'DELETE FROM dir_heads WHERE epoch < ?',
  /** The newest epoch head with its served checkpoint. */
  servedHead:
    'SELECT epoch, log_index, entry, proof, served AS checkpoint FROM dir_heads WHERE served IS NOT NULL ORDER BY epoch DESC LIMIT 1',
  firstCredential: 'SELECT MIN(log_index) AS log_index FROM dir_credentials WHERE provider = ?',
  /** The number of shards the replica was laid out for (set by a refill, last). */
  laidOutShards: 'SELECT shards FROM dir_layout WHERE id = 1',
};

/** The first `bits` bits of `b` (bits <= 8). */
function prefixBits(b: Uint8Array, offset: number, bits: number): number {
  return bits === 0 ? 0 : (b[offset] ?? 0) >> (8 - bits);
}

export function labelShard(label: Uint8Array, bits: number): number {
  return prefixBits(label, 0, bits);
}

const NAME_SHARD_DOMAIN = utf8('kt-directory d1 name shard');

export function nameShard(provider: string, account: string, bits: number): number {
  if (bits === 0) return 0;
  const h = sha256(
    concatBytes(NAME_SHARD_DOMAIN, new Uint8Array([0]), utf8(provider), new Uint8Array([0]), utf8(account)),
  );
  return prefixBits(h, 0, bits);
}

/** The shard of a stored map row by its key, or -1 for the meta database (the root row, nodes above depth `bits`). */
export function mapRowShard(key: Uint8Array, bits: number): number {
  if (key.length === 0 || key[0] < bits) return -1;
  return prefixBits(key, 1, bits);
}

/** The layout of `env`'s bindings, null without `INDEX`; a malformed shard setting throws (not configured). */
export function indexLayout(vars: object): IndexLayout | null {
  const env = vars as Record<string, unknown>;
  const meta = env.INDEX as IndexDatabase | undefined;
  if (!meta) return null;
  const count = env.INDEX_SHARDS === undefined ? 1 : Number(env.INDEX_SHARDS);
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS || (count & (count - 1)) !== 0)
    throw new ConfigError(`INDEX_SHARDS must be a power of two from 1 to ${MAX_SHARDS}`);
  const shards = [meta];
  for (let i = 1; i < count; i++) {
    const db = env[`INDEX_${i}`] as IndexDatabase | undefined;
    if (!db) throw new ConfigError(`INDEX_SHARDS is ${count} but the binding INDEX_${i} is missing`);
    shards.push(db);
  }
  return { meta, shards, bits: Math.log2(count) };
}
