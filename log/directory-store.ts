/**
 * The directory's indexes beside the log, in the same SQLite database as the log's tiles, so that an
 * epoch's index writes commit in the very transaction that appends its entries and signs its checkpoint
 * (they run as the log commit's `withinCommit`). What is kept: for each (provider, account) its label;
 * for each label its latest version and VRF proof; for each version its commitment, history hash, log
 * index, the credential that signed it and, until erased, its opening, statement and signature; each
 * provider credential (the enrolment entry and its revocation); and the latest epoch head with its
 * inclusion proof and checkpoint. Reads are async so that other backends can implement the interface.
 */
import type Database from 'better-sqlite3';

/** A label's latest version, its history hash and the one before it, and the label's VRF proof. */
export interface AccountRow {
  label: Uint8Array;
  version: number;
  history: Uint8Array;
  previousHistory: Uint8Array;
  vrfProof: Uint8Array;
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
}

export interface DirectoryStore {
  /** The account row of (provider, account), found through its name, in one read. */
  accountByName(provider: string, account: string): Promise<AccountRow | undefined>;
  account(label: Uint8Array): Promise<AccountRow | undefined>;
  version(label: Uint8Array, version: number): Promise<VersionRow | undefined>;
  versions(label: Uint8Array, from: number, to: number): Promise<VersionRow[]>;
  credentials(): Promise<CredentialRow[]>;
  latestEpoch(): Promise<EpochRow | undefined>;
  /** Every label's latest (version, history hash), to rebuild the map. */
  mapLeaves(): Promise<{ label: Uint8Array; version: number; historyHash: Uint8Array }[]>;
  /** A synchronous function applying `w`, to run inside the log's commit transaction. */
  epochWriter(w: EpochWrites): () => void;
  /** After an epoch that erased data: make sure no copy of it survives in the backend's files. */
  afterErasure(): void;
}

// Versions and names refer to an account by its integer id, not its 32-byte label: most rows are
// versions, and this keeps each of them about 30 bytes smaller.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS dir_accounts (
  id INTEGER PRIMARY KEY, label BLOB NOT NULL UNIQUE, version INTEGER NOT NULL,
  history BLOB NOT NULL, prev_history BLOB NOT NULL, vrf_proof BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS dir_names (provider TEXT NOT NULL, account TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (provider, account)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dir_versions (
  id INTEGER NOT NULL, version INTEGER NOT NULL, opening BLOB, statement BLOB, signature BLOB,
  credential INTEGER NOT NULL, log_index INTEGER NOT NULL, PRIMARY KEY (id, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dir_credentials (log_index INTEGER PRIMARY KEY, provider TEXT NOT NULL, fingerprint BLOB NOT NULL, entry BLOB NOT NULL, revoked_index INTEGER);
CREATE TABLE IF NOT EXISTS dir_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL, log_index INTEGER NOT NULL, entry BLOB NOT NULL, proof BLOB NOT NULL, checkpoint TEXT NOT NULL);
`;

function bytes(b: Uint8Array): Uint8Array;
function bytes(b: Uint8Array | null): Uint8Array | null;
function bytes(b: Uint8Array | null): Uint8Array | null {
  return b === null ? null : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

type RawAccount = { label: Uint8Array; version: number; history: Uint8Array; prev_history: Uint8Array; vrf_proof: Uint8Array };
type RawVersion = { label: Uint8Array; version: number; opening: Uint8Array | null; statement: Uint8Array | null; signature: Uint8Array | null; credential: number; log_index: number };

function accountRow(r: RawAccount): AccountRow {
  return { label: bytes(r.label), version: r.version, history: bytes(r.history), previousHistory: bytes(r.prev_history), vrfProof: bytes(r.vrf_proof) };
}

function versionRow(r: RawVersion): VersionRow {
  return {
    label: bytes(r.label), version: r.version, opening: bytes(r.opening), statement: bytes(r.statement), signature: bytes(r.signature),
    credentialIndex: r.credential, logIndex: r.log_index,
  };
}

const VERSION_COLUMNS = 'a.label, v.version, v.opening, v.statement, v.signature, v.credential, v.log_index FROM dir_versions v JOIN dir_accounts a ON a.id = v.id';
const ID_OF = '(SELECT id FROM dir_accounts WHERE label = ?)';

function prepare(db: Database.Database) {
  return {
    byName: db.prepare<[string, string], RawAccount>(
      'SELECT a.label, a.version, a.history, a.prev_history, a.vrf_proof FROM dir_names n JOIN dir_accounts a ON a.id = n.id WHERE n.provider = ? AND n.account = ?'),
    account: db.prepare<[Uint8Array], RawAccount>('SELECT label, version, history, prev_history, vrf_proof FROM dir_accounts WHERE label = ?'),
    version: db.prepare<[Uint8Array, number], RawVersion>(`SELECT ${VERSION_COLUMNS} WHERE a.label = ? AND v.version = ?`),
    versions: db.prepare<[Uint8Array, number, number], RawVersion>(`SELECT ${VERSION_COLUMNS} WHERE a.label = ? AND v.version BETWEEN ? AND ? ORDER BY v.version`),
    credentials: db.prepare<[], { log_index: number; provider: string; fingerprint: Uint8Array; entry: Uint8Array; revoked_index: number | null }>('SELECT * FROM dir_credentials ORDER BY log_index'),
    epoch: db.prepare<[], { epoch: number; log_index: number; entry: Uint8Array; proof: Uint8Array; checkpoint: string }>('SELECT epoch, log_index, entry, proof, checkpoint FROM dir_epoch WHERE id = 1'),
    leaves: db.prepare<[], { label: Uint8Array; version: number; history: Uint8Array }>('SELECT label, version, history FROM dir_accounts'),
    putAccount: db.prepare(
      'INSERT INTO dir_accounts (label, version, history, prev_history, vrf_proof) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (label) DO UPDATE SET version = excluded.version, history = excluded.history, prev_history = excluded.prev_history',
    ),
    putName: db.prepare(`INSERT OR REPLACE INTO dir_names (provider, account, id) VALUES (?, ?, ${ID_OF})`),
    putVersion: db.prepare(`INSERT INTO dir_versions (id, version, opening, statement, signature, credential, log_index) VALUES (${ID_OF}, ?, ?, ?, ?, ?, ?)`),
    putCredential: db.prepare('INSERT INTO dir_credentials (log_index, provider, fingerprint, entry, revoked_index) VALUES (?, ?, ?, ?, NULL)'),
    revoke: db.prepare('UPDATE dir_credentials SET revoked_index = ? WHERE log_index = ? AND revoked_index IS NULL'),
    erase: db.prepare(`UPDATE dir_versions SET opening = NULL, statement = NULL, signature = NULL WHERE id = ${ID_OF} AND version < ?`),
    putEpoch: db.prepare('INSERT OR REPLACE INTO dir_epoch (id, epoch, log_index, entry, proof, checkpoint) VALUES (1, ?, ?, ?, ?, ?)'),
  };
}

export class SqliteDirectoryStore implements DirectoryStore {
  private readonly q: ReturnType<typeof prepare>;

  constructor(private readonly db: Database.Database) {
    // Erasure sets openings and statements to NULL; secure_delete overwrites the freed bytes with zeros.
    db.pragma('secure_delete = ON');
    db.exec(SCHEMA);
    this.q = prepare(db);
  }

  /** Copies the WAL into the database and truncates it, so erased bytes do not linger in the WAL file. */
  afterErasure(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  async accountByName(provider: string, account: string): Promise<AccountRow | undefined> {
    const r = this.q.byName.get(provider, account);
    return r ? accountRow(r) : undefined;
  }

  async account(label: Uint8Array): Promise<AccountRow | undefined> {
    const r = this.q.account.get(label);
    return r ? accountRow(r) : undefined;
  }

  async version(label: Uint8Array, version: number): Promise<VersionRow | undefined> {
    const r = this.q.version.get(label, version);
    return r ? versionRow(r) : undefined;
  }

  async versions(label: Uint8Array, from: number, to: number): Promise<VersionRow[]> {
    return this.q.versions.all(label, from, to).map(versionRow);
  }

  async credentials(): Promise<CredentialRow[]> {
    return this.q.credentials.all().map((r) => ({
      logIndex: r.log_index, providerId: r.provider, fingerprint: bytes(r.fingerprint), entry: bytes(r.entry), revokedIndex: r.revoked_index,
    }));
  }

  async latestEpoch(): Promise<EpochRow | undefined> {
    const r = this.q.epoch.get();
    return r ? { epoch: r.epoch, logIndex: r.log_index, entry: bytes(r.entry), proof: bytes(r.proof), checkpoint: r.checkpoint } : undefined;
  }

  async mapLeaves(): Promise<{ label: Uint8Array; version: number; historyHash: Uint8Array }[]> {
    return this.q.leaves.all().map((r) => ({ label: bytes(r.label), version: r.version, historyHash: bytes(r.history) }));
  }

  /** Accounts first (they create the ids that names and versions refer to), then the rest. */
  epochWriter(w: EpochWrites): () => void {
    return () => {
      for (const a of w.accounts) this.q.putAccount.run(a.label, a.version, a.history, a.previousHistory, a.vrfProof);
      for (const n of w.names) this.q.putName.run(n.provider, n.account, n.label);
      for (const v of w.versions) this.q.putVersion.run(v.label, v.version, v.opening, v.statement, v.signature, v.credentialIndex, v.logIndex);
      for (const c of w.credentials) this.q.putCredential.run(c.logIndex, c.providerId, c.fingerprint, c.entry);
      for (const r of w.revocations) this.q.revoke.run(r.revokedIndex, r.logIndex);
      for (const e of w.erasures) this.q.erase.run(e.label, e.below);
      const ep = w.epoch;
      this.q.putEpoch.run(ep.epoch, ep.logIndex, ep.entry, ep.proof, ep.checkpoint);
    };
  }
}
