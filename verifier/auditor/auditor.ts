/**
 * The auditor: follows a directory's log through its C2SP tlog-tiles entry bundles, from its saved state to
 * the log's current checkpoint (verified under the pins and witness policy), and checks what no client
 * can:
 * - every entry is in the signed tree: the tree hash of all entries read (`Frontier`) equals the
 *   checkpoint's root, which also proves each checkpoint consistent with the last one audited;
 * - every epoch is what its updates make it (`MapReplay`): versions in sequence, history chains, the epoch
 *   head's log range, credential set and map root;
 * - with `checkEnrolment` (Node: log/providers/enrolment-audit.ts), every provider enrolment against the trusted roots.
 * A log that rewrites or drops an update, forges an epoch's map, or rolls back fails with a VerifyError
 * (`inconsistent_checkpoint`, `rollback`, `replay_*`, `bad_enrolment`). The state (`AuditorState`) is
 * returned only after a whole audit succeeded; after a failure, resume from the last saved state.
 * I/O only through the `fetch` it is given.
 */
import type { EnrolmentEntry } from '../formats/entries.js';
import type { CheckpointVerifier } from '../verification/checkpoint-policy.js';
import { ClientError, VerifyError } from '../verification/errors.js';
import { Frontier } from '../formats/frontier.js';
import { MapReplay, type ReplayState } from '../verification/map-replay.js';
import { decodeEntryBundle, entryBundlePath, TILE_WIDTH } from '../formats/tiles.js';
import { readBounded } from '../http/bounded-body.js';
import { type Fetch } from '../http/tile-fetch.js';
import { parseCheckpoint, type Checkpoint } from '../formats/checkpoint.js';
import { splitNote } from '../../wasm-free-crypto/note.js';
import { equalBytes, utf8 } from '../../wasm-free-crypto/bytes.js';

/** What an auditor saves between runs. */
export interface AuditorState {
  /** The last checkpoint audited, or null before the first audit. */
  checkpoint: string | null;
  frontier: Uint8Array[];
  replay: ReplayState;
}

export interface AuditorOptions {
  /** The URL of the log's `/log` prefix. */
  logUrl: string;
  checkpoints: CheckpointVerifier;
  fetch?: Fetch;
  state?: AuditorState;
  checkEnrolment?: (entry: EnrolmentEntry, index: number) => Promise<void>;
  onProgress?: (done: number, total: number) => void;
}

/** An entry bundle holds at most 256 entries of at most 64 KiB each. */
const MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + 0xffff);

export class Auditor {
  private readonly fetch: Fetch;
  private state: AuditorState | undefined;
  /** The checkpoint note of the audit in progress or last run (for evidence when it fails). */
  checkpointNote: string | undefined;

  constructor(readonly opts: AuditorOptions) {
    this.fetch = opts.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.state = opts.state;
  }

  /**
   * Audits up to the log's current checkpoint, or up to `checkpointNote` (a witness in auditing mode
   * audits the checkpoint submitted to it); returns the new state to save and what was covered.
   */
  async audit(checkpointNote?: string): Promise<{ state: AuditorState; from: number; checkpoint: Checkpoint }> {
    const note = checkpointNote ?? (await this.getText(`${this.opts.logUrl}/checkpoint`, 256 * 1024));
    this.checkpointNote = note;
    const cp = this.opts.checkpoints.verify(note).checkpoint;
    const replay = this.state ? MapReplay.fromState(this.state.replay) : new MapReplay();
    const frontier = this.resumeFrontier(replay.size);
    const from = replay.size;
    if (cp.size < from)
      throw new VerifyError(
        'rollback',
        `the log's checkpoint has ${cp.size} entries, fewer than the ${from} already audited`,
      );
    // After a replay failure the entries are still read into the frontier: if they are not the signed
    // tree, the log served entries it did not sign (inconsistent_checkpoint); if they are, the signed tree
    // itself is wrong and the replay's error stands.
    let replayError: unknown;
    for (let n = Math.floor(from / TILE_WIDTH); n * TILE_WIDTH < cp.size; n++) {
      const width = Math.min(TILE_WIDTH, cp.size - n * TILE_WIDTH);
      const entries = await this.bundle(n, width);
      for (let i = Math.max(0, from - n * TILE_WIDTH); i < width; i++) {
        frontier.push(entries[i]);
        if (replayError === undefined) replayError = await this.replay(replay, n * TILE_WIDTH + i, entries[i]);
      }
      this.opts.onProgress?.(n * TILE_WIDTH + width, cp.size);
    }
    if (!equalBytes(frontier.root(), cp.rootHash))
      throw new VerifyError(
        'inconsistent_checkpoint',
        `the entries the log serves do not make the tree of ${cp.size} entries it signed`,
      );
    if (replayError !== undefined) throw replayError;
    let replayState;
    try {
      replayState = replay.exportState();
    } catch {
      throw new VerifyError(
        'checkpoint_mid_epoch',
        `the checkpoint of ${cp.size} entries does not end with an epoch head`,
      );
    }
    this.state = { checkpoint: note, frontier: frontier.hashes(), replay: replayState };
    return { state: this.state, from, checkpoint: cp };
  }

  /** The saved frontier, checked to give the root of the saved checkpoint (else the state is damaged). */
  private resumeFrontier(size: number): Frontier {
    if (!this.state) return new Frontier();
    try {
      const frontier = new Frontier(size, this.state.frontier);
      const saved =
        this.state.checkpoint &&
        parseCheckpoint(splitNote(utf8(this.state.checkpoint)).text, { allowExtensions: true });
      if (!saved || saved.size !== size || !equalBytes(saved.rootHash, frontier.root()))
        throw new Error("the frontier does not give the saved checkpoint's root");
      return frontier;
    } catch (e) {
      throw new ClientError('bad_replay_state', `the saved audit state is damaged: ${(e as Error).message}`);
    }
  }

  /** Replays one entry (and checks an enrolment); returns the error instead of throwing it. */
  private async replay(replay: MapReplay, index: number, entry: Uint8Array): Promise<unknown> {
    try {
      const enrolments = replay.enrolments.length;
      replay.apply(index, entry);
      if (this.opts.checkEnrolment && replay.enrolments.length > enrolments)
        await this.opts.checkEnrolment(replay.enrolments[enrolments].entry, index);
      return undefined;
    } catch (e) {
      return e;
    }
  }

  private async bundle(n: number, width: number): Promise<Uint8Array[]> {
    const url = `${this.opts.logUrl}/${entryBundlePath(n, width)}`;
    const res = await this.get(url);
    const entries = (() => {
      try {
        return decodeEntryBundle(res);
      } catch (e) {
        throw new VerifyError('bad_bundle', `${entryBundlePath(n, width)}: ${(e as Error).message}`);
      }
    })();
    if (entries.length !== width)
      throw new VerifyError('bad_bundle', `${entryBundlePath(n, width)} holds ${entries.length} entries, not ${width}`);
    return entries;
  }

  private async get(url: string, max = MAX_BUNDLE_BYTES): Promise<Uint8Array> {
    let res: Response;
    try {
      res = await this.fetch(url);
    } catch (e) {
      throw new ClientError('network', `${url}: ${(e as Error).message}`);
    }
    if (res.status !== 200) throw new ClientError('unavailable', `${url}: HTTP ${res.status}`);
    return readBounded(res, max);
  }

  private async getText(url: string, max: number): Promise<string> {
    return new TextDecoder().decode(await this.get(url, max));
  }
}
