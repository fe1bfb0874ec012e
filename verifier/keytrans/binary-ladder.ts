/**
 * The binary ladders of draft-ietf-keytrans-protocol-05: which versions of a label are looked up in one log entry's
 * prefix tree (section "Binary Ladder" and Appendix B). The base ladder looks up 0, 1, 3, 7, ... until a version is
 * absent, then binary-searches between the greatest version found and the least found absent. A search binary
 * ladder (section "Greatest-Version Search", its "Binary Ladder") stops at the first lookup that places the
 * greatest version above or below the target, and leaves out the lookups already shown to the left (inclusions)
 * or to the right (non-inclusions); the fixed-version search (section "Fixed-Version Search", step 2) uses this
 * same ladder, so it has no function of its own. A monitoring binary ladder (section "Monitoring the Tree", its
 * "Binary Ladder") keeps only the versions up to the target and never leaves any out (vectors' README, deviation
 * 6). Versions are uint32: where the base ladder would reach past 2^32 - 1, which only the greatest version
 * 2^32 - 1 does, that lookup is skipped and counts as absent, as the draft says after -05 (draft-05's Python would
 * look up versions no VrfInput can carry; katie's uint32 arithmetic overflows there). The ladder is computed step
 * by step from the lookups' results, so a client that does not know the greatest version runs it with
 * `runSearchLadder`, reading each result from the response.
 */
import { TreeMathError } from './tree-math-error.js';

/** The greatest version of a label: versions are uint32. */
export const MAX_VERSION = 2 ** 32 - 1;

/** Throws unless v is a version: an integer in 0..2^32-1. */
function checkVersion(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > MAX_VERSION)
    throw new TreeMathError('bad_version', `${what} must be a uint32, got ${String(v)}`);
}

/**
 * What a ladder has established: the greatest version looked up and found (-1 before any), and the least one
 * looked up and found absent (null before any; MAX_VERSION + 1 once MAX_VERSION itself was found).
 */
interface Bounds {
  found: number;
  absent: number | null;
}

/**
 * The next version to look up, or null once the lookups fix the greatest version (section "Binary Ladder"): the
 * next power of two minus one until one is absent, then the middle of the bounds until they are adjacent.
 */
function nextVersion(b: Bounds): number | null {
  if (b.absent === null) return b.found < 0 ? 0 : 2 * b.found + 1;
  if (b.found + 1 >= b.absent) return null;
  return Math.floor((b.found + b.absent) / 2);
}

/** The bounds after looking up `version` and finding it (`included`) or not. */
function advance(b: Bounds, version: number, included: boolean): Bounds {
  if (!included) return { found: b.found, absent: version };
  if (b.absent === null && 2 * version + 1 > MAX_VERSION) return { found: version, absent: MAX_VERSION + 1 };
  return { found: version, absent: b.absent };
}

/** One lookup of a ladder: the version and whether the prefix tree holds it. */
interface Lookup {
  version: number;
  included: boolean;
}

/** The lookups of the base ladder, each result given by `resultOf`, until `stop` says the last one ends it. */
function walk(resultOf: (version: number) => boolean, stop: (l: Lookup) => boolean = () => false): Lookup[] {
  const out: Lookup[] = [];
  let b: Bounds = { found: -1, absent: null };
  for (let v = nextVersion(b); v !== null; v = nextVersion(b)) {
    const l = { version: v, included: resultOf(v) };
    out.push(l);
    if (stop(l)) break;
    b = advance(b, v, l.included);
  }
  return out;
}

/**
 * The versions looked up to establish that `greatest` is the greatest version present, null for a label with no
 * version there (Appendix B, base_binary_ladder(), with versions above 2^32 - 1 skipped as absent).
 */
export function binaryLadder(greatest: number | null): number[] {
  if (greatest !== null) checkVersion(greatest, 'greatest version');
  return walk((v) => greatest !== null && v <= greatest).map((l) => l.version);
}

/** Whether a lookup ends a search ladder for target t: a version above t found, or one at or below t absent. */
function endsSearch(t: number, l: Lookup): boolean {
  return l.included ? l.version > t : l.version <= t;
}

/**
 * The lookups a search ladder may leave out because the same query response already proved them (section
 * "Greatest-Version Search", its "Binary Ladder", second optimisation): versions included in a log entry to the
 * left, and versions absent from a log entry to the right. Whether they are left out depends on the context.
 */
export interface ShownLookups {
  leftInclusion?: Iterable<number>;
  rightNonInclusion?: Iterable<number>;
}

/**
 * The lookups a response showed before the ladder at log entry `x`, from what each earlier ladder showed by its
 * log entry: the versions included at entries left of `x`, and absent at entries right of it.
 */
export function shownAround(
  shown: ReadonlyMap<number, { included: readonly number[]; absent: readonly number[] }>,
  x: number,
): ShownLookups {
  const leftInclusion: number[] = [];
  const rightNonInclusion: number[] = [];
  for (const [at, run] of shown)
    if (at < x) leftInclusion.push(...run.included);
    else if (at > x) rightNonInclusion.push(...run.absent);
  return { leftInclusion, rightNonInclusion };
}

/** The shown lookups as one map from version to result; throws if a version is in both. */
function shownResults(shown: ShownLookups): Map<number, boolean> {
  const out = new Map<number, boolean>();
  for (const v of shown.leftInclusion ?? []) {
    checkVersion(v, 'version shown included');
    out.set(v, true);
  }
  for (const v of shown.rightNonInclusion ?? []) {
    checkVersion(v, 'version shown absent');
    if (out.get(v) === true)
      throw new TreeMathError('contradictory_lookups', `version ${v} shown both included and absent`);
    out.set(v, false);
  }
  return out;
}

/**
 * The versions of a search binary ladder for target `target` in a log entry whose greatest version is `greatest`
 * (null: the label has no version there), less those already shown (section "Greatest-Version Search", its
 * "Binary Ladder"; Appendix B, search_binary_ladder()). Which lookups end the ladder is decided by `greatest`
 * alone, as in the Appendix, whether or not they are left out.
 */
export function searchBinaryLadder(target: number, greatest: number | null, shown: ShownLookups = {}): number[] {
  checkVersion(target, 'target version');
  if (greatest !== null) checkVersion(greatest, 'greatest version');
  const known = shownResults(shown);
  const lookups = walk(
    (v) => greatest !== null && v <= greatest,
    (l) => endsSearch(target, l),
  );
  return lookups.filter((l) => !known.has(l.version)).map((l) => l.version);
}

/** Where a search ladder places the greatest version of the label, against the target. */
export type LadderResult = 'less' | 'equal' | 'greater';

/** A search ladder run by a client: the versions it read results for, in order, and what they establish. */
export interface SearchLadderRun {
  lookups: number[];
  result: LadderResult;
}

/**
 * A client's run of a search binary ladder for target `target` (sections "Greatest-Version Search" step 1-2 and
 * "Fixed-Version Search" step 2-5): each version not already shown is asked of `lookup` (true if the log entry's
 * prefix tree holds it, read from the response in order), each shown one takes its shown result. The result is
 * 'greater' after a version above the target is found, 'less' after one at or below it is absent, and 'equal' when
 * the ladder completes, which then proves the target is the greatest version present.
 */
export function runSearchLadder(
  target: number,
  lookup: (version: number) => boolean,
  shown: ShownLookups = {},
): SearchLadderRun {
  checkVersion(target, 'target version');
  const known = shownResults(shown);
  const lookups: number[] = [];
  const resultOf = (v: number): boolean => {
    const k = known.get(v);
    if (k !== undefined) return k;
    lookups.push(v);
    return lookup(v);
  };
  const last = walk(resultOf, (l) => endsSearch(target, l)).at(-1)!;
  const result = !endsSearch(target, last) ? 'equal' : last.included ? 'greater' : 'less';
  return { lookups, result };
}

/**
 * The versions of a monitoring binary ladder for the monitored version `target`: the base ladder of `target`
 * without the versions above it, so every lookup of an honest log is an inclusion (section "Monitoring the Tree",
 * its "Binary Ladder"; Appendix B, monitoring_binary_ladder(), whose left_inclusion is always empty here).
 */
export function monitoringBinaryLadder(target: number): number[] {
  return binaryLadder(target).filter((v) => v <= target);
}
