/**
 * The directory store's contract, shared by its backends (SQLite on Node, log/directory/sqlite-store.ts; a
 * Durable Object's SQLite storage on Workers, api/worker/do-directory-store.ts): the rows, what an epoch
 * writes and the `DirectoryStore` interface. Only type imports of this room (and the platform-neutral bytes
 * helpers), so that the Worker can use it without Node's or better-sqlite3's types; the SQL both backends run is in directory-sql.ts.
 */
import { toHex } from '../../wasm-free-crypto/bytes.js';
import type { KeyTransRows } from './keytrans-hook.js';

/** A label's latest version, its history hash and the one before it, and the label's VRF proof. */
export interface AccountRow {
  label: Uint8Array;
  version: number;
  history: Uint8Array;
  previousHistory: Uint8Array;
  vrfProof: Uint8Array;
}

/** What a lookup by name reads: the account row and the row of its latest version. */
export interface NamedAccount {
  account: AccountRow;
  /** Absent only if the store lost the row (a lookup then reports an internal error). */
  latest?: VersionRow;
}

/**
 * One version of a label. Its commitment is not stored: it is in the version's update entry in the log
 * (at `logIndex`), and recomputable from the opening while that is kept.
 */
export interface VersionRow {
  label: Uint8Array;
  version: number;
  /** Null once erased. */
  opening: Uint8Array | null;
  statement: Uint8Array | null;
  signature: Uint8Array | null;
  /** Log index of the enrolment entry of the credential that signed the statement. */
  credentialIndex: number;
  logIndex: number;
}

export interface CredentialRow {
  /** Log index of the enrolment entry. */
  logIndex: number;
  providerId: string;
  fingerprint: Uint8Array;
  entry: Uint8Array;
  revokedIndex: number | null;
}

export interface EpochRow {
  epoch: number;
  logIndex: number;
  entry: Uint8Array;
  /** Inclusion proof of the epoch head in the checkpoint's tree, hashes concatenated. */
  proof: Uint8Array;
  checkpoint: string;
}

/** Everything an epoch writes to the indexes. */
export interface EpochWrites {
  names: { provider: string; account: string; label: Uint8Array }[];
  accounts: AccountRow[];
  versions: VersionRow[];
  credentials: CredentialRow[];
  revocations: { logIndex: number; revokedIndex: number }[];
  /** Labels whose versions below `below` lose their openings, statements and signatures (erasure). */
  erasures: { label: Uint8Array; below: number }[];
  epoch: EpochRow;
  /** The stored map's rows this epoch writes (verifier/formats/map-nodes.ts): its changed nodes and root. */
  map?: MapRow[];
  /**
   * The checkpoint served with this epoch, when it needs no cosignatures (written in the epoch's own
   * transaction); otherwise `setServed` writes it once the witnesses answered.
   */
  served?: string;
  /**
   * The queue rows (`QueueRow.id`) of the statements this epoch takes from the queue, committed or refused:
   * deleted in the epoch's own transaction, so that the queue and the log never disagree after a crash.
   */
  dequeued?: number[];
  /**
   * The KEYTRANS deployments' writes of this epoch, as rows for a replica (the Worker's D1), given only to a store
   * that keeps them (`keepsKeyTransRows`); the deployments' own stores write them (log/keytrans/).
   */
  keytrans?: KeyTransRows;
}

/** An epoch's writes with nothing in them yet (its epoch row is set when its log commit is known). */
export function emptyEpochWrites(): EpochWrites {
  return {
    names: [],
    accounts: [],
    versions: [],
    credentials: [],
    revocations: [],
    erasures: [],
    epoch: undefined as unknown as EpochRow,
  };
}

/** A row of the stored map (verifier/formats/map-nodes.ts): a node's key (the root's is empty) and value. */
export interface MapRow {
  key: Uint8Array;
  value: Uint8Array;
}

/** A map leaf as the accounts table holds it: a label's latest version and history hash. */
export interface LeafRow {
  label: Uint8Array;
  version: number;
  historyHash: Uint8Array;
}

/**
 * A statement accepted and receipted but not yet committed (the durable queue, docs/PROTOCOL.md section 16):
 * written and committed before its receipt is signed, deleted in the transaction of the epoch that takes it.
 */
export interface QueueRow {
  /** Acceptance order (assigned by the store when the row is written). */
  id: number;
  label: Uint8Array;
  version: number;
  statement: Uint8Array;
  signature: Uint8Array;
  /** Log index of the enrolment entry of the credential that signed the statement. */
  credentialIndex: number;
  vrfProof: Uint8Array;
  /**
   * The provider's KEYTRANS UpdateTBS signature (log/directory/keytrans-hook.ts), or null (kept with the row by
   * the SQLite stores of Node and the Durable Object; a test store may keep none).
   */
  keytransSignature?: Uint8Array | null;
  /** When the statement was accepted, and the receipt's deadline, in ms since the Unix epoch. */
  acceptedAt: number;
  deadline: number;
}

export interface DirectoryStore {
  /**
   * The account row of (provider, account), found through its name, with its latest version's row, in
   * one read (a lookup needs nothing else from the store).
   */
  accountByName(provider: string, account: string): Promise<NamedAccount | undefined>;
  account(label: Uint8Array): Promise<AccountRow | undefined>;
  version(label: Uint8Array, version: number): Promise<VersionRow | undefined>;
  versions(label: Uint8Array, from: number, to: number): Promise<VersionRow[]>;
  credentials(): Promise<CredentialRow[]>;
  latestEpoch(): Promise<EpochRow | undefined>;
  /** The stored map's row of `key` (the root row's key is empty), or undefined; synchronous. */
  mapNode(key: Uint8Array): Uint8Array | undefined;
  /**
   * Up to `limit` labels' latest (version, history hash), in ascending label order, after `after` (from
   * the first with null): the upgrade of a store that kept no map rows builds them from these.
   */
  leavesAfter(after: Uint8Array | null, limit: number): LeafRow[];
  /**
   * Optional, for a store whose map rows live elsewhere (the Worker's: api/worker/replicated-store.ts): runs
   * `walk` (synchronous walks down the map through `mapNode`) until it meets no row the store has not fetched,
   * fetching the rows each run met before the next (one round of reads per run), so that `mapNode` answers
   * them without I/O until the next epoch is written. `walk` catches `MapRowNotFetched` per path, so that one
   * run meets the next row of every path, and may name with `ahead` keys the path's next rows are likely among
   * (those below the row it met, along its label: `keysAlong`), fetched in the same round if they exist, so that
   * a path takes a round or two rather than a round per level. Rejects if the rows cannot be fetched.
   */
  fetchMapRows?(walk: (ahead: (keys: Uint8Array[]) => void) => void): Promise<void>;
  /** Runs `fill` in one transaction that writes the map rows it is given (all or none: `fill` may throw). */
  writeMap(fill: (write: (row: MapRow) => void) => void): void;
  /** Records the checkpoint served with `epoch` (its cosigned form), for readers of the store; synchronous. */
  setServed(epoch: number, checkpoint: string): void;
  /** The last epoch's row and the checkpoint served with it, or undefined until that is recorded. */
  servedEpoch(): { row: EpochRow; checkpoint: string } | undefined;
  /** Runs `read` in one read transaction: every read inside it sees the same committed state. */
  readSnapshot<T>(read: () => T): T;
  /** A synchronous function applying `w`, to run inside the log's commit transaction. */
  epochWriter(w: EpochWrites): () => void;
  /**
   * Whether the epoch writer keeps `EpochWrites.keytrans` for a replica (the Worker's outbox); without it the
   * directory does not compute them.
   */
  readonly keepsKeyTransRows?: boolean;
  /**
   * After an epoch that erased data: make sure no copy of it survives in the backend's files, as far as
   * the backend allows (each backend documents what it can guarantee). False if that could not be done
   * now (another connection held the files): the directory asks again after its next epochs until done.
   */
  afterErasure(): boolean;
  /** The durable queue's rows, in acceptance order (replayed when the directory opens). */
  queued(): Promise<QueueRow[]>;
  /**
   * Writes queue rows, in order, and commits them together before returning (synchronous, like
   * `epochWriter`, so that rows keep the order of acceptance; one transaction, so that all or none are
   * stored); returns their ids. A second row for the same (label, version) throws.
   */
  enqueue(rows: Omit<QueueRow, 'id'>[]): number[];
}

/** A map row a walk met that a store fetching its rows (`DirectoryStore.fetchMapRows`) has not fetched yet. */
export class MapRowNotFetched extends Error {
  override readonly name = 'MapRowNotFetched';
  constructor(
    /** The row's key. */
    readonly key: Uint8Array,
  ) {
    super(`map row ${toHex(key)} not fetched`);
  }
}
