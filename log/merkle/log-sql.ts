/**
 * The log's tables, the same on every SQLite backend (better-sqlite3 on Node, a Durable Object on
 * Workers): the head (size and signed checkpoint), the rightmost version of each tile, and the entry
 * bundles. See log/merkle/storage.ts for what each holds.
 */
export const LOG_SCHEMA = `
CREATE TABLE IF NOT EXISTS log_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  size INTEGER NOT NULL,
  checkpoint TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS log_tiles (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_bundles (
  idx INTEGER PRIMARY KEY,
  data BLOB NOT NULL
);
`;
