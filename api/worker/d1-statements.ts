/**
 * What replication to D1 writes (d1-replica.ts for each epoch, d1-refill.ts for a refill): an epoch's rows from
 * the Durable Object's outbox routed to the databases of the layout (d1-layout.ts), and the batches that write
 * them; with the object's own reads that both need (its epoch, its outbox). A D1 batch is one transaction.
 */
import { DIRECTORY_QUERIES as Q } from '../../log/directory/directory-sql.js';
import type { EpochWrites } from '../../log/directory/store.js';
import {
  labelShard,
  mapRowShard,
  nameShard,
  REPLICA_QUERIES as R,
  type IndexDatabase,
  type IndexLayout,
} from './d1-layout.js';
import { blob, rowStatements } from './do-directory-store.js';
import type { DoSqlStorage } from './do-log-storage.js';
import { addKeyTransStatements, KEYTRANS_OUTBOX_SCHEMA, keyTransFromParts } from './d1-keytrans.js';
import { decodeEpochWrites } from './outbox-json.js';

export type Sql = Pick<DoSqlStorage, 'sql'>;
export type Statement = [string, ...unknown[]];

/** Statements per batch when many are written (a refill). */
export const BATCH_STATEMENTS = 200;

export function run(db: IndexDatabase, statements: Statement[]): Promise<unknown> {
  return db.batch(statements.map(([q, ...b]) => db.prepare(q).bind(...b)));
}

/**
 * Waits for every write of `writes` to settle, then throws the first failure if any: never leaves a write in flight
 * when it returns, so that a run that failed cannot be overtaken by its own late writes (a marker set back, rows
 * deleted after the next run wrote them).
 */
export async function settleAll(writes: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/** Runs `statements` on `db` in batches of BATCH_STATEMENTS. */
export async function runBatched(db: IndexDatabase, statements: Statement[]): Promise<void> {
  for (let i = 0; i < statements.length; i += BATCH_STATEMENTS)
    await run(db, statements.slice(i, i + BATCH_STATEMENTS));
}

/** Runs each database's statements (`routed[i]` on `layout.shards[i]`), the databases together. */
export async function writeRouted(layout: IndexLayout, routed: Statement[][]): Promise<void> {
  await settleAll(layout.shards.map((db, i) => runBatched(db, routed[i])));
}

/** The epoch the Durable Object's indexes are at (its dir_epoch row), or -1. */
export function storedEpoch(storage: Sql): number {
  const [row] = storage.sql.exec<{ epoch: number }>('SELECT epoch FROM dir_epoch WHERE id = 1').toArray();
  return row?.epoch ?? -1;
}

/**
 * The outbox's epochs, oldest first, each with its KEYTRANS rows (d1-keytrans.ts) if it has any; those after
 * `after` and at most `upTo` only, and the first `limit` of them (-1: all), when given.
 */
export function outboxEpochs(
  storage: Sql,
  after = Number.MIN_SAFE_INTEGER,
  upTo = Number.MAX_SAFE_INTEGER,
  limit = -1,
): { epoch: number; writes: EpochWrites }[] {
  storage.sql.exec(KEYTRANS_OUTBOX_SCHEMA); // an outbox written before KEYTRANS has none
  return storage.sql
    .exec<{ epoch: number; writes: string }>(
      'SELECT epoch, writes FROM dir_outbox WHERE epoch > ? AND epoch <= ? ORDER BY epoch LIMIT ?',
      after,
      upTo,
      limit,
    )
    .toArray()
    .map((r) => {
      const parts = storage.sql
        .exec<{ rows: string }>('SELECT rows FROM kt_outbox WHERE epoch = ? ORDER BY part', r.epoch)
        .toArray();
      const keytrans = keyTransFromParts(parts.map((p) => p.rows));
      return { epoch: r.epoch, writes: { ...decodeEpochWrites(r.writes), ...(keytrans && { keytrans }) } };
    });
}

/** Deletes an epoch's outbox rows, once every database holds it. */
export function deleteOutboxEpoch(storage: Sql, epoch: number): void {
  storage.sql.exec('DELETE FROM dir_outbox WHERE epoch = ?', epoch);
  storage.sql.exec('DELETE FROM kt_outbox WHERE epoch = ?', epoch);
}

/** A version row written over rows a refill may already have copied: the copy, newer or as new, is kept. */
const PUT_VERSION_IF_ABSENT = Q.putVersion.replace(/^INSERT INTO/, 'INSERT OR IGNORE INTO');

/**
 * The row statements of `w` (accounts, names, versions, erasures, map rows at its epoch) for each shard (index
 * 0..n-1) and the meta database (index n), in apply order; `overCopies`: for a refill's replay (d1-refill.ts),
 * where the version rows may be there already.
 */
export function epochRowStatements(w: EpochWrites, layout: IndexLayout, overCopies = false): Statement[][] {
  const n = layout.shards.length;
  const out: Statement[][] = Array.from({ length: n + 1 }, () => []);
  const byLabel = (label: Uint8Array) => out[labelShard(label, layout.bits)];
  const E = w.epoch.epoch;
  for (const a of w.accounts) byLabel(a.label).push(rowStatements.account(a));
  for (const m of w.names)
    out[nameShard(m.provider, m.account, layout.bits)].push([R.putNameLabel, m.provider, m.account, blob(m.label)]);
  for (const v of w.versions) {
    const [q, ...b] = rowStatements.version(v);
    byLabel(v.label).push([overCopies ? PUT_VERSION_IF_ABSENT : q, ...b]);
  }
  for (const e of w.erasures) byLabel(e.label).push(rowStatements.erasure(e));
  for (const r of w.map ?? []) {
    const shard = mapRowShard(r.key, layout.bits);
    out[shard < 0 ? n : shard].push([R.putMapRow, blob(r.key), E, blob(r.value)]);
  }
  if (w.keytrans) addKeyTransStatements(out, w.keytrans, layout.bits);
  return out;
}
