/**
 * The KEYTRANS deployments in an SQLite database, over the few calls every SQLite driver here offers (`KeyTransSql`:
 * run a query for its rows, run a statement, run a closure in a transaction), so that Node's file
 * (log/keytrans/sqlite-store.ts, better-sqlite3) and a Durable Object's storage (api/worker/do-deployment-store.ts)
 * keep the same tables (keytrans-sql.ts) with the same semantics. Reads are point queries on primary keys. An append
 * is one transaction that first checks the stored size, so that two writers cannot both append at one position, and
 * then inserts the entry, its log nodes, prefix rows and versions: a crash leaves either all of them or none. Inside
 * the directory's epoch commit (where appends run), the transaction nests in the commit's and lands with it.
 */
import { encodeConfiguration } from '../../verifier/keytrans/signed-structures.js';
import type { PrefixNode } from '../../verifier/keytrans/tree-readers.js';
import type { Configuration, LogEntry, TreeHead } from '../../verifier/keytrans/types.js';
import { concatBytes, equalBytes } from '../../wasm-free-crypto/bytes.js';
import type { KeyTransAnchor } from '../directory/keytrans-hook.js';
import { DeploymentError } from './deployment-error.js';
import type { DeploymentAppend, DeploymentStore, DeploymentStores } from './deployment-store.js';
import type { StoredVersion } from './deployment-view.js';
import {
  decodePrefixNode,
  encodePrefixNode,
  KEYTRANS_QUERIES as Q,
  KEYTRANS_SCHEMA,
  type RawKeyTransVersion,
  versionFromRow,
} from './keytrans-sql.js';

/** A value bound to a query: BLOBs as Uint8Array (the driver converts them to its own type). */
export type SqlBinding = Uint8Array | string | number | null;

/** What the stores need of an SQLite driver. Every BLOB column comes back as a plain Uint8Array. */
export interface KeyTransSql {
  /** The rows of `query`. */
  all<T>(query: string, ...bindings: SqlBinding[]): T[];
  /** Runs a statement that returns no rows. */
  run(query: string, ...bindings: SqlBinding[]): void;
  /** Runs `closure` in a transaction (nested in the caller's, if one is open): all its writes or none. */
  transaction(closure: () => void): void;
  /** Runs `statements` (the schema), separated by semicolons. */
  exec(statements: string): void;
}

type EntryRow = { timestamp: number; prefix_root: Uint8Array; head_signature: Uint8Array };

export class SqlDeploymentStore implements DeploymentStore {
  constructor(
    private readonly sql: KeyTransSql,
    private readonly id: number,
  ) {}

  private first<T>(query: string, ...bindings: SqlBinding[]): T | undefined {
    return this.sql.all<T>(query, ...bindings)[0];
  }

  size(): number {
    return this.first<{ size: number }>(Q.size, this.id)?.size ?? 0;
  }

  private entryRow(position: number): EntryRow {
    const row = this.first<EntryRow>(Q.entry, this.id, position);
    if (!row) throw new DeploymentError('deployment_corrupt', `log entry ${position} is not stored`);
    return row;
  }

  entry(position: number): LogEntry {
    const row = this.entryRow(position);
    return { timestamp: row.timestamp, prefixTree: row.prefix_root };
  }

  treeHead(treeSize: number): TreeHead {
    return { treeSize, signature: this.entryRow(treeSize - 1).head_signature };
  }

  logNode(level: number, index: number): Uint8Array {
    const row = this.first<{ value: Uint8Array }>(Q.logNode, this.id, level, index);
    if (!row) throw new DeploymentError('deployment_corrupt', `log subtree (${level}, ${index}) is not stored`);
    return row.value;
  }

  prefixNode(depth: number, path: Uint8Array, position: number): PrefixNode {
    return this.heldPrefixNode(depth, path, position) ?? { kind: 'empty' };
  }

  /** The node named (depth, path) as of `position` if a row of it is held here, else undefined. */
  heldPrefixNode(depth: number, path: Uint8Array, position: number): PrefixNode | undefined {
    const row = this.first<{ node: Uint8Array }>(Q.prefixNode, this.id, depth, path, position);
    return row && decodePrefixNode(row.node);
  }

  versionCount(label: Uint8Array): number {
    return this.first<{ n: number }>(Q.versionCount, this.id, label)?.n ?? 0;
  }

  versions(label: Uint8Array, position: number | null): StoredVersion[] {
    const rows = this.sql.all<RawKeyTransVersion>(Q.versions, this.id, label, position ?? Number.MAX_SAFE_INTEGER);
    return rows.map(versionFromRow);
  }

  append(a: DeploymentAppend): void {
    this.sql.transaction(() => {
      if (this.size() !== a.position)
        throw new DeploymentError('deployment_conflict', `the deployment is no longer at size ${a.position}`);
      this.sql.run(Q.addEntry, this.id, a.position, a.entry.timestamp, a.entry.prefixTree, a.headSignature);
      for (const n of a.logNodes) this.sql.run(Q.addLogNode, this.id, n.level, n.index, n.value);
      for (const n of a.prefixNodes)
        this.sql.run(Q.addPrefixNode, this.id, n.depth, n.path, a.position, encodePrefixNode(n.node));
      for (const { label, version: v } of a.versions) {
        const value = v.value?.value ?? null;
        const signature = v.value?.suffix.signature ?? null;
        const row = [v.version, v.position, v.vrfOutput, v.vrfProof, v.commitment, v.opening, value, signature];
        this.sql.run(Q.addVersion, this.id, label, ...row);
      }
    });
  }

  erase(label: Uint8Array, version: number): boolean {
    const found = this.first<{ n: number }>(Q.hasVersion, this.id, label, version);
    if (found) this.sql.run(Q.erase, this.id, label, version);
    return found !== undefined;
  }
}

/**
 * Every provider's deployment in one database (the directory's); with `reader`, on a reader's connection, which
 * creates nothing (the sequencer made the tables and the deployments).
 */
export class SqlDeploymentStores implements DeploymentStores {
  private tablesSeen = false;

  constructor(
    private readonly sql: KeyTransSql,
    opts: { reader?: boolean } = {},
  ) {
    if (!opts.reader) sql.exec(KEYTRANS_SCHEMA);
  }

  putAnchor(a: KeyTransAnchor): void {
    this.sql.run(Q.addAnchor, a.epoch, a.logIndex, a.entry, concatBytes(...a.proof));
  }

  anchor(epoch: number): KeyTransAnchor | null {
    type Row = { epoch: number; log_index: number; entry: Uint8Array; proof: Uint8Array };
    const [row] = this.hasTables() ? this.sql.all<Row>(Q.anchor, epoch) : [];
    if (!row) return null;
    if (row.proof.length % 32 !== 0) throw new DeploymentError('deployment_corrupt', `epoch ${epoch}'s anchor proof`);
    const proof = Array.from({ length: row.proof.length / 32 }, (_, i) => row.proof.slice(32 * i, 32 * i + 32));
    return { epoch: row.epoch, logIndex: row.log_index, entry: row.entry, proof };
  }

  /** The epoch of the newest anchor held, or null if none is. */
  newestAnchorEpoch(): number | null {
    const [row] = this.hasTables() ? this.sql.all<{ epoch: number | null }>(Q.newestAnchor) : [];
    return row?.epoch ?? null;
  }

  /**
   * Whether the tables exist: a reader of a file the sequencer has not yet opened with KEYTRANS sees none. Asked
   * again until they do (every KEYTRANS request asks), never after.
   */
  private hasTables(): boolean {
    this.tablesSeen ||= this.sql.all(Q.anchorsTable).length > 0;
    return this.tablesSeen;
  }

  configured(): Map<string, Uint8Array> {
    if (!this.hasTables()) return new Map();
    const rows = this.sql.all<{ provider: string; config: Uint8Array }>(Q.deployments);
    return new Map(rows.map((r) => [r.provider, r.config]));
  }

  /**
   * The deployment of `provider`, made with `config` if it has none. A stored deployment under another
   * configuration is refused with 'deployment_corrupt': its heads were signed under the stored one.
   */
  open(provider: string, config: Configuration): DeploymentStore {
    return this.openSql(provider, config);
  }

  /** `open`, as this database's store. */
  protected openSql(provider: string, config: Configuration): SqlDeploymentStore {
    const bytes = encodeConfiguration(config);
    const [found] = this.sql.all<{ id: number; config: Uint8Array }>(Q.deployment, provider);
    if (found && !equalBytes(found.config, bytes))
      throw new DeploymentError('deployment_corrupt', `provider ${provider}'s deployment has another configuration`);
    if (found) return new SqlDeploymentStore(this.sql, found.id);
    const [made] = this.sql.all<{ id: number }>(Q.addDeployment, provider, bytes);
    return new SqlDeploymentStore(this.sql, made.id);
  }
}
