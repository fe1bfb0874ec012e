/**
 * A refill's replay (d1-refill.ts): the outbox epochs closed since the refill began, written over the copies,
 * oldest first, and then the rows they superseded deleted. The refill replays them a budget at a time while it
 * goes on (its `replay` stage, after the copies), and its finish replays only the few closed since, so that the
 * finish's D1 queries stay bounded however long the refill took.
 * - Each epoch's rows go as an epoch's rows go to D1 (d1-statements.ts), the version rows only where absent (a
 *   copy is as new) and the map rows at their epoch.
 * - A copied map key has one row (d1-refill.ts, copyMap), so only a key an epoch replayed wrote can have more: its
 *   copy, filed at the epoch the object was at when it was read, and the replayed rows, in either order. Each such
 *   key then keeps its newest row at most the object's epoch now: no reader reads D1 before the refill's last epoch,
 *   which is that one or later, and the prunes after the refill look back only from there (d1-replica.ts), so they
 *   would never find these rows.
 * - Replayed again after a crash (its progress not recorded), an epoch writes the same rows and they are pruned
 *   again.
 */
import type { EpochWrites } from '../../log/directory/store.js';
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { mapRowShard, REPLICA_QUERIES as R, type IndexLayout } from './d1-layout.js';
import {
  epochRowStatements,
  outboxEpochs,
  type Sql,
  type Statement,
  storedEpoch,
  writeRouted,
} from './d1-statements.js';
import { blob } from './do-directory-store.js';

type OutboxEpoch = { epoch: number; writes: EpochWrites };

/**
 * Outbox epochs the `replay` stage leaves to the finish at most, which replays them in one call with the head and
 * the markers: the finish's D1 queries stay bounded however long the refill took, as long as the replay gains on
 * the epochs closing meanwhile. When REPLAY_STRIKES calls in a row find no fewer left than the fewest found before
 * (not one burst of epochs, or a run retried after a failure: epochs closing as fast as it replays them), the
 * finish replays them all, as a refill did before the stage.
 */
const FINISH_EPOCHS = 16;
const REPLAY_STRIKES = 4;
/** Outbox epochs the `replay` stage reads at once. */
const REPLAY_READ = 64;

/**
 * How far a refill's replay got: the last epoch replayed, the fewest epochs a call found left (null: no call yet),
 * and how many calls in a row since found no fewer.
 */
export interface ReplayProgress {
  replayedUpTo: number;
  replayLeft: number | null;
  replayStrikes: number;
}

/** An epoch's statements for each database (the meta database's are shard 0's). */
function replayStatements(layout: IndexLayout, writes: EpochWrites): Statement[][] {
  const n = layout.shards.length;
  const routed = epochRowStatements(writes, layout, true);
  routed[0].push(...routed[n]); // shard 0 is the meta database
  return routed.slice(0, n);
}

/** Each key `epochs` wrote keeps its newest row at most `at`, per database (see the file comment). */
function prunedOverCopies(layout: IndexLayout, epochs: OutboxEpoch[], at: number): Statement[][] {
  const keys = layout.shards.map(() => new Map<string, Uint8Array>());
  for (const { writes } of epochs)
    for (const r of writes.map ?? []) keys[Math.max(mapRowShard(r.key, layout.bits), 0)].set(toHex(r.key), r.key);
  return keys.map((byHex) => [...byHex.values()].map((key): Statement => [R.pruneMapKey, blob(key), at]));
}

/**
 * Writes `epochs` over the copies, oldest first, then prunes their keys at `at` (the object's epoch when `epochs`
 * were read, at least the last of them). `statements`: each epoch's `replayStatements`, when already made.
 */
export async function replayEpochs(
  layout: IndexLayout,
  epochs: OutboxEpoch[],
  at: number,
  statements = epochs.map(({ writes }) => replayStatements(layout, writes)),
): Promise<void> {
  // In one list per database, the epochs in order: D1 batches of whole lists, not one per epoch and database (a
  // run's D1 queries are counted; nothing reads the refilled databases before their markers are set).
  const routed: Statement[][] = layout.shards.map(() => []);
  for (const lists of statements)
    lists.forEach((list, i) => {
      for (const statement of list) routed[i].push(statement);
    });
  await writeRouted(layout, routed);
  await writeRouted(layout, prunedOverCopies(layout, epochs, at));
}

/**
 * The `replay` stage: the next outbox epochs closed since the last replayed, at least one and about `budget`
 * statements of them, replayed, and the progress recorded (in `bounds` and the object's `dir_refill_bounds` row,
 * d1-refill.ts); returns how many statements (0: the rest is the finish's, see FINISH_EPOCHS).
 */
export async function replayChunk(
  storage: Sql,
  layout: IndexLayout,
  bounds: ReplayProgress | null,
  budget: number,
): Promise<number> {
  if (!bounds) return 0; // a refill begun by the release before: its finish replays every epoch, as it did
  // One synchronous step: the epochs, and the object's epoch their keys are pruned at (no epoch commits between).
  const now = storedEpoch(storage);
  const [{ n: left }] = storage.sql
    .exec<{ n: number }>(
      'SELECT COUNT(*) AS n FROM dir_outbox WHERE epoch > ? AND epoch <= ?',
      bounds.replayedUpTo,
      now,
    )
    .toArray();
  // Gaining: fewer left than the fewest any call found before (see FINISH_EPOCHS).
  const gained = bounds.replayLeft === null || left < bounds.replayLeft;
  const strikes = gained ? 0 : bounds.replayStrikes + 1;
  if (left <= FINISH_EPOCHS || strikes >= REPLAY_STRIKES) return 0;
  const read = outboxEpochs(storage, bounds.replayedUpTo, now, REPLAY_READ);
  const statements: Statement[][][] = [];
  let count = 0;
  while (statements.length < read.length && (statements.length === 0 || count < budget)) {
    const lists = replayStatements(layout, read[statements.length].writes);
    statements.push(lists);
    count += lists.reduce((sum, list) => sum + list.length, 0);
  }
  const epochs = read.slice(0, statements.length);
  await replayEpochs(layout, epochs, now, statements);
  bounds.replayedUpTo = epochs[epochs.length - 1].epoch;
  bounds.replayLeft = gained ? left : bounds.replayLeft;
  bounds.replayStrikes = strikes;
  storage.sql.exec(
    'UPDATE dir_refill_bounds SET replayed_upto = ?, replay_left = ?, replay_strikes = ? WHERE id = 1',
    bounds.replayedUpTo,
    bounds.replayLeft,
    strikes,
  );
  return Math.max(count, 1);
}
