/**
 * Appending one KEYTRANS log entry in a test: the writer's prepared entry (log/keytrans/deployment-writer.ts),
 * stored at once, as the directory does inside its epoch's commit.
 */
import type { DeploymentStore } from '../../log/keytrans/deployment-store.js';
import {
  type AppendedHead,
  type DeploymentKeys,
  type LabelUpdate,
  prepareEntry,
} from '../../log/keytrans/deployment-writer.js';

export async function appendEpoch(
  store: DeploymentStore,
  keys: DeploymentKeys,
  updates: readonly LabelUpdate[],
  timestamp: number,
): Promise<AppendedHead> {
  const prepared = await prepareEntry(store, keys, updates, timestamp);
  store.append(prepared.append);
  return prepared.head;
}
