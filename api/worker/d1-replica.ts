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
 *    one batch per shard together with that shard's marker (a D1 batch is one transaction; the shards' batches
 *    concurrently), then to the meta
 *    database with its marker, last. A crash in between leaves shards ahead of the meta marker, which the next run
 *    skips by their markers. Readers take their epoch from the meta database and read map rows of that epoch or
 *    older, so a shard ahead changes no answer (an account row ahead is proven at the leaf's version: proof-builder.ts).
 * 3. The outbox row is deleted only after that. A crash in between leaves a row at or below the marker, which the
 *    next run deletes without applying it again.
 * 4. An epoch is servable once the checkpoint served with it is known: in the outbox without witnesses, else from the
 *    object's `dir_served` row once they cosigned, copied to the epoch's head (`serveHead`) by the next run.
 *
 * A D1 that missed epochs (bound later, emptied), is ahead of the Durable Object (whose storage was reset), has
 * another number of shards, or was written by the release before the stored map (no epoch heads; outbox rows
 * without map rows) gets a refill (d1-refill.ts): every database is emptied and refilled from the object's rows, a
 * bounded chunk per run, the outbox kept meanwhile, and the markers are set last. Until then readers find no
 * servable epoch and the Worker forwards to the object.
 *
 * Erasure: erased openings, statements and signatures are set to NULL in D1 by the same statements as in the Durable
 * Object; D1 keeps its own point-in-time history (Time Travel, 30 days) out of reach, as the Durable Object does.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';
import type { EpochWrites } from '../../log/directory/store.js';
import {
  KEEP_EPOCHS,
  REPLICA_QUERIES as R,
  REPLICA_SCHEMA,
  type IndexDatabase,
  type IndexLayout,
} from './d1-layout.js';
import { beginRefill, continueRefill, REFILL_BUDGET, refillUnderWay } from './d1-refill.js';
import {
  deleteOutboxEpoch,
  epochRowStatements,
  outboxEpochs,
  run,
  settleAll,
  storedEpoch,
  type Sql,
  type Statement,
} from './d1-statements.js';
import { KEYTRANS_REPLICA_QUERIES } from './d1-keytrans.js';
import { blob, rowStatements } from './do-directory-store.js';
import { objectTrimmedAt, TRIMMED_EPOCH } from './object-trim.js';

/** Databases whose tables this isolate has already created (once each, not on every alarm). */
const withSchema = new WeakSet<IndexDatabase>();

async function ensureSchema(db: IndexDatabase): Promise<void> {
  if (withSchema.has(db)) return;
  await db.batch(REPLICA_SCHEMA.map((q) => db.prepare(q)));
  withSchema.add(db);
}

/** A database's marker: the last epoch applied to it, or -1. */
export async function replicatedEpoch(db: IndexDatabase): Promise<number> {
  return (await db.prepare(R.marker).first<{ epoch: number }>())?.epoch ?? -1;
}

/**
 * The statements of `w` for each shard (index 0..n-1) and for the meta database (index n), in apply order; with
 * the rows superseded before `prune.below` deleted, looking for the rows that superseded them among those written
 * after `prune.after` (see `pruneMapRows`).
 */
function routedStatements(w: EpochWrites, layout: IndexLayout, prune: { below: number; after: number }): Statement[][] {
  const out = epochRowStatements(w, layout);
  const n = layout.shards.length;
  const meta = out[n];
  meta.push(...w.credentials.map(rowStatements.credential), ...w.revocations.map(rowStatements.revocation));
  const ep = w.epoch;
  const E = ep.epoch;
  meta.push([R.putHead, E, ep.logIndex, blob(ep.entry), blob(ep.proof), ep.checkpoint, w.served ?? null]);
  if (prune.below > 0) {
    for (const s of out) s.push([R.pruneMapRows, prune.below, prune.after]);
    meta.push([R.pruneHeads, prune.below], [KEYTRANS_REPLICA_QUERIES.pruneAnchors, prune.below]);
  }
  for (const s of out) s.push([R.setMarker, E]);
  return out;
}

/**
 * What the run knows of D1: the markers of the shards and of the meta database, the newest served epoch, and the
 * epoch D1 was last pruned below. That is its oldest epoch head (`pruneHeads` deletes those below it with the map
 * rows), or -1 with none: no epoch has a head and no row was superseded yet.
 */
interface ReplicaState {
  shardMarkers: number[];
  meta: number;
  served: number;
  prunedBelow: number;
}

async function readState(layout: IndexLayout): Promise<ReplicaState> {
  const shardMarkers = await Promise.all(layout.shards.map(replicatedEpoch));
  const meta = shardMarkers[0];
  const row = await layout.meta
    .prepare('SELECT MAX(CASE WHEN served IS NOT NULL THEN epoch END) AS served, MIN(epoch) AS oldest FROM dir_heads')
    .first<{ served: number | null; oldest: number | null }>();
  return { shardMarkers, meta, served: row?.served ?? -1, prunedBelow: row?.oldest ?? -1 };
}

/** Applies one epoch: the shards that lack it, then the meta database (see the file comment). */
async function applyEpoch(layout: IndexLayout, w: EpochWrites, state: ReplicaState): Promise<void> {
  const E = w.epoch.epoch;
  const served = w.served !== undefined ? E : state.served;
  // The rows superseded before the oldest servable epoch's predecessor go. The rows that superseded them were written
  // after the last prune point: when the served epoch jumps (witnesses back after an outage of more than KEEP_EPOCHS
  // epochs), that is further back than KEEP_EPOCHS, and a window of KEEP_EPOCHS would leave the gap's rows for ever.
  // One prune looks at PRUNE_WINDOW epochs' rows at most, so that the first after a long outage is not one statement
  // over all of them (D1 bounds a query's time): the prune point then moves up by at most PRUNE_WINDOW less
  // KEEP_EPOCHS an epoch, its heads with it, until it is back at the servable epochs'.
  const servable = Math.min(E, served) - KEEP_EPOCHS;
  const after = Math.min(servable, state.prunedBelow) - KEEP_EPOCHS;
  const below = Math.min(servable, after + PRUNE_WINDOW);
  const routed = routedStatements(w, layout, { below, after });
  const n = layout.shards.length;
  // Shard 0 is the meta database: its rows go in the meta batch, with the marker they share. The other shards
  // lacking the epoch get theirs together (each batch is its own transaction, so any of them may commit before
  // a failure ends the run: shards ahead of the meta database are allowed), the meta database only after all.
  const lacking = layout.shards.map((_, i) => i).filter((i) => i > 0 && state.shardMarkers[i] < E);
  await settleAll(
    lacking.map(async (i) => {
      await run(layout.shards[i], routed[i]);
      state.shardMarkers[i] = E;
    }),
  );
  await run(layout.meta, [...routed[0].slice(0, -1), ...routed[n]]);
  state.shardMarkers[0] = state.meta = E;
  state.served = served;
  if (below > 0) state.prunedBelow = Math.max(state.prunedBelow, below);
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

/** What a replication run did. */
export interface ReplicationRun {
  /** Epochs applied from the outbox. */
  applied: number;
  /** The epoch every database is at now (-1 while a refill is under way). */
  upTo: number;
  /** Whether a refill completed in this run. */
  backfilled: boolean;
  /** Whether a refill is under way and stopped at its budget: the next run goes on with it (d1-refill.ts). */
  refilling: boolean;
  /** Whether the run stopped at a budget with more to do (a refill under way, or epochs left in the outbox). */
  more: boolean;
}

/** How much one run does at most: rows a refill copies (d1-refill.ts), epochs applied from the outbox. */
export interface ReplicationBudget {
  refillRows?: number;
  epochs?: number;
}

/**
 * The epochs whose map rows one epoch's prune looks at, at most: 64, against the 17 it looks at when every epoch is
 * served (KEEP_EPOCHS + 1: those after the previous prune point's KEEP_EPOCHS predecessors).
 */
export const PRUNE_WINDOW = 4 * KEEP_EPOCHS;

/** Epochs one run applies by default (a D1 that was down for a while catches up over several). */
export const REPLICATION_EPOCHS = 256;
/**
 * D1 batches one run makes at most while applying epochs (an epoch is one per database that lacks it), of the
 * 1,000 D1 queries a Worker invocation may make (Workers Paid), the rest left for the run's marker reads (one per
 * database), the schema's on a fresh isolate (as many) and an epoch's plan in the same alarm: with more shards,
 * fewer epochs a run (250 at 2 shards, 31 at 16, 15 at 32).
 */
export const REPLICATION_BATCHES = 500;

/** The epochs a run over `shards` databases applies at most, given the budget's (see REPLICATION_BATCHES). */
export function epochsPerRun(shards: number, budget: ReplicationBudget = {}): number {
  return Math.min(budget.epochs ?? REPLICATION_EPOCHS, Math.max(1, Math.floor(REPLICATION_BATCHES / shards)));
}

/**
 * Copies the outbox to D1, oldest epoch first (see the file comment for the ordering), up to `budget.epochs` of
 * them (and no more than REPLICATION_BATCHES batches allow), deleting each outbox row once D1 has it (calling `applied` with its epoch first). When D1 cannot continue
 * from it, a refill (d1-refill.ts) comes first, `budget.refillRows` rows of it per run (calling `beforeRefill`
 * before it empties anything); the run stops there while the refill is not complete. Then marks the newest epoch
 * the object served since as servable.
 */
export async function replicateOutbox(
  storage: Sql,
  layout: IndexLayout,
  hooks: { beforeRefill?: () => void; applied?: (epoch: number) => void } = {},
  budget: ReplicationBudget = {},
): Promise<ReplicationRun> {
  await Promise.all(layout.shards.map(ensureSchema));
  let state = await readState(layout);
  let rows = outboxEpochs(storage);
  let refill = await refillUnderWay(storage, layout, state.meta);
  if (!refill && (await needsBackfill(storage, layout, state, rows))) {
    await refuseRefillIfTrimmed(storage, layout);
    hooks.beforeRefill?.(); // the databases are emptied first: nobody may read them as the object's state
    refill = await beginRefill(storage, layout);
  }
  if (refill) {
    if (!(await continueRefill(storage, layout, refill, budget.refillRows ?? REFILL_BUDGET)))
      return { applied: 0, upTo: -1, backfilled: false, refilling: true, more: true };
    state = await readState(layout);
    rows = outboxEpochs(storage);
  }
  const maxEpochs = epochsPerRun(layout.shards.length, budget);
  let applied = 0;
  for (const row of rows) {
    if (row.epoch > state.meta) {
      if (applied === maxEpochs) break;
      await applyEpoch(layout, row.writes, state);
      applied++;
    }
    hooks.applied?.(Math.min(row.epoch, state.meta)); // every database holds it now
    deleteOutboxEpoch(storage, row.epoch);
  }
  await copyServed(storage, layout, state);
  const more = rows.some((r) => r.epoch > state.meta);
  return { applied, upTo: state.meta, backfilled: refill !== undefined, refilling: false, more };
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
