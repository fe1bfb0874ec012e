/**
 * The log's side of a `CombinedTreeProof` (draft-ietf-keytrans-protocol-05, "Tree Proofs", "Combined Tree"), shared
 * by the responders: the proof has no index, so the client (verifier/keytrans/combined-proof.ts) consumes its
 * timestamps and prefix proofs as queues, in the order its algorithms run; a responder runs the same algorithms
 * over the deployment's view and records, through `CombinedProofRecorder`, exactly what the client will ask for:
 * a log entry's timestamp the first time one is asked for (unless the client retained it, on the frontier of the
 * tree size it advertised), a `PrefixProof` of the searched keys each time one is asked for, then the prefix roots
 * of the log entries given without a prefix proof and one batch inclusion proof of every log entry given
 * ("Tree Proofs / Log Tree"). Beside it: the checks of a request's `last`, the `FullTreeHead` ("Full Tree Head
 * Verification"), and a label's history as the binary ladders read it ("Binary Ladder").
 */
import { proveLogBatch } from '../../verifier/keytrans/log-prove.js';
import { provePrefix } from '../../verifier/keytrans/prefix-prove.js';
import { frontier, updateView } from '../../verifier/keytrans/search-tree.js';
import type { BinaryLadderStep, CombinedTreeProof, FullTreeHead, PrefixProof } from '../../verifier/keytrans/types.js';
import { isDistinguished } from '../../verifier/keytrans/view.js';
import type { DeploymentView, SearchKey, StoredVersion } from './deployment-view.js';
import { ResponderError } from './errors.js';

/** What the recorder knows of one log entry the client reaches. */
interface Reached {
  /** Whether its timestamp goes in the proof (not retained by the client), so it is a leaf of `inclusion`. */
  given: boolean;
  /** Whether a prefix proof was given for it (else, if given, its prefix root goes in `prefix_roots`). */
  proven: boolean;
}

/** Records a combined tree proof in the order `CombinedProofReader` reads it (see the file comment). */
export class CombinedProofRecorder {
  private readonly reached = new Map<number, Reached>();
  private readonly timestamps: number[] = [];
  private readonly prefixProofs: PrefixProof[] = [];

  /** For a client that advertised `last` (null: a new client, which retained nothing). */
  constructor(
    private readonly view: DeploymentView,
    private readonly last: number | null,
  ) {
    for (const p of last === null ? [] : frontier(last)) this.reached.set(p, { given: false, proven: false });
  }

  /** The tree size the view shows. */
  get size(): number {
    return this.view.treeHead.treeSize;
  }

  /** The timestamp of the log entry at `position`, recorded the first time the client would read it. */
  timestamp(position: number): number {
    const timestamp = this.view.entry(position).timestamp;
    if (!this.reached.has(position)) {
      this.reached.set(position, { given: true, proven: false });
      this.timestamps.push(timestamp);
    }
    return timestamp;
  }

  /**
   * "Updating Views of the Tree": the timestamps that move the client's view from the size it advertised to the
   * view's, in the draft's order, then the rightmost one, which the client checks against its clock.
   */
  readViewUpdate(): void {
    for (const p of updateView(this.last ?? 0, this.size)) this.timestamp(p);
    this.timestamp(this.size - 1);
  }

  /** Records the PrefixProof of the searches for `keys` in the prefix tree of the (reached) log entry at `position`. */
  prefixProof(position: number, keys: readonly Uint8Array[]): void {
    const entry = this.reached.get(position);
    if (!entry) throw new Error(`responder: a prefix proof of log entry ${position}, which the client has not reached`);
    this.prefixProofs.push(provePrefix(this.view.suite, this.view.prefixAt(position), keys));
    entry.proven = true;
  }

  /** Whether the log entry at `position` is distinguished, reading timestamps as the client does (view.ts). */
  distinguished(position: number): boolean {
    const rmw = this.view.config.reasonableMonitoringWindow;
    return isDistinguished(position, this.size, (p) => this.timestamp(p), rmw);
  }

  /** The combined proof: what was recorded, the prefix roots not proven, the inclusion of every entry given. */
  finish(): CombinedTreeProof {
    const given = [...this.reached].filter(([, r]) => r.given).map(([p]) => p);
    given.sort((a, b) => a - b);
    const prefixRoots = given.filter((p) => !this.reached.get(p)!.proven).map((p) => this.view.entry(p).prefixTree);
    const inclusion = proveLogBatch(this.view.suite, this.view.logHashes, {
      treeSize: this.size,
      leaves: given,
      retainedSize: this.last,
      additionalSize: null,
    });
    return { timestamps: this.timestamps, prefixProofs: this.prefixProofs, prefixRoots, inclusion };
  }
}

/**
 * Checks the tree size a request advertises (`required`: the operation needs a client that holds a head) and the
 * deployment's mode; 'kt_bad_last' for a size past the view's, zero or not an integer.
 */
export function checkRequest(view: DeploymentView, last: number | null, required: boolean): void {
  if (view.config.mode === 'thirdPartyAuditing')
    throw new ResponderError('kt_unsupported_mode', "thirdPartyAuditing needs an auditor's tree head");
  if (last === null) {
    if (required) throw new ResponderError('kt_bad_last', 'this operation needs the tree size the client holds');
    return;
  }
  const size = view.treeHead.treeSize;
  if (!Number.isSafeInteger(last) || last < 1 || last > size)
    throw new ResponderError('kt_bad_last', `the advertised tree size ${String(last)} is not in 1..${size}`);
}

/** "Full Tree Head Verification": `same` when the client holds this tree size, else the view's signed head. */
export function fullTreeHead(view: DeploymentView, last: number | null): FullTreeHead {
  if (last === view.treeHead.treeSize) return { headType: 'same' };
  return { headType: 'updated', treeHead: view.treeHead };
}

/** A label's versions at the view's size, as the binary ladders read them log entry by log entry. */
export class LabelHistory {
  readonly versions: StoredVersion[];

  constructor(
    private readonly view: DeploymentView,
    readonly label: Uint8Array,
  ) {
    this.versions = view.versions(label);
  }

  /** The greatest version, null for a label with none at this size. */
  get greatest(): number | null {
    return this.versions.length === 0 ? null : this.versions.length - 1;
  }

  /** Whether the prefix tree of the log entry at `position` holds `version`. */
  holds(version: number, position: number): boolean {
    const v = this.versions[version];
    return v !== undefined && v.position <= position;
  }

  /** The greatest version the log entry at `position` holds, null for none. */
  greatestAt(position: number): number | null {
    let g: number | null = null;
    for (const v of this.versions) if (v.position <= position) g = v.version;
    return g;
  }

  /** The search key of `version`: stored, or given by the view's VRF for a version the tree does not hold. */
  key(version: number): SearchKey {
    const stored = this.versions[version];
    return stored ?? this.view.searchKey(this.label, version);
  }

  /** The binary ladder step of `version` ("Search", step 2): its VRF proof, and its commitment if asked and held. */
  step(version: number, withCommitment: boolean): BinaryLadderStep {
    const stored = this.versions[version];
    return { proof: this.key(version).vrfProof, commitment: withCommitment ? (stored?.commitment ?? null) : null };
  }
}
