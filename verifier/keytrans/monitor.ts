/**
 * Contact monitoring in KEYTRANS (draft-ietf-keytrans-protocol-05, "Monitoring the Tree", its "Binary Ladder"
 * and "Contact Algorithm", and "User Operations / Contact Monitor"), verified synchronously with no I/O. A client
 * that looked a label up in contact monitoring mode keeps a map from log positions to the versions it saw there;
 * each monitoring response moves every entry up the implicit binary search tree: for each map entry, rightmost
 * first, the log entries on its direct path to its right, up to and including the first distinguished one, each
 * give a monitoring binary ladder (every version of the ladder below or at the monitored one, all included, with
 * the VRF outputs and commitments the client retained from its search), and the entry moves there. An entry that
 * reaches a distinguished log entry needs no more monitoring and leaves the map. The head and the log tree are
 * checked last (head.ts).
 */
import { monitoringBinaryLadder } from './binary-ladder.js';
import { CombinedProofReader } from './combined-proof.js';
import { KeyTransError } from './errors.js';
import { headSize, retainedEntries, verifyHead, type GlobalState } from './head.js';
import { prefixProofRoot } from './prefix-tree.js';
import { rightDirectPath } from './search-tree.js';
import type { CipherSuite } from './suites.js';
import type { Configuration, ContactMonitorRequest, ContactMonitorResponse, MonitorMapEntry } from './types.js';
import { isDistinguished, readViewUpdate } from './view.js';

/** A version of a label whose search key (and commitment, if it exists) the client retained from a search. */
export interface RetainedVersion {
  vrfOutput: Uint8Array;
  commitment: Uint8Array | null;
}

/** What a verified contact monitoring gives: the state to keep, and the map still to monitor. */
export interface MonitorResult {
  state: GlobalState;
  contact: MonitorMapEntry[];
}

const bad = (message: string) => new KeyTransError('kt_bad_proof', message);

/** The monitoring ladders of one response: the version each log entry's ladder was for. */
type Ladders = Map<number, number>;

interface MonitorContext {
  suite: CipherSuite;
  config: Configuration;
  reader: CombinedProofReader;
  size: number;
  retained: ReadonlyMap<number, RetainedVersion>;
  ladders: Ladders;
}

/**
 * Verifies `response` to `request` (whose entries are the client's map, ascending by position) for a client
 * holding `state` and the versions it retained of the label, at time `now`; returns the state to keep and the map
 * still to monitor.
 */
export function verifyContactMonitor(
  suite: CipherSuite,
  config: Configuration,
  state: GlobalState,
  retained: ReadonlyMap<number, RetainedVersion>,
  request: ContactMonitorRequest,
  response: ContactMonitorResponse,
  now: number,
): MonitorResult {
  if (request.last !== state.treeHead.treeSize)
    throw new KeyTransError('kt_bad_input', 'the request must advertise the tree size the client holds');
  checkMap(request.entries);
  const size = headSize(response.fullTreeHead, state);
  const reader = new CombinedProofReader(response.monitor, retainedEntries(state));
  readViewUpdate(reader, state.treeHead.treeSize, size, now, config);
  const ctx: MonitorContext = { suite, config, reader, size, retained, ladders: new Map() };
  const moved: MonitorMapEntry[] = [];
  for (const entry of [...request.entries].reverse()) {
    const where = moveEntry(ctx, entry);
    if (where) moved.push(where);
  }
  const contact = moved.filter((e) => !distinguished(ctx, e.position)).sort((a, b) => a.position - b.position);
  return {
    state: verifyHead(suite, config, response.fullTreeHead, state, reader, response.monitor.inclusion),
    contact,
  };
}

/** A monitoring map: ascending positions, no position or version twice ("Contact Monitor"). */
function checkMap(entries: readonly MonitorMapEntry[]): void {
  for (let i = 1; i < entries.length; i++)
    if (entries[i].position <= entries[i - 1].position)
      throw new KeyTransError('kt_bad_input', 'the monitoring map must be in ascending order of position');
  if (new Set(entries.map((e) => e.version)).size !== entries.length)
    throw new KeyTransError('kt_bad_input', 'the monitoring map holds a version twice');
}

function distinguished(ctx: MonitorContext, x: number): boolean {
  return isDistinguished(x, ctx.size, (p) => ctx.reader.timestamp(p), ctx.config.reasonableMonitoringWindow);
}

/** "Contact Algorithm", steps 1 to 3 for one map entry: where it moves, or null if it needs no monitoring. */
function moveEntry(ctx: MonitorContext, entry: MonitorMapEntry): MonitorMapEntry | null {
  if (distinguished(ctx, entry.position)) return entry;
  let at = entry.position;
  for (const a of inspectionList(ctx, entry.position)) {
    const earlier = ctx.ladders.get(a);
    if (earlier !== undefined) {
      if (earlier > entry.version) return null; // a greater version was shown there: this one is settled
      throw bad(`log entry ${a} was shown a ladder for version ${earlier}, not above version ${entry.version}`);
    }
    monitoringLadderAt(ctx, a, entry.version);
    at = a;
  }
  return { position: at, version: entry.version };
}

/** Step 2: `x`'s direct path right of it, ending just after the first distinguished log entry. */
function inspectionList(ctx: MonitorContext, x: number): number[] {
  const list: number[] = [];
  for (const a of rightDirectPath(x, ctx.size).sort((p, q) => p - q)) {
    list.push(a);
    if (distinguished(ctx, a)) break;
  }
  return list;
}

/** A monitoring binary ladder at log entry `a` for `version`: every lookup included, with the retained keys. */
function monitoringLadderAt(ctx: MonitorContext, a: number, version: number): void {
  const searches = monitoringBinaryLadder(version).map((v) => {
    const kept = ctx.retained.get(v);
    if (!kept?.commitment) throw new KeyTransError('kt_bad_input', `version ${v} of the label was not retained`);
    return { vrfOutput: kept.vrfOutput, commitment: kept.commitment };
  });
  ctx.reader.prefixProof(a, (proof) => ({ root: prefixProofRoot(ctx.suite, proof, searches), result: undefined }));
  ctx.ladders.set(a, version);
}
