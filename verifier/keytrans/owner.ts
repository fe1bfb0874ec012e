/**
 * The label owner's side of KEYTRANS (draft-ietf-keytrans-protocol-05, "Owner Algorithm" and "User Operations /
 * Owner Initialization, Owner Monitoring"), verified synchronously with no I/O. Initialization: from a starting
 * log entry (unexpired and distinguished) and the entries on its direct path to its left, the greatest version of
 * the label at each, and a full search binary ladder at each proving it. Monitoring: the distinguished log entries
 * right of the start the owner verified, walked in the draft's order, each giving a full search binary ladder for
 * the version the owner expects there; the log may stop early (for a new version the owner must process), and the
 * owner's start moves to the rightmost log entry it verified, and the result says where the log stopped. The
 * request's `greatest_version` must be the owner's; a ladder claiming a greater version, or a log that stops
 * before a distinguished log entry with no ladder given (`checkOwnerProgress`), is the owner's alert
 * ('kt_greatest_version'): a version it did not make. Contact monitoring of the owner's own map entries
 * (monitor.ts) is not part of this yet: a request with entries is refused.
 */
import { binaryLadder, runSearchLadder } from './binary-ladder.js';
import { CombinedProofReader } from './combined-proof.js';
import { KeyTransError } from './errors.js';
import { headSize, retainedEntries, verifyHead, type GlobalState } from './head.js';
import type { RetainedVersion } from './monitor.js';
import { prefixProofRoot } from './prefix-tree.js';
import { directPath, left, right, root } from './search-tree.js';
import { encodeVrfInput } from './signed-structures.js';
import type { CipherSuite } from './suites.js';
import type {
  Configuration,
  OwnerInitRequest,
  OwnerInitResponse,
  OwnerMonitorRequest,
  OwnerMonitorResponse,
} from './types.js';
import { isDistinguished, readViewUpdate } from './view.js';

/** The owner's state of a label (katie's model): where its verified history starts, and the version there. */
export interface OwnerState {
  starting: number;
  versionAtStarting: number | null;
}

export interface OwnerResult {
  state: GlobalState;
  owner: OwnerState;
  retained: Map<number, RetainedVersion>;
}

const bad = (message: string) => new KeyTransError('kt_bad_proof', message);

interface OwnerContext {
  suite: CipherSuite;
  config: Configuration;
  reader: CombinedProofReader;
  size: number;
  retained: Map<number, RetainedVersion>;
}

function distinguished(ctx: OwnerContext, x: number): boolean {
  return isDistinguished(x, ctx.size, (p) => ctx.reader.timestamp(p), ctx.config.reasonableMonitoringWindow);
}

/**
 * A full search binary ladder at `x` (nothing left out) that must show `target` as the greatest version. In an
 * owner's monitoring (`monitoring`), a ladder placing the greatest version above the target is the draft's alert
 * ('kt_greatest_version'): a version the owner did not make. The owner cannot check that claim's prefix proof (it
 * has no commitment for that version), and an honest log stops before that log entry instead.
 */
function fullLadderAt(ctx: OwnerContext, x: number, target: number | null, monitoring = false): void {
  ctx.reader.timestamp(x);
  ctx.reader.prefixProof(x, (proof) => {
    const outcomes: boolean[] = [];
    const run = runSearchLadder(target ?? 0, (v) => {
      const r = proof.results[outcomes.length];
      if (!r) throw bad(`the prefix proof of log entry ${x} has too few results for its ladder`);
      outcomes.push(r.resultType === 'inclusion');
      return outcomes[outcomes.length - 1];
    });
    const wanted = target === null ? 'less' : 'equal';
    const above = run.result === 'greater' || (target === null && run.result === 'equal');
    const what = `log entry ${x} does not hold ${target === null ? 'no version' : `version ${target} as its greatest`}`;
    if (run.result !== wanted)
      throw monitoring && above ? new KeyTransError('kt_greatest_version', `${what}, but a greater one`) : bad(what);
    const searches = run.lookups.map((v, i) => {
      const kept = ctx.retained.get(v);
      if (!kept) throw bad(`log entry ${x}'s ladder looks up version ${v}, which the client has no key for`);
      if (outcomes[i] && !kept.commitment) throw bad(`version ${v} shown included without a commitment`);
      return { vrfOutput: kept.vrfOutput, commitment: outcomes[i] ? kept.commitment : null };
    });
    return { root: prefixProofRoot(ctx.suite, proof, searches), result: undefined };
  });
}

/** Step 1 of the first algorithm: `start`, then its direct path to its left, up to the first expired entry. */
function initList(ctx: OwnerContext, start: number): number[] {
  const lifetime = ctx.config.maximumLifetime;
  const rightmost = ctx.reader.timestamp(ctx.size - 1);
  const list: number[] = [];
  for (const x of [start, ...directPath(start, ctx.size).filter((a) => a < start)]) {
    if (lifetime !== null && rightmost - ctx.reader.timestamp(x) >= lifetime) break;
    list.push(x);
  }
  return list;
}

/** Steps 2 to 4: the greatest versions, the ladder's VRF proofs, the commitments of the versions that exist. */
function initKeys(
  suite: CipherSuite,
  config: Configuration,
  request: OwnerInitRequest,
  response: OwnerInitResponse,
  listLength: number,
): Map<number, RetainedVersion> {
  const greatest = response.greatestVersions;
  if (greatest.length > listLength) throw bad(`${greatest.length} greatest versions for ${listLength} log entries`);
  for (let i = 1; i < greatest.length; i++)
    if (greatest[i] > greatest[i - 1]) throw bad('the greatest versions are not in descending order');
  const targets = [...greatest, ...(greatest.length < listLength ? [0] : [])];
  const versions = [...new Set(targets.flatMap((g) => binaryLadder(g)))].sort((a, b) => a - b);
  if (response.binaryLadder.length !== versions.length)
    throw bad(`${response.binaryLadder.length} binary ladder steps for ${versions.length} versions`);
  const keys = new Map<number, RetainedVersion>();
  versions.forEach((v, i) => {
    const { proof, commitment } = response.binaryLadder[i];
    if (greatest.includes(v) && commitment === null) throw bad(`no commitment for version ${v}, a greatest one`);
    const vrfOutput = suite.vrfVerify(config.vrfPublicKey, encodeVrfInput({ label: request.label, version: v }), proof);
    keys.set(v, { vrfOutput, commitment });
  });
  return keys;
}

/** Verifies an OwnerInitResponse ("Owner Initialization"); returns the states to keep. */
export function verifyOwnerInit(
  suite: CipherSuite,
  config: Configuration,
  state: GlobalState | null,
  request: OwnerInitRequest,
  response: OwnerInitResponse,
  now: number,
): OwnerResult {
  if (request.last !== (state?.treeHead.treeSize ?? null))
    throw new KeyTransError('kt_bad_input', 'the request must advertise the tree size the client holds');
  const size = headSize(response.fullTreeHead, state);
  if (request.start >= size) throw bad(`the starting position ${request.start} is past the log`);
  const reader = new CombinedProofReader(response.init, retainedEntries(state));
  readViewUpdate(reader, state?.treeHead.treeSize ?? 0, size, now, config);
  const ctx: OwnerContext = { suite, config, reader, size, retained: new Map() };
  for (const a of [...directPath(request.start, size)].reverse()) reader.timestamp(a); // the path from the root
  if (!distinguished(ctx, request.start)) throw bad(`the starting position ${request.start} is not distinguished`);
  const list = initList(ctx, request.start);
  if (list[0] !== request.start) throw new KeyTransError('kt_expired', 'the starting position is expired');
  ctx.retained = initKeys(suite, config, request, response, list.length);
  list.forEach((x, i) => fullLadderAt(ctx, x, response.greatestVersions[i] ?? null));
  const owner = { starting: request.start, versionAtStarting: response.greatestVersions[0] ?? null };
  const next = verifyHead(suite, config, response.fullTreeHead, state, reader, response.init.inclusion);
  // Kept: the keys of the ladder the owner's monitoring asks for (the version at the start as the greatest).
  const needed = new Set(binaryLadder(owner.versionAtStarting ?? 0));
  return { state: next, owner, retained: new Map([...ctx.retained].filter(([v]) => needed.has(v))) };
}

/**
 * An OwnerMonitorRequest as the owner's state makes it ("Owner Monitoring"): the tree size and start it holds, no
 * map entries yet, and as `greatest_version` the greatest version the owner is aware of. With no version after the
 * start held yet, that is the version at the start, which every ladder of the response must then show.
 */
function checkMonitorRequest(state: GlobalState, owner: OwnerState, request: OwnerMonitorRequest): void {
  if (request.last !== state.treeHead.treeSize || request.start !== owner.starting)
    throw new KeyTransError('kt_bad_input', 'the request must advertise the tree size and the start the client holds');
  if (request.entries.length > 0)
    throw new KeyTransError('kt_bad_input', "monitoring the owner's own map entries is not supported yet");
  if (request.greatestVersion !== owner.versionAtStarting)
    throw new KeyTransError(
      'kt_greatest_version',
      `the request advertises greatest version ${request.greatestVersion}, the owner holds ${owner.versionAtStarting}`,
    );
}

/** What a verified owner's monitoring gives: the states to keep, and where the log stopped, if it did. */
export interface OwnerMonitorResult extends OwnerResult {
  /**
   * The distinguished log entry right of the start at which the response's ladders ended ("Owner Algorithm", the
   * second algorithm, step 4), null when the walk reached the rightmost distinguished log entry. The log stops
   * there when the label's greatest version there is not the one the owner advertised, or at its output limit;
   * `checkOwnerProgress` tells the two apart.
   */
  stoppedAt: number | null;
}

/**
 * Verifies an OwnerMonitorResponse ("Owner Monitoring") for an owner holding `owner` and the versions it
 * retained; returns the states to keep (the start moved to the rightmost log entry verified) and where the
 * response stopped. A response that stops early is valid (the user's only stop condition is the end of the
 * response); whether the owner may go on is `checkOwnerProgress`.
 */
export function verifyOwnerMonitor(
  suite: CipherSuite,
  config: Configuration,
  state: GlobalState,
  owner: OwnerState,
  retained: Map<number, RetainedVersion>,
  request: OwnerMonitorRequest,
  response: OwnerMonitorResponse,
  now: number,
): OwnerMonitorResult {
  checkMonitorRequest(state, owner, request);
  const size = headSize(response.fullTreeHead, state);
  const reader = new CombinedProofReader(response.monitor, retainedEntries(state));
  readViewUpdate(reader, state.treeHead.treeSize, size, now, config);
  const ctx: OwnerContext = { suite, config, reader, size, retained };
  const walk: { verified: number; stoppedAt: number | null } = { verified: owner.starting, stoppedAt: null };
  const visit = (x: number | null): void => {
    if (x === null || walk.stoppedAt !== null || !distinguished(ctx, x)) return;
    if (x <= owner.starting) return visit(right(x, size));
    visit(left(x));
    if (walk.stoppedAt !== null) return;
    if (!reader.hasPrefixProofs()) {
      walk.stoppedAt = x;
      return;
    }
    fullLadderAt(ctx, x, owner.versionAtStarting, true);
    walk.verified = Math.max(walk.verified, x);
    visit(right(x, size));
  };
  visit(root(size));
  const next = verifyHead(suite, config, response.fullTreeHead, state, reader, response.monitor.inclusion);
  return { state: next, owner: { ...owner, starting: walk.verified }, retained, stoppedAt: walk.stoppedAt };
}

/**
 * "Owner Algorithm", the second algorithm, and the paragraph after it: the owner queries again until the walk
 * reaches the rightmost distinguished log entry. A response that stopped before a distinguished log entry having
 * verified none right of the start can never get there: the log stops at a log entry without a ladder only where
 * the label's greatest version is greater than the one advertised (step 4; an output limit of no ladder at all
 * is none). That version is one the owner did not process ("Updating a Label": this client makes no update), so
 * it is the owner's alert, 'kt_greatest_version', as a ladder showing that version would be. Returns whether the
 * owner's monitoring is complete; an incomplete one that moved the start is asked again from there.
 */
export function checkOwnerProgress(before: OwnerState, result: OwnerMonitorResult): boolean {
  const { stoppedAt, owner } = result;
  if (stoppedAt !== null && owner.starting === before.starting)
    throw new KeyTransError(
      'kt_greatest_version',
      `the log gives no ladder at distinguished log entry ${stoppedAt}: the label has a version there that the owner did not process (it holds ${before.versionAtStarting ?? 'none'})`,
    );
  return stoppedAt === null;
}

/**
 * Whether the owner made every version after the one it held: `held` is the version at its old start (null:
 * none), `greatest` the version at the start an Owner Initialization just verified, `made` the versions the owner
 * says it made since ("Updating a Label" is not built: the owner states them). KEYTRANS versions are dense, so the
 * versions in between are exactly held + 1 to greatest; one not made is the owner's alert, 'kt_greatest_version',
 * and so is a greatest version below the one held.
 */
export function checkMadeVersions(held: number | null, greatest: number | null, made: readonly number[]): void {
  const first = held === null ? 0 : held + 1;
  const last = greatest ?? -1;
  if (last < first - 1)
    throw new KeyTransError(
      'kt_greatest_version',
      `the label's greatest version is ${greatest}, below the ${held} held`,
    );
  const unknown: number[] = [];
  for (let v = first; v <= last && unknown.length < 16; v++) if (!made.includes(v)) unknown.push(v);
  if (unknown.length > 0)
    throw new KeyTransError(
      'kt_greatest_version',
      `the label has version(s) ${unknown.join(', ')} after the ${held ?? 'none'} held, which the owner did not make`,
    );
}
