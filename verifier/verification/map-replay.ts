/**
 * The auditor's replay of the directory from its log alone: entries are applied in log order; each update must be its
 * label's previous version plus one and extends the label's history hash chain; each epoch head must name the log
 * range of the entries since the previous head, the map root that the replayed updates produce, and the root and
 * count of the credential set (every enrolment so far). Any rewritten, dropped or forged update, or a forged epoch
 * map, makes the replay fail with a `VerifyError`. Pure and synchronous: the caller feeds entries (from tiles and
 * bundles it verified against a checkpoint) in order, starting at index 0.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { recordHash, rootFromLeafHashes } from '../formats/tlog.js';
import { historyHash, HISTORY_ZERO } from '../formats/directory-hashes.js';
import { decodeEntry, type EnrolmentEntry, type EpochHeadEntry } from '../formats/entries.js';
import { PrefixTree } from '../formats/prefix-tree.js';
import { type MapLeaf } from '../formats/map-proof.js';
import { ClientError, VerifyError } from './errors.js';

/**
 * A replay's state between epochs (after an epoch head, nothing pending), for auditors that resume:
 * every map leaf as label ‖ uint64 version ‖ history hash (72 bytes each), the credential set's leaf
 * hashes and where the replay stands.
 */
export interface ReplayState {
  size: number;
  lastEpoch: number;
  leaves: Uint8Array;
  credentials: Uint8Array[];
  lastHead: Uint8Array | null;
}

export class MapReplay {
  private tree = new PrefixTree();
  private readonly pending = new Map<string, MapLeaf>();
  /** Leaf hashes of every enrolment entry so far (the credential set). */
  private readonly credentials: Uint8Array[] = [];
  private nextIndex = 0;
  private epochStart = 0;
  private lastEpoch = -1;
  /** Every enrolment entry so far, for checking their certificate chains (verifier/enrolment/enrolment-check.ts). */
  readonly enrolments: { index: number; entry: EnrolmentEntry }[] = [];
  /** The last epoch head replayed and verified. */
  lastHead: EpochHeadEntry | null = null;

  private lastHeadBytes: Uint8Array | null = null;

  /** The state to resume from; only between epochs (the log's checkpoints always end with an epoch head). */
  exportState(): ReplayState {
    if (this.pending.size > 0 || this.epochStart !== this.nextIndex)
      throw new VerifyError('replay_mid_epoch', 'the replay can only be saved right after an epoch head');
    const leaves = this.tree.leaves();
    const out = new Uint8Array(72 * leaves.length);
    leaves.forEach((l, i) => {
      out.set(l.label, 72 * i);
      new DataView(out.buffer).setBigUint64(72 * i + 32, BigInt(l.version));
      out.set(l.historyHash, 72 * i + 40);
    });
    return {
      size: this.nextIndex,
      lastEpoch: this.lastEpoch,
      leaves: out,
      credentials: this.credentials.map((c) => c.slice()),
      lastHead: this.lastHeadBytes,
    };
  }

  /**
   * A replay resumed from `state`, checked against its own epoch head (map root, log range, credential
   * set): a damaged state is a ClientError (`bad_replay_state`), not blamed on the log.
   */
  static fromState(state: ReplayState): MapReplay {
    const r = new MapReplay();
    if (state.leaves.length % 72 !== 0)
      throw new ClientError('bad_replay_state', 'the saved leaves are not whole 72-byte records');
    const view = new DataView(state.leaves.buffer, state.leaves.byteOffset, state.leaves.byteLength);
    const leaves = Array.from({ length: state.leaves.length / 72 }, (_, i) => ({
      label: state.leaves.slice(72 * i, 72 * i + 32),
      version: Number(view.getBigUint64(72 * i + 32)),
      historyHash: state.leaves.slice(72 * i + 40, 72 * i + 72),
    }));
    r.tree = PrefixTree.fromLeaves(leaves);
    r.credentials.push(...state.credentials.map((c) => c.slice()));
    r.nextIndex = r.epochStart = state.size;
    r.lastEpoch = state.lastEpoch;
    if (state.lastHead) {
      const head = decodeEntry(state.lastHead);
      const matches =
        head.type === 'epoch' &&
        head.epoch === state.lastEpoch &&
        equalBytes(head.mapRoot, r.tree.root()) &&
        head.firstIndex + head.count + 1 === state.size &&
        head.credentialCount === state.credentials.length &&
        equalBytes(head.credentialsRoot, rootFromLeafHashes(state.credentials));
      if (!matches)
        throw new ClientError(
          'bad_replay_state',
          'the saved state does not match its own epoch head (map, range or credential set): it is damaged',
        );
      r.lastHead = head;
      r.lastHeadBytes = state.lastHead;
    } else if (state.size !== 0 || state.leaves.length !== 0)
      throw new ClientError('bad_replay_state', 'a saved state past entry 0 needs its epoch head');
    return r;
  }

  /** Number of entries applied so far (the next expected log index). */
  get size(): number {
    return this.nextIndex;
  }

  /** Applies the entry at log index `index`; throws VerifyError if the log misbehaved. */
  apply(index: number, entryBytes: Uint8Array): void {
    if (index !== this.nextIndex)
      throw new VerifyError('replay_out_of_order', `expected entry ${this.nextIndex}, got ${index}`);
    let entry;
    try {
      entry = decodeEntry(entryBytes);
    } catch (e) {
      throw new VerifyError('replay_bad_entry', `entry ${index} does not decode: ${(e as Error).message}`);
    }
    if (entry.type === 'update') this.applyUpdate(index, entry.label, entry.version, entry.commitment);
    else if (entry.type === 'epoch') {
      this.applyEpoch(index, entry);
      this.lastHeadBytes = entryBytes.slice();
    } else if (entry.type === 'enrol') {
      this.credentials.push(recordHash(entryBytes));
      this.enrolments.push({ index, entry });
    }
    this.nextIndex++;
  }

  private applyUpdate(index: number, label: Uint8Array, version: number, commitment: Uint8Array): void {
    const key = String.fromCharCode.apply(null, label as unknown as number[]); // a cheap exact key (latin1)
    const previous = this.pending.get(key) ?? this.tree.get(label);
    if (version !== (previous?.version ?? 0) + 1) {
      throw new VerifyError(
        'replay_version_fork',
        `entry ${index}: version ${version} does not follow version ${previous?.version ?? 0} of its label`,
      );
    }
    const history = historyHash(previous?.historyHash ?? HISTORY_ZERO, version, commitment);
    this.pending.set(key, { label, version, historyHash: history });
  }

  private applyEpoch(index: number, head: EpochHeadEntry): void {
    if (head.epoch !== this.lastEpoch + 1)
      throw new VerifyError(
        'replay_epoch_sequence',
        `entry ${index}: epoch ${head.epoch} does not follow epoch ${this.lastEpoch}`,
      );
    if (head.firstIndex !== this.epochStart || head.firstIndex + head.count !== index) {
      throw new VerifyError(
        'replay_epoch_range',
        `entry ${index}: epoch ${head.epoch} names entries [${head.firstIndex}, +${head.count}) but covers [${this.epochStart}, ${index})`,
      );
    }
    if (
      head.credentialCount !== this.credentials.length ||
      !equalBytes(head.credentialsRoot, rootFromLeafHashes(this.credentials))
    ) {
      throw new VerifyError(
        'replay_credentials_root',
        `epoch ${head.epoch}: the credential set differs from the enrolments in the log`,
      );
    }
    const root = this.tree.applyBatch([...this.pending.values()]);
    this.pending.clear();
    if (!equalBytes(root, head.mapRoot))
      throw new VerifyError(
        'replay_map_root',
        `epoch ${head.epoch}: the replayed map root differs from the epoch head's`,
      );
    this.lastEpoch = head.epoch;
    this.epochStart = index + 1;
    this.lastHead = head;
  }
}
