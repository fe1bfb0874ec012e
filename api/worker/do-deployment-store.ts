/**
 * The KEYTRANS deployments (docs/PROTOCOL.md section 22) on a Cloudflare Durable Object's SQLite storage, the
 * Worker's counterpart of log/keytrans/sqlite-store.ts: the stores of log/keytrans/sql-deployment-store.ts, in the
 * same database as the log and the directory, over `ctx.storage.sql`. An append's `transactionSync` runs inside the
 * epoch's log commit (api/worker/do-log-storage.ts), so a deployment's entry lands with the epoch or not at all.
 * Erasure sets openings and values to NULL; as for the directory's rows (do-directory-store.ts), the freed bytes
 * cannot be scrubbed on a Durable Object.
 */
import { type KeyTransSql, SqlDeploymentStores } from '../../log/keytrans/sql-deployment-store.js';
import type { DoSqlStorage, DoSqlValue } from './do-log-storage.js';

/** A binding as Durable Object SQL takes it: BLOBs as an ArrayBuffer of exactly the view's bytes. */
const binding = (v: unknown) => (v instanceof Uint8Array ? (v.slice().buffer as ArrayBuffer) : v);

/** A row with each BLOB (ArrayBuffer) column as a Uint8Array. */
function plainRow<T>(row: Record<string, DoSqlValue>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = v instanceof ArrayBuffer ? new Uint8Array(v) : v;
  return out as T;
}

/** `KeyTransSql` on a Durable Object's storage. */
export function doKeyTransSql(storage: Pick<DoSqlStorage, 'sql' | 'transactionSync'>): KeyTransSql {
  const exec = (query: string, bindings: unknown[]) => storage.sql.exec(query, ...bindings.map(binding));
  return {
    all: <T>(query: string, ...bindings: unknown[]) =>
      exec(query, bindings)
        .toArray()
        .map((r) => plainRow<T>(r)),
    run: (query, ...bindings) => void exec(query, bindings).toArray(),
    transaction: (closure) => storage.transactionSync(closure),
    exec: (statements) => void storage.sql.exec(statements),
  };
}

/** Every provider's deployment in the Durable Object's database. */
export class DoDeploymentStores extends SqlDeploymentStores {
  constructor(storage: Pick<DoSqlStorage, 'sql' | 'transactionSync'>) {
    super(doKeyTransSql(storage));
  }
}
