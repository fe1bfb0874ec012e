/**
 * The Durable Object's directory store when D1 is bound: the object's reads of its own bulk (a name's label, an
 * account row, versions: what a submission is checked against and what the object's own lookups read; and the
 * stored map's rows below its cache, which an epoch's plan and a lookup fetch first, `fetchMapRows`) go to the
 * D1 databases that hold them, with the epochs not yet replicated (its outbox, outbox-overlay.ts) laid over them,
 * so that the object reads its own writes; everything else is the object's own store (do-directory-store.ts).
 * These are the first two steps of "The writer past one object" (docs/ARCHITECTURE.md): the object still keeps
 * every row, and reads them itself whenever the replica cannot answer for its committed state:
 * - until this instance's first replication run has finished (a D1 that is behind, ahead of the object or laid
 *   out for another number of shards is refilled first, over as many runs as it takes: d1-refill.ts);
 * - while a refill runs (it empties the databases first), and for a read that was in flight when one began;
 * - when a D1 read fails, or the replica lacks a row it must hold (a name without its account row, a map row a
 *   node names): logged through `onFallback`, and the object's rows answer;
 * - for a map row not fetched (a walk outside `fetchMapRows`: a submission's last check, a lookup whose fetched
 *   rows an epoch dropped).
 * Why the outbox's view is taken before the D1 reads: an outbox row is deleted only after every database holds
 * its epoch, so a view taken first covers whatever the D1 reads may have missed; rows replicated after it are the
 * object's committed state too (the newer of two account rows wins; an erasure, once seen, stays applied).
 */
import { mapKeyString } from '../../verifier/formats/map-nodes.js';
import {
  MapRowNotFetched,
  type AccountRow,
  type DirectoryStore,
  type EpochWrites,
  type MapRow,
  type NamedAccount,
  type QueueRow,
  type VersionRow,
} from '../../log/directory/store.js';
import type { IndexLayout } from './d1-layout.js';
import { DirectoryError } from '../../log/directory/errors.js';
import { replicateOutbox, ReplicaRefillRefused, type ReplicationBudget, type ReplicationRun } from './d1-replica.js';
import { D1IndexRows } from './d1-rows.js';
import type { DoSqlStorage } from './do-log-storage.js';
import { deleteReplicatedChunk, KEPT_MAP_DEPTH, MARK_TRIMMED, objectTrimmedAt, outboxEmpty } from './object-trim.js';
import { OutboxOverlay, type OutboxView } from './outbox-overlay.js';

/** The replica lacks a row the object committed (outside an outbox epoch): the object's rows answer instead. */
export class ReplicaGapError extends Error {
  override readonly name = 'ReplicaGapError';
}

/**
 * Rows one `trim` deletes at most, in chunks of TRIM_CHUNK per table: what epochs of up to 5,000 updates write
 * (about 20 rows each), so that the object's rows do not grow back; larger epochs and an upgraded object's
 * backlog drain over later alarms. One call is one synchronous block of the object (about 0.6 s at this budget,
 * measured with better-sqlite3: 505,000 rows took 2.8 s).
 */
const TRIM_BUDGET = 100_000;
const TRIM_CHUNK = 5_000;

/**
 * Fetched map rows kept at most between two epochs: lookups the object answers between epochs (before D1 serves
 * them, or when the isolates fall back to it) add their paths' rows, which only an epoch's writes dropped. About
 * 300 bytes each with the map's overhead, so 30 MB at most; one epoch of 5,000 updates fetches about 55,000 at 10M
 * accounts, and a walk's own rows are never dropped while it runs.
 */
const FETCHED_BOUND = 100_000;

/**
 * Keys named ahead one round of `fetchMapRows` asks for at most (about 2,000 paths' 24 levels: directory-map.ts),
 * so that a large epoch's round stays bounded in memory (a key, its string and a Map entry each) and in queries
 * (1,000 keys a query: d1-rows.ts); the paths beyond take another round.
 */
const AHEAD_KEYS_PER_ROUND = 50_000;
/** Rounds of map reads one `fetchMapRows` makes at most (a path is at most 256 levels deep; about 30 at 1B). */
const MAX_MAP_ROUNDS = 64;

const newer = (a: AccountRow | undefined, b: AccountRow | undefined) => (!b || (a && a.version >= b.version) ? a : b);

export class ReplicatedDirectoryStore implements DirectoryStore {
  private readonly rows: D1IndexRows;
  private readonly overlay: OutboxOverlay;
  /** Whether D1 with the outbox laid over it is the object's committed state (see the file comment). */
  private ready = false;
  /** Refills begun by this instance: a replica read that saw this change is not trusted. */
  private refills = 0;
  /** Map rows fetched from D1 and the outbox since the last epoch was written. */
  private readonly fetched = new Map<string, Uint8Array>();
  /** Epochs written and refills begun by this instance: a fetch that saw this change is discarded. */
  private generation = 0;
  /** Calls of `fetchMapRows` under way. */
  private fetchesInFlight = 0;
  /** While `fetchMapRows` runs a walk: the rows it met that are not fetched. */
  private meeting: Map<string, Uint8Array> | null = null;
  /** The epoch at which the object first deleted rows D1 holds (object-trim.ts): its own rows then answer nothing. */
  private trimmedAt: number | undefined;
  private trimCount = 0;
  /** The newest epoch a replication run of this instance left every database at (its outbox rows up to it deleted). */
  private replicatedUpTo: number | undefined;

  constructor(
    private readonly own: DirectoryStore,
    private readonly storage: Pick<DoSqlStorage, 'sql'>,
    private readonly layout: IndexLayout,
    private readonly onFallback: (e: unknown) => void,
    /** Fetched map rows kept at most between two epochs (see `fetchMapRows`). */
    private readonly fetchedBound = FETCHED_BOUND,
  ) {
    // Every database at or past the last epoch this instance saw replicated: one gone back is not read.
    this.rows = new D1IndexRows(layout, () => this.replicatedUpTo);
    this.overlay = new OutboxOverlay(storage);
    this.trimmedAt = objectTrimmedAt(storage.sql);
  }

  /**
   * Copies the outbox to D1 (d1-replica.ts); the object's reads use the replica once a run has finished. A
   * refill D1 would need and cannot have (the object trimmed) leaves them refused until D1 is set right.
   */
  async replicate(budget?: ReplicationBudget): Promise<ReplicationRun> {
    let result;
    try {
      result = await replicateOutbox(
        this.storage,
        this.layout,
        {
          // Before an outbox row is deleted: the reads' bound follows each epoch every database now holds.
          applied: (epoch) => {
            this.replicatedUpTo = Math.max(this.replicatedUpTo ?? -1, epoch);
          },
          beforeRefill: () => {
            this.ready = false;
            this.refills++;
            this.dropFetched();
          },
        },
        budget,
      );
    } catch (e) {
      if (e instanceof ReplicaRefillRefused) this.ready = false;
      throw e;
    }
    if (result.refilling) {
      this.ready = false; // a refill this instance did not begin (it was under way when the object started)
      return result;
    }
    this.replicatedUpTo = Math.max(this.replicatedUpTo ?? -1, result.upTo);
    this.ready = true;
    return result;
  }

  /**
   * Deletes a chunk of the object's rows that D1 holds (object-trim.ts: only with the outbox empty, D1 marked
   * first); returns how many. Nothing before this instance's first replication. `keptMapDepth`: for the tests.
   */
  async trim(budget = TRIM_BUDGET, chunk = TRIM_CHUNK, keptMapDepth = KEPT_MAP_DEPTH): Promise<number> {
    const sql = this.storage.sql;
    if (!this.ready || !outboxEmpty(sql)) return 0;
    if (this.trimmedAt === undefined) {
      const epoch = (await this.own.latestEpoch())?.epoch ?? 0;
      await this.layout.meta.prepare(MARK_TRIMMED).bind(epoch).run();
      if (!this.ready || !outboxEmpty(sql)) return 0; // an epoch or a refill while D1 was marked
      sql.exec(MARK_TRIMMED, epoch);
      this.trimmedAt = epoch;
    }
    // Synchronous from the outbox check on: no epoch can commit in between. Counted first: the KEYTRANS stores
    // forget the rows they fetched from D1 before a trim (edge-deployment-store.ts).
    this.trimCount++;
    let deleted = 0;
    for (let n = -1; n !== 0 && deleted < budget; deleted += n) n = deleteReplicatedChunk(sql, chunk, keptMapDepth);
    return deleted;
  }

  /** Trimming runs since this instance started (each may have deleted rows the object held). */
  get trims(): number {
    return this.trimCount;
  }

  /** Whether the object has deleted rows that only D1 holds now. */
  get trimmed(): boolean {
    return this.trimmedAt !== undefined;
  }

  /** The object's own rows, or, once it trimmed, a refusal to retry (its own rows no longer answer). */
  private ownOrRefused<T>(fallback: () => Promise<T>, why: string): Promise<T> {
    if (this.trimmedAt === undefined) return fallback();
    return Promise.reject(new DirectoryError('busy', `the directory's D1 replica cannot be read now (${why}); retry`));
  }

  /** The newest epoch every database was seen at since this instance started, if it replicated yet. */
  get replicatedEpoch(): number | undefined {
    return this.ready ? this.replicatedUpTo : undefined;
  }

  /** Whether the object's reads of its bulk currently go to D1. */
  get readsReplica(): boolean {
    return this.ready;
  }

  /** `read` over the replica and the outbox's current view, else (see the file comment) `fallback`. */
  private async fromReplica<T>(read: (view: OutboxView) => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    if (!this.ready) return this.ownOrRefused(fallback, 'not replicated to since the object started');
    const refills = this.refills;
    const view = this.overlay.current(); // before the D1 reads: see the file comment
    try {
      const answer = await read(view);
      if (this.ready && refills === this.refills) return answer;
    } catch (e) {
      this.onFallback(e);
      return this.ownOrRefused(fallback, 'a read failed');
    }
    return this.ownOrRefused(fallback, 'a refill began');
  }

  accountByName(provider: string, account: string): Promise<NamedAccount | undefined> {
    return this.fromReplica(
      async (view) => {
        const label = view.labelOfName(provider, account) ?? (await this.rows.labelOfName(provider, account));
        if (!label) return undefined;
        const replicated = await this.rows.named(label);
        const acc = newer(view.account(label), replicated?.account);
        if (!acc) throw new ReplicaGapError(`the replica has a name without its account row`);
        if (acc === replicated?.account)
          return { account: acc, latest: replicated.latest && view.erased(replicated.latest) };
        return { account: acc, latest: await this.versionIn(view, label, acc.version) };
      },
      () => this.own.accountByName(provider, account),
    );
  }

  account(label: Uint8Array): Promise<AccountRow | undefined> {
    return this.fromReplica(
      async (view) => newer(view.account(label), await this.rows.account(label)),
      () => this.own.account(label),
    );
  }

  private async versionIn(view: OutboxView, label: Uint8Array, version: number): Promise<VersionRow | undefined> {
    const pending = view.version(label, version);
    if (pending) return pending;
    const replicated = await this.rows.version(label, version);
    return replicated && view.erased(replicated);
  }

  version(label: Uint8Array, version: number): Promise<VersionRow | undefined> {
    return this.fromReplica(
      (view) => this.versionIn(view, label, version),
      () => this.own.version(label, version),
    );
  }

  versions(label: Uint8Array, from: number, to: number): Promise<VersionRow[]> {
    return this.fromReplica(
      async (view) => {
        const byVersion = new Map<number, VersionRow>();
        for (const r of await this.rows.versions(label, from, to)) byVersion.set(r.version, view.erased(r));
        for (const r of view.versions(label, from, to)) byVersion.set(r.version, r);
        return [...byVersion.values()].sort((a, b) => a.version - b.version);
      },
      () => this.own.versions(label, from, to),
    );
  }

  /**
   * A map row: fetched (`fetchMapRows`) if it was, else the object's own. While a walk of `fetchMapRows` runs, a
   * row neither fetched nor the object's is recorded for the next round instead, and the walk told
   * (`MapRowNotFetched`).
   */
  mapNode(key: Uint8Array): Uint8Array | undefined {
    const k = mapKeyString(key);
    const fetched = this.fetched.get(k);
    if (fetched) return fetched;
    const own = this.own.mapNode(key); // the object's own row, when it holds one, is the newest (object-trim.ts)
    if (own === undefined && this.meeting) {
      this.meeting.set(k, key);
      throw new MapRowNotFetched(key);
    }
    // A walk reads only rows its parent names: missing from a trimmed object, it was deleted, not never there.
    if (own === undefined && this.trimmedAt !== undefined)
      throw new DirectoryError('busy', 'a map row the object no longer holds was not fetched from D1; retry');
    return own;
  }

  /**
   * Runs `walk` until it meets only fetched rows, fetching the rows it met from D1 (their newest epoch) with the
   * outbox's laid over them, a round per run (store.ts), and in the same round those of the keys it named ahead
   * that exist (most name no node). The fetched rows are dropped when an epoch is written
   * (`epochWriter`) or a refill begins, and before a walk when they are more than the bound and no other walk's
   * fetch is in flight; a round that finishes after a drop is discarded. Before the first
   * replication, during a refill, or when D1 fails (logged), the walk is left to the object's own rows.
   */
  async fetchMapRows(walk: (ahead: (keys: Uint8Array[]) => void) => void): Promise<void> {
    // Past the bound, the rows are dropped before this walk, unless another walk's fetch is in flight (its round
    // would be discarded and read again: an epoch's, of thousands of paths, for a lookup's).
    if (this.fetched.size > this.fetchedBound && this.fetchesInFlight === 0) this.dropFetched();
    this.fetchesInFlight++;
    try {
      await this.fetchRounds(walk);
    } finally {
      this.fetchesInFlight--;
    }
  }

  /** The rounds of `fetchMapRows`. */
  private async fetchRounds(walk: (ahead: (keys: Uint8Array[]) => void) => void): Promise<void> {
    const leftToOwn = (why: string) => this.ownOrRefused(async () => undefined, why);
    for (let round = 0; round < MAX_MAP_ROUNDS; round++) {
      if (!this.ready) return leftToOwn('not replicated to since the object started, or refilling');
      const { met, ahead } = this.meet(walk);
      if (met.length === 0) return;
      const { generation, refills } = this;
      const view = this.overlay.current(); // before the D1 reads: see the file comment
      let rows: Map<string, Uint8Array>;
      try {
        const asked = [...met, ...ahead.values()];
        rows = await this.rows.newestMapRows(asked.filter((key) => view.mapRow(key) === undefined));
      } catch (e) {
        this.onFallback(e);
        return leftToOwn('a read failed');
      }
      if (generation !== this.generation || refills !== this.refills) continue; // an epoch or a refill since
      for (const key of met) {
        const k = mapKeyString(key);
        const row = view.mapRow(key) ?? rows.get(k);
        // A walk meets only rows its parent names: one missing is a gap in the replica, not an absent row.
        if (row === undefined) {
          this.onFallback(new ReplicaGapError(`the replica lacks the map row ${k}`));
          return leftToOwn('a map row is missing');
        }
        this.fetched.set(k, row);
      }
      // Keys named ahead may name no node (most do not): those that do are rows of the paths' next levels.
      for (const [k, key] of ahead) {
        const row = view.mapRow(key) ?? rows.get(k);
        if (row !== undefined) this.fetched.set(k, row);
      }
    }
  }

  /**
   * The rows `walk` meets that are not fetched (each walk stops at its first), and the keys it names ahead (by
   * `mapKeyString`) that are neither fetched nor met, AHEAD_KEYS_PER_ROUND at most. A key ahead the object holds itself is fetched too:
   * D1's row with the outbox's laid over it is the object's committed row (see the file comment), and asking
   * the object first would cost a query of its own per key.
   */
  private meet(walk: (ahead: (keys: Uint8Array[]) => void) => void): {
    met: Uint8Array[];
    ahead: Map<string, Uint8Array>;
  } {
    this.meeting = new Map();
    const ahead = new Map<string, Uint8Array>();
    try {
      walk((keys) => {
        for (const key of keys) {
          if (ahead.size >= AHEAD_KEYS_PER_ROUND) return; // the rest of the paths take another round
          const k = mapKeyString(key);
          if (!this.fetched.has(k)) ahead.set(k, key);
        }
      });
      const met = [...this.meeting.values()];
      for (const k of this.meeting.keys()) ahead.delete(k);
      return { met, ahead };
    } finally {
      this.meeting = null;
    }
  }

  get keepsKeyTransRows(): boolean | undefined {
    return this.own.keepsKeyTransRows;
  }

  /** The epoch's writes (the object's own store), dropping the fetched map rows: the epoch rewrites some. */
  epochWriter(w: EpochWrites): () => void {
    const write = this.own.epochWriter(w);
    return () => {
      write();
      this.dropFetched();
    };
  }

  /** How many fetched map rows are kept now. */
  get fetchedRows(): number {
    return this.fetched.size;
  }

  private dropFetched(): void {
    this.fetched.clear();
    this.generation++;
  }

  // The rest is the object's own store.
  credentials = () => this.own.credentials();
  latestEpoch = () => this.own.latestEpoch();
  leavesAfter = (after: Uint8Array | null, limit: number) => this.own.leavesAfter(after, limit);
  writeMap = (fill: (write: (row: MapRow) => void) => void) => this.own.writeMap(fill);
  setServed = (epoch: number, checkpoint: string) => this.own.setServed(epoch, checkpoint);
  servedEpoch = () => this.own.servedEpoch();
  readSnapshot = <T>(read: () => T): T => this.own.readSnapshot(read);
  afterErasure = () => this.own.afterErasure();
  queued = (): Promise<QueueRow[]> => this.own.queued();
  enqueue = (rows: Omit<QueueRow, 'id'>[]) => this.own.enqueue(rows);
}
