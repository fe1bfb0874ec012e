/**
 * The directory's indexes replicated to D1, so that the stateless Worker can read an account's rows for a lookup
 * (api/worker/replica-lookup.ts) without the single-threaded Durable Object reading them. The Durable Object stays
 * the index store of record: an epoch's index writes commit in its own SQLite transaction with the log's entries and
 * checkpoint, because D1 cannot take part in that transaction. The same transaction records the writes in an outbox
 * table (`dir_outbox`, api/worker/do-directory-store.ts), and `replicateOutbox` copies them to D1 after the commit.
 *
 * Crash safety, in the order the writes happen:
 * 1. The epoch's index writes and its outbox row commit together in the Durable Object (or neither does).
 * 2. Each outbox epoch above D1's marker (`dir_replica.epoch`) is applied to D1 in one batch together with the
 *    marker: a D1 batch is one transaction, so D1 holds each epoch entirely or not at all.
 * 3. The outbox row is deleted only after that. A crash in between leaves a row at or below the marker, which the
 *    next run deletes without applying it again.
 * D1 therefore holds the indexes as of some committed epoch, never a mix, and lags the Durable Object by the epochs
 * not yet copied. Readers check D1's rows against the Durable Object's map before serving them.
 *
 * A D1 database bound to a directory that already has epochs D1 never saw (the binding was added later, or D1 was
 * emptied), or that is ahead of the Durable Object (whose storage was reset), gets a backfill: D1's tables are
 * replaced, in batches, by the Durable Object's rows, and the marker is set last. Until then the marker is behind the
 * outbox and readers keep falling back.
 *
 * Erasure: erased openings, statements and signatures are set to NULL in D1 by the same statements as in the Durable
 * Object; D1 keeps its own point-in-time history (Time Travel, 30 days) out of reach, as the Durable Object does.
 */
import { DIRECTORY_QUERIES, DIRECTORY_SCHEMA, type RawNamed } from '../../log/directory/directory-sql.js';
import type { NamedAccount } from '../../log/directory/store.js';
import { doRowReaders, epochStatements, type BlobColumn } from './do-directory-store.js';
import type { DoSqlStorage, DoSqlValue } from './do-log-storage.js';
import { decodeEpochWrites } from './outbox-json.js';

/** The part of a D1 prepared statement used here. */
export interface IndexStatement {
  bind(...values: unknown[]): IndexStatement;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  run(): Promise<unknown>;
}

/** The part of `D1Database` used here. */
export interface IndexDatabase {
  prepare(query: string): IndexStatement;
  batch(statements: IndexStatement[]): Promise<unknown[]>;
}

const REPLICA_MARKER =
  'CREATE TABLE IF NOT EXISTS dir_replica (id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL)';
const SCHEMA = [
  ...DIRECTORY_SCHEMA.split(';')
    .map((q) => q.trim())
    .filter((q) => q.length > 0),
  REPLICA_MARKER,
];
const SET_MARKER = 'INSERT OR REPLACE INTO dir_replica (id, epoch) VALUES (1, ?)';
/** Databases whose tables this isolate has already created (once each, not on every alarm). */
const withSchema = new WeakSet<IndexDatabase>();

/** The tables copied by a backfill, with their columns, in the order that keeps references valid. */
const TABLES: [string, string[]][] = [
  ['dir_accounts', ['id', 'label', 'version', 'history', 'prev_history', 'vrf_proof']],
  ['dir_names', ['provider', 'account', 'id']],
  ['dir_versions', ['id', 'version', 'opening', 'statement', 'signature', 'credential', 'log_index']],
  ['dir_credentials', ['log_index', 'provider', 'fingerprint', 'entry', 'revoked_index']],
  ['dir_epoch', ['id', 'epoch', 'log_index', 'entry', 'proof', 'checkpoint']],
];
/** Rows per INSERT in a backfill (D1 allows 100 bound parameters per statement), INSERTs per batch. */
const BACKFILL_ROWS = 10;
const BACKFILL_BATCH = 50;

/** The last epoch applied to D1, or -1. */
export async function replicatedEpoch(db: IndexDatabase): Promise<number> {
  const row = await db.prepare('SELECT epoch FROM dir_replica WHERE id = 1').first<{ epoch: number }>();
  return row?.epoch ?? -1;
}

type Sql = Pick<DoSqlStorage, 'sql'>;

function outboxEpochs(storage: Sql): { epoch: number; writes: string }[] {
  return storage.sql
    .exec<{ epoch: number; writes: string }>('SELECT epoch, writes FROM dir_outbox ORDER BY epoch')
    .toArray();
}

/** The epoch the Durable Object's indexes are at (its dir_epoch row), or -1. */
function storedEpoch(storage: Sql): number {
  const [row] = storage.sql.exec<{ epoch: number }>('SELECT epoch FROM dir_epoch WHERE id = 1').toArray();
  return row?.epoch ?? -1;
}

/** One INSERT of `rows` into `table`. */
function insertRows(
  db: IndexDatabase,
  table: string,
  columns: string[],
  rows: Record<string, DoSqlValue>[],
): IndexStatement {
  const values = rows.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
  return db
    .prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values}`)
    .bind(...rows.flatMap((r) => columns.map((c) => r[c])));
}

/** Replaces D1's tables with the Durable Object's rows, then sets the marker to their epoch. */
async function backfill(storage: Sql, db: IndexDatabase): Promise<number> {
  const epoch = storedEpoch(storage);
  await db.batch([...TABLES].reverse().map(([table]) => db.prepare(`DELETE FROM ${table}`)));
  for (const [table, columns] of TABLES) {
    const rows = storage.sql.exec<Record<string, DoSqlValue>>(`SELECT ${columns.join(', ')} FROM ${table}`).toArray();
    const inserts: IndexStatement[] = [];
    for (let i = 0; i < rows.length; i += BACKFILL_ROWS)
      inserts.push(insertRows(db, table, columns, rows.slice(i, i + BACKFILL_ROWS)));
    for (let i = 0; i < inserts.length; i += BACKFILL_BATCH) await db.batch(inserts.slice(i, i + BACKFILL_BATCH));
  }
  await db.prepare(SET_MARKER).bind(epoch).run();
  return epoch;
}

/**
 * Copies the outbox to D1, oldest epoch first, each epoch in one D1 batch with the marker, deleting each
 * outbox row once D1 has it (see the file comment for the ordering); backfills first when D1 has missed
 * epochs. Returns how many epochs were applied and the epoch D1 is now at.
 */
export async function replicateOutbox(
  storage: Sql,
  db: IndexDatabase,
): Promise<{ applied: number; upTo: number; backfilled: boolean }> {
  if (!withSchema.has(db)) {
    await db.batch(SCHEMA.map((q) => db.prepare(q)));
    withSchema.add(db);
  }
  let marker = await replicatedEpoch(db);
  let rows = outboxEpochs(storage);
  const next = rows[0]?.epoch ?? storedEpoch(storage) + 1;
  let backfilled = false;
  // D1 missed epochs, or is ahead of the Durable Object (whose storage was reset while D1 kept its rows).
  if (marker + 1 < next || marker > storedEpoch(storage)) {
    marker = await backfill(storage, db);
    backfilled = true;
    rows = outboxEpochs(storage);
  }
  let applied = 0;
  for (const row of rows) {
    if (row.epoch > marker) {
      const statements = epochStatements(decodeEpochWrites(row.writes)).map(([query, ...bindings]) =>
        db.prepare(query).bind(...bindings),
      );
      await db.batch([...statements, db.prepare(SET_MARKER).bind(row.epoch)]);
      marker = row.epoch;
      applied++;
    }
    storage.sql.exec('DELETE FROM dir_outbox WHERE epoch = ?', row.epoch);
  }
  return { applied, upTo: marker, backfilled };
}

/** An account by name with its latest version, as D1 has it (the Durable Object's by-name query). */
export async function replicaAccountByName(
  db: IndexDatabase,
  provider: string,
  account: string,
): Promise<NamedAccount | undefined> {
  const row = await db.prepare(DIRECTORY_QUERIES.byName).bind(provider, account).first<RawNamed<BlobColumn>>();
  return row ? doRowReaders.named(row) : undefined;
}

/**
 * The log index of `provider`'s first enrolment entry as D1 has it, or undefined when D1 has none: the
 * enrolment a lookup of an absent account proves (docs/PROTOCOL.md section 17). D1 holds the indexes of a
 * committed epoch, a prefix of the log, so the first enrolment it has is the provider's first.
 */
export async function replicaFirstCredential(db: IndexDatabase, provider: string): Promise<number | undefined> {
  const row = await db
    .prepare('SELECT MIN(log_index) AS log_index FROM dir_credentials WHERE provider = ?')
    .bind(provider)
    .first<{ log_index: number | null }>();
  return row?.log_index ?? undefined;
}
