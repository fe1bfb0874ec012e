/**
 * A refill of D1 (api/worker/d1-refill.ts) whose steps are run again after a crash, while epochs close:
 * - a finish that failed after writing its epoch F's head and the shards' markers, before the meta database's last
 *   batch, run again at a later epoch F': its prune keeps each key's newest row at F', so F's head, which readers
 *   would still take while F' is not served, must go first (from the last stop's review: the isolate answered at F
 *   with a map proof the client refused);
 * - a map chunk copied again at a later epoch because the run that wrote it failed before recording how far it got:
 *   its first copy's rows must not stay beside the second's.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  indexLayout,
  REPLICA_QUERIES as R,
  type IndexDatabase,
  type IndexLayout,
} from '../../../api/worker/d1-layout.js';
import { replicateOutbox } from '../../../api/worker/d1-replica.js';
import { expectEpochsReadAsHeads, inSequencer, supersededKeys, verifiedLookup } from './helpers.js';
import { enrolProvider, publishReplicated, publishUnreplicated } from './replica-publish.js';

const layout = () => indexLayout(env)!;

/** `layout` whose meta database fails the finish's last batch (the one that deletes `dir_refilling`). */
function failingLastBatch(real: IndexLayout): IndexLayout {
  const meta: IndexDatabase = {
    prepare: (q) => {
      if (q === 'DELETE FROM dir_refilling') throw new Error('crash before the meta marker');
      return real.meta.prepare(q);
    },
    batch: (statements) => real.meta.batch(statements),
  };
  return { ...real, meta, shards: [meta, ...real.shards.slice(1)] };
}

const refillRun = (l: IndexLayout = layout()) => inSequencer((_o, s) => replicateOutbox(s, l, {}, { refillRows: 2 }));

describe('a refill run again after a crash', () => {
  it('leaves no head in D1 that does not read whole when its finish ends later the second time', async () => {
    const leaf = await enrolProvider('twice.example');
    const quiet = Array.from({ length: 6 }, (_, i) => `quiet${i}@twice.example`);
    await publishReplicated(leaf, [['busy@twice.example', 1], ...quiet.map((a): [string, number] => [a, 1])]);
    await layout().shards[1].prepare('DELETE FROM dir_replica').run();
    let run = await refillRun();
    expect(run.refilling).toBe(true);
    // Runs go on with the refill, an epoch closed between them, until its finish fails at the meta's last batch.
    let v = 2;
    let crashed = false;
    while (!crashed) {
      await publishUnreplicated(leaf, [['busy@twice.example', v++]]);
      try {
        expect((await refillRun(failingLastBatch(layout()))).refilling).toBe(true);
      } catch (e) {
        expect(String(e)).toContain('crash before the meta marker');
        crashed = true;
      }
      if (v > 200) throw new Error('the refill does not end');
    }
    const F = await inSequencer(async (o) => o.directory.epoch);
    const headF = await layout()
      .meta.prepare('SELECT served FROM dir_heads WHERE epoch = ?')
      .bind(F)
      .first<{ served: string | null }>();
    expect(headF?.served).not.toBeNull(); // the first finish wrote F's head, served
    // and recorded F as replayed: the next finish replays only the epochs closed since.
    const replayed = await inSequencer(async (_o, s) =>
      s.sql.exec<{ e: number }>('SELECT replayed_upto AS e FROM dir_refill_bounds').one(),
    );
    expect(replayed.e).toBe(F);
    // Epoch F + 1 closes; its witnesses have not cosigned it yet, so the object still serves F.
    const served = await inSequencer(async (_o, s) =>
      s.sql.exec<{ epoch: number; checkpoint: string }>('SELECT epoch, checkpoint FROM dir_served WHERE id = 1').one(),
    );
    expect(served.epoch).toBe(F);
    await publishUnreplicated(leaf, [['busy@twice.example', v++]]);
    await inSequencer(async (_o, s) => {
      s.sql.exec(
        'INSERT OR REPLACE INTO dir_served (id, epoch, checkpoint) VALUES (1, ?, ?)',
        served.epoch,
        served.checkpoint,
      );
    });
    // The next run finishes the refill again, at F + 1.
    run = await refillRun();
    expect(run.upTo).toBe(F + 1);
    // A lookup through the Worker verifies (the isolate answered 200 at F with a map proof the client refused).
    expect((await verifiedLookup('twice.example', 'busy@twice.example', '10.9.0.1'))[0]).toBe('present');
    // No servable head but what reads whole; F's is gone.
    expect(await layout().meta.prepare(R.servedHead).first()).toBeNull();
    const { results } = await layout()
      .meta.prepare('SELECT epoch FROM dir_heads ORDER BY epoch')
      .all<{ epoch: number }>();
    expect(results).toEqual([{ epoch: F + 1 }]);
    await expectEpochsReadAsHeads(layout(), F + 1, F + 1);
  });

  it('keeps one row of each key a map chunk copied again at a later epoch', async () => {
    const leaf = await enrolProvider('again.example');
    const accounts = Array.from({ length: 12 }, (_, i) => `again${i}@again.example`);
    await publishReplicated(
      leaf,
      accounts.map((a): [string, number] => [a, 1]),
    );
    await layout().shards[1].prepare('DELETE FROM dir_replica').run();
    const stage = () =>
      inSequencer(async (_o, s) => s.sql.exec<{ stage: string }>('SELECT stage FROM dir_refill').one().stage);
    let run = await refillRun();
    while ((await stage()) !== 'map') run = await refillRun();
    // A run copies a map chunk, then its record of how far it got is lost (the object failed before saving it).
    await refillRun();
    const saved = await inSequencer(async (_o, s) => s.sql.exec('SELECT * FROM dir_refill').one());
    await refillRun();
    await inSequencer(async (_o, s) => {
      s.sql.exec('UPDATE dir_refill SET stage = ?, map_after = ?', saved.stage, saved.map_after);
    });
    // An epoch closes (of another account: no key of the chunk is written again), and the chunk is copied again.
    await publishUnreplicated(leaf, [['other@again.example', 1]]);
    for (run = await refillRun(); run.refilling; ) run = await refillRun();
    expect(await supersededKeys(layout(), run.upTo)).toBe(0);
    await expectEpochsReadAsHeads(layout(), run.upTo, run.upTo);
  });
});
