/**
 * The directory's tables and queries, the same on every SQLite backend, statement for statement: the
 * Node store (sqlite-store.ts, better-sqlite3 prepares each once), the Durable Object's store
 * (api/worker/do-directory-store.ts, whose SQL caches prepared statements by their text) and the D1 replica
 * (api/worker/d1-replica.ts), and the readers of their rows. What each row holds is in store.ts.
 */
import type { AccountRow, CredentialRow, EpochRow, LeafRow, NamedAccount, QueueRow, VersionRow } from './store.js';

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
 * The durable queue of receipted statements (docs/PROTOCOL.md section 16), apart from DIRECTORY_SCHEMA so
 * that the D1 replica, which runs that schema too, does not get it. CREATE TABLE IF NOT EXISTS: a store
 * written by a release without the queue gets the (empty) table in place when it is opened. `id` is the
 * acceptance order; one row per (label, version) at most.
 */
export const QUEUE_SCHEMA = `
CREATE TABLE IF NOT EXISTS dir_queue (
  id INTEGER PRIMARY KEY, label BLOB NOT NULL, version INTEGER NOT NULL, statement BLOB NOT NULL,
  signature BLOB NOT NULL, credential INTEGER NOT NULL, vrf_proof BLOB NOT NULL, accepted_at INTEGER NOT NULL,
  deadline INTEGER NOT NULL, UNIQUE (label, version));
`;

export const QUEUE_QUERIES = {
  all: 'SELECT id, label, version, statement, signature, credential, vrf_proof, accepted_at, deadline FROM dir_queue ORDER BY id',
  put:
    'INSERT INTO dir_queue (label, version, statement, signature, credential, vrf_proof, accepted_at, deadline) ' +
    'VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id',
  remove: 'DELETE FROM dir_queue WHERE id = ?',
};

/**
 * The providers' KEYTRANS UpdateTBS signatures of queued statements (docs/PROTOCOL.md section 22.4), by queue id,
 * written in the transaction that writes the queue row and deleted with it. A table of its own, not a column of
 * dir_queue, so that a file written by a release without KEYTRANS gets it in place (CREATE TABLE IF NOT EXISTS,
 * empty: its queued statements carry none). Node's SQLite store and the Durable Object's (api/worker/do-directory-store.ts).
 */
export const KEYTRANS_QUEUE_SCHEMA = `
CREATE TABLE IF NOT EXISTS dir_queue_keytrans (id INTEGER PRIMARY KEY, signature BLOB NOT NULL);
`;

export const KEYTRANS_QUEUE_QUERIES = {
  all: 'SELECT id, signature FROM dir_queue_keytrans',
  put: 'INSERT INTO dir_queue_keytrans (id, signature) VALUES (?, ?)',
  remove: 'DELETE FROM dir_queue_keytrans WHERE id = ?',
};

/**
 * The stored map (docs/PROTOCOL.md section 21, verifier/formats/map-nodes.ts): one row per internal node of
 * the prefix tree, by key, and the root row under the empty key. Apart from DIRECTORY_SCHEMA, as the queue
 * is: the D1 replica does not hold it. A store written by a release without it gets the table in place,
 * and the directory builds its rows from dir_accounts when it opens (log/directory/map-upgrade.ts).
 */
export const MAP_SCHEMA = `
CREATE TABLE IF NOT EXISTS dir_map (key BLOB PRIMARY KEY, node BLOB NOT NULL) WITHOUT ROWID;
`;

/**
 * The checkpoint the sequencer serves with its last epoch: the signed one, with the witnesses'
 * cosignatures once they answered (docs/PROTOCOL.md section 18). Readers of the store that are not the
 * sequencer serve an epoch only once its row here names it (directory-reader.ts), as the sequencer waits for
 * the cosignatures before it serves an epoch. A store of an earlier release gets the table in place; the
 * sequencer writes the row when it opens.
 */
export const SERVED_SCHEMA = `
CREATE TABLE IF NOT EXISTS dir_served (id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL, checkpoint TEXT NOT NULL);
`;

export const SERVED_QUERIES = {
  put: 'INSERT OR REPLACE INTO dir_served (id, epoch, checkpoint) VALUES (1, ?, ?)',
  /** The last epoch's row with its served checkpoint, only when that checkpoint is the last epoch's. */
  epoch:
    'SELECT e.epoch, e.log_index, e.entry, e.proof, s.checkpoint FROM dir_epoch e ' +
    'JOIN dir_served s ON s.id = 1 AND s.epoch = e.epoch WHERE e.id = 1',
  /** The served checkpoint, of the last epoch or, while that one waits for its cosignatures, of the one before. */
  checkpoint: 'SELECT checkpoint FROM dir_served WHERE id = 1',
};

export const MAP_QUERIES = {
  node: 'SELECT node FROM dir_map WHERE key = ?',
  put: 'INSERT OR REPLACE INTO dir_map (key, node) VALUES (?, ?)',
  firstLeaves: 'SELECT label, version, history FROM dir_accounts ORDER BY label LIMIT ?',
  leavesAfter: 'SELECT label, version, history FROM dir_accounts WHERE label > ? ORDER BY label LIMIT ?',
};

/** An account by name with its latest version (a LEFT JOIN, so that a missing version row shows). */
const BY_NAME_FROM =
  'FROM dir_names n JOIN dir_accounts a ON a.id = n.id LEFT JOIN dir_versions v ON v.id = a.id AND v.version = a.version ' +
  'WHERE n.provider = ? AND n.account = ?';
const BY_NAME =
  'SELECT a.label, a.version, a.history, a.prev_history, a.vrf_proof, v.opening, v.statement, v.signature, v.credential, v.log_index ' +
  BY_NAME_FROM;
/**
 * BY_NAME with its seven BLOBs read as one, concatenated and CAST back to a BLOB (`||` joins the bytes as they
 * are in a UTF-8 database; a UTF-16 one would transcode them, so a store on one reads BY_NAME), each one's
 * length beside it (NULL for a NULL column): on
 * better-sqlite3 each BLOB comes back as a Buffer of its own, about 1.5 µs apiece, which was a third of what
 * a lookup's read of its name cost. `unpackNamedRow` splits it, and refuses a row whose lengths do not add up.
 */
const PACKED_COLUMNS = [
  'a.label',
  'a.history',
  'a.prev_history',
  'a.vrf_proof',
  'v.opening',
  'v.statement',
  'v.signature',
];
const BY_NAME_PACKED =
  `SELECT a.version, v.credential, v.log_index, ${PACKED_COLUMNS.map((c, i) => `length(${c}) n${i}`).join(', ')}, ` +
  `CAST(${PACKED_COLUMNS.map((c) => `ifnull(${c}, x'')`).join(' || ')} AS BLOB) packed ` +
  BY_NAME_FROM;
const VERSION_COLUMNS =
  'a.label, v.version, v.opening, v.statement, v.signature, v.credential, v.log_index FROM dir_versions v JOIN dir_accounts a ON a.id = v.id';
const ID_OF = '(SELECT id FROM dir_accounts WHERE label = ?)';
export const DIRECTORY_QUERIES = {
  byName: BY_NAME,
  byNamePacked: BY_NAME_PACKED,
  account: 'SELECT label, version, history, prev_history, vrf_proof FROM dir_accounts WHERE label = ?',
  version: `SELECT ${VERSION_COLUMNS} WHERE a.label = ? AND v.version = ?`,
  versions: `SELECT ${VERSION_COLUMNS} WHERE a.label = ? AND v.version BETWEEN ? AND ? ORDER BY v.version`,
  credentials: 'SELECT * FROM dir_credentials ORDER BY log_index',
  epoch: 'SELECT epoch, log_index, entry, proof, checkpoint FROM dir_epoch WHERE id = 1',
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

/** The columns of the queries' rows, with BLOB columns as the backend returns them (`B`). */
export type RawAccount<B> = { label: B; version: number; history: B; prev_history: B; vrf_proof: B };
export type RawVersion<B> = {
  label: B;
  version: number;
  opening: B | null;
  statement: B | null;
  signature: B | null;
  credential: number;
  log_index: number;
};
/** The by-name query's row: the account and its latest version (NULLs when the version row is missing). */
export type RawNamed<B> = RawAccount<B> & {
  opening: B | null;
  statement: B | null;
  signature: B | null;
  credential: number | null;
  log_index: number | null;
};
/** The packed by-name query's row: the lengths n0..n6 of PACKED_COLUMNS' values, in order, then their bytes. */
export type RawNamedPacked<B> = {
  version: number;
  credential: number | null;
  log_index: number | null;
  packed: B;
} & Record<`n${0 | 1 | 2 | 3 | 4 | 5 | 6}`, number | null>;

/**
 * A packed by-name row (see BY_NAME_PACKED) as BY_NAME's row, for `named` to read; `packed` is the row's
 * `packed` column as bytes. The version's byte strings are views of it (a lookup's answer is made of them and
 * dropped); the account's are copies, as they may be kept (the sequencer keeps labels and histories in its
 * pending jobs and its leaf memo), and a view would keep the whole row.
 */
export function unpackNamedRow<B>(r: RawNamedPacked<B>, packed: Uint8Array): RawNamed<Uint8Array> {
  const lengths = [r.n0, r.n1, r.n2, r.n3, r.n4, r.n5, r.n6];
  if (lengths.reduce<number>((sum, n) => sum + (n ?? 0), 0) !== packed.length)
    throw new Error("dir_names: a packed account row's lengths do not add up to its bytes");
  let at = 0;
  const [label, history, prevHistory, vrfProof, opening, statement, signature] = lengths.map((n) => {
    if (n === null) return null;
    at += n;
    return packed.subarray(at - n, at);
  });
  return {
    label: label!.slice(),
    version: r.version,
    history: history!.slice(),
    prev_history: prevHistory!.slice(),
    vrf_proof: vrfProof!.slice(),
    opening,
    statement,
    signature,
    credential: r.credential,
    log_index: r.log_index,
  };
}

export type RawCredential<B> = {
  log_index: number;
  provider: string;
  fingerprint: B;
  entry: B;
  revoked_index: number | null;
};
export type RawEpoch<B> = { epoch: number; log_index: number; entry: B; proof: B; checkpoint: string };
export type RawLeaf<B> = { label: B; version: number; history: B };
export type RawQueued<B> = {
  id: number;
  label: B;
  version: number;
  statement: B;
  signature: B;
  credential: number;
  vrf_proof: B;
  accepted_at: number;
  deadline: number;
};

/**
 * The readers of the queries' rows for a backend whose BLOB columns come back as `B`, given how to turn
 * one into bytes (`bytes`), and a nullable one into bytes or null (`bytesOrNull`): the same rows on every
 * backend.
 */
export function rowReaders<B>(bytes: (v: B) => Uint8Array, bytesOrNull: (v: B | null) => Uint8Array | null) {
  const account = (r: RawAccount<B>): AccountRow => ({
    label: bytes(r.label),
    version: r.version,
    history: bytes(r.history),
    previousHistory: bytes(r.prev_history),
    vrfProof: bytes(r.vrf_proof),
  });
  const version = (r: RawVersion<B>): VersionRow => ({
    label: bytes(r.label),
    version: r.version,
    opening: bytesOrNull(r.opening),
    statement: bytesOrNull(r.statement),
    signature: bytesOrNull(r.signature),
    credentialIndex: r.credential,
    logIndex: r.log_index,
  });
  return {
    account,
    version,
    named(r: RawNamed<B>): NamedAccount {
      if (r.credential === null || r.log_index === null) return { account: account(r) };
      return { account: account(r), latest: version({ ...r, credential: r.credential, log_index: r.log_index }) };
    },
    credential: (r: RawCredential<B>): CredentialRow => ({
      logIndex: r.log_index,
      providerId: r.provider,
      fingerprint: bytes(r.fingerprint),
      entry: bytes(r.entry),
      revokedIndex: r.revoked_index,
    }),
    epoch: (r: RawEpoch<B>): EpochRow => ({
      epoch: r.epoch,
      logIndex: r.log_index,
      entry: bytes(r.entry),
      proof: bytes(r.proof),
      checkpoint: r.checkpoint,
    }),
    leaf: (r: RawLeaf<B>): LeafRow => ({ label: bytes(r.label), version: r.version, historyHash: bytes(r.history) }),
    queued: (r: RawQueued<B>): QueueRow => ({
      id: r.id,
      label: bytes(r.label),
      version: r.version,
      statement: bytes(r.statement),
      signature: bytes(r.signature),
      credentialIndex: r.credential,
      vrfProof: bytes(r.vrf_proof),
      acceptedAt: r.accepted_at,
      deadline: r.deadline,
    }),
  };
}
