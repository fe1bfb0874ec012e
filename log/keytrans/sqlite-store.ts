/**
 * The KEYTRANS deployments in the directory's SQLite file on Node (better-sqlite3), so that a backup or restore of
 * the directory carries its deployments: the stores of sql-deployment-store.ts over a driver that prepares each
 * query once and returns BLOBs (Buffers) as plain Uint8Array copies.
 */
import type Database from 'better-sqlite3';
import { type KeyTransSql, type SqlBinding, SqlDeploymentStores } from './sql-deployment-store.js';

/** A row with each Buffer column copied into a plain Uint8Array. */
function plainRow<T>(row: Record<string, unknown>): T {
  for (const [k, v] of Object.entries(row)) if (v instanceof Uint8Array) row[k] = new Uint8Array(v);
  return row as T;
}

/** `KeyTransSql` on a better-sqlite3 connection. */
export function betterSqliteKeyTrans(db: Database.Database): KeyTransSql {
  const prepared = new Map<string, Database.Statement>();
  const statement = (query: string) => {
    let s = prepared.get(query);
    if (!s) prepared.set(query, (s = db.prepare(query)));
    return s;
  };
  return {
    all: <T>(query: string, ...bindings: SqlBinding[]) =>
      (statement(query).all(...bindings) as Record<string, unknown>[]).map((r) => plainRow<T>(r)),
    run: (query, ...bindings) => void statement(query).run(...bindings),
    transaction: (closure) => db.transaction(closure)(),
    exec: (statements) => void db.exec(statements),
  };
}

/** Every provider's deployment in the directory's file; with `reader`, on a reader process's connection. */
export class SqliteDeploymentStores extends SqlDeploymentStores {
  constructor(db: Database.Database, opts: { reader?: boolean } = {}) {
    super(betterSqliteKeyTrans(db), opts);
  }
}
