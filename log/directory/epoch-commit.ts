/**
 * The commit of one planned epoch (directory.ts's `runEpoch` plans it and then hands it here): the epoch's
 * entries, the KEYTRANS anchor entry (the deployments' heads, when there are deployments) and the epoch head
 * are appended to the log in one batch, and the store's rows for the epoch (index, map, queue, served
 * checkpoint, KEYTRANS rows) are written inside the log's own commit (`withinCommit`), so that the log and
 * the directory's rows are committed together or not at all (docs/ARCHITECTURE.md, "An epoch, through the
 * rooms", step 3).
 */
import { concatBytes } from '../../wasm-free-crypto/bytes.js';
import { encodeEntry } from '../../verifier/formats/entries.js';
import type { AppendResult } from '../merkle/appender.js';
import type { DirectoryOptions } from './directory-options.js';
import type { EpochPlan } from './epoch-plan.js';
import type { PreparedKeyTransEpoch } from './keytrans-hook.js';

/**
 * Appends `plan`'s entries, the KEYTRANS heads' anchor entry and the epoch head, and writes the epoch's rows
 * within the log's commit; `firstIndex` is the log's size before it. Not async: the caller awaits the
 * append's own promise, so that it goes on in the tick the append returns in (directory.ts relies on that).
 */
export function appendEpoch(
  o: Pick<DirectoryOptions, 'log' | 'store' | 'cosign'>,
  plan: EpochPlan,
  keytrans: PreparedKeyTransEpoch | undefined,
  firstIndex: number,
): Promise<AppendResult> {
  // The KEYTRANS heads, as the entry just before the epoch head: the checkpoint then fixes them (PROTOCOL 22.7).
  const heads = keytrans?.heads ?? [];
  const anchorEntry = heads.length > 0 ? encodeEntry({ type: 'keytrans', epoch: plan.head.epoch, heads }) : null;
  if (anchorEntry) {
    plan.entries.push(anchorEntry);
    plan.head.count += 1;
  }
  const headEntry = encodeEntry(plan.head);
  const writer = o.store.epochWriter(plan.writes);
  return o.log.append([...plan.entries, headEntry], {
    withinCommit: ({ head, lastEntryProof, penultimateEntryProof }) => {
      plan.writes.epoch = {
        epoch: plan.head.epoch,
        logIndex: firstIndex + plan.entries.length,
        entry: headEntry,
        proof: concatBytes(...lastEntryProof),
        checkpoint: head.checkpoint,
      };
      // Without witnesses the signed checkpoint is the one served: readers may serve it from this commit.
      if (!o.cosign) plan.writes.served = head.checkpoint;
      const anchorIndex = firstIndex + plan.entries.length - 1;
      const at = anchorEntry && { epoch: plan.head.epoch, logIndex: anchorIndex, entry: anchorEntry };
      const anchor = at && { ...at, proof: penultimateEntryProof ?? [] };
      // For a replica (the Worker's D1), only where the store keeps them.
      if (keytrans && o.store.keepsKeyTransRows) plan.writes.keytrans = keytrans.rows(anchor);
      writer();
      keytrans?.write(anchor);
    },
  });
}
