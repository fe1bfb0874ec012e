/**
 * The log's answers to a label owner (draft-ietf-keytrans-protocol-05, "Owner Algorithm" and "User Operations /
 * Owner Initialization, Owner Monitoring"), the mirrors of verifier/keytrans/owner.ts. Initialization: from the
 * starting log entry (distinguished, unexpired) and the entries on its direct path to its left up to the first
 * expired one, the greatest version of the label at each, a binary ladder step for every version of their
 * ladders (its VRF proof, and its commitment if the starting entry holds it, so that every commitment given is
 * one a ladder checks), and a full search binary ladder at each. Monitoring: the distinguished log entries right
 * of the owner's start, walked in the draft's order, each given a full search binary ladder for the version the
 * owner holds, until one holds another greatest version (a new version the owner must process): there the log
 * stops giving prefix proofs, which tells the client to stop. Timestamps and prefix proofs are recorded in the
 * order the client reads them (proof-recorder.ts); a start or an owner state the tree does not bear out is
 * refused with 'kt_bad_request'.
 */
import { binaryLadder, runSearchLadder } from '../../verifier/keytrans/binary-ladder.js';
import { directPath, left, right, root } from '../../verifier/keytrans/search-tree.js';
import type {
  OwnerInitRequest,
  OwnerInitResponse,
  OwnerMonitorRequest,
  OwnerMonitorResponse,
} from '../../verifier/keytrans/types.js';
import type { DeploymentView } from './deployment-view.js';
import { ResponderError } from './errors.js';
import { CombinedProofRecorder, checkRequest, fullTreeHead, LabelHistory } from './proof-recorder.js';

const badRequest = (message: string) => new ResponderError('kt_bad_request', message);

/** What the owner algorithms read. */
interface OwnerContext {
  view: DeploymentView;
  recorder: CombinedProofRecorder;
  history: LabelHistory;
  size: number;
}

/** A full search binary ladder at `x` (nothing left out) for `target`, the greatest version there (null: none). */
function fullLadderAt(ctx: OwnerContext, x: number, target: number | null): void {
  ctx.recorder.timestamp(x);
  const { lookups } = runSearchLadder(target ?? 0, (v) => ctx.history.holds(v, x));
  ctx.recorder.prefixProof(
    x,
    lookups.map((v) => ctx.history.key(v).vrfOutput),
  );
}

/** Step 1 of the first algorithm: `start`, then its direct path to its left, up to the first expired entry. */
function initList(ctx: OwnerContext, start: number): number[] {
  const lifetime = ctx.view.config.maximumLifetime;
  const rightmost = ctx.recorder.timestamp(ctx.size - 1);
  const list: number[] = [];
  for (const x of [start, ...directPath(start, ctx.size).filter((a) => a < start)]) {
    if (lifetime !== null && rightmost - ctx.recorder.timestamp(x) >= lifetime) break;
    list.push(x);
  }
  return list;
}

/**
 * The OwnerInitResponse to `request` from the deployment at `view`'s size; a ResponderError for a start past the
 * tree, not distinguished or expired, or a `last` it refuses.
 */
export function respondOwnerInit(view: DeploymentView, request: OwnerInitRequest): OwnerInitResponse {
  checkRequest(view, request.last, false);
  const size = view.treeHead.treeSize;
  if (!Number.isSafeInteger(request.start) || request.start < 0 || request.start >= size)
    throw badRequest(`the starting position ${request.start} is not in the tree of ${size}`);
  const recorder = new CombinedProofRecorder(view, request.last);
  recorder.readViewUpdate();
  const ctx: OwnerContext = { view, recorder, history: new LabelHistory(view, request.label), size };
  for (const a of [...directPath(request.start, size)].reverse()) recorder.timestamp(a);
  if (!recorder.distinguished(request.start))
    throw badRequest(`the starting position ${request.start} is not distinguished`);
  const list = initList(ctx, request.start);
  if (list[0] !== request.start) throw badRequest(`the starting position ${request.start} is expired`);
  const atList = list.map((x) => ctx.history.greatestAt(x));
  const greatestVersions = atList.filter((g): g is number => g !== null);
  const targets = [...greatestVersions, ...(greatestVersions.length < list.length ? [0] : [])];
  const versions = [...new Set(targets.flatMap((g) => binaryLadder(g)))].sort((a, b) => a - b);
  list.forEach((x, i) => fullLadderAt(ctx, x, atList[i]));
  return {
    fullTreeHead: fullTreeHead(view, request.last),
    greatestVersions,
    binaryLadder: versions.map((v) => ctx.history.step(v, v <= (greatestVersions[0] ?? -1))),
    init: recorder.finish(),
  };
}

/**
 * The OwnerMonitorResponse to `request` from the deployment at `view`'s size; a ResponderError for a `last` it
 * refuses, map entries (the client does not monitor its own yet), or a start and greatest version that do not
 * fit the tree.
 */
export function respondOwnerMonitor(view: DeploymentView, request: OwnerMonitorRequest): OwnerMonitorResponse {
  checkRequest(view, request.last, true);
  if (request.entries.length > 0) throw badRequest("monitoring the owner's own map entries is not supported");
  const history = new LabelHistory(view, request.label);
  const { start, greatestVersion } = request;
  if (!Number.isSafeInteger(start) || start < 0 || start >= request.last!)
    throw badRequest(`the starting position ${start} is not in the client's tree of ${request.last}`);
  if (history.greatestAt(start) !== greatestVersion)
    throw badRequest(`the log entry at ${start} does not hold version ${greatestVersion} as the greatest`);
  const recorder = new CombinedProofRecorder(view, request.last);
  recorder.readViewUpdate();
  const size = view.treeHead.treeSize;
  const ctx: OwnerContext = { view, recorder, history, size };
  let stopped = false;
  const visit = (x: number | null): void => {
    if (x === null || stopped || !recorder.distinguished(x)) return;
    if (x <= start) return visit(right(x, size));
    visit(left(x));
    if (stopped || history.greatestAt(x) !== greatestVersion) {
      stopped = true;
      return;
    }
    fullLadderAt(ctx, x, greatestVersion);
    visit(right(x, size));
  };
  visit(root(size));
  return { fullTreeHead: fullTreeHead(view, request.last), monitor: recorder.finish() };
}
