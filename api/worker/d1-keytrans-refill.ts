/**
 * The KEYTRANS stage of a refill of D1 (d1-refill.ts): the object's deployments (log/keytrans/keytrans-sql.ts)
 * copied to D1's `ktr_` tables (d1-keytrans.ts), a bounded chunk per call, table by table in primary-key order,
 * with each deployment's number replaced by its provider's id. The rows are copied as they are when read; a row is
 * never changed after it is written but by erasure, and the refill then replays the epochs closed since it began
 * over the copies (d1-refill-replay.ts: their rows again, `INSERT OR IGNORE`, and their erasures again), so the
 * copies end as the object's rows at the epoch the refill ends at. Where a table stopped is kept in the object (`kt_refill`,
 * under the refill's token): a call after a reset goes on from there, and another refill begins again.
 */
import { type IndexLayout, KEEP_EPOCHS } from './d1-layout.js';
import { addKeyTransStatements, KEYTRANS_REPLICA_QUERIES } from './d1-keytrans.js';
import { runBatched, type Sql, type Statement } from './d1-statements.js';
import { blobBytes } from './do-directory-store.js';
import type { DoSqlValue } from './do-log-storage.js';
import { decodeBytesJson, encodeBytesJson } from './outbox-json.js';
import { emptyKeyTransRows, type KeyTransRows } from '../../log/directory/keytrans-hook.js';

const CURSOR_SCHEMA =
  'CREATE TABLE IF NOT EXISTS kt_refill (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL, tbl INTEGER NOT NULL, after TEXT)';

type Row = Record<string, DoSqlValue>;
const bytes = (v: DoSqlValue) => blobBytes(v as ArrayBuffer);
const maybeBytes = (v: DoSqlValue) => (v === null ? null : bytes(v));

/**
 * One table's copy: its rows after a key (in key order), that key of a row, the last log position a row needs (an
 * SQL expression: the rows are appended in that order, see `keyTransSizes`), and the row as KEYTRANS rows.
 */
interface TableCopy {
  key: string[];
  select: string;
  position: string;
  add(rows: KeyTransRows, r: Row): void;
}

const FROM = (table: string, columns: string) =>
  `SELECT d.provider, ${columns} FROM ${table} t JOIN kt_deployments d ON d.id = t.deployment`;

/** The object's tables, in copy order. */
const TABLES: TableCopy[] = [
  {
    key: ['deployment', 'position'],
    select: FROM('kt_entries', 't.deployment, t.position, t.timestamp, t.prefix_root, t.head_signature'),
    position: 't.position',
    add: (rows, r) =>
      rows.entries.push({
        provider: r.provider as string,
        position: r.position as number,
        timestamp: r.timestamp as number,
        prefixRoot: bytes(r.prefix_root),
        headSignature: bytes(r.head_signature),
      }),
  },
  {
    key: ['deployment', 'level', 'idx'],
    select: FROM('kt_log_nodes', 't.deployment, t.level, t.idx, t.value'),
    position: '(((t.idx + 1) << t.level) - 1)', // a balanced subtree's last leaf: it is written with it
    add: (rows, r) =>
      rows.logNodes.push({
        provider: r.provider as string,
        level: r.level as number,
        index: r.idx as number,
        value: bytes(r.value),
      }),
  },
  {
    key: ['deployment', 'depth', 'path', 'position'],
    select: FROM('kt_prefix_nodes', 't.deployment, t.depth, t.path, t.position, t.node'),
    position: 't.position',
    add: (rows, r) =>
      rows.prefixNodes.push({
        provider: r.provider as string,
        depth: r.depth as number,
        path: bytes(r.path),
        position: r.position as number,
        node: bytes(r.node),
      }),
  },
  {
    key: ['deployment', 'label', 'version'],
    select: FROM(
      'kt_versions',
      't.deployment, t.label, t.version, t.position, t.vrf_output, t.vrf_proof, t.commitment, t.opening, t.value, t.signature',
    ),
    position: 't.position', // the position that first holds the version
    add: (rows, r) =>
      rows.versions.push({
        provider: r.provider as string,
        label: bytes(r.label),
        version: r.version as number,
        position: r.position as number,
        vrfOutput: bytes(r.vrf_output),
        vrfProof: bytes(r.vrf_proof),
        commitment: bytes(r.commitment),
        opening: maybeBytes(r.opening),
        value: maybeBytes(r.value),
        signature: maybeBytes(r.signature),
      }),
  },
];

/** Whether the object has KEYTRANS tables (a directory that never ran KEYTRANS has none). */
function hasKeyTrans(storage: Sql): boolean {
  const q = "SELECT 1 AS n FROM sqlite_master WHERE type = 'table' AND name = 'kt_deployments'";
  return storage.sql.exec<{ n: number }>(q).toArray().length > 0;
}

/**
 * Each deployment's log size now, as JSON (`{"<deployment id>": size}`): a refill that reads it with the epoch it
 * begins at copies only the rows of positions below it, those of the epochs up to then; the rows of later epochs
 * are in the outbox, which the refill replays (d1-refill-replay.ts). A row is never written at a position below
 * its deployment's size, so the copy ends however fast the epochs between its calls append rows.
 */
export function keyTransSizes(storage: Sql): string {
  if (!hasKeyTrans(storage)) return '{}';
  const sizes = storage.sql
    .exec<{ deployment: number; size: number }>(
      'SELECT deployment, MAX(position) + 1 AS size FROM kt_entries GROUP BY deployment',
    )
    .toArray();
  return JSON.stringify(Object.fromEntries(sizes.map((r) => [String(r.deployment), r.size])));
}

/** Where the refill `token` stopped: the table and the key after which it goes on (a new token: the start). */
function cursorOf(storage: Sql, token: string): { tbl: number; after: DoSqlValue[] | null } {
  storage.sql.exec(CURSOR_SCHEMA);
  const [row] = storage.sql.exec<Row>('SELECT token, tbl, after FROM kt_refill WHERE id = 1').toArray();
  if (!row || row.token !== token) return { tbl: -1, after: null };
  const after = row.after === null ? null : decodeBytesJson<(number | string | Uint8Array)[]>(row.after as string);
  const bound = after?.map((v): DoSqlValue => (v instanceof Uint8Array ? (v.slice().buffer as ArrayBuffer) : v));
  return { tbl: row.tbl as number, after: bound ?? null };
}

function saveCursor(storage: Sql, token: string, tbl: number, after: DoSqlValue[] | null): void {
  const text =
    after === null ? null : encodeBytesJson(after.map((v) => (v instanceof ArrayBuffer ? new Uint8Array(v) : v)));
  storage.sql.exec('INSERT OR REPLACE INTO kt_refill (id, token, tbl, after) VALUES (1, ?, ?, ?)', token, tbl, text);
}

/**
 * The deployments and the anchors of the last KEEP_EPOCHS epochs (at table -1, all at once), then the next chunk
 * of `chunk` rows of the table the refill `token` is at, copied to D1; returns how many rows (0: every table done).
 * `sizes` (`keyTransSizes` when the refill began; null for a refill begun by the release before): only the rows
 * below each deployment's size then are copied, none of a deployment made since.
 */
export async function copyKeyTransChunk(
  storage: Sql,
  layout: IndexLayout,
  token: string,
  chunk: number,
  sizes: string | null,
) {
  if (!hasKeyTrans(storage)) return 0;
  const { tbl, after } = cursorOf(storage, token);
  if (tbl >= TABLES.length) return 0;
  if (tbl < 0) {
    const copied = await copyDeploymentsAndAnchors(storage, layout);
    saveCursor(storage, token, 0, null);
    return Math.max(copied, 1);
  }
  const t = TABLES[tbl];
  const columns = t.key.map((k) => `t.${k}`).join(', ');
  const conditions = [
    ...(sizes === null ? [] : [`${t.position} < s.value`]),
    ...(after === null ? [] : [`(${columns}) > (${t.key.map(() => '?').join(', ')})`]),
  ];
  const capped = sizes === null ? '' : ' JOIN json_each(?) s ON s.key = CAST(t.deployment AS TEXT)';
  const where = conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
  const read = storage.sql
    .exec<Row>(
      `${t.select}${capped}${where} ORDER BY ${columns} LIMIT ?`,
      ...(sizes === null ? [] : [sizes]),
      ...(after ?? []),
      chunk,
    )
    .toArray();
  const rows = emptyKeyTransRows();
  for (const r of read) t.add(rows, r);
  await writeRows(layout, rows, []);
  const last = read.at(-1);
  saveCursor(storage, token, last ? tbl : tbl + 1, last ? t.key.map((k) => last[k]) : null);
  return Math.max(read.length, 1);
}

/** Copies the deployments, and the anchors a reader may still be answered at; returns how many rows. */
async function copyDeploymentsAndAnchors(storage: Sql, layout: IndexLayout): Promise<number> {
  const rows = emptyKeyTransRows();
  for (const d of storage.sql.exec<Row>('SELECT provider, config FROM kt_deployments').toArray())
    rows.deployments.push({ provider: d.provider as string, config: bytes(d.config) });
  const anchors: Statement[] = storage.sql
    .exec<Row>('SELECT epoch, log_index, entry, proof FROM kt_anchors ORDER BY epoch DESC LIMIT ?', KEEP_EPOCHS)
    .toArray()
    .map((a) => [KEYTRANS_REPLICA_QUERIES.putAnchor, a.epoch, a.log_index, a.entry, a.proof]);
  await writeRows(layout, rows, anchors);
  return rows.deployments.length + anchors.length;
}

/** Writes `rows`, and `meta` statements, to the databases they are routed to. */
async function writeRows(layout: IndexLayout, rows: KeyTransRows, meta: Statement[]): Promise<void> {
  const n = layout.shards.length;
  const out: Statement[][] = Array.from({ length: n + 1 }, () => []);
  addKeyTransStatements(out, rows, layout.bits);
  out[0].push(...out[n], ...meta); // shard 0 is the meta database
  await Promise.all(layout.shards.map((db, i) => runBatched(db, out[i])));
}
