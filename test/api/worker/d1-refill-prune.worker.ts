/**
 * The D1 replica's pruning after a refill that spans more than twice KEEP_EPOCHS epochs (api/worker/d1-refill.ts,
 * the finish's prune). A refill copies each map key once, at the epoch the object is at when the key's chunk is
 * read, and replays at its finish the epochs closed meanwhile: a key that such an epoch wrote has two rows or more.
 * After the finish D1 holds the head of its last epoch only, so the first prunes, which look back from there, never
 * see rows that old: the finish must leave each such key its newest row, and the epoch it ends at must still read
 * as its head.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { indexLayout, KEEP_EPOCHS } from '../../../api/worker/d1-layout.js';
import { replicateOutbox } from '../../../api/worker/d1-replica.js';
import { expectEpochsReadAsHeads, inSequencer, supersededKeys } from './helpers.js';
import { enrolProvider, publishReplicated, publishUnreplicated } from './replica-publish.js';

const PROVIDER = 'd1.example';
const layout = () => indexLayout(env)!;

describe('the D1 replica after a long refill', () => {
  it('keeps no map row superseded during the refill, and its last epoch reads as its head', async () => {
    // A P-256 provider: no KEYTRANS deployment, whose rows each epoch would add faster than a small refill copies.
    const leaf = await enrolProvider(PROVIDER);
    const quiet = Array.from({ length: 30 }, (_, i) => `quiet${i}@d1.example`);
    await publishReplicated(leaf, [['busy@d1.example', 1], ...quiet.map((a): [string, number] => [a, 1])]);
    // Shard 1 went back: the next run begins a refill, a few rows per run.
    await layout().shards[1].prepare('DELETE FROM dir_replica').run();
    const replicate = () => inSequencer((_o, s) => replicateOutbox(s, layout(), {}, { refillRows: 2 }));
    let run = await replicate();
    expect(run.refilling).toBe(true);
    // The quiet accounts rotate once, before the refill copies the map, and never again: their keys' copies and
    // the rows of this epoch, replayed at the finish, are older than anything the prunes after it look back to.
    await publishUnreplicated(
      leaf,
      quiet.map((a): [string, number] => [a, 2]),
    );
    let v = 2;
    while (run.refilling) {
      await publishUnreplicated(leaf, [['busy@d1.example', v++]]);
      run = await replicate();
      if (v > 400) throw new Error('the refill does not end');
    }
    const refilledAt = run.upTo;
    expect(v - 2).toBeGreaterThan(2 * KEEP_EPOCHS); // a refill longer than the prunes' look-back
    expect(await supersededKeys(layout(), refilledAt)).toBe(0);
    await expectEpochsReadAsHeads(layout(), refilledAt, refilledAt);
    // Served epochs after it: each still reads as its head, and nothing superseded before the oldest kept stays.
    for (let i = 0; i < KEEP_EPOCHS + 2; i++) await publishReplicated(leaf, [['busy@d1.example', v++]]);
    const epoch = await inSequencer(async (o) => o.directory.epoch);
    const oldest = epoch - KEEP_EPOCHS;
    expect(oldest).toBeGreaterThan(refilledAt);
    expect(await supersededKeys(layout(), oldest)).toBe(0);
    await expectEpochsReadAsHeads(layout(), oldest + 1, epoch);
  });
});
