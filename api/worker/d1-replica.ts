/**
 * The directory replicated to D1 (the layout: d1-layout.ts), so that the stateless Worker answers lookups,
 * histories, discovery and daily checks from it without the Durable Object (d1-reader.ts). The Durable Object stays
 * the store of record: an epoch's writes commit in its own SQLite transaction with the log's entries and
 * checkpoint, because D1 cannot take part in that transaction. The same transaction records the writes (the index
 * rows, the stored map's rows and, without witnesses, the served checkpoint) in an outbox table (`dir_outbox`,
 * api/worker/do-directory-store.ts), and `replicateOutbox` copies them to D1 after the commit.
 *
 * Crash safety, in the order the writes happen:
 * 1. The epoch's writes and its outbox row commit together in the Durable Object (or neither does).
 * 2. Each outbox epoch above the meta database's marker is applied to every shard whose own marker is below it, in
 *    one batch per shard together with that shard's marker (a D1 batch is one transaction), then to the meta
 *    database with its marker, last. A crash in between leaves shards ahead of the meta marker, which the next run
 *    skips by their markers. Readers take their epoch from the meta database and read map rows of that epoch or
 *    older, so a shard ahead changes no answer (an account row ahead is seen as such, and the lookup retried).
 * 3. The outbox row is deleted only after that. A crash in between leaves a row at or below the marker, which the
 *    next run deletes without applying it again.
 * 4. An epoch is servable once the checkpoint served with it is known: in the outbox without witnesses, else from the
 *    object's `dir_served` row once they cosigned, copied to the epoch's head (`serveHead`) by the next run.
 *
 * A D1 that missed epochs (bound later, emptied), is ahead of the Durable Object (whose storage was reset), has
 * another number of shards, or was written by the release before the stored map (no epoch heads; outbox rows
 * without map rows) gets a backfill: every database is emptied and refilled, a chunk at a time, from the object's
 * rows, and the markers are set last. Until then readers find no servable epoch and the Worker forwards to the
 * object.
 *
 * Erasure: erased openings, statements and signatures are set to NULL in D1 by the same statements as in the Durable
 * Object; D1 keeps its own point-in-time history (Time Travel, 30 days) out of reach, as the Durable Object does.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { DIRECTORY_QUERIES as Q } from '../../log/directory/directory-sql.js';
import type { EpochWrites } from '../../log/directory/store.js';
import {
  KEEP_EPOCHS,
  labelShard,
  mapRowShard,
  nameShard,
  REPLICA_QUERIES as R,
  REPLICA_SCHEMA,
  type IndexDatabase,
  type IndexLayout,
} from './d1-layout.js';
import { blob, rowStatements } from './do-directory-store.js';
import type { DoSqlStorage, DoSqlValue } from './do-log-storage.js';
import { objectTrimmedAt, TRIMMED_EPOCH } from './object-trim.js';
import { decodeEpochWrites } from './outbox-json.js';

type Sql = Pick<DoSqlStorage, 'sql'>;
type Statement = [string, ...unknown[]];

/** Databases whose tables this isolate has already created (once each, not on every alarm). */
const withSchema = new WeakSet<IndexDatabase>();
/** Statements per batch in a backfill, rows per chunk read from the object. */
const BACKFILL_BATCH = 200;
const BACKFILL_CHUNK = 500;

async function ensureSchema(db: IndexDatabase): Promise<void> {
  if (withSchema.has(db)) return;
  await db.batch(REPLICA_SCHEMA.map((q) => db.prepare(q)));
  withSchema.add(db);
}

/** A database's marker: the last epoch applied to it, or -1. */
export async function replicatedEpoch(db: IndexDatabase): Promise<number> {
  return (await db.prepare(R.marker).first<{ epoch: number }>())?.epoch ?? -1;
}

function run(db: IndexDatabase, statements: Statement[]): Promise<unknown> {
  return db.batch(statements.map(([q, ...b]) => db.prepare(q).bind(...b)));
}

/** The statements of `w` for each shard (index 0..n-1) and for the meta database (index n), in apply order. */
function routedStatements(w: EpochWrites, layout: IndexLayout, prunedBelow: number): Statement[][] {
  const n = layout.shards.length;
  const out: Statement[][] = Array.from({ length: n + 1 }, () => []);
  const byLabel = (label: Uint8Array) => out[labelShard(label, layout.bits)];
  const E = w.epoch.epoch;
  for (const a of w.accounts) byLabel(a.label).push(rowStatements.account(a));
  for (const m of w.names)
    out[nameShard(m.provider, m.account, layout.bits)].push([R.putNameLabel, m.provider, m.account, blob(m.label)]);
  for (const v of w.versions) byLabel(v.label).push(rowStatements.version(v));
  for (const e of w.erasures) byLabel(e.label).push(rowStatements.erasure(e));
  for (const r of w.map ?? []) {
    const shard = mapRowShard(r.key, layout.bits);
    out[shard < 0 ? n : shard].push([R.putMapRow, blob(r.key), E, blob(r.value)]);
  }
  const meta = out[n];
  meta.push(...w.credentials.map(rowStatements.credential), ...w.revocations.map(rowStatements.revocation));
  const ep = w.epoch;
  meta.push([R.putHead, E, ep.logIndex, blob(ep.entry), blob(ep.proof), ep.checkpoint, w.served ?? null]);
  if (prunedBelow > 0) {
    for (const s of out) s.push([R.pruneMapRows, prunedBelow, prunedBelow - KEEP_EPOCHS]);
    meta.push([R.pruneHeads, prunedBelow]);
  }
  for (const s of out) s.push([R.setMarker, E]);
  return out;
}

/** What the run knows of D1: the markers of the shards and of the meta database, the newest served epoch. */
interface ReplicaState {
  shardMarkers: number[];
  meta: number;
  served: number;
}

async function readState(layout: IndexLayout): Promise<ReplicaState> {
  const shardMarkers = await Promise.all(layout.shards.map(replicatedEpoch));
  const meta = shardMarkers[0];
  const row = await layout.meta
    .prepare('SELECT MAX(epoch) AS epoch FROM dir_heads WHERE served IS NOT NULL')
    .first<{ epoch: number | null }>();
  return { shardMarkers, meta, served: row?.epoch ?? -1 };
}

/** Applies one epoch: the shards that lack it, then the meta database (see the file comment). */
async function applyEpoch(layout: IndexLayout, w: EpochWrites, state: ReplicaState): Promise<void> {
  const E = w.epoch.epoch;
  const served = w.served !== undefined ? E : state.served;
  const routed = routedStatements(w, layout, Math.min(E, served) - KEEP_EPOCHS);
  const n = layout.shards.length;
  // Shard 0 is the meta database: its rows go in the meta batch, with the marker they share.
  for (let i = 1; i < n; i++) {
    if (state.shardMarkers[i] >= E) continue;
    await run(layout.shards[i], routed[i]);
    state.shardMarkers[i] = E;
  }
  await run(layout.meta, [...routed[0].slice(0, -1), ...routed[n]]);
  state.shardMarkers[0] = state.meta = E;
  state.served = served;
}

/** The epoch the Durable Object's indexes are at (its dir_epoch row), or -1. */
function storedEpoch(storage: Sql): number {
  const [row] = storage.sql.exec<{ epoch: number }>('SELECT epoch FROM dir_epoch WHERE id = 1').toArray();
  return row?.epoch ?? -1;
}

function outboxEpochs(storage: Sql): { epoch: number; writes: EpochWrites }[] {
  return storage.sql
    .exec<{ epoch: number; writes: string }>('SELECT epoch, writes FROM dir_outbox ORDER BY epoch')
    .toArray()
    .map((r) => ({ epoch: r.epoch, writes: decodeEpochWrites(r.writes) }));
}

/** The number of shards D1 was laid out for (the meta database's `dir_layout` row), or undefined. */
async function laidOutShards(layout: IndexLayout): Promise<number | undefined> {
  return (await layout.meta.prepare(R.laidOutShards).first<{ shards: number }>())?.shards;
}

/** Whether D1 cannot continue from the outbox and must be refilled from the object (see the file comment). */
async function needsBackfill(
  storage: Sql,
  layout: IndexLayout,
  state: ReplicaState,
  rows: { epoch: number; writes: EpochWrites }[],
): Promise<boolean> {
  const stored = storedEpoch(storage);
  if (stored < 0) return false;
  const next = rows[0]?.epoch ?? stored + 1;
  if (state.meta + 1 < next || state.meta > stored) return true;
  // A shard behind the meta database went back (emptied, restored, rebound): runs only ever leave shards ahead.
  if (state.shardMarkers.some((m) => m < state.meta)) return true;
  if ((await laidOutShards(layout)) !== layout.shards.length) return true;
  return rows.some((r) => r.epoch > state.meta && r.writes.map === undefined); // written before the stored map
}

/**
 * Copies the outbox to D1, oldest epoch first (see the file comment for the ordering), deleting each outbox row
 * once D1 has it (calling `applied` with its epoch first); backfills first when D1 cannot continue from it
 * (calling `beforeRefill` before it empties anything); then marks the newest epoch the object served since as servable. Returns how many epochs were applied and the epoch D1 is now at.
 */
export async function replicateOutbox(
  storage: Sql,
  layout: IndexLayout,
  hooks: { beforeRefill?: () => void; applied?: (epoch: number) => void } = {},
): Promise<{ applied: number; upTo: number; backfilled: boolean }> {
  await Promise.all(layout.shards.map(ensureSchema));
  let state = await readState(layout);
  let rows = outboxEpochs(storage);
  let backfilled = false;
  if (await needsBackfill(storage, layout, state, rows)) {
    await refuseRefillIfTrimmed(storage, layout);
    hooks.beforeRefill?.(); // the databases are emptied first: nobody may read them as the object's state
    await backfill(storage, layout);
    backfilled = true;
    state = await readState(layout);
    rows = outboxEpochs(storage);
  }
  let applied = 0;
  for (const row of rows) {
    if (row.epoch > state.meta) {
      await applyEpoch(layout, row.writes, state);
      applied++;
    }
    hooks.applied?.(Math.min(row.epoch, state.meta)); // every database holds it now
    storage.sql.exec('DELETE FROM dir_outbox WHERE epoch = ?', row.epoch);
  }
  await copyServed(storage, layout, state);
  return { applied, upTo: state.meta, backfilled };
}

/** D1 needs a refill that cannot be made: the object deleted rows that only D1 holds (object-trim.ts). */
export class ReplicaRefillRefused extends CodedError<'refill_refused'> {
  override readonly name = 'ReplicaRefillRefused';
}

/**
 * Refuses a refill once the object trimmed, by its own mark or D1's (either may be the one left: object-trim.ts):
 * its rows are no longer all there to copy, and emptying D1 would lose the only copy of the rest.
 */
async function refuseRefillIfTrimmed(storage: Sql, layout: IndexLayout): Promise<void> {
  const inObject = objectTrimmedAt(storage.sql);
  const inD1 = (await layout.meta.prepare(TRIMMED_EPOCH).first<{ epoch: number }>())?.epoch;
  if (inObject === undefined && inD1 === undefined) return;
  throw new ReplicaRefillRefused(
    'refill_refused',
    `D1 does not match the object (another number of shards, missed epochs, or another object) and needs a refill, ` +
      `but the object moved its rows to D1 at epoch ${inObject ?? inD1}: set INDEX_SHARDS and the bindings back to ` +
      'the databases it was replicated to',
  );
}

/** Marks the epoch the object last served (its witnesses cosigned it) servable in D1, if D1 has its head. */
async function copyServed(storage: Sql, layout: IndexLayout, state: ReplicaState): Promise<void> {
  const [row] = storage.sql
    .exec<{ epoch: number; checkpoint: string }>('SELECT epoch, checkpoint FROM dir_served WHERE id = 1')
    .toArray();
  if (!row || row.epoch <= state.served || row.epoch > state.meta) return;
  await layout.meta.prepare(R.serveHead).bind(row.checkpoint, row.epoch).run();
  state.served = row.epoch;
}

/** Runs `statements` on `db` in batches of BACKFILL_BATCH. */
async function runBatched(db: IndexDatabase, statements: Statement[]): Promise<void> {
  for (let i = 0; i < statements.length; i += BACKFILL_BATCH) await run(db, statements.slice(i, i + BACKFILL_BATCH));
}

const REPLICA_TABLES = [
  'dir_versions',
  'dir_accounts',
  'dir_names',
  'dir_name_labels',
  'dir_map_rows',
  'dir_credentials',
  'dir_heads',
  'dir_epoch',
  'dir_replica',
];

/** Replaces every database's rows by the Durable Object's, a chunk at a time; the markers last, meta's the very last. */
async function backfill(storage: Sql, layout: IndexLayout): Promise<void> {
  const epoch = storedEpoch(storage);
  for (const db of layout.shards)
    await run(
      db,
      REPLICA_TABLES.map((t): Statement => [`DELETE FROM ${t}`]),
    );
  const n = layout.shards.length;
  for (const chunk of accountChunks(storage)) {
    const routed: Statement[][] = Array.from({ length: n }, () => []);
    for (const s of chunkStatements(storage, chunk, layout)) routed[s.shard].push(s.statement);
    await Promise.all(layout.shards.map((db, i) => runBatched(db, routed[i])));
  }
  await backfillMap(storage, layout, epoch);
  const meta: Statement[] = storage.sql
    .exec<Record<string, DoSqlValue>>(
      'SELECT log_index, provider, fingerprint, entry, revoked_index FROM dir_credentials ORDER BY log_index',
    )
    .toArray()
    .map((c) => [
      'INSERT INTO dir_credentials (log_index, provider, fingerprint, entry, revoked_index) VALUES (?, ?, ?, ?, ?)',
      c.log_index,
      c.provider,
      c.fingerprint,
      c.entry,
      c.revoked_index,
    ]);
  const [head] = storage.sql
    .exec<Record<string, DoSqlValue>>(
      'SELECT e.epoch, e.log_index, e.entry, e.proof, e.checkpoint, s.checkpoint AS served FROM dir_epoch e LEFT JOIN dir_served s ON s.id = 1 AND s.epoch = e.epoch WHERE e.id = 1',
    )
    .toArray();
  if (head) meta.push([R.putHead, head.epoch, head.log_index, head.entry, head.proof, head.checkpoint, head.served]);
  await runBatched(layout.meta, meta);
  for (let i = 1; i < n; i++) await layout.shards[i].prepare(R.setMarker).bind(epoch).run();
  await run(layout.meta, [
    ['INSERT OR REPLACE INTO dir_layout (id, shards) VALUES (1, ?)', n],
    [R.setMarker, epoch],
  ]);
}

/** The object's accounts in id order, BACKFILL_CHUNK at a time, as [first id, last id]. */
function* accountChunks(storage: Sql): Generator<[number, number]> {
  let after = 0;
  for (;;) {
    const ids = storage.sql
      .exec<{ id: number }>('SELECT id FROM dir_accounts WHERE id > ? ORDER BY id LIMIT ?', after, BACKFILL_CHUNK)
      .toArray();
    if (ids.length === 0) return;
    yield [ids[0].id, ids[ids.length - 1].id];
    after = ids[ids.length - 1].id;
  }
}

/** The INSERTs of the accounts with ids in `chunk`, their versions and names, each with its database. */
function* chunkStatements(
  storage: Sql,
  [from, to]: [number, number],
  layout: IndexLayout,
): Generator<{ shard: number; statement: Statement }> {
  const rows = <T extends Record<string, DoSqlValue>>(q: string) => storage.sql.exec<T>(q, from, to).toArray();
  const shardOf = (label: DoSqlValue) => labelShard(new Uint8Array(label as ArrayBuffer), layout.bits);
  for (const a of rows(
    'SELECT label, version, history, prev_history, vrf_proof FROM dir_accounts WHERE id BETWEEN ? AND ? ORDER BY id',
  ))
    yield {
      shard: shardOf(a.label),
      statement: [Q.putAccount, a.label, a.version, a.history, a.prev_history, a.vrf_proof],
    };
  for (const v of rows(
    'SELECT a.label, v.version, v.opening, v.statement, v.signature, v.credential, v.log_index FROM dir_versions v JOIN dir_accounts a ON a.id = v.id WHERE v.id BETWEEN ? AND ?',
  ))
    yield {
      shard: shardOf(v.label),
      statement: [Q.putVersion, v.label, v.version, v.opening, v.statement, v.signature, v.credential, v.log_index],
    };
  for (const m of rows(
    'SELECT n.provider, n.account, a.label FROM dir_names n JOIN dir_accounts a ON a.id = n.id WHERE n.id BETWEEN ? AND ?',
  ))
    yield {
      shard: nameShard(m.provider as string, m.account as string, layout.bits),
      statement: [R.putNameLabel, m.provider, m.account, m.label],
    };
}

/** The object's map rows, as of `epoch`, each to its database. */
async function backfillMap(storage: Sql, layout: IndexLayout, epoch: number): Promise<void> {
  let after = new ArrayBuffer(0);
  for (let first = true; ; first = false) {
    const rows = storage.sql
      .exec<{ key: ArrayBuffer; node: ArrayBuffer }>(
        `SELECT key, node FROM dir_map ${first ? 'WHERE ?1 IS NOT NULL' : 'WHERE key > ?1'} ORDER BY key LIMIT ?2`,
        after,
        BACKFILL_CHUNK,
      )
      .toArray();
    if (rows.length === 0) return;
    const routed: Statement[][] = layout.shards.map(() => []);
    for (const r of rows) {
      const shard = mapRowShard(new Uint8Array(r.key), layout.bits);
      routed[Math.max(shard, 0)].push([R.putMapRow, r.key, epoch, r.node]);
    }
    await Promise.all(layout.shards.map((db, i) => runBatched(db, routed[i])));
    after = rows[rows.length - 1].key;
  }
}
