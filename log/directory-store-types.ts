/**
 * The directory store's contract, shared by its backends (SQLite on Node, log/directory-store.ts; a
 * Durable Object's SQLite storage on Workers, log/do-directory-store.ts): the rows, what an epoch writes,
 * the `DirectoryStore` interface and the SQL schema both SQLite backends create. No imports, so that the
 * Worker can use it without Node's or better-sqlite3's types.
 */

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
  /** Every label's latest (version, history hash), to rebuild the map. */
  mapLeaves(): Promise<{ label: Uint8Array; version: number; historyHash: Uint8Array }[]>;
  /** A synchronous function applying `w`, to run inside the log's commit transaction. */
  epochWriter(w: EpochWrites): () => void;
  /**
   * After an epoch that erased data: make sure no copy of it survives in the backend's files, as far as
   * the backend allows (each backend documents what it can guarantee).
   */
  afterErasure(): void;
}

// Versions and names refer to an account by its integer id, not its 32-byte label: most rows are
// versions, and this keeps each of them about 30 bytes smaller.
export const DIRECTORY_SCHEMA = `
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

/**
 * The SQL of both SQLite backends, statement for statement (better-sqlite3 prepares each once; Durable
 * Object SQL caches prepared statements by their text), and of the D1 replica (api/worker-d1.ts).
 */
/** An account by name with its latest version (a LEFT JOIN, so that a missing version row shows). */
const BY_NAME =
  'SELECT a.label, a.version, a.history, a.prev_history, a.vrf_proof, v.opening, v.statement, v.signature, v.credential, v.log_index ' +
  'FROM dir_names n JOIN dir_accounts a ON a.id = n.id LEFT JOIN dir_versions v ON v.id = a.id AND v.version = a.version ' +
  'WHERE n.provider = ? AND n.account = ?';
const VERSION_COLUMNS =
  'a.label, v.version, v.opening, v.statement, v.signature, v.credential, v.log_index FROM dir_versions v JOIN dir_accounts a ON a.id = v.id';
const ID_OF = '(SELECT id FROM dir_accounts WHERE label = ?)';
export const DIRECTORY_QUERIES = {
  byName: BY_NAME,
  account: 'SELECT label, version, history, prev_history, vrf_proof FROM dir_accounts WHERE label = ?',
  version: `SELECT ${VERSION_COLUMNS} WHERE a.label = ? AND v.version = ?`,
  versions: `SELECT ${VERSION_COLUMNS} WHERE a.label = ? AND v.version BETWEEN ? AND ? ORDER BY v.version`,
  credentials: 'SELECT * FROM dir_credentials ORDER BY log_index',
  epoch: 'SELECT epoch, log_index, entry, proof, checkpoint FROM dir_epoch WHERE id = 1',
  leaves: 'SELECT label, version, history FROM dir_accounts',
  putAccount:
    'INSERT INTO dir_accounts (label, version, history, prev_history, vrf_proof) VALUES (?, ?, ?, ?, ?) ' +
    'ON CONFLICT (label) DO UPDATE SET version = excluded.version, history = excluded.history, prev_history = excluded.prev_history',
  putName: `INSERT OR REPLACE INTO dir_names (provider, account, id) VALUES (?, ?, ${ID_OF})`,
  putVersion: `INSERT INTO dir_versions (id, version, opening, statement, signature, credential, log_index) VALUES (${ID_OF}, ?, ?, ?, ?, ?, ?)`,
  putCredential:
    'INSERT INTO dir_credentials (log_index, provider, fingerprint, entry, revoked_index) VALUES (?, ?, ?, ?, NULL)',
  revoke: 'UPDATE dir_credentials SET revoked_index = ? WHERE log_index = ? AND revoked_index IS NULL',
  erase: `UPDATE dir_versions SET opening = NULL, statement = NULL, signature = NULL WHERE id = ${ID_OF} AND version < ?`,
  putEpoch:
    'INSERT OR REPLACE INTO dir_epoch (id, epoch, log_index, entry, proof, checkpoint) VALUES (1, ?, ?, ?, ?, ?)',
};
