/**
 * The auditor's replay of the directory from its log alone: entries are applied in log order; each update must be its
 * label's previous version plus one and extends the label's history hash chain; each epoch head must name the log
 * range of the entries since the previous head, the map root that the replayed updates produce, and the root and
 * count of the credential set (every enrolment so far). Any rewritten, dropped or forged update, or a forged epoch
 * map, makes the replay fail with a `VerifyError`. Pure and synchronous: the caller feeds entries (from tiles and
 * bundles it verified against a checkpoint) in order, starting at index 0. The replayed map is a stored map
 * (verifier/formats/stored-map.ts) in a store the caller gives (in memory by default), read as the store reads
 * (through its own bounded cache, for kt audit's) and written once per epoch after its root matched: memory holds
 * one epoch's updates, not the map, so an auditor with storage of its own can replay a directory of any size.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { recordHash, rootFromLeafHashes } from '../formats/tlog.js';
import { historyHash, HISTORY_ZERO } from '../formats/directory-hashes.js';
import { decodeEntry, type EnrolmentEntry, type EpochHeadEntry } from '../formats/entries.js';
import type { MapBatch } from '../formats/map-batch.js';
import type { MapNodeRow } from '../formats/map-nodes.js';
import { type MapLeaf } from '../formats/map-proof.js';
import { MemoryMapStore, StoredMap, type MapNodeStore } from '../formats/stored-map.js';
import { ClientError, VerifyError } from './errors.js';

/**
 * A replay's state between epochs (after an epoch head, nothing pending), for auditors that resume: where
 * the replay stands and the credential set's leaf hashes; the map is in the replay's store.
 */
export interface ReplayState {
  size: number;
  lastEpoch: number;
  credentials: Uint8Array[];
  lastHead: Uint8Array | null;
  /**
   * Only in a state saved by a release before the stored map: every map leaf as label ‖ uint64 version ‖
   * history hash (72 bytes each). `fromState` builds the store's rows from it, once.
   */
  leaves?: Uint8Array;
}

/** The leaves of an old state's 72-byte records. */
function leavesOfRecords(records: Uint8Array): MapLeaf[] {
  if (records.length % 72 !== 0)
    throw new ClientError('bad_replay_state', 'the saved leaves are not whole 72-byte records');
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  return Array.from({ length: records.length / 72 }, (_, i) => ({
    label: records.slice(72 * i, 72 * i + 32),
    version: Number(view.getBigUint64(72 * i + 32)),
    historyHash: records.slice(72 * i + 40, 72 * i + 72),
  }));
}

/** Whether the stored map's root is `root` and its top node is sound (a store of another state is not). */
function storedRootIs(map: StoredMap, root: Uint8Array): boolean {
  try {
    return equalBytes(map.root(), root) && map.topIsSound();
  } catch {
    return false; // a malformed or missing row
  }
}

/**
 * A label's updates since the last epoch head (MapReplay.pending): the first's entry index and version, the
 * last version, and either the first's commitment (one update, not yet checked against the map) or the
 * history hash after the last (several: the first was checked against the map at the second).
 */
interface PendingLabel {
  index: number;
  label: Uint8Array;
  first: number;
  last: number;
  commitment: Uint8Array;
  history: Uint8Array | null;
}

function versionFork(index: number, version: number, previous: number): VerifyError {
  return new VerifyError(
    'replay_version_fork',
    `entry ${index}: version ${version} does not follow version ${previous} of its label`,
  );
}

export class MapReplay {
  private readonly map: StoredMap;
  /** The labels updated since the last epoch head, in log order of their first update this epoch. */
  private readonly pending = new Map<string, PendingLabel>();
  /** Leaf hashes of every enrolment entry so far (the credential set). */
  private readonly credentials: Uint8Array[] = [];
  private nextIndex = 0;
  private epochStart = 0;
  private lastEpoch = -1;

  /** The epoch of the last epoch head replayed (-1 before the first). */
  get epoch(): number {
    return this.lastEpoch;
  }
  /** Every enrolment entry so far, for checking their certificate chains (verifier/enrolment/enrolment-check.ts). */
  readonly enrolments: { index: number; entry: EnrolmentEntry }[] = [];
  /** The last epoch head replayed and verified. */
  lastHead: EpochHeadEntry | null = null;

  private lastHeadBytes: Uint8Array | null = null;
  /** The epoch a KEYTRANS heads entry just applied names: the next entry must be that epoch's head. */
  private keyTransEpoch: number | null = null;

  /**
   * A replay from entry 0 into `store` (which must hold no map yet). It reads the store directly: a store whose
   * reads are slow keeps a cache of its own (kt audit's SQLite store, cli/audit-store.ts).
   */
  constructor(private readonly store: MapNodeStore = new MemoryMapStore()) {
    this.map = new StoredMap(store);
  }

  /** The state to resume from; only between epochs (the log's checkpoints always end with an epoch head). */
  exportState(): ReplayState {
    if (this.pending.size > 0 || this.epochStart !== this.nextIndex)
      throw new VerifyError('replay_mid_epoch', 'the replay can only be saved right after an epoch head');
    return {
      size: this.nextIndex,
      lastEpoch: this.lastEpoch,
      credentials: this.credentials.map((c) => c.slice()),
      lastHead: this.lastHeadBytes,
    };
  }

  /**
   * A replay resumed from `state` and the store the replay that saved it wrote to, checked against the
   * state's own epoch head (map root, log range, credential set): a damaged state or a store of another
   * state is a ClientError (`bad_replay_state`), not blamed on the log. A state of the release before the
   * stored map carries its leaves: the store's rows are built from them first.
   */
  static fromState(state: ReplayState, store: MapNodeStore = new MemoryMapStore()): MapReplay {
    if (state.leaves !== undefined) {
      // The rows of those leaves put into the empty map as one batch (the store must hold no map yet).
      const leaves = leavesOfRecords(state.leaves);
      let rows: MapNodeRow[];
      try {
        rows = new StoredMap(store).plan(leaves).rows;
      } catch (e) {
        throw new ClientError('bad_replay_state', `the saved leaves do not make a map: ${(e as Error).message}`);
      }
      store.writeMapRows(rows);
    }
    const r = new MapReplay(store);
    r.credentials.push(...state.credentials.map((c) => c.slice()));
    r.nextIndex = r.epochStart = state.size;
    r.lastEpoch = state.lastEpoch;
    if (state.lastHead) {
      const head = decodeEntry(state.lastHead);
      const matches =
        head.type === 'epoch' &&
        head.epoch === state.lastEpoch &&
        storedRootIs(r.map, head.mapRoot) &&
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
    } else if (state.size !== 0 || r.map.top() !== null)
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
    if (this.keyTransEpoch !== null && (entry.type !== 'epoch' || entry.epoch !== this.keyTransEpoch))
      throw new VerifyError(
        'replay_keytrans_heads',
        `entry ${index - 1}: the KEYTRANS heads of epoch ${this.keyTransEpoch} are not followed by that epoch's head`,
      );
    this.keyTransEpoch = entry.type === 'keytrans' ? entry.epoch : null;
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

  /**
   * Records an update. A label's first update of the epoch must follow its version in the map, checked at
   * the epoch head, where the batch's one walk down the map finds every label's leaf (a read down each
   * label's path here was a fifth of the replay), or at the label's second update of the epoch, which reads
   * its path then; each later update must follow the one before, checked here. Memory: one entry per label.
   */
  private applyUpdate(index: number, label: Uint8Array, version: number, commitment: Uint8Array): void {
    const key = String.fromCharCode.apply(null, label as unknown as number[]); // a cheap exact key (latin1)
    const p = this.pending.get(key);
    if (p === undefined) {
      this.pending.set(key, { index, label, first: version, last: version, commitment, history: null });
      return;
    }
    if (p.history === null) {
      const before = this.map.get(label);
      if (p.first !== (before?.version ?? 0) + 1)
        throw this.firstFork(p.index, versionFork(p.index, p.first, before?.version ?? 0));
      p.history = historyHash(before?.historyHash ?? HISTORY_ZERO, p.first, p.commitment);
    }
    if (version !== p.last + 1) throw this.firstFork(index, versionFork(index, version, p.last));
    p.history = historyHash(p.history, version, commitment);
    p.last = version;
  }

  /** The first version fork in log order: `fork`, at `index`, unless an earlier label's first update is one. */
  private firstFork(index: number, fork: VerifyError): VerifyError {
    for (const p of this.pending.values()) {
      if (p.index >= index) break; // in log order of their first updates
      const before = p.history === null ? this.map.get(p.label) : undefined;
      if (p.history === null && p.first !== (before?.version ?? 0) + 1)
        return versionFork(p.index, p.first, before?.version ?? 0);
    }
    return fork;
  }

  /**
   * The epoch's batch: each label's updates chained onto its leaf in the map, found on the batch's one walk
   * down the map. A label's first update must follow that leaf's version: the first such fork in log order
   * is thrown, once the walk is over.
   */
  private planEpoch(): MapBatch {
    const labels = [...this.pending.values()];
    let fork: VerifyError | null = null;
    let forkIndex = Number.POSITIVE_INFINITY;
    const batch = this.map.planFrom(
      labels.map((p) => p.label),
      (i, before) => {
        const p = labels[i];
        if (p.history !== null) return { label: p.label, version: p.last, historyHash: p.history };
        if (p.first !== (before?.version ?? 0) + 1 && p.index < forkIndex) {
          forkIndex = p.index;
          fork = versionFork(p.index, p.first, before?.version ?? 0);
        }
        const history = historyHash(before?.historyHash ?? HISTORY_ZERO, p.first, p.commitment);
        return { label: p.label, version: p.first, historyHash: history };
      },
    );
    if (fork) throw fork;
    return batch;
  }

  private applyEpoch(index: number, head: EpochHeadEntry): void {
    const batch = this.planEpoch(); // first: a version fork is an earlier entry's fault
    if (head.epoch !== this.lastEpoch + 1)
      throw new VerifyError(
        'replay_epoch_sequence',
        `entry ${index}: epoch ${head.epoch} does not follow epoch ${this.lastEpoch}`,
      );
    // The directory never dates an epoch before the one it follows (log/directory/directory.ts, runEpoch): the
    // receipts' deadlines and a client's maximum lag are judged by these times.
    if (this.lastHead && head.time < this.lastHead.time)
      throw new VerifyError(
        'replay_epoch_time',
        `entry ${index}: epoch ${head.epoch} is dated ${head.time}, before epoch ${this.lastHead.epoch} (${this.lastHead.time})`,
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
    this.pending.clear();
    if (!equalBytes(batch.root, head.mapRoot))
      throw new VerifyError(
        'replay_map_root',
        `epoch ${head.epoch}: the replayed map root differs from the epoch head's`,
      );
    this.store.writeMapRows(batch.rows); // only a root the epoch head signed is written
    this.lastEpoch = head.epoch;
    this.epochStart = index + 1;
    this.lastHead = head;
  }
}
