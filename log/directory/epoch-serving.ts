/**
 * What follows an epoch's commit (directory.ts's `runEpoch`, once `appendEpoch` returned): the checkpoint the
 * epoch is served with (cosigned by the witnesses, and recorded for the store's readers) and the steps whose
 * failure does not undo the committed epoch (`AfterCommitStep`: each reported to `onAfterCommitError`, never
 * thrown); and, after a restart, the checkpoint the last epoch is served with.
 */
import type { AfterCommitStep, DirectoryOptions } from './directory-options.js';
import type { DirectoryStore } from './store.js';

type ServingOptions = Pick<DirectoryOptions, 'cosign' | 'store' | 'onAfterCommitError'>;

/** Runs a step after an epoch committed; a failure is reported (`onAfterCommitError`), not thrown. */
export function afterCommit<T>(o: ServingOptions, step: AfterCommitStep, run: () => T): T | undefined {
  try {
    return run();
  } catch (e) {
    o.onAfterCommitError?.(step, e);
    return undefined;
  }
}

/**
 * The checkpoint a committed epoch is served with: cosigned by the witnesses if they are asked (and recorded
 * for the store's readers), else, or if cosigning fails, the log's own, which the epoch's commit recorded; a
 * client that requires cosignatures then waits for the next epoch's.
 */
export async function servedCheckpoint(o: ServingOptions, epoch: number, checkpoint: string): Promise<string> {
  const cosign = o.cosign;
  if (!cosign) return checkpoint;
  try {
    const served = await cosign(checkpoint);
    recordServed(o.store, epoch, served);
    return served;
  } catch (e) {
    o.onAfterCommitError?.('cosign', e);
    return checkpoint;
  }
}

/**
 * Records the cosigned checkpoint of a committed epoch for readers of the store, which serve the epoch only
 * from then on. The epoch is committed whatever happens here: if the write fails, readers answer `busy`
 * until the next epoch records its own.
 */
function recordServed(store: DirectoryStore, epoch: number, checkpoint: string): void {
  try {
    store.setServed(epoch, checkpoint);
  } catch {
    // (see above) nothing of the epoch depends on this row
  }
}

/**
 * The checkpoint the last epoch is served with after a restart: the one its witnesses cosigned, if the store
 * recorded it for that epoch (the same signed tree as the log's head: the text before the signatures), else the
 * log's own, which clients that require cosignatures refuse until the next epoch's.
 */
export function checkpointToServe(store: DirectoryStore, epoch: number, head: string): string {
  const served = store.servedEpoch();
  const text = (note: string) => note.slice(0, note.indexOf('\n\n'));
  return served?.row.epoch === epoch && text(served.checkpoint) === text(head) ? served.checkpoint : head;
}
