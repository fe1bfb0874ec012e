/**
 * What one run of a D1 refill does (api/worker/d1-refill.ts, d1-refill-replay.ts), bounded as a Worker
 * invocation's 1,000 D1 queries need (from this stop's second review, whose tests these are):
 * - a map chunk is a D1 batch only on the databases its rows go to (its range delete with them), not on every
 *   database (at 32 shards and the default budget that was 40 chunks x 32 batches a run);
 * - the replay stage writes a run's epochs in batches of whole lists per database, not one per epoch, and goes on
 *   past one burst of epochs between two runs: its finish still replays at most 16.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { indexLayout, type IndexDatabase, type IndexLayout } from '../../../api/worker/d1-layout.js';
import { replicateOutbox } from '../../../api/worker/d1-replica.js';
import { expectEpochsReadAsHeads, inSequencer, supersededKeys } from './helpers.js';
import { enrolProvider, publishReplicated, publishUnreplicated } from './replica-publish.js';

const layout = () => indexLayout(env)!;

/** `real`, each database's batches recorded with the SQL of their statements (prepared just before the batch). */
function recording(real: IndexLayout): { layout: IndexLayout; batches: { db: number; sql: string[] }[] } {
  const batches: { db: number; sql: string[] }[] = [];
  const wrap = (db: IndexDatabase, i: number): IndexDatabase => {
    const prepared: string[] = [];
    return {
      prepare: (q) => {
        prepared.push(q);
        return db.prepare(q);
      },
      batch: (statements) => {
        batches.push({ db: i, sql: prepared.slice(prepared.length - statements.length) });
        prepared.length = 0;
        return db.batch(statements);
      },
    };
  };
  const shards = real.shards.map(wrap);
  return { layout: { ...real, meta: shards[0], shards }, batches };
}

const refillState = () =>
  inSequencer(async (_o, s) => ({
    stage: s.sql.exec<{ stage: string }>('SELECT stage FROM dir_refill').toArray()[0]?.stage,
    from: s.sql.exec<{ e: number }>('SELECT from_epoch AS e FROM dir_refill').toArray()[0]?.e,
    replayed: s.sql.exec<{ e: number }>('SELECT replayed_upto AS e FROM dir_refill_bounds').toArray()[0]?.e,
    left: s.sql.exec<{ n: number | null }>('SELECT replay_left AS n FROM dir_refill_bounds').toArray()[0]?.n,
  }));

describe('a refill run of the map stage', () => {
  it('makes D1 batches only on the databases its chunk writes rows to', async () => {
    const leaf = await enrolProvider('chunks.example');
    const accounts = Array.from({ length: 16 }, (_, i) => `chunk${i}@chunks.example`);
    await publishReplicated(
      leaf,
      accounts.map((a): [string, number] => [a, 1]),
    );
    await layout().shards[1].prepare('DELETE FROM dir_replica').run();
    const run = (l: IndexLayout) => inSequencer((_o, s) => replicateOutbox(s, l, {}, { refillRows: 2 }));
    await run(layout());
    while ((await refillState()).stage !== 'map') await run(layout());
    const { layout: recorded, batches } = recording(layout());
    while ((await refillState()).stage === 'map') await run(recorded);
    // A batch of the map stage holding nothing but the chunk's range delete: a database none of its rows go to.
    const deleteOnly = batches.filter(
      (b) => b.sql.length > 0 && b.sql.every((q) => q.startsWith('DELETE FROM dir_map_rows')),
    );
    const chunks = batches.filter((b) => b.sql.some((q) => q.startsWith('DELETE FROM dir_map_rows'))).length / 2;
    expect(
      deleteOnly.length,
      `${deleteOnly.length} of the ${chunks} chunks' batches wrote no row (at 32 shards every chunk is a batch on ` +
        'all 32 databases: 40 chunks x 32 = 1,280 D1 queries a run at REFILL_BUDGET, past the 1,000 an invocation may make)',
    ).toBe(0);
    for (let r = await run(layout()); r.refilling; ) r = await run(layout());
  });
});

describe('a refill whose replay stage meets one burst of epochs', () => {
  it('makes a few batches a run, and still leaves at most 16 epochs to its finish', async () => {
    const leaf = await enrolProvider('burst2.example');
    const accounts = Array.from({ length: 8 }, (_, i) => `b${i}@burst2.example`);
    await publishReplicated(
      leaf,
      accounts.map((a): [string, number] => [a, 1]),
    );
    await layout().shards[1].prepare('DELETE FROM dir_replica').run();
    // Each run replays a few epochs (about 20 statements of them).
    const replicate = () => inSequencer((_o, s) => replicateOutbox(s, layout(), {}, { refillRows: 20 }));
    let run = await replicate();
    expect(run.refilling).toBe(true);
    const version = new Map(accounts.map((a) => [a, 1]));
    const rotate = async (i: number) => {
      const a = accounts[i % accounts.length];
      version.set(a, version.get(a)! + 1);
      await publishUnreplicated(leaf, [[a, version.get(a)!]]);
    };
    // 40 epochs close while the refill copies.
    for (let i = 0; i < 40; i++) await rotate(i);
    // The replay stage runs and gains: a few runs of it, each a batch or two on each database (its epochs', its
    // prune's), however many epochs it replays.
    let gaining = 0;
    while (gaining < 3) {
      const before = await refillState();
      const { layout: recorded, batches } = recording(layout());
      run = await inSequencer((_o, s) => replicateOutbox(s, recorded, {}, { refillRows: 20 }));
      expect(run.refilling).toBe(true);
      const s = await refillState();
      if (before.stage === 'replay' && s.stage === 'replay') {
        expect(s.replayed! - before.replayed!).toBeGreaterThan(1);
        // Not the schema's (once per database object: the recording wraps new ones) nor reads.
        const writes = batches.filter((b) => !b.sql.every((q) => /^(SELECT|CREATE)/.test(q)));
        expect(writes.length, JSON.stringify(writes)).toBeLessThanOrEqual(2 * layout().shards.length);
      }
      if (s.stage === 'replay' && s.left !== null) gaining++;
    }
    const before = await refillState();
    const remaining = await inSequencer(
      async (_o, s) =>
        s.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM dir_outbox WHERE epoch > ?', before.replayed!).one().n,
    );
    // One burst between two runs of as many epochs as the last run replayed (a run that failed, retried later
    // while epochs closed, sees the same).
    const burst = Math.max(1, before.left! - remaining);
    for (let i = 0; i < burst; i++) await rotate(i);
    let last = await refillState();
    while (run.refilling) {
      last = await refillState();
      run = await replicate();
    }
    const end = run.upTo;
    expect(await supersededKeys(layout(), end)).toBe(0);
    await expectEpochsReadAsHeads(layout(), end, end);
    expect(
      end - last.replayed!,
      `the finish replayed ${end - last.replayed!} epochs after one burst of ${burst} (the stage had ${remaining} ` +
        `left after epoch ${before.replayed}, the call before ${before.left})`,
    ).toBeLessThanOrEqual(16);
  });
});
