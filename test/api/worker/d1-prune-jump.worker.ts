/**
 * The D1 replica's pruning when the served epoch jumps (api/worker/d1-replica.ts, applyEpoch): epochs that close
 * while the served epoch stands still (witnesses down: their outbox rows carry no served checkpoint, and the object
 * records none) prune nothing new; when the witnesses cosign again, the served epoch jumps by more than
 * KEEP_EPOCHS, and the next epoch still prunes every map row superseded before the oldest servable epoch, including
 * those of a key last written before the jump and never since, while each epoch kept still reads as its head.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { indexLayout, KEEP_EPOCHS } from '../../../api/worker/d1-layout.js';
import { PRUNE_WINDOW, replicateOutbox } from '../../../api/worker/d1-replica.js';
import type { PkiCert } from '../../helpers/pki.js';
import { countInEveryDatabase, expectEpochsReadAsHeads, inSequencer, post, supersededKeys } from './helpers.js';
import { enrolProvider, publishReplicated, signedBinding } from './replica-publish.js';

const layout = () => indexLayout(env)!;

/** Publishes and closes the epoch without the alarm, as if its witnesses did not answer: nothing served, nothing replicated. */
async function publishUnserved(leaf: PkiCert, account: string, version: number, ...more: string[]): Promise<void> {
  const statements = [account, ...more].map((a) => signedBinding(leaf, a, version));
  expect((await post('/v1/bindings', { statements })).status).toBe(202);
  await inSequencer(async (open, storage) => {
    await open.directory.closeEpoch(false);
    for (const row of storage.sql
      .exec<{ epoch: number; writes: string }>('SELECT epoch, writes FROM dir_outbox')
      .toArray()) {
      const { served: _served, ...writes } = JSON.parse(row.writes) as Record<string, unknown>;
      storage.sql.exec('UPDATE dir_outbox SET writes = ? WHERE epoch = ?', JSON.stringify(writes), row.epoch);
    }
  });
}

/** The keys with more than one map row whose newest row is of `epoch` or older (in every database). */
const lastWrittenBy = (epoch: number) =>
  countInEveryDatabase(
    layout(),
    'SELECT COUNT(*) AS n FROM (SELECT key FROM dir_map_rows GROUP BY key HAVING COUNT(*) > 1 AND MAX(epoch) <= ?)',
    epoch,
  );

describe('the D1 replica after a jump of the served epoch', () => {
  it('prunes every row superseded before the oldest servable epoch, however far the served epoch jumped', async () => {
    const leaf = await enrolProvider('d1.example', 'ed25519');
    // Served and replicated epochs: eight accounts, one of them rotated in each, then the others rotated once
    // more and never again (their map nodes off the rotated account's path are not written after that).
    const quiet = Array.from({ length: 7 }, (_, i) => `quiet${i}@d1.example`);
    await publishReplicated(leaf, [['busy@d1.example', 1], ...quiet.map((a): [string, number] => [a, 1])]);
    for (let v = 2; v <= 4; v++) await publishReplicated(leaf, [['busy@d1.example', v]]);
    await publishReplicated(
      leaf,
      quiet.map((a) => [a, 2]),
    );
    const servedBefore = await inSequencer(async (o) => o.directory.epoch);
    // Twice KEEP_EPOCHS epochs that nobody serves, then the witnesses cosign the newest: D1 applies them all and
    // the served epoch jumps from servedBefore to it.
    for (let v = 5; v < 5 + 2 * KEEP_EPOCHS; v++) await publishUnserved(leaf, 'busy@d1.example', v);
    const jumped = await inSequencer(async (o, storage) => {
      const epoch = o.directory.epoch;
      storage.sql.exec(
        'INSERT OR REPLACE INTO dir_served (id, epoch, checkpoint) SELECT 1, epoch, checkpoint FROM dir_epoch',
      );
      const run = await replicateOutbox(storage, layout());
      expect([run.applied, run.upTo]).toEqual([2 * KEEP_EPOCHS, epoch]);
      return epoch;
    });
    expect(jumped - servedBefore).toBeGreaterThan(KEEP_EPOCHS);
    expect(await lastWrittenBy(servedBefore)).toBeGreaterThan(0); // what a window of KEEP_EPOCHS would miss
    // The next epoch, served at once, prunes below its oldest servable epoch: quiet's rows written before the jump
    // were superseded long before it, by rows older than that epoch's KEEP_EPOCHS predecessors.
    await publishReplicated(leaf, [['busy@d1.example', 5 + 2 * KEEP_EPOCHS]]);
    const epoch = jumped + 1;
    expect(await inSequencer(async (o) => o.directory.epoch)).toBe(epoch);
    const oldest = epoch - KEEP_EPOCHS;
    expect(await supersededKeys(layout(), oldest)).toBe(0);
    // Each epoch of the window still reads as it was: the map its rows make has the root its head signed.
    await expectEpochsReadAsHeads(layout(), oldest + 1, epoch);
  });

  it('moves the prune point up a bounded window an epoch after a jump longer than that window', async () => {
    const leaf = await enrolProvider('window.example', 'ed25519');
    const quiet = Array.from({ length: 5 }, (_, i) => `quiet${i}@window.example`);
    await publishReplicated(leaf, [['busy@window.example', 1], ...quiet.map((a): [string, number] => [a, 1])]);
    // Epochs nobody serves, twice the prune window of them; the quiet accounts rotate in the last, and never again.
    const gap = 2 * PRUNE_WINDOW;
    for (let v = 2; v < 2 + gap - 1; v++) await publishUnserved(leaf, 'busy@window.example', v);
    await publishUnserved(leaf, quiet[0], 2, ...quiet.slice(1));
    const jumped = await inSequencer(async (o, storage) => {
      storage.sql.exec(
        'INSERT OR REPLACE INTO dir_served (id, epoch, checkpoint) SELECT 1, epoch, checkpoint FROM dir_epoch',
      );
      await replicateOutbox(storage, layout());
      return o.directory.epoch;
    });
    const oldestHead = async () =>
      (await layout().meta.prepare('SELECT MIN(epoch) AS e FROM dir_heads').first<{ e: number }>())!.e;
    // Each served epoch after the jump moves the prune point, and the oldest head with it, up by the window less
    // KEEP_EPOCHS at most; the rows superseded in the gap's last epoch stay until it gets there.
    let point = await oldestHead();
    let v = 1 + gap;
    await publishReplicated(leaf, [['busy@window.example', v++]]);
    expect(await oldestHead()).toBe(point + PRUNE_WINDOW - KEEP_EPOCHS);
    expect(await supersededKeys(layout(), jumped)).toBeGreaterThanOrEqual(quiet.length);
    while ((point = await oldestHead()) < (await inSequencer(async (o) => o.directory.epoch)) - KEEP_EPOCHS) {
      await publishReplicated(leaf, [['busy@window.example', v++]]);
      expect((await oldestHead()) - point).toBeLessThanOrEqual(PRUNE_WINDOW - KEEP_EPOCHS);
      if (v > 1 + gap + 10) throw new Error('the prune point does not catch up');
    }
    const epoch = await inSequencer(async (o) => o.directory.epoch);
    expect(await oldestHead()).toBe(epoch - KEEP_EPOCHS);
    expect(await supersededKeys(layout(), epoch - KEEP_EPOCHS)).toBe(0);
    await expectEpochsReadAsHeads(layout(), epoch - KEEP_EPOCHS + 1, epoch);
  });
});
