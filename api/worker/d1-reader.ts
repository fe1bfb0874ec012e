/**
 * Proofs from the D1 replica (d1-layout.ts, d1-replica.ts) by the stateless Worker, without the Durable Object:
 * a `ProofSource` (log/directory/proof-builder.ts), so that lookups, batches, histories, discovery and daily checks
 * are built and encoded by the same code as the sequencer's and a Node reader's. Each proof is of one epoch: the
 * newest epoch head in the meta database with its served checkpoint (cosigned, when the directory has witnesses),
 * and the map's rows of that epoch, each key's row of the greatest epoch at most it (rows are versioned). The map
 * proof of a present label is read in two rounds whatever the directory's size and the number of shards (an absent
 * label's walk may take more, from a node off its own prefix): the root row with the head,
 * in one batch (one snapshot) of the meta database; then, together, the label's path above the shards' depth in
 * the meta database and every node key on it below in the label's shard (`u8 depth || prefix` for depths b..b+63,
 * then up to 255 if the path goes deeper, which random labels practically never do). A name is found by its name
 * shard (its label), and its rows in its label's shard; an account row replicated ahead of the head's epoch (a run
 * cut short, an epoch waiting for its witnesses) is proven at the head's leaf's version by the proof builder, from
 * the account's version rows. A name D1 does not know has its VRF proof computed here, after the caller's charge
 * for it. Erased versions' commitments come from the log's entry bundles (`entryBundle`, R2). Every read of a
 * database goes with its marker: one behind the head read, or behind the last head this reader read, went back
 * (`ReplicaBehindError`), and its rows are not answered from.
 */
import { DIRECTORY_QUERIES as Q, type RawEpoch, type RawCredential } from '../../log/directory/directory-sql.js';
import { CredentialRegistry } from '../../log/directory/credentials.js';
import { snapshotFromRow, type EpochSnapshot } from '../../log/directory/epoch-plan.js';
import { DirectoryError } from '../../log/directory/errors.js';
import { labelOfName } from '../../log/directory/labels.js';
import type { ProofSource } from '../../log/directory/proof-builder.js';
import type { NamedAccount } from '../../log/directory/store.js';
import type { VrfProver } from '../../log/directory/vrf-prover.js';
import type { MapLeaf, MapProof } from '../../verifier/formats/map-proof.js';
import { keysAlong, MAP_ROOT_KEY, mapKeyString, mapNodeKey } from '../../verifier/formats/map-nodes.js';
import { StoredMap, type MapNodeSource } from '../../verifier/formats/stored-map.js';
import { mapRowShard, REPLICA_QUERIES as R, type IndexDatabase, type IndexLayout } from './d1-layout.js';
import { batchAtLeast, D1IndexRows, mapRowsQuery } from './d1-rows.js';
import { blobBytes, doRowReaders, type BlobColumn } from './do-directory-store.js';

/** The depths one query reads below where it starts, and the queries one walk makes at most. */
const FIRST_DEPTHS = 64;
const MAX_ROUNDS = 16;

/**
 * The rows of a walk, by key: for each key the row of the greatest epoch at most the reader's. A key the walk asks
 * for and that was never fetched is recorded (`wanted`): an absent label's walk may leave its own prefix (a node's
 * prefix is its leaves', which the label need not share below the node's parent), so its next keys are fetched then.
 */
class WalkRows implements MapNodeSource {
  private readonly rows = new Map<string, { epoch: number; node: Uint8Array }>();
  private readonly fetched = new Set<string>();
  wanted: Uint8Array | undefined;

  constructor(private readonly epoch: number) {}

  /** Records `keys` as fetched and `rows` (any epochs) as read. */
  add(keys: Uint8Array[], rows: { key: BlobColumn; epoch: number; node: BlobColumn }[]): void {
    for (const k of keys) this.fetched.add(mapKeyString(k));
    for (const r of rows) {
      if (r.epoch > this.epoch) continue;
      const key = mapKeyString(blobBytes(r.key));
      const had = this.rows.get(key);
      if (!had || had.epoch < r.epoch) this.rows.set(key, { epoch: r.epoch, node: blobBytes(r.node) });
    }
  }

  mapNode(key: Uint8Array): Uint8Array | undefined {
    const k = mapKeyString(key);
    const row = this.rows.get(k);
    if (!row && !this.fetched.has(k)) this.wanted = key;
    return row?.node;
  }
}

/** The keys of `label`'s path above depth `bits` (the meta database's nodes, which its walk meets first). */
function keysAbove(label: Uint8Array, bits: number): Uint8Array[] {
  return Array.from({ length: bits }, (_, d) => mapNodeKey(label, d));
}

export interface D1ReaderOptions {
  layout: IndexLayout;
  vrfProver: VrfProver;
  /** The log's entry bundle `n` of `width` entries (for the commitments of erased versions), or null. */
  entryBundle(n: number, width: number): Promise<Uint8Array | null>;
}

type TopRow = { key: BlobColumn; epoch: number; node: BlobColumn };
/** A head read: the servable epoch and the map's root rows. */
type HeadRead = { snap: EpochSnapshot; top: TopRow[] };
/** Head reads kept, by the head's log index (a few: concurrent discoveries of consecutive epochs). */
const RECENT_HEADS = 4;

export class D1DirectoryReader implements ProofSource {
  credentials = new CredentialRegistry();
  private credentialsEpoch = -1;
  private readonly recentHeads = new Map<number, HeadRead>();
  /**
   * The servable epoch this reader read last (-1: none yet); no database may be behind it (see `rows`). The last,
   * not the greatest: after the object's storage was reset, D1 is refilled with its new, lower epochs, and a
   * greatest one would refuse every read of a long-lived isolate.
   */
  private lastHead = -1;
  readonly store: Pick<ProofSource['store'], 'account' | 'version' | 'versions'>;
  /**
   * The index rows, each read with its database's marker: a database behind an epoch already served went back
   * (restored, or another copy bound), and its rows are an older epoch's, which the head's map does not prove
   * (`ReplicaBehindError`: the isolate hands the read to the object). A healthy shard is never behind a servable
   * head: it gets each epoch before the meta database does.
   */
  private readonly rows: D1IndexRows;

  constructor(private readonly o: D1ReaderOptions) {
    this.rows = new D1IndexRows(o.layout, () => (this.lastHead >= 0 ? this.lastHead : undefined));
    this.store = {
      account: (label) => this.rows.account(label),
      version: (label, version) => this.rows.version(label, version),
      versions: (label, from, to) => this.rows.versions(label, from, to),
    };
  }

  labelFor(
    provider: string,
    account: string,
    beforeVrf?: () => void | Promise<void>,
  ): Promise<{ label: Uint8Array; vrfProof: Uint8Array; stored?: NamedAccount }> {
    return labelOfName(
      { accountByName: (p, a) => this.accountByName(p, a) },
      this.o.vrfProver,
      { provider, account },
      beforeVrf,
    );
  }

  private async accountByName(provider: string, account: string): Promise<NamedAccount | undefined> {
    const label = await this.rows.labelOfName(provider, account);
    // A name without its account row is a shard behind the name's: unknown until it catches up.
    return label ? this.rows.named(label) : undefined;
  }

  entryBundle(n: number, width: number): Promise<Uint8Array | null> {
    return this.o.entryBundle(n, width);
  }

  /**
   * The newest servable epoch, with the map's root row (all of its epochs), in one snapshot; the last few read are
   * kept (`recentHeads`), so that the lookups of one discovery read it once. A label's nodes above the shards'
   * depth are read with its walk (`proveLabel`): the head read does not grow with the number of shards.
   */
  private async head(): Promise<HeadRead> {
    const { meta } = this.o.layout;
    const [heads, rows, laidOut] = await meta.batch([
      meta.prepare(R.servedHead),
      meta.prepare(mapRowsQuery([MAP_ROOT_KEY])).bind(Number.MAX_SAFE_INTEGER),
      meta.prepare(R.laidOutShards),
    ]);
    // Rows routed for another number of shards would be looked for in the wrong databases.
    if ((laidOut.results[0] as { shards: number } | undefined)?.shards !== this.o.layout.shards.length)
      throw new DirectoryError('busy', 'the replica is laid out for another number of shards; retry');
    const head = (heads.results as RawEpoch<BlobColumn>[])[0];
    if (!head) throw new DirectoryError('busy', 'the replica has no servable epoch yet; retry');
    const snap = snapshotFromRow(doRowReaders.epoch(head), head.checkpoint);
    this.servable(snap.epoch);
    await this.refreshCredentials(snap.epoch);
    const read = { snap, top: rows.results as TopRow[] };
    this.recentHeads.delete(snap.headIndex);
    this.recentHeads.set(snap.headIndex, read);
    if (this.recentHeads.size > RECENT_HEADS) this.recentHeads.delete(this.recentHeads.keys().next().value as number);
    return read;
  }

  /** Records that `epoch` is servable (read by this reader, or by the isolate before its first read). */
  servable(epoch: number): void {
    this.lastHead = epoch;
  }

  /** Reads the credentials again with each new epoch (enrolments and revocations only add rows). */
  private async refreshCredentials(epoch: number): Promise<void> {
    if (epoch === this.credentialsEpoch) return;
    const { results } = await this.o.layout.meta.prepare(Q.credentials).all<RawCredential<BlobColumn>>();
    this.credentials = CredentialRegistry.fromRows(results.map(doRowReaders.credential));
    this.credentialsEpoch = epoch;
  }

  async snapshot(): Promise<{ snap: EpochSnapshot }> {
    return { snap: (await this.head()).snap };
  }

  /** The head, read beside a lookup's name and account rows (kept for its `proveLabel`): one round trip less. */
  headAhead(): Promise<{ snap: EpochSnapshot }> {
    return this.snapshot();
  }

  async proveLabel(
    label: Uint8Array,
    at?: EpochSnapshot,
  ): Promise<{ snap: EpochSnapshot; map: MapProof; leaf: MapLeaf | undefined }> {
    // A head this reader read for the same answer (a discovery's) is still readable: rows stay 16 epochs.
    const kept = at && this.recentHeads.get(at.headIndex);
    const { snap, top } = kept && kept.snap.epoch === at.epoch ? kept : await this.head();
    const { bits, shards } = this.o.layout;
    const rows = new WalkRows(snap.epoch);
    rows.add([MAP_ROOT_KEY], top);
    // The first round reads the label's own prefix: above the shards' depth from the meta database, below it from
    // the label's shard, together; each further one from the node the walk left it for (rare: an absent label,
    // near its terminal leaf), in the database that holds it (the meta database only the depths above `bits`).
    const read = async (db: IndexDatabase, keys: Uint8Array[]) => {
      if (keys.length === 0) return;
      // With the database's marker, as the index rows are read (see `rows`): one behind the head went back.
      const [found] = await batchAtLeast(db, [db.prepare(mapRowsQuery(keys)).bind(snap.epoch)], snap.epoch);
      rows.add(keys, found as { key: BlobColumn; epoch: number; node: BlobColumn }[]);
    };
    const { meta } = this.o.layout;
    let from = mapNodeKey(label, bits);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const shard = mapRowShard(from, bits);
      const below = keysAlong(from, label, FIRST_DEPTHS);
      await Promise.all([
        round === 0 ? read(meta, keysAbove(label, bits)) : undefined,
        read(shard < 0 ? meta : shards[shard], shard < 0 ? below.filter((k) => k[0] < bits) : below),
      ]);
      rows.wanted = undefined;
      try {
        const { proof, leaf } = new StoredMap(rows).lookup(label);
        return { snap, map: proof, leaf };
      } catch (e) {
        if (!rows.wanted) throw e;
        from = rows.wanted;
      }
    }
    throw new DirectoryError('internal', 'the replica map walk did not end');
  }
}
