/**
 * The log's answer to a KEYTRANS `ContactMonitorRequest` (draft-ietf-keytrans-protocol-05, "Monitoring the Tree",
 * its "Binary Ladder" and "Contact Algorithm", and "User Operations / Contact Monitor"), the mirror of
 * verifier/keytrans/monitor.ts: for each entry of the client's monitoring map, rightmost first, the log entries on
 * its direct path to its right, up to and including the first distinguished one, each get a monitoring binary
 * ladder (every version of the ladder up to the monitored one, all included) unless a ladder for a greater
 * version was already given there; the timestamps and prefix proofs are recorded in the order the client reads
 * them (proof-recorder.ts). A map the client itself would refuse (out of order, a version twice), or one whose
 * entries the tree does not bear out (a position past the client's tree, a version not held there), is refused
 * with 'kt_bad_request'.
 */
import { monitoringBinaryLadder } from '../../verifier/keytrans/binary-ladder.js';
import { rightDirectPath } from '../../verifier/keytrans/search-tree.js';
import type { ContactMonitorRequest, ContactMonitorResponse, MonitorMapEntry } from '../../verifier/keytrans/types.js';
import type { DeploymentView } from './deployment-view.js';
import { ResponderError } from './errors.js';
import { CombinedProofRecorder, checkRequest, fullTreeHead, LabelHistory } from './proof-recorder.js';

const badRequest = (message: string) => new ResponderError('kt_bad_request', message);

/** What the contact algorithm reads: the recorder, the label's history, and the version each ladder was for. */
interface MonitorContext {
  recorder: CombinedProofRecorder;
  history: LabelHistory;
  size: number;
  ladders: Map<number, number>;
}

/**
 * The ContactMonitorResponse to `request` from the deployment at `view`'s size; a ResponderError for a request it
 * refuses (see the file comment).
 */
export function respondContactMonitor(view: DeploymentView, request: ContactMonitorRequest): ContactMonitorResponse {
  checkRequest(view, request.last, true);
  const history = new LabelHistory(view, request.label);
  checkMap(history, request.entries, request.last!);
  const recorder = new CombinedProofRecorder(view, request.last);
  recorder.readViewUpdate();
  const ctx: MonitorContext = { recorder, history, size: view.treeHead.treeSize, ladders: new Map() };
  const moved: MonitorMapEntry[] = [];
  for (const entry of [...request.entries].reverse()) {
    const where = moveEntry(ctx, entry);
    if (where) moved.push(where);
  }
  for (const e of moved) recorder.distinguished(e.position); // the client's filter of the map it keeps
  return { fullTreeHead: fullTreeHead(view, request.last), monitor: recorder.finish() };
}

/**
 * The map as the client checks it (ascending positions, no version twice), each entry a position of the client's
 * tree holding its version ('kt_bad_request').
 */
function checkMap(history: LabelHistory, entries: readonly MonitorMapEntry[], last: number): void {
  for (let i = 1; i < entries.length; i++)
    if (entries[i].position <= entries[i - 1].position)
      throw badRequest('the monitoring map must be in ascending order of position');
  if (new Set(entries.map((e) => e.version)).size !== entries.length)
    throw badRequest('the monitoring map holds a version twice');
  for (const { position, version } of entries) {
    if (!Number.isSafeInteger(position) || position < 0 || position >= last)
      throw badRequest(`the monitored position ${position} is not in the client's tree of ${last}`);
    if (!history.holds(version, position))
      throw badRequest(`the log entry at ${position} does not hold version ${version} of the label`);
  }
}

/** "Contact Algorithm", steps 1 to 3 for one map entry: where it moves, or null once it needs no monitoring. */
function moveEntry(ctx: MonitorContext, entry: MonitorMapEntry): MonitorMapEntry | null {
  if (ctx.recorder.distinguished(entry.position)) return entry;
  let at = entry.position;
  for (const a of inspectionList(ctx, entry.position)) {
    const earlier = ctx.ladders.get(a);
    if (earlier !== undefined) {
      if (earlier > entry.version) return null;
      throw badRequest(`log entry ${a} gets a ladder for version ${earlier}, not above version ${entry.version}`);
    }
    const keys = monitoringBinaryLadder(entry.version).map((v) => ctx.history.key(v).vrfOutput);
    ctx.recorder.prefixProof(a, keys);
    ctx.ladders.set(a, entry.version);
    at = a;
  }
  return { position: at, version: entry.version };
}

/** Step 2: `x`'s direct path right of it, ending just after the first distinguished log entry. */
function inspectionList(ctx: MonitorContext, x: number): number[] {
  const list: number[] = [];
  for (const a of rightDirectPath(x, ctx.size).sort((p, q) => p - q)) {
    list.push(a);
    if (ctx.recorder.distinguished(a)) break;
  }
  return list;
}
