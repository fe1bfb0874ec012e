/**
 * The directory's map in its store (docs/PROTOCOL.md section 21): the stored prefix tree
 * (verifier/formats/stored-map.ts) read through a bounded cache of rows (verifier/formats/map-cache.ts), so
 * that the sequencer's memory and the cost of opening do not grow with the number of accounts. An epoch
 * plans its batch here and writes the planned rows in its own transaction (directory.ts); the cache takes
 * the new rows only after that commit, and forgets everything after a failed one, so that it never holds a
 * row the store does not. A store written by a release that kept no map rows is upgraded when it opens:
 * the rows are built in one pass over the accounts in label order (verifier/formats/map-build.ts), checked
 * against the last epoch's signed map root and written in one transaction, or not at all.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { buildStoredMap } from '../../verifier/formats/map-build.js';
import { MapNodeCache } from '../../verifier/formats/map-cache.js';
import { keysAlong, MAP_ROOT_KEY, mapKeyString } from '../../verifier/formats/map-nodes.js';
import type { MapLeaf, MapProof } from '../../verifier/formats/map-proof.js';
import type { MapBatch } from '../../verifier/formats/map-batch.js';
import { StoredMap } from '../../verifier/formats/stored-map.js';
import { DirectoryError } from './errors.js';
import { MapRowNotFetched, type DirectoryStore, type LeafRow } from './store.js';
import type { CommittedRead } from './submission.js';

/**
 * How many map rows the sequencer caches by default: about 0.5 KB each in memory (504-627 B of JS heap and
 * buffers, measured at 1M accounts; the nodes of the top 12 levels, at most 4,095, also keep their decoded
 * form, about 1 KB more each: map-decoded.ts), so about 15-20 MB,
 * within a Durable Object's memory; the top 15 levels of the tree (32,767 nodes) nearly fit.
 */
export const DEFAULT_MAP_CACHE_ROWS = 30_000;
/** Labels whose committed leaf the sequencer remembers between a submission and its epoch, at most. */
const LEAF_MEMO = 16_384;
/**
 * The levels below a row a walk met that `fetchPaths` asks for with it: a path below the cache is about 18 rows at
 * 1B accounts, so one round of reads fetches most paths whole (a level a round before: 18 rounds).
 */
const FETCH_AHEAD_DEPTHS = 24;
/** Accounts read per query by the upgrade. */
const UPGRADE_CHUNK = 10_000;

/** The accounts' leaves in ascending label order, read a chunk at a time. */
function* leavesInLabelOrder(store: DirectoryStore): Generator<LeafRow> {
  let after: Uint8Array | null = null;
  for (;;) {
    const chunk = store.leavesAfter(after, UPGRADE_CHUNK);
    yield* chunk;
    if (chunk.length < UPGRADE_CHUNK) return;
    after = chunk[chunk.length - 1].label;
  }
}

/** The map rows of a store that has none, built from its accounts; refused unless they give `signedRoot`. */
export function upgradeStoredMap(store: DirectoryStore, signedRoot: Uint8Array): void {
  store.writeMap((write) => {
    const root = buildStoredMap(leavesInLabelOrder(store), write);
    if (!equalBytes(root, signedRoot))
      throw new DirectoryError('corrupt_directory', "the stored accounts do not reproduce the last epoch's map root");
  });
}

export class DirectoryMap {
  private readonly cache: MapNodeCache;
  private readonly map: StoredMap;
  /** The map read from the store itself: the walks of `fetchPaths` meet every row of a path, cached or not. */
  private readonly uncached: StoredMap;
  /**
   * The committed leaves of labels asked for, and of every label an epoch committed, since the memo was last
   * emptied (null: absent): so that a submission's account row read before an epoch committed still serves
   * its check (directory.ts, checkStillNext) and its epoch's plan unless that epoch committed the label
   * (`committedLeaf`), and a label's path is walked at most once between them otherwise. At most LEAF_MEMO
   * labels; emptied when full and after a failed epoch, updated with each committed epoch's leaves.
   */
  private readonly leaves = new Map<string, MapLeaf | null>();
  private planned: MapLeaf[] = [];
  /** Epochs committed, or failed, since the map opened (the directory's `epochsCommitted`). */
  private commitCount = 0;
  /** The count from which on the memo holds every label an epoch committed: it was last emptied then. */
  private memoFrom = 0;

  private constructor(
    private readonly store: DirectoryStore,
    cacheRows: number,
  ) {
    this.cache = new MapNodeCache(store, cacheRows);
    this.map = new StoredMap(this.cache);
    this.uncached = new StoredMap(store);
  }

  /**
   * Opens the map of a store whose last epoch signed `signedRoot` (null: a new directory, no epoch yet),
   * upgrading a store without map rows first. The root row and the top node are checked against it: their
   * cost does not depend on the number of accounts.
   */
  static open(store: DirectoryStore, signedRoot: Uint8Array | null, cacheRows = DEFAULT_MAP_CACHE_ROWS): DirectoryMap {
    if (signedRoot !== null && store.mapNode(MAP_ROOT_KEY) === undefined) upgradeStoredMap(store, signedRoot);
    const m = new DirectoryMap(store, cacheRows);
    if (signedRoot !== null && !(equalBytes(m.map.root(), signedRoot) && m.map.topIsSound()))
      throw new DirectoryError('corrupt_directory', "the stored map does not reproduce the last epoch's map root");
    return m;
  }

  root(): Uint8Array {
    return this.map.root();
  }

  /** Whether the store keeps its rows elsewhere (`fetchPaths` then reads them). */
  get fetchesRows(): boolean {
    return this.store.fetchMapRows !== undefined;
  }

  /**
   * From a store that keeps its rows elsewhere (store.ts, `fetchMapRows`): fetches the rows of `labels`' paths
   * (each path walked whole, past the memo and past the cache, whose rows it may evict before the plan reads
   * them: the nodes a plan reads are on these paths), so that an epoch's plan or a lookup then reads them
   * without I/O.
   */
  async fetchPaths(labels: Uint8Array[]): Promise<void> {
    if (!this.store.fetchMapRows || labels.length === 0) return;
    await this.store.fetchMapRows((ahead) => {
      for (const label of labels)
        try {
          this.uncached.get(label);
        } catch (e) {
          if (!(e instanceof MapRowNotFetched)) throw e;
          ahead(keysAlong(e.key, label, FETCH_AHEAD_DEPTHS));
        }
    });
  }

  /** The committed leaf of `label` (shared with the memo: never modify it), or undefined if it is absent. */
  get(label: Uint8Array): MapLeaf | undefined {
    const k = mapKeyString(label);
    let leaf = this.leaves.get(k);
    if (leaf === undefined) {
      leaf = this.map.get(label) ?? null;
      this.remember(k, leaf);
    }
    return leaf ?? undefined;
  }

  /**
   * The committed leaf of `label` given `read`, what its account row gave after `read.epochsCommitted` epochs
   * (its history hash null if not read): an epoch since then that committed the label left its leaf in the
   * memo, which has held every label committed since `memoFrom`; so for a read no older than that, a label
   * the memo lacks still has the row's leaf, and the label's path is walked only for an older read, or one
   * without its history. (Sustained submissions meet an epoch's commit between their read and their plan
   * most of the time, and a walk below the cached levels costs tens of row reads at 10M accounts.)
   */
  committedLeaf(label: Uint8Array, read: CommittedRead): MapLeaf | undefined {
    const memo = this.leaves.get(mapKeyString(label));
    if (memo !== undefined) return memo ?? undefined;
    if (read.epochsCommitted < this.memoFrom || (read.version > 0 && read.history === null)) return this.get(label);
    return read.version === 0 ? undefined : { label, version: read.version, historyHash: read.history! };
  }

  /** The committed version of `label` given `read` (0: absent), as `committedLeaf` finds it. */
  committedVersion(label: Uint8Array, read: Omit<CommittedRead, 'history'>): number {
    const memo = this.leaves.get(mapKeyString(label));
    if (memo !== undefined) return memo?.version ?? 0;
    return read.epochsCommitted < this.memoFrom ? (this.get(label)?.version ?? 0) : read.version;
  }

  /** Epochs committed, or failed, since the map opened: a count changed in the tick the map's state changes. */
  get commits(): number {
    return this.commitCount;
  }

  private remember(k: string, leaf: MapLeaf | null): void {
    if (this.leaves.size >= LEAF_MEMO) {
      this.leaves.clear();
      this.memoFrom = this.commitCount; // labels committed up to now may be gone from it
    }
    this.leaves.set(k, leaf);
  }

  /** The map proof of `label` and its leaf, in one walk down its path. */
  lookup(label: Uint8Array): { proof: MapProof; leaf: MapLeaf | undefined } {
    return this.map.lookup(label);
  }

  /** The root and rows an epoch's leaves give (nothing written). */
  plan(leaves: MapLeaf[]): MapBatch {
    const batch = this.map.plan(leaves);
    this.planned = leaves;
    return batch;
  }

  /** After the epoch that wrote `batch`, the last one planned, committed. */
  committed(batch: MapBatch): void {
    this.commitCount++; // first: a memo emptied while the leaves go in lost some of this epoch's
    this.cache.committed(batch.rows);
    for (const leaf of this.planned) this.remember(mapKeyString(leaf.label), leaf);
    this.planned = [];
  }

  /** After an epoch that failed: whatever the store holds now, the cache and the memo hold none of it. */
  failed(): void {
    this.commitCount++;
    this.memoFrom = this.commitCount;
    this.cache.clear();
    this.leaves.clear();
    this.planned = [];
  }

  /** The cache's size and hit counts (for metrics and benchmarks). */
  get cacheStats(): { rows: number; hits: number; misses: number } {
    return this.cache.stats;
  }
}
