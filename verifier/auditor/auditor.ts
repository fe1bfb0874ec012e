/**
 * The auditor: follows a directory's log through its C2SP tlog-tiles entry bundles, from its saved state to
 * the log's current checkpoint (verified under the pins and witness policy), and checks what no client
 * can:
 * - every entry is in the signed tree: the tree hash of all entries read (`Frontier`) equals the
 *   checkpoint's root, which also proves each checkpoint consistent with the last one audited;
 * - every epoch is what its updates make it (`MapReplay`): versions in sequence, history chains, the epoch
 *   head's log range, credential set and map root;
 * - every provider's anchored KEYTRANS tree (`KeyTransHistory`, verifier/keytrans-anchor/history.ts, fed every
 *   KEYTRANS heads entry in log order): it grows by one entry per epoch, never leaves, and each anchored root is
 *   the log tree of the entries anchored so far (docs/PROTOCOL.md section 22.7), which catches an operator
 *   anchoring two trees of a provider in turn;
 * - every provider enrolment against the trusted roots (verifier/enrolment/: the rules the directory applied,
 *   in pure TypeScript), at the entry's time and at the time of the epoch head that commits it, which catches an
 *   operator enrolling its own key under a provider's name, or an expired certificate under a past time. The options
 *   must say how (`enrolment`: the roots, a check of the caller's, or an explicit 'unchecked' that the
 *   result reports), so that no caller skips it by forgetting it.
 * A log that rewrites or drops an update, forges an epoch's map, or rolls back fails with a VerifyError
 * (`inconsistent_checkpoint`, `rollback`, `replay_*`, `bad_enrolment`); a break in the KEYTRANS trees' history
 * with `replay_keytrans_history`. The state (`AuditorState`, with the KEYTRANS history) and the replayed map's
 * rows are kept in an `AuditStore` (audit-store.ts; in memory unless one is given), committed after a whole
 * audit succeeded and part way through a long one (`progressEvery`, at an epoch head, recording the checkpoint it
 * audits toward: `AuditorState.target`); after a failure the store rolls back to the last commit, and the next
 * audit resumes from there, checking the entries read before when it reaches that checkpoint's size. I/O only through the `fetch` it is given (and the store's own).
 */
import {
  decodeKeyTransHeadsEntry,
  ENTRY_EPOCH_HEAD,
  ENTRY_KEYTRANS_HEADS,
  type EnrolmentEntry,
} from '../formats/entries.js';
import { AnchorError } from '../keytrans-anchor/anchor.js';
import { KeyTransHistory } from '../keytrans-anchor/history.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { checkEnrolment, checkTrustedRoots } from '../enrolment/enrolment-check.js';
import type { CheckpointVerifier } from '../verification/checkpoint-policy.js';
import { ClientError, VerifyError } from '../verification/errors.js';
import { Frontier } from '../formats/frontier.js';
import { MapReplay, type ReplayState } from '../verification/map-replay.js';
import { MemoryAuditStore, type AuditStore } from './audit-store.js';
import { prefixInTree, reachTarget } from './audit-progress.js';
import { TILE_WIDTH } from '../formats/tiles.js';
import { fetchEntryBundle } from '../http/entry-fetch.js';
import { readBounded } from '../http/bounded-body.js';
import { request, type Fetch } from '../http/request.js';
import { parseCheckpoint, type Checkpoint } from '../formats/checkpoint.js';
import { splitNote } from '../../wasm-free-crypto/note.js';
import { equalBytes, utf8 } from '../../wasm-free-crypto/bytes.js';

/** What an auditor saves between runs. */
export interface AuditorState {
  /** The last checkpoint audited, or null before the first audit. */
  checkpoint: string | null;
  frontier: Uint8Array[];
  replay: ReplayState;
  /**
   * How many enrolment entries audits so far read without checking them (`enrolment: 'unchecked'`). A state
   * saved before this was recorded lacks it: then every enrolment audited before counts as unchecked.
   */
  uncheckedEnrolments?: number;
  /**
   * The KEYTRANS heads' history (`KeyTransHistory.encode`). A state saved by a release before it lacks it: the
   * next audit reads the entries already audited again, from entry 0 (checked against the saved checkpoint's
   * root; the map is not replayed again), to build it, and only then goes on.
   */
  keyTransHistory?: Uint8Array;
  /**
   * Set in a state saved part way through an audit (`AuditorOptions.progressEvery`): the checkpoint note it was
   * auditing toward. The frontier and the replay are then of the entries read so far, which no checkpoint has
   * covered yet, and `checkpoint` is still the last one an audit reached. The next audit goes on from there:
   * when its frontier reaches this checkpoint's size it must give its root (else `inconsistent_checkpoint`),
   * and a checkpoint of fewer entries is a rollback.
   */
  target?: string;
}

/** `make()`, or a ClientError `bad_replay_state` if it throws: the saved state is damaged (`what`, if given, says how). */
function damagedUnless<T>(make: () => T, what?: string): T {
  try {
    return make();
  } catch (e) {
    const why = what ? `${what} (${(e as Error).message})` : (e as Error).message;
    throw new ClientError('bad_replay_state', `the saved audit state is damaged: ${why}`);
  }
}

/** A checkpoint note the auditor saved (verified when it was audited toward). */
function savedCheckpoint(note: string): Checkpoint {
  return damagedUnless(() => parseCheckpoint(splitNote(utf8(note)).text, { allowExtensions: true }));
}

/**
 * The hash of the KEYTRANS deployments' log trees: SHA-256, as both cipher suites of draft-05 have it
 * (verifier/keytrans/suites.ts); the history needs nothing else of a suite, so the auditor loads no VRF.
 */
const KEYTRANS_SUITE = { hash: sha256 };

/**
 * How the auditor checks provider enrolments. There is no default:
 * - `{ trustedRoots }`: each enrolment entry against these DER roots, with the verifier's own rules
 *   (verifier/enrolment/enrolment-check.ts); the roots are checked when the auditor is made;
 * - `{ check }`: with the caller's function (another X.509 implementation), which throws to fail the audit; it
 *   is called once the epoch head that commits the entry is replayed, with that head's time (`committedAt`, ms),
 *   at which the chain must be valid as well as at the entry's own time;
 * - `'unchecked'`: not at all, and the result says so (`enrolments.checked` false).
 */
export type EnrolmentCheck =
  | { trustedRoots: Uint8Array[] }
  | { check: (entry: EnrolmentEntry, index: number, committedAt: number) => Promise<void> }
  | 'unchecked';

export interface AuditorOptions {
  /** The URL of the log's `/log` prefix. */
  logUrl: string;
  checkpoints: CheckpointVerifier;
  enrolment: EnrolmentCheck;
  fetch?: Fetch;
  /** Where the state and the replayed map are kept (default: in memory, starting from `state`). */
  store?: AuditStore;
  /** The state to start from, with the default store (a state of the release before the stored map too). */
  state?: AuditorState;
  onProgress?: (done: number, total: number) => void;
  /**
   * How often an audit saves its state part way, so that an interrupted audit goes on where it stopped: at the
   * first epoch head after this many entries read since the last save (default 65,536; 0: only at its end).
   * Such a state records the checkpoint audited toward (`AuditorState.target`).
   */
  progressEvery?: number;
}

/** Entries between the saves of an audit in progress, by default. */
export const PROGRESS_EVERY = 65_536;

/** What an audit covered. */
export interface AuditResult {
  state: AuditorState;
  /** The number of entries audited before this audit (read before it, if `continued`). */
  from: number;
  /**
   * Whether this audit went on from a state saved part way through an interrupted audit (`AuditorState.target`):
   * the entries that audit read were checked against the signed tree by this one.
   */
  continued: boolean;
  checkpoint: Checkpoint;
  /**
   * Whether the enrolment entries read were checked (false only with `enrolment: 'unchecked'`), how many were
   * read, and how many of the earlier audits' enrolments were never checked (a check now does not cover them:
   * audit again from the start to check them).
   */
  enrolments: { checked: boolean; read: number; uncheckedEarlier: number };
  /**
   * The KEYTRANS history: the KEYTRANS heads entries this audit read, the providers whose deployments it follows,
   * and how many entries audited before were read again to build it (a state of a release without it; else 0).
   */
  keyTrans: { read: number; providers: number; reread: number };
}

/** Feeds a KEYTRANS heads entry (type 0x04) to `history` (other entries are not its); a break is a VerifyError. */
function applyHeads(history: KeyTransHistory, index: number, entry: Uint8Array): boolean {
  if (entry[0] !== ENTRY_KEYTRANS_HEADS) return false;
  try {
    history.apply(decodeKeyTransHeadsEntry(entry));
  } catch (e) {
    if (e instanceof AnchorError) throw new VerifyError('replay_keytrans_history', `entry ${index}: ${e.message}`);
    throw new VerifyError('replay_bad_entry', `entry ${index} does not decode: ${(e as Error).message}`);
  }
  return true;
}

type EnrolmentHook = ((entry: EnrolmentEntry, index: number, committedAt: number) => Promise<void>) | null;

/** The enrolment check the options ask for; throws when they ask for none or give unusable roots. */
function enrolmentHook(e: EnrolmentCheck | undefined): EnrolmentHook {
  if (e === 'unchecked') return null;
  if (e && 'trustedRoots' in e) {
    const roots = checkTrustedRoots(e.trustedRoots);
    return (entry, _index, committedAt) => checkEnrolment(entry, roots, committedAt);
  }
  if (e && 'check' in e && typeof e.check === 'function') return e.check;
  throw new TypeError("AuditorOptions.enrolment must be { trustedRoots }, { check } or 'unchecked'");
}

export class Auditor {
  private readonly fetch: Fetch;
  private readonly checkEnrolment: EnrolmentHook;
  private readonly store: AuditStore;
  private enrolmentsRead = 0;
  /** The enrolments replayed since the last epoch head: each is checked at the time of the head that commits it. */
  private uncommitted: { index: number; entry: EnrolmentEntry }[] = [];
  private keyTransRead = 0;
  private keyTransReread = 0;
  /** The checkpoint note of the audit in progress or last run (for evidence when it fails). */
  checkpointNote: string | undefined;

  constructor(readonly opts: AuditorOptions) {
    this.fetch = opts.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.checkEnrolment = enrolmentHook(opts.enrolment);
    if (opts.store && opts.state) throw new TypeError('AuditorOptions: give a store or a state, not both');
    this.store = opts.store ?? new MemoryAuditStore(opts.state);
  }

  /**
   * Audits up to the log's current checkpoint, or up to `checkpointNote` (a witness in auditing mode
   * audits the checkpoint submitted to it); returns the new state to save and what was covered.
   */
  async audit(checkpointNote?: string): Promise<AuditResult> {
    try {
      const result = await this.auditOnce(checkpointNote);
      this.store.commit(result.state);
      return result;
    } catch (e) {
      this.store.rollback();
      throw e;
    }
  }

  private async auditOnce(checkpointNote?: string): Promise<AuditResult> {
    const note = checkpointNote ?? (await this.getText(`${this.opts.logUrl}/checkpoint`, 256 * 1024));
    this.checkpointNote = note;
    const cp = this.opts.checkpoints.verify(note).checkpoint;
    const saved = this.store.savedState();
    const replay = saved ? MapReplay.fromState(saved.replay, this.store) : new MapReplay(this.store);
    const frontier = this.resumeFrontier(saved, replay.size);
    // An interrupted audit's target: its entries are checked when the frontier reaches its size.
    const target = saved?.target === undefined ? undefined : this.signedTarget(saved.target);
    const from = replay.size;
    const uncheckedEarlier = saved ? (saved.uncheckedEnrolments ?? saved.replay.credentials.length) : 0;
    this.enrolmentsRead = this.keyTransRead = this.keyTransReread = 0;
    this.uncommitted = [];
    if (target && target.size < from)
      throw new ClientError('bad_replay_state', 'the saved audit state is damaged: its target is behind its replay');
    if (cp.size < Math.max(from, target?.size ?? 0))
      throw new VerifyError(
        'rollback',
        target
          ? `the log's checkpoint has ${cp.size} entries, fewer than the ${target.size} of the checkpoint it signed for the audit interrupted at entry ${from}`
          : `the log's checkpoint has ${cp.size} entries, fewer than the ${from} already audited`,
      );
    const reach = (read: Frontier) => reachTarget(this.fetch, this.opts.logUrl, target!, read, cp.size);
    if (target?.size === from) await reach(frontier);
    // A state of a release without the KEYTRANS history: the entries audited before are read again, from entry 0,
    // into a frontier of their own that must give the saved root, to build it (the map is not replayed again).
    const rebuild = saved !== undefined && saved.keyTransHistory === undefined && from > 0;
    const history = rebuild ? new KeyTransHistory(KEYTRANS_SUITE) : this.resumeHistory(saved);
    const read = rebuild ? new Frontier() : frontier;
    const first = rebuild ? 0 : from;
    this.keyTransReread = rebuild ? from : 0;
    const stateNow = (checkpoint: string | null, toward?: string): AuditorState => ({
      checkpoint,
      frontier: read.hashes(),
      replay: replay.exportState(),
      uncheckedEnrolments: uncheckedEarlier + (this.checkEnrolment !== null ? 0 : this.enrolmentsRead),
      keyTransHistory: history.encode(),
      ...(toward !== undefined && { target: toward }),
    });
    // Saved part way at an epoch head (a replay can resume only there), toward the interrupted audit's target
    // until the frontier has passed it, once the tiles prove the entries read that tree's first; the store's rows
    // are committed with it. `reached`: the last checkpoint whose tree the entries read have made.
    const every = this.opts.progressEvery ?? PROGRESS_EVERY;
    let savedAt = from;
    let reached = target?.size === from ? saved!.target! : (saved?.checkpoint ?? null);
    const saveProgress = async (size: number) => {
      const [toward, tree] = target && size < target.size ? [saved!.target!, target] : [note, cp];
      if (!(await prefixInTree(this.fetch, this.opts.logUrl, read, tree, cp.size))) return;
      this.store.commit(stateNow(reached, toward));
      savedAt = size;
    };
    // After a replay failure the entries are still read into the frontier: if they are not the signed
    // tree, the log served entries it did not sign (inconsistent_checkpoint); if they are, the signed tree
    // itself is wrong and the replay's error stands.
    let replayError: unknown;
    for (let n = Math.floor(first / TILE_WIDTH); n * TILE_WIDTH < cp.size; n++) {
      const width = Math.min(TILE_WIDTH, cp.size - n * TILE_WIDTH);
      const entries = await this.bundle(n, width);
      for (let i = Math.max(0, first - n * TILE_WIDTH); i < width; i++) {
        const index = n * TILE_WIDTH + i;
        read.push(entries[i]);
        if (index + 1 === from && rebuild && !equalBytes(read.root(), frontier.root()))
          throw new VerifyError(
            'inconsistent_checkpoint',
            `the entries the log serves again do not make the tree of the ${from} entries audited before`,
          );
        if (index + 1 === target?.size) {
          await reach(read);
          reached = saved!.target!;
        }
        if (replayError === undefined)
          replayError = await (index < from
            ? this.rereadHeads(history, index, entries[i])
            : this.replay(replay, history, index, entries[i]));
        if (every > 0 && replayError === undefined && index >= from && index + 1 < cp.size)
          if (entries[i][0] === ENTRY_EPOCH_HEAD && index + 1 - savedAt >= every) await saveProgress(index + 1);
      }
      this.opts.onProgress?.(n * TILE_WIDTH + width, cp.size);
    }
    if (!equalBytes(read.root(), cp.rootHash))
      throw new VerifyError(
        'inconsistent_checkpoint',
        `the entries the log serves do not make the tree of ${cp.size} entries it signed`,
      );
    if (replayError !== undefined) throw replayError;
    let state;
    try {
      state = stateNow(note);
    } catch {
      throw new VerifyError(
        'checkpoint_mid_epoch',
        `the checkpoint of ${cp.size} entries does not end with an epoch head`,
      );
    }
    const enrolments = { checked: this.checkEnrolment !== null, read: this.enrolmentsRead, uncheckedEarlier };
    const keyTrans = { read: this.keyTransRead, providers: history.providerCount, reread: this.keyTransReread };
    return { state, from, continued: target !== undefined, checkpoint: cp, enrolments, keyTrans };
  }

  /** The saved target, which must still be a checkpoint the log signed (else the state is damaged). */
  private signedTarget(note: string): Checkpoint {
    return damagedUnless(
      () => this.opts.checkpoints.verifySigned(note).checkpoint,
      'its target is not a checkpoint the log signed',
    );
  }

  /**
   * The saved KEYTRANS history, checked to decode and to be of no epoch after the saved replay's (else the state
   * is damaged); none before the first audit.
   */
  private resumeHistory(state: AuditorState | undefined): KeyTransHistory {
    if (!state?.keyTransHistory) return new KeyTransHistory(KEYTRANS_SUITE);
    try {
      const history = KeyTransHistory.decode(KEYTRANS_SUITE, state.keyTransHistory);
      if ((history.lastEpoch ?? -1) > state.replay.lastEpoch)
        throw new Error(`its epoch ${history.lastEpoch} is after the replay's ${state.replay.lastEpoch}`);
      return history;
    } catch (e) {
      throw new ClientError('bad_replay_state', `the saved audit state is damaged: ${(e as Error).message}`);
    }
  }

  /** An entry audited before, read again to build the KEYTRANS history; returns the error instead of throwing. */
  private async rereadHeads(history: KeyTransHistory, index: number, entry: Uint8Array): Promise<unknown> {
    try {
      applyHeads(history, index, entry);
      return undefined;
    } catch (e) {
      return e;
    }
  }

  /** The saved frontier, checked to give the root of the saved checkpoint (else the state is damaged). */
  private resumeFrontier(state: AuditorState | undefined, size: number): Frontier {
    if (!state) return new Frontier();
    const frontier = damagedUnless(() => new Frontier(size, state.frontier));
    // Part way through an audit, the frontier is checked when it reaches the target's size instead.
    if (state.target !== undefined) return frontier;
    const saved = state.checkpoint === null ? undefined : savedCheckpoint(state.checkpoint);
    if (!saved || saved.size !== size || !equalBytes(saved.rootHash, frontier.root()))
      throw new ClientError(
        'bad_replay_state',
        "the saved audit state is damaged: the frontier does not give the saved checkpoint's root",
      );
    return frontier;
  }

  /**
   * Replays one entry (feeds a KEYTRANS heads entry to the history; at an epoch head, checks the enrolments it
   * commits); returns the error instead of throwing it.
   */
  private async replay(
    replay: MapReplay,
    history: KeyTransHistory,
    index: number,
    entry: Uint8Array,
  ): Promise<unknown> {
    try {
      const enrolments = replay.enrolments.length;
      replay.apply(index, entry);
      if (applyHeads(history, index, entry)) this.keyTransRead++;
      // Every deployment advances every epoch (PROTOCOL 22.3): once one exists, every epoch anchors the heads.
      if (entry[0] === ENTRY_EPOCH_HEAD && history.providerCount > 0 && history.lastEpoch !== replay.epoch)
        throw new VerifyError(
          'replay_keytrans_history',
          `entry ${index}: epoch ${replay.epoch} anchors no KEYTRANS heads, though deployments exist`,
        );
      if (replay.enrolments.length > enrolments) {
        this.enrolmentsRead++;
        this.uncommitted.push(replay.enrolments[enrolments]);
      }
      if (entry[0] === ENTRY_EPOCH_HEAD)
        for (const e of this.uncommitted.splice(0))
          await this.checkEnrolment?.(e.entry, e.index, replay.lastHead!.time);
      return undefined;
    } catch (e) {
      return e;
    }
  }

  private bundle(n: number, width: number): Promise<Uint8Array[]> {
    return fetchEntryBundle(this.fetch, this.opts.logUrl, n, width);
  }

  private async get(url: string, max: number): Promise<Uint8Array> {
    const res = await request(this.fetch, url);
    if (res.status !== 200) throw new ClientError('unavailable', `${url}: HTTP ${res.status}`);
    return readBounded(res, max);
  }

  private async getText(url: string, max: number): Promise<string> {
    return new TextDecoder().decode(await this.get(url, max));
  }
}
