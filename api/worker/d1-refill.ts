/**
 * A refill of D1 from the Durable Object's rows (when D1 cannot continue from the outbox: d1-replica.ts), done a
 * bounded chunk per call so that a directory of millions of accounts moves over many alarms, none of them long,
 * while epochs go on closing in between. Nothing can be read from the object at one snapshot across calls, so:
 * - each chunk copies the object's rows as they are when it is read (accounts with their versions and names, by
 *   id; then the stored map's rows, by key, each at the epoch the object is at when the chunk is read, read in the
 *   same synchronous step, so that a copied map row is right for the epoch it is filed under; then the KEYTRANS
 *   deployments' rows, d1-keytrans-refill.ts); of the accounts and KEYTRANS rows, which are only appended, only
 *   those the object held at the epoch the refill began at (its caps), so that it ends however fast epochs append;
 * - the outbox is not consumed while a refill runs, so every write of an epoch closed since the refill began is
 *   still there; after the copies, those epochs' rows are written over them, oldest first, a budget at a time
 *   (the `replay` stage, d1-refill-replay.ts: an account row ends as its last write; a version row copied is kept;
 *   an erasure is applied again; map rows are filed by epoch, so the newest at most F is F's);
 * - the last step reads, in one synchronous step, the object's epoch F, its head and credentials and the outbox
 *   epochs not replayed yet up to F (at most 16 while the replay gains on the epochs closing: FINISH_EPOCHS),
 *   replays them, then writes F's head and the markers at F, meta's last;
 * - so readers, who see no servable epoch until then (the databases are emptied first), are answered at F or
 *   later only; the epochs in between never get heads in D1.
 * Progress is kept in the object (`dir_refill`: a token, the epoch it began at, how far each stage got, and
 * `dir_refill_bounds`), written after each chunk's batches; D1's meta database keeps the token (`dir_refilling`).
 * A later call, in this instance or after a reset, goes on from there if both hold the same token, D1 has no marker
 * and the same number of shards; else it begins again. Every write is idempotent, so a chunk written again after a
 * crash changes nothing but its map rows' epoch (see copyMap).
 */
import { DIRECTORY_QUERIES as Q } from '../../log/directory/directory-sql.js';
import { copyKeyTransChunk, keyTransSizes } from './d1-keytrans-refill.js';
import { KEYTRANS_REPLICA_TABLES } from './d1-keytrans.js';
import { labelShard, mapRowShard, nameShard, REPLICA_QUERIES as R, type IndexLayout } from './d1-layout.js';
import { replayChunk, replayEpochs, type ReplayProgress } from './d1-refill-replay.js';
import type { DoSqlValue } from './do-log-storage.js';
import {
  outboxEpochs,
  run,
  settleAll,
  runBatched,
  storedEpoch,
  type Sql,
  type Statement,
  writeRouted,
} from './d1-statements.js';

/** Accounts, or map rows, read from the object per chunk (fewer with a smaller budget). */
const CHUNK_ROWS = 500;
/** Rows one call copies at least before it stops at a chunk's end (the tests pass a smaller one). */
export const REFILL_BUDGET = 20_000;

const OBJECT_SCHEMA =
  'CREATE TABLE IF NOT EXISTS dir_refill (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL, ' +
  'from_epoch INTEGER NOT NULL, shards INTEGER NOT NULL, stage TEXT NOT NULL, accounts_after INTEGER NOT NULL, map_after BLOB)';

/**
 * How far a refill goes (`dir_refill_bounds`): what it copies at most, the accounts and the KEYTRANS rows there at
 * the epoch it began at, read with it in one synchronous step (accounts and KEYTRANS rows are only ever appended, by
 * id and by position, and those of later epochs are in the outbox, replayed over the copies; without these caps a
 * refill copying fewer rows per call than the epochs between calls append would never reach the end of their
 * tables); and the last outbox epoch replayed so far. A refill begun by the release before has no row: it copies
 * to the end and its finish replays every epoch, as it did.
 */
const BOUNDS_SCHEMA =
  'CREATE TABLE IF NOT EXISTS dir_refill_bounds (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL, ' +
  'accounts_upto INTEGER NOT NULL, keytrans_sizes TEXT NOT NULL, replayed_upto INTEGER NOT NULL, replay_left INTEGER, replay_strikes INTEGER NOT NULL DEFAULT 0)';

interface RefillBounds extends ReplayProgress {
  /** The greatest account id. */
  accountsUpTo: number;
  /** Each KEYTRANS deployment's log size, as JSON (d1-keytrans-refill.ts). */
  keyTransSizes: string;
}

/** A refill under way, as the object records it. */
interface Refill {
  token: string;
  from: number;
  shards: number;
  stage: 'accounts' | 'map' | 'keytrans' | 'replay' | 'finish';
  accountsAfter: number;
  mapAfter: ArrayBuffer | null;
  bounds: RefillBounds | null;
}

/** The tables a refill empties in every database (not `dir_trimmed`: see object-trim.ts). */
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
  'dir_refilling',
  ...KEYTRANS_REPLICA_TABLES,
];

/** The stage after each (the KEYTRANS deployments' rows after the map's: d1-keytrans-refill.ts). */
const NEXT_STAGE = {
  accounts: 'map',
  map: 'keytrans',
  keytrans: 'replay',
  replay: 'finish',
  finish: 'finish',
} as const;

/** A version row copied: the object's, as it is now (erased or not). */
const COPY_VERSION = Q.putVersion.replace(/^INSERT INTO/, 'INSERT OR REPLACE INTO');
const COPY_CREDENTIAL =
  'INSERT OR REPLACE INTO dir_credentials (log_index, provider, fingerprint, entry, revoked_index) VALUES (?, ?, ?, ?, ?)';

function saveRefill(storage: Sql, r: Refill): void {
  storage.sql.exec(
    'INSERT OR REPLACE INTO dir_refill (id, token, from_epoch, shards, stage, accounts_after, map_after) VALUES (1, ?, ?, ?, ?, ?, ?)',
    r.token,
    r.from,
    r.shards,
    r.stage,
    r.accountsAfter,
    r.mapAfter,
  );
}

/**
 * The refill under way that a call can go on with (see the file comment), or undefined (any stale record of one
 * deleted). `marker`: the meta database's marker, -1 if none.
 */
export async function refillUnderWay(storage: Sql, layout: IndexLayout, marker: number): Promise<Refill | undefined> {
  storage.sql.exec(OBJECT_SCHEMA);
  storage.sql.exec(BOUNDS_SCHEMA);
  const [row] = storage.sql.exec<Record<string, DoSqlValue>>('SELECT * FROM dir_refill WHERE id = 1').toArray();
  if (!row) return undefined;
  const [bounds] = storage.sql
    .exec<{
      accounts_upto: number;
      keytrans_sizes: string;
      replayed_upto: number;
      replay_left: number | null;
      replay_strikes: number;
    }>(
      'SELECT accounts_upto, keytrans_sizes, replayed_upto, replay_left, replay_strikes FROM dir_refill_bounds WHERE id = 1 AND token = ?',
      row.token,
    )
    .toArray();
  const d1 = await layout.meta.prepare('SELECT token FROM dir_refilling WHERE id = 1').first<{ token: string }>();
  const refill: Refill = {
    token: row.token as string,
    from: row.from_epoch as number,
    shards: row.shards as number,
    stage: row.stage as Refill['stage'],
    accountsAfter: row.accounts_after as number,
    mapAfter: row.map_after as ArrayBuffer | null,
    bounds: bounds
      ? {
          accountsUpTo: bounds.accounts_upto,
          keyTransSizes: bounds.keytrans_sizes,
          replayedUpTo: bounds.replayed_upto,
          replayLeft: bounds.replay_left,
          replayStrikes: bounds.replay_strikes,
        }
      : null,
  };
  if (d1?.token === refill.token && marker < 0 && refill.shards === layout.shards.length) return refill;
  forgetRefill(storage);
  return undefined;
}

/** Deletes the object's record of a refill. */
function forgetRefill(storage: Sql): void {
  storage.sql.exec('DELETE FROM dir_refill');
  storage.sql.exec('DELETE FROM dir_refill_bounds');
}

/** Empties every database (meta's last, with the new token), then records the refill in the object. */
export async function beginRefill(storage: Sql, layout: IndexLayout): Promise<Refill> {
  storage.sql.exec(OBJECT_SCHEMA);
  storage.sql.exec(BOUNDS_SCHEMA);
  // One synchronous step: the epoch and what the object holds at it (no epoch commits in between).
  const [last] = storage.sql.exec<{ id: number | null }>('SELECT MAX(id) AS id FROM dir_accounts').toArray();
  const from = storedEpoch(storage);
  const bounds = {
    accountsUpTo: last?.id ?? 0,
    keyTransSizes: keyTransSizes(storage),
    replayedUpTo: from,
    replayLeft: null,
    replayStrikes: 0,
  };
  const refill: Refill = {
    token: crypto.randomUUID(),
    from,
    shards: layout.shards.length,
    stage: 'accounts',
    accountsAfter: 0,
    mapAfter: null,
    bounds,
  };
  const empty = REPLICA_TABLES.map((t): Statement => [`DELETE FROM ${t}`]);
  await settleAll(layout.shards.slice(1).map((db) => run(db, empty))); // the shards together, the meta database last
  await run(layout.meta, [...empty, ['INSERT INTO dir_refilling (id, token) VALUES (1, ?)', refill.token]]);
  saveRefill(storage, refill);
  storage.sql.exec(
    'INSERT OR REPLACE INTO dir_refill_bounds (id, token, accounts_upto, keytrans_sizes, replayed_upto) VALUES (1, ?, ?, ?, ?)',
    refill.token,
    bounds.accountsUpTo,
    bounds.keyTransSizes,
    bounds.replayedUpTo,
  );
  return refill;
}

/**
 * Copies chunks of the refill until `budget` rows are copied or it is complete; returns whether it is (the
 * markers then set at the epoch it ends at, the object's record of it deleted).
 */
export async function continueRefill(
  storage: Sql,
  layout: IndexLayout,
  refill: Refill,
  budget = REFILL_BUDGET,
): Promise<boolean> {
  for (let copied = 0; copied < budget; ) {
    if (refill.stage === 'finish') {
      await finishRefill(storage, layout, refill);
      return true;
    }
    const chunk = Math.min(CHUNK_ROWS, budget);
    const n =
      refill.stage === 'accounts'
        ? await copyAccounts(storage, layout, refill, chunk)
        : refill.stage === 'map'
          ? await copyMap(storage, layout, refill, chunk)
          : refill.stage === 'keytrans'
            ? await copyKeyTransChunk(storage, layout, refill.token, chunk, refill.bounds?.keyTransSizes ?? null)
            : await replayChunk(storage, layout, refill.bounds, budget - copied);
    if (n === 0) refill.stage = NEXT_STAGE[refill.stage];
    saveRefill(storage, refill);
    copied += n;
  }
  return false;
}

/**
 * Copies the next chunk of accounts, with their versions and names, up to the refill's cap; returns how many rows
 * (0: none left).
 */
async function copyAccounts(storage: Sql, layout: IndexLayout, refill: Refill, chunk: number): Promise<number> {
  const upTo = refill.bounds?.accountsUpTo ?? Number.MAX_SAFE_INTEGER;
  const ids = storage.sql
    .exec<{ id: number }>(
      'SELECT id FROM dir_accounts WHERE id > ? AND id <= ? ORDER BY id LIMIT ?',
      refill.accountsAfter,
      upTo,
      chunk,
    )
    .toArray();
  if (ids.length === 0) return 0;
  const [from, to] = [ids[0].id, ids[ids.length - 1].id];
  const routed: Statement[][] = layout.shards.map(() => []);
  const rows = <T extends Record<string, DoSqlValue>>(q: string) => storage.sql.exec<T>(q, from, to).toArray();
  const shardOf = (label: DoSqlValue) => labelShard(new Uint8Array(label as ArrayBuffer), layout.bits);
  let count = 0;
  const add = (shard: number, s: Statement) => void (routed[shard].push(s), count++);
  for (const a of rows(
    'SELECT label, version, history, prev_history, vrf_proof FROM dir_accounts WHERE id BETWEEN ? AND ?',
  ))
    add(shardOf(a.label), [Q.putAccount, a.label, a.version, a.history, a.prev_history, a.vrf_proof]);
  for (const v of rows(
    'SELECT a.label, v.version, v.opening, v.statement, v.signature, v.credential, v.log_index FROM dir_versions v JOIN dir_accounts a ON a.id = v.id WHERE v.id BETWEEN ? AND ?',
  ))
    add(shardOf(v.label), [
      COPY_VERSION,
      v.label,
      v.version,
      v.opening,
      v.statement,
      v.signature,
      v.credential,
      v.log_index,
    ]);
  for (const m of rows(
    'SELECT n.provider, n.account, a.label FROM dir_names n JOIN dir_accounts a ON a.id = n.id WHERE n.id BETWEEN ? AND ?',
  ))
    add(nameShard(m.provider as string, m.account as string, layout.bits), [
      R.putNameLabel,
      m.provider,
      m.account,
      m.label,
    ]);
  await writeRouted(layout, routed);
  refill.accountsAfter = to;
  return count;
}

/** Copies the next chunk of map rows, filed at the object's epoch now; returns how many (0: none left). */
async function copyMap(storage: Sql, layout: IndexLayout, refill: Refill, chunk: number): Promise<number> {
  // One synchronous step: the rows and the epoch they are right for (no epoch commits in between).
  const epoch = storedEpoch(storage);
  const rows = storage.sql
    .exec<{ key: ArrayBuffer; node: ArrayBuffer }>(
      `SELECT key, node FROM dir_map ${refill.mapAfter === null ? 'WHERE ?1 IS NULL' : 'WHERE key > ?1'} ORDER BY key LIMIT ?2`,
      refill.mapAfter,
      chunk,
    )
    .toArray();
  if (rows.length === 0) return 0;
  const last = rows[rows.length - 1].key;
  // A chunk copied again (its run failed before the refill recorded how far it got) would leave its first copy's
  // rows beside these, at an earlier epoch: before the replay D1 holds no other row of the chunk's key range, so
  // each database the chunk's rows go to deletes that range's older rows in the batch that writes the new ones.
  const again: Statement =
    refill.mapAfter === null
      ? ['DELETE FROM dir_map_rows WHERE key <= ? AND epoch < ?', last, epoch]
      : ['DELETE FROM dir_map_rows WHERE key > ? AND key <= ? AND epoch < ?', refill.mapAfter, last, epoch];
  const routed: Statement[][] = layout.shards.map(() => []);
  for (const r of rows) {
    const shard = mapRowShard(new Uint8Array(r.key), layout.bits);
    routed[Math.max(shard, 0)].push([R.putMapRow, r.key, epoch, r.node]);
  }
  // Only where rows go: the map only grows, so every key a first copy wrote in the range is copied again here.
  for (const list of routed) if (list.length > 0) list.unshift(again);
  await writeRouted(layout, routed);
  refill.mapAfter = last;
  return rows.length;
}

/**
 * The last step (see the file comment): the epochs closed since the refill began written over the copies, the
 * credentials and the head of the epoch F the object is at, then the markers at F (meta's last, with the layout,
 * its token deleted), then the object's record deleted.
 */
async function finishRefill(storage: Sql, layout: IndexLayout, refill: Refill): Promise<void> {
  // A finish that failed before the meta database's last batch left the head of the epoch it ended at, servable,
  // and this one ends later: it goes before the replay's prune keeps each key's newest row at the later epoch, which
  // would leave that head's map unreadable (the shards' markers are set at its epoch, so readers would take it).
  await run(layout.meta, [['DELETE FROM dir_heads']]);
  // One synchronous read (see the file comment): the epoch F, the epochs left to replay, the credentials, the head.
  const end = storedEpoch(storage);
  const missed = outboxEpochs(storage, refill.bounds?.replayedUpTo ?? refill.from, end);
  const credentials = storage.sql
    .exec<Record<string, DoSqlValue>>(
      'SELECT log_index, provider, fingerprint, entry, revoked_index FROM dir_credentials ORDER BY log_index',
    )
    .toArray();
  const [head] = storage.sql
    .exec<Record<string, DoSqlValue>>(
      'SELECT e.epoch, e.log_index, e.entry, e.proof, e.checkpoint, s.checkpoint AS served FROM dir_epoch e LEFT JOIN dir_served s ON s.id = 1 AND s.epoch = e.epoch WHERE e.id = 1',
    )
    .toArray();
  const n = layout.shards.length;
  await replayEpochs(layout, missed, end);
  // Recorded, so that a finish run again after a failure below replays only the epochs closed since.
  storage.sql.exec('UPDATE dir_refill_bounds SET replayed_upto = ? WHERE id = 1', end);
  const meta: Statement[] = credentials.map((c) => [
    COPY_CREDENTIAL,
    c.log_index,
    c.provider,
    c.fingerprint,
    c.entry,
    c.revoked_index,
  ]);
  if (head) meta.push([R.putHead, head.epoch, head.log_index, head.entry, head.proof, head.checkpoint, head.served]);
  await runBatched(layout.meta, meta);
  await settleAll(layout.shards.slice(1).map((db) => db.prepare(R.setMarker).bind(end).run()));
  await run(layout.meta, [
    ['INSERT OR REPLACE INTO dir_layout (id, shards) VALUES (1, ?)', n],
    ['DELETE FROM dir_refilling'],
    [R.setMarker, end],
  ]);
  forgetRefill(storage);
}
