/**
 * Proofs from the directory's store by a reader that is not the sequencer (docs/ARCHITECTURE.md, the read
 * path): another process on the same SQLite file, or any holder of the store's rows. It builds the same
 * lookup, history, discovery and daily-check proofs as the sequencer (proof-builder.ts over `ProofSource`),
 * each from one committed epoch: the epoch row, its served checkpoint and the map's rows are read in one
 * read transaction (`readSnapshot`), so they agree even while the sequencer commits the next epoch (the
 * credentials are read again with each new epoch; they only grow, so the epoch's set is a prefix); the
 * account and version rows read after it are checked against the map's leaf by the proof builder, which
 * starts again if they are behind it and proves the leaf's version if they are ahead (an epoch committed in
 * between). An epoch is served once the sequencer recorded the
 * checkpoint it serves with it (its witnesses' cosignatures, `dir_served`), as the sequencer itself waits
 * for them; until then (at most `servedWaitMs`) a proof waits, then answers `busy`. The map's rows are read
 * through a bounded cache that is emptied whenever the epoch changes.
 */
import { MapNodeCache } from '../../verifier/formats/map-cache.js';
import type { MapLeaf, MapProof } from '../../verifier/formats/map-proof.js';
import { StoredMap } from '../../verifier/formats/stored-map.js';
import { CredentialRegistry } from './credentials.js';
import { DEFAULT_MAP_CACHE_ROWS } from './directory-map.js';
import { snapshotFromRow, type EpochSnapshot } from './epoch-plan.js';
import { DirectoryError } from './errors.js';
import { labelOfName } from './labels.js';
import type { ProofSource } from './proof-builder.js';
import type { DirectoryStore, NamedAccount } from './store.js';
import type { VrfProver } from './vrf-prover.js';

/** What a reader reads of the store. */
export type ReaderStore = Pick<
  DirectoryStore,
  'accountByName' | 'account' | 'version' | 'versions' | 'credentials' | 'mapNode' | 'servedEpoch' | 'readSnapshot'
>;

export interface DirectoryReaderOptions {
  store: ReaderStore;
  /** Computes the VRF proofs of names the store does not know (the reader holds the VRF key too). */
  vrfProver: VrfProver;
  /** The log's entry bundle `n` of `width` entries (for the commitments of erased versions). */
  entryBundle(n: number, width: number): Promise<Uint8Array | null>;
  /** How many map rows to cache (default as the sequencer's). */
  mapCacheRows?: number;
  /** How long a proof waits for the sequencer to record an epoch's served checkpoint, in ms (default 10 s). */
  servedWaitMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class DirectoryReader implements ProofSource {
  credentials: CredentialRegistry;
  private readonly cache: MapNodeCache;
  private readonly map: StoredMap;
  /** The served epoch's snapshot as last decoded (its epoch's rows are those the cache holds), kept while its checkpoint is the same. */
  private servedSnap: EpochSnapshot | null = null;
  /** The epoch the credentials were read at. */
  private credentialsEpoch = -1;

  private constructor(
    private readonly opts: DirectoryReaderOptions,
    credentials: CredentialRegistry,
  ) {
    this.credentials = credentials;
    this.cache = new MapNodeCache(opts.store, opts.mapCacheRows ?? DEFAULT_MAP_CACHE_ROWS);
    this.map = new StoredMap(this.cache);
  }

  static async open(opts: DirectoryReaderOptions): Promise<DirectoryReader> {
    return new DirectoryReader(opts, CredentialRegistry.fromRows(await opts.store.credentials()));
  }

  get store(): ReaderStore {
    return this.opts.store;
  }

  labelFor(
    provider: string,
    account: string,
    beforeVrf?: () => void | Promise<void>,
  ): Promise<{ label: Uint8Array; vrfProof: Uint8Array; stored?: NamedAccount }> {
    return labelOfName(this.opts.store, this.opts.vrfProver, { provider, account }, beforeVrf);
  }

  entryBundle(n: number, width: number): Promise<Uint8Array | null> {
    return this.opts.entryBundle(n, width);
  }

  async snapshot(): Promise<{ snap: EpochSnapshot }> {
    return this.served((snap) => ({ snap }));
  }

  async proveLabel(label: Uint8Array): Promise<{ snap: EpochSnapshot; map: MapProof; leaf: MapLeaf | undefined }> {
    return this.served((snap) => {
      const { proof, leaf } = this.map.lookup(label);
      return { snap, map: proof, leaf };
    });
  }

  /**
   * Runs `read` on the served epoch in one read transaction, waiting while the last epoch has no served
   * checkpoint yet; then makes sure the credentials cover the epoch's credential set.
   */
  private async served<T extends { snap: EpochSnapshot }>(read: (snap: EpochSnapshot) => T): Promise<T> {
    const deadline = Date.now() + (this.opts.servedWaitMs ?? 10_000);
    for (let pause = 1; ; pause = Math.min(2 * pause, 50)) {
      const result = this.opts.store.readSnapshot(() => {
        const served = this.opts.store.servedEpoch();
        if (!served) return undefined;
        const sameEpoch = served.row.epoch === this.servedSnap?.epoch;
        if (!sameEpoch) this.cache.clear(); // its rows may be of another epoch
        // An epoch's row never changes; its served checkpoint may (cosigned later), so it is compared.
        if (!sameEpoch || this.servedSnap?.checkpoint !== served.checkpoint)
          this.servedSnap = snapshotFromRow(served.row, served.checkpoint);
        return read(this.servedSnap);
      });
      if (result) {
        // Read again with each epoch: enrolments (the epoch's credential set) and revocations (/v1/config).
        if (result.snap.epoch !== this.credentialsEpoch) {
          this.credentials = CredentialRegistry.fromRows(await this.opts.store.credentials());
          this.credentialsEpoch = result.snap.epoch;
        }
        return result;
      }
      if (Date.now() >= deadline)
        throw new DirectoryError('busy', "the directory's last epoch is not served yet (its witnesses); retry");
      await sleep(pause);
    }
  }
}
