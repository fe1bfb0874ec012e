/**
 * The checks of an audit saved part way (auditor.ts `progressEvery`, `AuditorState.target`). A save holds
 * entries that no checkpoint covers yet, so each is made only once the log's hash tiles prove the entries read
 * so far the first entries of the tree the audit is reaching (`prefixInTree`: a consistency proof from the
 * frontier's root to the signed root, RFC 9162 section 2.1.4). The audit that goes on from the save checks that
 * its frontier gives that tree's root when it reaches its size (`reachTarget`); since the save's own entries
 * were proven, a mismatch there is either entries served since that are not the signed tree (the log's fault)
 * or a saved state that changed (its own), which reading the entries again from entry 0 tells apart.
 * I/O only through the fetch given.
 */
import type { Checkpoint } from '../formats/checkpoint.js';
import { Frontier } from '../formats/frontier.js';
import { TILE_WIDTH } from '../formats/tiles.js';
import { verifyConsistency, type Hash } from '../formats/tlog.js';
import { fetchEntryBundle } from '../http/entry-fetch.js';
import type { Fetch } from '../http/request.js';
import { fetchConsistencyProof } from '../http/tile-fetch.js';
import { ClientError, VerifyError } from '../verification/errors.js';
import { equalBytes } from '../../wasm-free-crypto/bytes.js';

/** Whether `verifyConsistency` accepts the proof from `root` at `size` to the checkpoint's root. */
function leadsTo(size: number, root: Hash, tree: Checkpoint, proof: Hash[]): boolean {
  try {
    verifyConsistency(size, tree.size, proof, root, tree.rootHash);
    return true;
  } catch {
    return false;
  }
}

/** The tree hash of the log's first `count` entries, read again from entry 0 in the bundles of the tree of `size`. */
async function rereadRoot(fetch: Fetch, logUrl: string, count: number, size: number): Promise<Hash> {
  const again = new Frontier();
  for (let n = 0; n * TILE_WIDTH < count; n++) {
    const entries = await fetchEntryBundle(fetch, logUrl, n, Math.min(TILE_WIDTH, size - n * TILE_WIDTH));
    for (const e of entries.slice(0, count - n * TILE_WIDTH)) again.push(e);
  }
  return again.root();
}

/**
 * The fault when the entries read (with those of a saved state) do not make `root`, the tree hash of the first
 * `count` entries of a signed tree: the entries are read again from entry 0; if they make it, the state read
 * before is at fault (damaged, or entries the log served earlier and no signature covers), a ClientError
 * `bad_replay_state`; else the log serves entries that are not its signed tree, a VerifyError.
 */
async function fault(fetch: Fetch, logUrl: string, count: number, size: number, root: Hash, what: string) {
  if (equalBytes(await rereadRoot(fetch, logUrl, count, size), root))
    return new ClientError(
      'bad_replay_state',
      `the audit's saved state and the entries read since do not make ${what}, though the log's entries do: audit again from a new state`,
    );
  return new VerifyError('inconsistent_checkpoint', `the entries the log serves do not make ${what}`);
}

/**
 * Whether the entries read (`read`, fewer than the tree's) are the first entries of the signed `tree` (of the
 * audit's checkpoint, or an interrupted audit's target), as its hash tiles prove: true if so; false if the tiles
 * cannot tell (unavailable, or not the signed tree: the save is then skipped, and the audit goes on). If the
 * tiles are the signed tree's and the entries are not its first, the fault is the log's or the saved state's
 * (`fault`), thrown. `size`: the audit's checkpoint's.
 */
export async function prefixInTree(
  fetch: Fetch,
  logUrl: string,
  read: Frontier,
  tree: Checkpoint,
  size: number,
): Promise<boolean> {
  const count = read.size;
  let proven: { proof: Hash[]; prefixRoot: Hash };
  try {
    proven = await fetchConsistencyProof(fetch, logUrl, count, tree.size);
  } catch {
    return false;
  }
  if (leadsTo(count, read.root(), tree, proven.proof)) return true;
  if (!leadsTo(count, proven.prefixRoot, tree, proven.proof)) return false;
  const what = `the first ${count} entries of the tree of ${tree.size} it signed, as its tiles prove`;
  throw await fault(fetch, logUrl, count, size, proven.prefixRoot, what);
}

/**
 * Checks that the entries read make the root of `target` (an interrupted audit's) at its size; if they do not,
 * the fault is the log's or the saved state's (`fault`), thrown. `size`: the audit's checkpoint's.
 */
export async function reachTarget(
  fetch: Fetch,
  logUrl: string,
  target: Checkpoint,
  read: Frontier,
  size: number,
): Promise<void> {
  if (equalBytes(read.root(), target.rootHash)) return;
  const what = `the tree of ${target.size} entries it signed (the checkpoint of an interrupted audit)`;
  throw await fault(fetch, logUrl, target.size, size, target.rootHash, what);
}
