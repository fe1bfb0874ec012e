/**
 * Verifying a KEYTRANS `SearchResponse` (draft-ietf-keytrans-protocol-05, "User Operations / Search", with
 * "Greatest-Version Search" and "Fixed-Version Search"), synchronously and with no I/O. The response's binary
 * ladder gives a VRF proof (the label's search key at each version of the target's ladder) and the commitments of
 * the versions that exist; the target's commitment is computed from `opening` and `value`. The search then walks
 * the implicit binary search tree as the draft's algorithm does, taking each log entry's timestamp and prefix proof
 * from the combined proof as it goes (combined-proof.ts); at each log entry the search binary ladder is run from
 * the prefix proof's results (binary-ladder.ts), the lookups shown earlier in the response to the left (included)
 * or right (absent) left out, and the proof must compute one prefix root for those lookups (prefix-tree.ts). Last,
 * the log tree's root and the tree head (head.ts). A search that finds no version is refused: draft-05 defines no
 * negative result, and the later drafts say to refuse one. A search the client must monitor gives the keys it
 * retains for that (`SearchResult.retained`); the commitments of versions above the target are checked where the
 * search shows those versions (`checkAboveTarget`).
 */
import {
  binaryLadder,
  monitoringBinaryLadder,
  runSearchLadder,
  type LadderResult,
  shownAround,
} from './binary-ladder.js';
import { CombinedProofReader } from './combined-proof.js';
import { computeCommitment } from './commitment.js';
import { KeyTransError } from './errors.js';
import { headSize, retainedEntries, verifyHead, type GlobalState } from './head.js';
import type { RetainedVersion } from './monitor.js';
import { prefixProofRoot } from './prefix-tree.js';
import { directPath, left, right, root } from './search-tree.js';
import { verifyUpdateSignature } from './signatures.js';
import { encodeVrfInput } from './signed-structures.js';
import type { CipherSuite } from './suites.js';
import type { BinaryLadderStep, Configuration, SearchRequest, SearchResponse, UpdateValue } from './types.js';
import { isDistinguished, readViewUpdate, rightmostDistinguished } from './view.js';

/** What a verified search gives: the version found, its value, the state to keep, and what to monitor. */
export interface SearchResult {
  version: number;
  value: UpdateValue;
  state: GlobalState;
  /** The terminal log entry of the search. */
  terminal: number;
  /** Contact monitoring mode, and the terminal log entry right of the rightmost distinguished one. */
  mustMonitor: boolean;
  /**
   * When `mustMonitor`, what the client retains to monitor `version` from `terminal` ("Monitoring the Tree", its
   * "Binary Ladder"): the VRF output and commitment of each version of the target's monitoring binary ladder (the
   * target's computed from `opening` and `value`); empty otherwise, when only the tree head is kept. Kept with
   * label-state.ts `labelAfterSearch`. Versions above the target are never in it (see `ladderKeys`).
   */
  retained: Map<number, RetainedVersion>;
}

/** What one search binary ladder at one log entry showed. */
interface LadderRun {
  result: LadderResult;
  included: number[];
  absent: number[];
}

/** Everything the search algorithms read: the response's parts, checked. */
interface SearchContext {
  suite: CipherSuite;
  config: Configuration;
  reader: CombinedProofReader;
  size: number;
  target: number;
  keys: Map<number, RetainedVersion>;
  /** What each log entry's ladder showed, for the lookups the next ones leave out. */
  shown: Map<number, LadderRun>;
}

const bad = (message: string) => new KeyTransError('kt_bad_proof', message);

/**
 * Verifies `response` to `request` for a client holding `state` (null: a new client) at time `now` (milliseconds);
 * returns the result, or throws a KeyTransError, CombinedProofError or ViewError naming what failed.
 */
export function verifySearch(
  suite: CipherSuite,
  config: Configuration,
  state: GlobalState | null,
  request: SearchRequest,
  response: SearchResponse,
  now: number,
): SearchResult {
  if (request.last !== (state?.treeHead.treeSize ?? null))
    throw new KeyTransError('kt_bad_input', 'the request must advertise the tree size the client holds');
  const size = headSize(response.fullTreeHead, state);
  const reader = new CombinedProofReader(response.search, retainedEntries(state));
  readViewUpdate(reader, state?.treeHead.treeSize ?? 0, size, now, config);
  const target = request.version ?? response.version;
  if (target === undefined) throw bad('a greatest-version search answered without the version');
  if (config.mode === 'thirdPartyManagement') verifyUpdateSignature(config, request.label, target, response.value);
  const opening = { opening: response.opening, label: request.label, version: target, update: response.value };
  const keys = ladderKeys(suite, config, request, target, response.binaryLadder, computeCommitment(suite, opening));
  const ctx: SearchContext = { suite, config, reader, size, target, keys, shown: new Map() };
  const terminal = request.version === null ? greatestVersionSearch(ctx) : fixedVersionSearch(ctx);
  checkAboveTarget(ctx);
  const timestampOf = (p: number) => reader.timestamp(p);
  const distinguished = rightmostDistinguished(size, timestampOf, config.reasonableMonitoringWindow);
  const next = verifyHead(suite, config, response.fullTreeHead, state, reader, response.search.inclusion);
  const mustMonitor = config.mode === 'contactMonitoring' && (distinguished === null || terminal > distinguished);
  const retained = new Map(mustMonitor ? monitoringBinaryLadder(target).map((v) => [v, keys.get(v)!]) : []);
  return { version: target, value: response.value, state: next, terminal, mustMonitor, retained };
}

/**
 * "Search", steps 2 and 3: one ladder step per version of the target's binary ladder, in its order, each VRF proof
 * verified; a commitment exactly for the versions below the target and, in a fixed-version search, those above it
 * that exist (a greatest-version search has none above the target). Whether a version above the target exists is
 * known only from what the search shows of it: see `checkAboveTarget`.
 */
function ladderKeys(
  suite: CipherSuite,
  config: Configuration,
  request: SearchRequest,
  target: number,
  steps: readonly BinaryLadderStep[],
  targetCommitment: Uint8Array,
): Map<number, RetainedVersion> {
  const versions = binaryLadder(target);
  if (steps.length !== versions.length)
    throw bad(`${steps.length} binary ladder steps for the ${versions.length} versions of version ${target}'s ladder`);
  const keys = new Map<number, RetainedVersion>();
  versions.forEach((v, i) => {
    const { proof, commitment } = steps[i];
    if (v === target && commitment !== null) throw bad('a commitment given for the target version');
    if (v < target && commitment === null) throw bad(`no commitment for version ${v}, below the target`);
    if (v > target && commitment !== null && request.version === null)
      throw bad(`a commitment for version ${v}, above the greatest version ${target}`);
    const vrfOutput = suite.vrfVerify(config.vrfPublicKey, encodeVrfInput({ label: request.label, version: v }), proof);
    keys.set(v, { vrfOutput, commitment: v === target ? targetCommitment : commitment });
  });
  return keys;
}

/**
 * The commitments of versions above the target in a fixed-version search ("Search": `commitment` "is omitted only
 * for versions of the label that don't exist and for the target version"). A version shown included in some log
 * entry exists: its commitment is required and checked by that entry's prefix proof (`ladderAt`). A version shown
 * absent from the rightmost log entry, whose prefix tree is the label's present, does not exist: a commitment for
 * it is refused here. A version shown neither way (not looked up, or absent only from earlier log entries) may
 * exist, so its commitment is allowed, unchecked: draft-05 gives the client nothing to check it against, and it
 * is used for nothing (`SearchResult.retained` stops at the target).
 */
function checkAboveTarget(ctx: SearchContext): void {
  for (const v of ctx.shown.get(ctx.size - 1)?.absent ?? [])
    if (v > ctx.target && ctx.keys.get(v)!.commitment !== null)
      throw bad(`a commitment for version ${v}, which the rightmost log entry shows does not exist`);
}

/** Runs the search binary ladder at log entry `x` from its prefix proof (see the file comment). */
function ladderAt(ctx: SearchContext, x: number): LadderRun {
  const run = ctx.reader.prefixProof(x, (proof) => {
    const outcomes: boolean[] = [];
    const { lookups, result } = runSearchLadder(
      ctx.target,
      (v) => {
        const r = proof.results[outcomes.length];
        if (!r) throw bad(`the prefix proof of log entry ${x} has too few results for its ladder`);
        outcomes.push(r.resultType === 'inclusion');
        return outcomes[outcomes.length - 1];
      },
      shownAround(ctx.shown, x),
    );
    const searches = lookups.map((v, i) => {
      const key = ctx.keys.get(v);
      if (!key) throw bad(`log entry ${x}'s ladder looks up version ${v}, outside the response's ladder`);
      if (outcomes[i] && !key.commitment) throw bad(`version ${v} shown included, but the response has no commitment`);
      return { vrfOutput: key.vrfOutput, commitment: outcomes[i] ? key.commitment : null };
    });
    const included = lookups.filter((_, i) => outcomes[i]);
    const absent = lookups.filter((_, i) => !outcomes[i]);
    return { root: prefixProofRoot(ctx.suite, proof, searches), result: { result, included, absent } };
  });
  ctx.shown.set(x, run);
  return run;
}

/** "Greatest-Version Search / Algorithm": down the frontier from the rightmost distinguished log entry. */
function greatestVersionSearch(ctx: SearchContext): number {
  const timestampOf = (p: number) => ctx.reader.timestamp(p);
  const start = rightmostDistinguished(ctx.size, timestampOf, ctx.config.reasonableMonitoringWindow);
  let terminal: number | null = null;
  for (let x: number | null = start ?? root(ctx.size); x !== null; x = right(x, ctx.size)) {
    const { result } = ladderAt(ctx, x);
    if (result === 'greater') throw bad(`log entry ${x} holds a version above the greatest, ${ctx.target}`);
    if (x === ctx.size - 1 && result !== 'equal')
      throw bad(`the rightmost log entry does not hold version ${ctx.target}`);
    if (result === 'equal' && terminal === null) terminal = x;
  }
  return terminal!;
}

/** Whether the log entry at `x` is expired: `maximum_lifetime` or more older than the rightmost ("Maximum Lifetime"). */
function expired(ctx: SearchContext, x: number): boolean {
  const lifetime = ctx.config.maximumLifetime;
  const ts = (p: number) => ctx.reader.timestamp(p);
  return lifetime !== null && ts(ctx.size - 1) - ts(x) >= lifetime;
}

function distinguished(ctx: SearchContext, x: number): boolean {
  return isDistinguished(x, ctx.size, (p) => ctx.reader.timestamp(p), ctx.config.reasonableMonitoringWindow);
}

/** Whether an unexpired distinguished log entry lies on `x`'s direct path, left of it. */
function distinguishedLeftOf(ctx: SearchContext, x: number): boolean {
  return directPath(x, ctx.size).some((a) => a < x && !expired(ctx, a) && distinguished(ctx, a));
}

/** "Fixed-Version Search / Algorithm": a binary search for the first log entry holding the target version. */
function fixedVersionSearch(ctx: SearchContext): number {
  let sawExpired = false;
  for (let x: number | null = root(ctx.size); x !== null; ) {
    ctx.reader.timestamp(x);
    if (expired(ctx, x)) {
      sawExpired = true;
      x = right(x, ctx.size);
      continue;
    }
    const { result } = ladderAt(ctx, x);
    if (result === 'less') x = right(x, ctx.size);
    else if (result === 'greater') x = left(x);
    else {
      if (!directPath(x, ctx.size).some((a) => expired(ctx, a))) return x;
      if (distinguished(ctx, x) || distinguishedLeftOf(ctx, x)) return x;
      throw new KeyTransError('kt_expired', `version ${ctx.target} of the label is expired`);
    }
  }
  return fixedVersionFallback(ctx, sawExpired);
}

/** Step 6 of the fixed-version search: the leftmost log entry holding a greater version, looked up again. */
function fixedVersionFallback(ctx: SearchContext, sawExpired: boolean): number {
  const greater = [...ctx.shown].filter(([, run]) => run.result === 'greater').map(([x]) => x);
  if (greater.length === 0) throw new KeyTransError('kt_not_found', `the label has no version ${ctx.target}`);
  const y = Math.min(...greater);
  if (sawExpired && !distinguishedLeftOf(ctx, y))
    throw new KeyTransError('kt_expired', `version ${ctx.target} of the label is expired`);
  const key = ctx.keys.get(ctx.target)!;
  const found = ctx.reader.prefixProof(y, (proof) => {
    const included = proof.results.length === 1 && proof.results[0].resultType === 'inclusion';
    const search = { vrfOutput: key.vrfOutput, commitment: included ? key.commitment : null };
    return { root: prefixProofRoot(ctx.suite, proof, [search]), result: included };
  });
  if (!found) throw new KeyTransError('kt_not_found', `the label has no version ${ctx.target}`);
  return y;
}
