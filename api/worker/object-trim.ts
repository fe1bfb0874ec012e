/**
 * Step 4 of "The writer past one object" (docs/ARCHITECTURE.md): the Durable Object deletes its copies of the
 * directory's bulk once D1 holds them, so that its storage depends on the epoch rate, not on the number of
 * accounts. Deleted: account, version and name rows (but the account of the greatest id), and the stored map's rows of depth 12 or more. Kept: the
 * queue, the outbox, the credentials, the last epoch's head and served checkpoint, and the map's root row and
 * upper levels (at most 4,095 nodes, about 0.5 MB) and the node the root row points to, whatever its depth (what
 * the object opens the map with). Of the KEYTRANS deployments (`KEYTRANS_BULK`): every version and every
 * prefix-tree row but the newest of each name above the same depth, and the log entries, log subtrees and
 * anchors but what the next append reads (api/worker/edge-deployment-store.ts reads D1 in their place).
 *
 * Crash safety, in the order things happen (`ReplicatedDirectoryStore.trim`):
 * 1. Only with the outbox empty, checked in the same synchronous step as the deletes: every row the object
 *    holds was written by an epoch that every D1 database holds (d1-replica.ts deletes an outbox row only then).
 * 2. D1's meta database is marked first (`dir_trimmed`), then the object (its own `dir_trimmed` row, in the same
 *    step as its first deletes). From then on a refill of D1 from the object is refused whichever side kept its
 *    mark (d1-replica.ts): the object no longer holds what it would copy. A lost object (a new one, empty) can
 *    therefore never empty a D1 that holds the only copy of the accounts.
 * 3. Chunks of accounts with their versions (never the account of the greatest id: see ACCOUNT_IDS), of names,
 *    of map rows and of KEYTRANS rows, lowest keys first, up to a budget per call, so that one alarm's work is bounded.
 * Rows an epoch writes after that are deleted by a later call, once replicated. A row the object still holds is
 * always its newest (rows are deleted, never left behind by a later write), so what it reads of its own is right.
 */
import { decodeMapRoot } from '../../verifier/formats/map-nodes.js';
import type { DoSqlStorage } from './do-log-storage.js';

type Sql = Pick<DoSqlStorage, 'sql'>['sql'];

/** The table marking, in the object and in D1's meta database, the epoch at which the object first trimmed. */
export const TRIMMED_SCHEMA =
  'CREATE TABLE IF NOT EXISTS dir_trimmed (id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL)';
export const MARK_TRIMMED = 'INSERT OR IGNORE INTO dir_trimmed (id, epoch) VALUES (1, ?)';
export const TRIMMED_EPOCH = 'SELECT epoch FROM dir_trimmed WHERE id = 1';

/** Map rows above this depth are kept (keys are `u8 depth || prefix`: the root row's is empty). */
export const KEPT_MAP_DEPTH = 12;

/** The epoch at which the object first trimmed, or undefined if it never did. */
export function objectTrimmedAt(sql: Sql): number | undefined {
  sql.exec(TRIMMED_SCHEMA);
  return sql.exec<{ epoch: number }>(TRIMMED_EPOCH).toArray()[0]?.epoch;
}

/** Whether the outbox holds no epoch (every row the object holds is in every D1 database). */
export function outboxEmpty(sql: Sql): boolean {
  return sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM dir_outbox').toArray()[0].n === 0;
}

/**
 * The accounts a chunk deletes, lowest ids first, with their versions: never the one of the greatest id, so that
 * SQLite never gives a deleted account's id to a new one (without AUTOINCREMENT it takes the greatest id plus
 * one), and a version row left behind could never collide with a new account's (`?1` the limit).
 */
const ACCOUNT_IDS = 'SELECT id FROM dir_accounts WHERE id < (SELECT MAX(id) FROM dir_accounts) ORDER BY id LIMIT ?1';

/** Each bulk table, and the rows of it a chunk deletes (lowest keys first): `?1` the limit, `?2` the map's bound. */
const BULK: [table: string, key: string, rows: string][] = [
  ['dir_versions', 'id', ACCOUNT_IDS],
  ['dir_accounts', 'id', ACCOUNT_IDS],
  ['dir_names', '(provider, account)', 'SELECT provider, account FROM dir_names ORDER BY provider, account LIMIT ?1'],
  ['dir_map', 'key', 'SELECT key FROM dir_map WHERE key >= ?2 AND key != ?3 ORDER BY key LIMIT ?1'],
];

/**
 * The key of the node the map's root row points to (an empty key if none): never deleted, whatever its depth (all
 * labels may share their first bits), since the object checks it against the root when it opens the map.
 */
function topNodeKey(sql: Sql): ArrayBuffer {
  const [root] = sql.exec<{ node: ArrayBuffer }>("SELECT node FROM dir_map WHERE key = X''").toArray();
  const top = root ? decodeMapRoot(new Uint8Array(root.node)) : null;
  return top?.kind === 'node' ? top.key.slice().buffer : new ArrayBuffer(0);
}

/**
 * The KEYTRANS rows a chunk deletes (edge-deployment-store.ts then reads D1 in their place), each table's lowest
 * keys first, so that the rows of a name the object still holds are always its newest: every version; every
 * prefix-tree row but the newest of each name above the kept depth (`?2`); every log entry but each deployment's
 * last (its size and clock), every log subtree off its right edge (the balanced subtrees of its size, which the
 * next append reads), and every anchor but the last (`?1` the limit).
 */
const KEYTRANS_BULK: [table: string, key: string, rows: string][] = [
  [
    'kt_versions',
    '(deployment, label, version)',
    'SELECT deployment, label, version FROM kt_versions ORDER BY deployment, label, version LIMIT ?1',
  ],
  [
    'kt_prefix_nodes',
    '(deployment, depth, path, position)',
    'SELECT deployment, depth, path, position FROM kt_prefix_nodes p WHERE depth >= ?2 OR position < (SELECT ' +
      'MAX(position) FROM kt_prefix_nodes q WHERE q.deployment = p.deployment AND q.depth = p.depth AND q.path = ' +
      'p.path) ORDER BY deployment, depth, path, position LIMIT ?1',
  ],
  [
    'kt_entries',
    '(deployment, position)',
    'SELECT deployment, position FROM kt_entries e WHERE position < (SELECT MAX(position) FROM kt_entries f ' +
      'WHERE f.deployment = e.deployment) ORDER BY deployment, position LIMIT ?1',
  ],
  [
    'kt_log_nodes',
    '(deployment, level, idx)',
    'SELECT deployment, level, idx FROM kt_log_nodes n, (SELECT deployment AS d, MAX(position) + 1 AS size FROM ' +
      'kt_entries GROUP BY deployment) s WHERE s.d = n.deployment AND NOT ((s.size >> level) & 1 = 1 AND idx = ' +
      '(s.size >> level) - 1) ORDER BY deployment, level, idx LIMIT ?1',
  ],
  ['kt_anchors', 'epoch', 'SELECT epoch FROM kt_anchors WHERE epoch < (SELECT MAX(epoch) FROM kt_anchors) LIMIT ?1'],
];

/** Deletes up to `limit` rows of each table of `bulk` by `bindings`; returns how many in all. */
function deleteChunks(sql: Sql, bulk: [string, string, string][], bindings: (rows: string) => unknown[]): number {
  let deleted = 0;
  for (const [table, key, rows] of bulk) {
    const bind = bindings(rows);
    deleted += sql
      .exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${key} IN (${rows})`, ...bind)
      .toArray()[0].n;
    sql.exec(`DELETE FROM ${table} WHERE ${key} IN (${rows})`, ...bind);
  }
  return deleted;
}

/** Whether the object has KEYTRANS tables (log/keytrans/keytrans-sql.ts: made when KEYTRANS is on). */
const hasKeyTrans = (sql: Sql) =>
  sql.exec("SELECT 1 AS n FROM sqlite_master WHERE type = 'table' AND name = 'kt_versions'").toArray().length > 0;

/**
 * Deletes a chunk of each bulk table (see the file comment): up to `limit` accounts with their versions, names,
 * and map rows of depth `keptMapDepth` or more, and of the KEYTRANS tables (`KEYTRANS_BULK`, prefix-tree names
 * of that depth or more); returns how many rows in all.
 */
export function deleteReplicatedChunk(sql: Sql, limit: number, keptMapDepth = KEPT_MAP_DEPTH): number {
  const top = topNodeKey(sql);
  const mapKept = new Uint8Array([keptMapDepth]).buffer;
  let deleted = deleteChunks(sql, BULK, (rows) => (rows.includes('?2') ? [limit, mapKept, top] : [limit]));
  if (hasKeyTrans(sql))
    deleted += deleteChunks(sql, KEYTRANS_BULK, (rows) => (rows.includes('?2') ? [limit, keptMapDepth] : [limit]));
  return deleted;
}
