/**
 * The directory's tables and queries, the same on every SQLite backend, statement for statement: the
 * Node store (sqlite-store.ts, better-sqlite3 prepares each once), the Durable Object's store
 * (api/worker/do-directory-store.ts, whose SQL caches prepared statements by their text) and the D1 replica
 * (api/worker/d1-replica.ts). What each row holds is in store.ts.
 */

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
