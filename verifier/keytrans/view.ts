/**
 * The client's view of a KEYTRANS log (draft-ietf-keytrans-protocol-05, "Updating Views of the Tree", its
 * "Algorithm", and "Reasonable Monitoring Window"): reading the timestamps that move a view from the tree size it
 * retained to the size of a new tree head (or, for a new client, the frontier's), checking that the rightmost one
 * lies within `max_ahead` and `max_behind` of the client's clock, and telling which log entries are distinguished.
 * The timestamps come from a `CombinedProofReader` (combined-proof.ts), which also checks that all those it sees
 * are monotonic in log order: this module adds the clock bounds and the distinguished entries.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';
import type { CombinedProofReader } from './combined-proof.js';
import { directPath, frontier, left, right, root, updateView } from './search-tree.js';

export type ViewErrorCode = 'kt_clock_ahead' | 'kt_clock_behind';

/** The log's rightmost timestamp is too far from the client's clock. */
export class ViewError extends CodedError<ViewErrorCode> {
  override readonly name = 'ViewError';
}

/** The bounds a deployment's Configuration sets, in milliseconds. */
export interface ClockBounds {
  maxAhead: number;
  maxBehind: number;
}

/**
 * Reads the timestamps that move a view of `retainedSize` entries (0 for a new client) to `size`, in the order
 * the draft gives them, and checks the rightmost against `now` (milliseconds); returns the new frontier's
 * positions. With `retainedSize` equal to `size` (the head is the same), nothing is read but the rightmost
 * entry's timestamp, which the client retained, is still checked.
 */
export function readViewUpdate(
  reader: CombinedProofReader,
  retainedSize: number,
  size: number,
  now: number,
  bounds: ClockBounds,
): number[] {
  for (const position of updateView(retainedSize, size)) reader.timestamp(position);
  const rightmost = reader.timestamp(size - 1);
  checkClock(rightmost, now, bounds);
  return frontier(size);
}

/** "The Transparency Log defines two durations": how far ahead of and behind `now` the rightmost timestamp may be. */
export function checkClock(rightmost: number, now: number, bounds: ClockBounds): void {
  if (rightmost > now + bounds.maxAhead)
    throw new ViewError('kt_clock_ahead', `the log's last entry is ${rightmost - now} ms ahead of this clock`);
  if (rightmost < now - bounds.maxBehind)
    throw new ViewError('kt_clock_behind', `the log's last entry is ${now - rightmost} ms behind this clock`);
}

/**
 * Whether the log entry at `x` is distinguished in a tree of `size` entries ("Reasonable Monitoring Window"):
 * the algorithm walked from the root down to `x`, each step carrying the timestamps to its left and right. Needs
 * the timestamps of `x`'s direct path, `x` itself and the rightmost entry.
 */
export function isDistinguished(x: number, size: number, timestampOf: (p: number) => number, rmw: number): boolean {
  let [lo, hi] = [0, timestampOf(size - 1)];
  const path = [...directPath(x, size).reverse(), x];
  for (let i = 0; i < path.length; i++) {
    if (hi - lo < rmw) return false;
    const at = path[i];
    if (at === x) return true;
    const next = path[i + 1];
    if (next < at) hi = timestampOf(at);
    else lo = timestampOf(at);
  }
  return false;
}

/**
 * The rightmost distinguished log entry, which lies on the frontier (the algorithm never reaches a right subtree
 * it stopped above), or null if there is none.
 */
export function rightmostDistinguished(size: number, timestampOf: (p: number) => number, rmw: number): number | null {
  const hi = timestampOf(size - 1);
  let found: number | null = null;
  for (let x: number | null = root(size), lo = 0; x !== null; lo = timestampOf(x), x = right(x, size)) {
    if (hi - lo < rmw) break;
    found = x;
  }
  return found;
}

/** The children of `x` in a tree of `size` entries, for the algorithms that recurse. */
export const childrenOf = (x: number, size: number) => ({ left: left(x), right: right(x, size) });
