/**
 * The Durable Object's directory store when D1 is bound: the object's reads of its own bulk (a name's label, an
 * account row, versions: what a submission is checked against and what the object's own lookups read) go to the
 * D1 shards that hold them, with the epochs not yet replicated (its outbox, outbox-overlay.ts) laid over them, so
 * that the object reads its own writes; everything else is the object's own store (do-directory-store.ts). This is
 * the first step of "The writer past one object" (docs/ARCHITECTURE.md): the object still keeps every row, and
 * reads them itself whenever the replica cannot answer for its committed state:
 * - until this instance's first replication run has finished (a D1 that is behind, ahead of the object or laid
 *   out for another number of shards is refilled by that run: d1-replica.ts);
 * - while a refill runs (it empties the databases first), and for a read that was in flight when one began;
 * - when a D1 read fails, or the replica lacks a row it must hold (a name without its account row): logged
 *   through `onFallback`, and the object's rows answer.
 * Why the outbox's view is taken before the D1 reads: an outbox row is deleted only after every database holds
 * its epoch, so a view taken first covers whatever the D1 reads may have missed; rows replicated after it are the
 * object's committed state too (the newer of two account rows wins; an erasure, once seen, stays applied).
 */
import type {
  AccountRow,
  DirectoryStore,
  EpochWrites,
  MapRow,
  NamedAccount,
  QueueRow,
  VersionRow,
} from '../../log/directory/store.js';
import type { IndexLayout } from './d1-layout.js';
import { replicateOutbox } from './d1-replica.js';
import { D1IndexRows } from './d1-rows.js';
import type { DoSqlStorage } from './do-log-storage.js';
import { OutboxOverlay, type OutboxView } from './outbox-overlay.js';

/** The replica lacks a row the object committed (outside an outbox epoch): the object's rows answer instead. */
export class ReplicaGapError extends Error {
  override readonly name = 'ReplicaGapError';
}

const newer = (a: AccountRow | undefined, b: AccountRow | undefined) => (!b || (a && a.version >= b.version) ? a : b);

export class ReplicatedDirectoryStore implements DirectoryStore {
  private readonly rows: D1IndexRows;
  private readonly overlay: OutboxOverlay;
  /** Whether D1 with the outbox laid over it is the object's committed state (see the file comment). */
  private ready = false;
  /** Refills begun by this instance: a replica read that saw this change is not trusted. */
  private refills = 0;

  constructor(
    private readonly own: DirectoryStore,
    private readonly storage: Pick<DoSqlStorage, 'sql'>,
    private readonly layout: IndexLayout,
    private readonly onFallback: (e: unknown) => void,
  ) {
    this.rows = new D1IndexRows(layout);
    this.overlay = new OutboxOverlay(storage);
  }

  /** Copies the outbox to D1 (d1-replica.ts); the object's reads use the replica once a run has finished. */
  async replicate(): Promise<Awaited<ReturnType<typeof replicateOutbox>>> {
    const result = await replicateOutbox(this.storage, this.layout, {
      beforeRefill: () => {
        this.ready = false;
        this.refills++;
      },
    });
    this.ready = true;
    return result;
  }

  /** Whether the object's reads of its bulk currently go to D1. */
  get readsReplica(): boolean {
    return this.ready;
  }

  /** `read` over the replica and the outbox's current view, else (see the file comment) `fallback`. */
  private async fromReplica<T>(read: (view: OutboxView) => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    if (!this.ready) return fallback();
    const refills = this.refills;
    const view = this.overlay.current(); // before the D1 reads: see the file comment
    try {
      const answer = await read(view);
      if (this.ready && refills === this.refills) return answer;
    } catch (e) {
      this.onFallback(e);
    }
    return fallback();
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

  // The rest is the object's own store.
  credentials = () => this.own.credentials();
  latestEpoch = () => this.own.latestEpoch();
  mapNode = (key: Uint8Array) => this.own.mapNode(key);
  leavesAfter = (after: Uint8Array | null, limit: number) => this.own.leavesAfter(after, limit);
  writeMap = (fill: (write: (row: MapRow) => void) => void) => this.own.writeMap(fill);
  setServed = (epoch: number, checkpoint: string) => this.own.setServed(epoch, checkpoint);
  servedEpoch = () => this.own.servedEpoch();
  readSnapshot = <T>(read: () => T): T => this.own.readSnapshot(read);
  epochWriter = (w: EpochWrites) => this.own.epochWriter(w);
  afterErasure = () => this.own.afterErasure();
  queued = (): Promise<QueueRow[]> => this.own.queued();
  enqueue = (rows: Omit<QueueRow, 'id'>[]) => this.own.enqueue(rows);
}
