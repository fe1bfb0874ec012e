/**
 * The log rows of a trimmed edge object's KEYTRANS deployment (api/worker/edge-deployment-store.ts): a row the
 * trim deleted (an older entry or head, a log subtree off the right edge) is in D1 only, and a read of it is a
 * 503 `busy`; a row the object keeps (its last entry and head, the balanced subtrees of its size) that is missing
 * is the store's corruption and stays `deployment_corrupt`, not a lasting 503; before any trim, every missing row
 * is corruption. Checked for every log subtree of sizes 1 to 40 against the right edge computed bit by bit.
 */
import { describe, expect, it } from 'vitest';
import { EdgeDeploymentStore } from '../../../api/worker/edge-deployment-store.js';
import { DeploymentError } from '../../../log/keytrans/deployment-error.js';
import { errorCode } from '../../helpers/error-code.js';

/** The object's own store with `size` entries and none of its log rows (each read is deployment_corrupt). */
function rowlessOwn(size: number) {
  const missing = () => {
    throw new DeploymentError('deployment_corrupt', 'not stored');
  };
  return { size: () => size, entry: missing, treeHead: missing, logNode: missing };
}

/** Whether the subtree (level, index) is one of the balanced subtrees a tree of `size` leaves splits into. */
function onRightEdge(size: number, level: number, index: number): boolean {
  let start = 0;
  for (let l = 31; l >= 0; l--) {
    if (size & (1 << l)) {
      if (l === level && start >> l === index) return true;
      start += 1 << l;
    }
  }
  return false;
}

function edgeStore(size: number, trimmed: boolean): EdgeDeploymentStore {
  const replica = { trimmed, replicatedEpoch: 10, trims: trimmed ? 1 : 0 };
  return new EdgeDeploymentStore(rowlessOwn(size) as never, 'p', {} as never, replica);
}

describe("a trimmed edge object's KEYTRANS log rows", () => {
  it('answer busy for what the trim deleted and deployment_corrupt for a missing row it keeps', () => {
    const store = edgeStore(5, true);
    expect(errorCode(() => store.entry(4))).toBe('deployment_corrupt');
    expect(errorCode(() => store.entry(3))).toBe('busy');
    expect(errorCode(() => store.treeHead(5))).toBe('deployment_corrupt');
    expect(errorCode(() => store.treeHead(4))).toBe('busy');
  });

  it('keep exactly the right edge of the log tree, for every size up to 40', () => {
    for (let size = 1; size <= 40; size++) {
      const store = edgeStore(size, true);
      for (let level = 0; level < 6; level++) {
        for (let index = 0; index < Math.ceil(size / 2 ** level); index++) {
          const expected = onRightEdge(size, level, index) ? 'deployment_corrupt' : 'busy';
          expect([size, level, index, errorCode(() => store.logNode(level, index))]).toEqual([
            size,
            level,
            index,
            expected,
          ]);
        }
      }
    }
  });

  it('are all corruption when missing before any trim', () => {
    const store = edgeStore(5, false);
    expect([
      errorCode(() => store.entry(3)),
      errorCode(() => store.treeHead(4)),
      errorCode(() => store.logNode(0, 0)),
    ]).toEqual(['deployment_corrupt', 'deployment_corrupt', 'deployment_corrupt']);
  });
});
