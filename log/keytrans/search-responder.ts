/**
 * The log's answer to a KEYTRANS `SearchRequest` (draft-ietf-keytrans-protocol-05, "User Operations / Search", with
 * "Greatest-Version Search" and "Fixed-Version Search"), the mirror of verifier/keytrans/search.ts: the target is
 * the label's greatest version at the view's size, or the version asked for; its binary ladder gives a VRF proof
 * per version and the commitments of the versions below the target (and, in a fixed-version search, of those above
 * it that a ladder shows included); then the responder runs the client's algorithm over the view, step for step, so that every
 * timestamp and prefix proof it records (proof-recorder.ts) is the one the client asks for when it asks: the
 * search binary ladder at each log entry, leaving out what the response showed to the left (included) or right
 * (absent), from the stored versions' positions. Draft-05 has no negative result: a label or version the tree does
 * not hold, one erased, or one only expired log entries hold is refused (errors.ts).
 */
import {
  binaryLadder,
  runSearchLadder,
  type LadderResult,
  shownAround,
} from '../../verifier/keytrans/binary-ladder.js';
import { directPath, left, right, root } from '../../verifier/keytrans/search-tree.js';
import type { BinaryLadderStep, SearchRequest, SearchResponse } from '../../verifier/keytrans/types.js';
import { rightmostDistinguished } from '../../verifier/keytrans/view.js';
import type { DeploymentView } from './deployment-view.js';
import { ResponderError } from './errors.js';
import { CombinedProofRecorder, checkRequest, fullTreeHead, LabelHistory } from './proof-recorder.js';

/** What one search binary ladder at one log entry showed. */
interface LadderRun {
  result: LadderResult;
  included: number[];
  absent: number[];
}

/** What the search algorithms read: as the client's SearchContext, with the view in place of the response. */
interface SearchContext {
  view: DeploymentView;
  recorder: CombinedProofRecorder;
  history: LabelHistory;
  size: number;
  target: number;
  shown: Map<number, LadderRun>;
}

const expiredVersion = (target: number) =>
  new ResponderError('kt_version_expired', `version ${target} of the label is held only by expired log entries`);

/**
 * The SearchResponse to `request` from the deployment at `view`'s size; a ResponderError for a request it
 * refuses (see the file comment).
 */
export function respondSearch(view: DeploymentView, request: SearchRequest): SearchResponse {
  checkRequest(view, request.last, false);
  const history = new LabelHistory(view, request.label);
  const { target, opening, value } = searchTarget(history, request.version);
  const size = view.treeHead.treeSize;
  const recorder = new CombinedProofRecorder(view, request.last);
  recorder.readViewUpdate();
  const ctx: SearchContext = { view, recorder, history, size, target, shown: new Map() };
  if (request.version === null) greatestVersionSearch(ctx);
  else fixedVersionSearch(ctx);
  rightmostDistinguished(size, (p) => recorder.timestamp(p), view.config.reasonableMonitoringWindow);
  return {
    fullTreeHead: fullTreeHead(view, request.last),
    ...(request.version === null ? { version: target } : {}),
    opening,
    value,
    binaryLadder: ladderSteps(ctx),
    search: recorder.finish(),
  };
}

/** The version searched for: the greatest, or the one asked for, which must be held and not erased. */
function searchTarget(history: LabelHistory, version: number | null) {
  const greatest = history.greatest;
  if (greatest === null) throw new ResponderError('kt_label_absent', 'the label has no version in this tree');
  const target = version ?? greatest;
  if (!Number.isInteger(target) || target < 0 || target > greatest)
    throw new ResponderError('kt_version_absent', `the label has no version ${target} in this tree`);
  const { opening, value } = history.versions[target];
  if (opening === null || value === null)
    throw new ResponderError('kt_version_erased', `version ${target} of the label was erased`);
  return { target, opening, value };
}

/**
 * "Search", step 2: a VRF proof per version of the target's ladder, and the commitments the client needs: every
 * version below the target, none for the target (the client computes it), and, in a fixed-version search, each
 * version above it that some log entry's ladder shows included (a greatest-version search shows none).
 */
function ladderSteps(ctx: SearchContext): BinaryLadderStep[] {
  const shownIncluded = new Set([...ctx.shown.values()].flatMap((run) => run.included));
  return binaryLadder(ctx.target).map((v) =>
    ctx.history.step(v, v < ctx.target || (v > ctx.target && shownIncluded.has(v))),
  );
}

/** The search binary ladder at log entry `x`: its lookups' prefix proof recorded, what it showed kept. */
function ladderAt(ctx: SearchContext, x: number): LadderResult {
  const holds = (v: number) => ctx.history.holds(v, x);
  const { lookups, result } = runSearchLadder(ctx.target, holds, shownAround(ctx.shown, x));
  ctx.recorder.prefixProof(
    x,
    lookups.map((v) => ctx.history.key(v).vrfOutput),
  );
  ctx.shown.set(x, { result, included: lookups.filter(holds), absent: lookups.filter((v) => !holds(v)) });
  return result;
}

/** "Greatest-Version Search / Algorithm": down the frontier from the rightmost distinguished log entry. */
function greatestVersionSearch(ctx: SearchContext): void {
  const timestampOf = (p: number) => ctx.recorder.timestamp(p);
  const start = rightmostDistinguished(ctx.size, timestampOf, ctx.view.config.reasonableMonitoringWindow);
  for (let x: number | null = start ?? root(ctx.size); x !== null; x = right(x, ctx.size)) ladderAt(ctx, x);
}

/** Whether the log entry at `x` is expired: `maximum_lifetime` or more older than the rightmost ("Maximum Lifetime"). */
function expired(ctx: SearchContext, x: number): boolean {
  const lifetime = ctx.view.config.maximumLifetime;
  const ts = (p: number) => ctx.recorder.timestamp(p);
  return lifetime !== null && ts(ctx.size - 1) - ts(x) >= lifetime;
}

/** Whether an unexpired distinguished log entry lies on `x`'s direct path, left of it. */
function distinguishedLeftOf(ctx: SearchContext, x: number): boolean {
  return directPath(x, ctx.size).some((a) => a < x && !expired(ctx, a) && ctx.recorder.distinguished(a));
}

/** "Fixed-Version Search / Algorithm": the binary search for the first log entry holding the target. */
function fixedVersionSearch(ctx: SearchContext): void {
  let sawExpired = false;
  for (let x: number | null = root(ctx.size); x !== null; ) {
    ctx.recorder.timestamp(x);
    if (expired(ctx, x)) {
      sawExpired = true;
      x = right(x, ctx.size);
      continue;
    }
    const result = ladderAt(ctx, x);
    if (result === 'less') x = right(x, ctx.size);
    else if (result === 'greater') x = left(x);
    else {
      if (!directPath(x, ctx.size).some((a) => expired(ctx, a))) return;
      if (ctx.recorder.distinguished(x) || distinguishedLeftOf(ctx, x)) return;
      throw expiredVersion(ctx.target);
    }
  }
  fixedVersionFallback(ctx, sawExpired);
}

/** Step 6: the leftmost log entry shown holding a greater version, where the target is looked up again. */
function fixedVersionFallback(ctx: SearchContext, sawExpired: boolean): void {
  const greater = [...ctx.shown].filter(([, run]) => run.result === 'greater').map(([x]) => x);
  if (greater.length === 0) throw expiredVersion(ctx.target); // the target is held: only expiry skipped it
  const y = Math.min(...greater);
  if (sawExpired && !distinguishedLeftOf(ctx, y)) throw expiredVersion(ctx.target);
  ctx.recorder.prefixProof(y, [ctx.history.key(ctx.target).vrfOutput]);
}
