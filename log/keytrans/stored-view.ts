/**
 * A `DeploymentView` over a `DeploymentStore` at one tree size: the responders read one provider's KEYTRANS
 * deployment through it (draft-ietf-keytrans-protocol-05, "User Operations"), and only the rows their proofs need.
 * A log subtree (start, end) is the stored (level, index) row; the prefix tree of entry p is read by node name at
 * p (deployment-store.ts); a label's versions are those first held within the size; the search key of a version
 * the tree does not hold is the caller's (the deployment's VRF key computes it).
 */
import type { CipherSuite } from '../../verifier/keytrans/suites.js';
import type { Configuration } from '../../verifier/keytrans/types.js';
import { DeploymentError } from './deployment-error.js';
import { pathOf, type DeploymentStore } from './deployment-store.js';
import type { DeploymentView } from './deployment-view.js';
import { levelOf } from './log-append.js';

/** The view of `store` at `size` entries (1 to the stored size). */
export function storedView(
  store: DeploymentStore,
  suite: CipherSuite,
  config: Configuration,
  size: number,
  searchKey: DeploymentView['searchKey'],
): DeploymentView {
  if (!Number.isSafeInteger(size) || size < 1 || size > store.size())
    throw new DeploymentError('deployment_corrupt', `no tree head of size ${size} is stored`);
  const within = (p: number, what: string) => {
    if (!Number.isSafeInteger(p) || p < 0 || p >= size)
      throw new DeploymentError('deployment_corrupt', `${what} ${p} is outside a tree of ${size}`);
  };
  return {
    suite,
    config,
    treeHead: store.treeHead(size),
    entry: (p) => {
      within(p, 'log entry');
      return store.entry(p);
    },
    logHashes: {
      subtree: (start, end) => {
        within(end - 1, 'log entry');
        const width = end - start;
        return store.logNode(levelOf(width), start / width);
      },
    },
    prefixAt: (p) => {
      within(p, 'log entry');
      return { node: (key, depth) => store.prefixNode(depth, pathOf(key, depth), p) };
    },
    versions: (label) => store.versions(label, size - 1),
    searchKey,
  };
}
