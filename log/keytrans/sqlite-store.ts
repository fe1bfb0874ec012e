/**
 * A KEYTRANS deployment's store in an SQLite file (Node, better-sqlite3): the tables of keytrans-sql.ts, in the
 * directory's own file, so that a backup or restore of the directory carries its deployments. Reads are point
 * queries on primary keys. An append is one transaction that first checks the stored size, so that two writers
 * cannot both append at one position, and then inserts the entry, its log nodes, prefix rows and versions: a crash
 * leaves either all of them or none.
 */
import type Database from 'better-sqlite3';
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

/** better-sqlite3 returns BLOBs as Buffers: a plain Uint8Array copy of the same bytes. */
const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b);

type EntryRow = { timestamp: number; prefix_root: Uint8Array; head_signature: Uint8Array };

function prepare(db: Database.Database) {
  return {
    size: db.prepare<[number], { size: number }>(Q.size),
    entry: db.prepare<[number, number], EntryRow>(Q.entry),
    addEntry: db.prepare(Q.addEntry),
    logNode: db.prepare<[number, number, number], { value: Uint8Array }>(Q.logNode),
    addLogNode: db.prepare(Q.addLogNode),
    prefixNode: db.prepare<[number, number, Uint8Array, number], { node: Uint8Array }>(Q.prefixNode),
    addPrefixNode: db.prepare(Q.addPrefixNode),
    versionCount: db.prepare<[number, Uint8Array], { n: number }>(Q.versionCount),
    versions: db.prepare<[number, Uint8Array, number], RawKeyTransVersion>(Q.versions),
    addVersion: db.prepare(Q.addVersion),
    erase: db.prepare(Q.erase),
  };
}

export class SqliteDeploymentStore implements DeploymentStore {
  private readonly q: ReturnType<typeof prepare>;

  constructor(
    private readonly db: Database.Database,
    private readonly id: number,
  ) {
    this.q = prepare(db);
  }

  size(): number {
    return this.q.size.get(this.id)?.size ?? 0;
  }

  private entryRow(position: number): EntryRow {
    const row = this.q.entry.get(this.id, position);
    if (!row) throw new DeploymentError('deployment_corrupt', `log entry ${position} is not stored`);
    return row;
  }

  entry(position: number): LogEntry {
    const row = this.entryRow(position);
    return { timestamp: row.timestamp, prefixTree: plain(row.prefix_root) };
  }

  treeHead(treeSize: number): TreeHead {
    return { treeSize, signature: plain(this.entryRow(treeSize - 1).head_signature) };
  }

  logNode(level: number, index: number): Uint8Array {
    const row = this.q.logNode.get(this.id, level, index);
    if (!row) throw new DeploymentError('deployment_corrupt', `log subtree (${level}, ${index}) is not stored`);
    return plain(row.value);
  }

  prefixNode(depth: number, path: Uint8Array, position: number): PrefixNode {
    const row = this.q.prefixNode.get(this.id, depth, path, position);
    return row ? decodePrefixNode(plain(row.node)) : { kind: 'empty' };
  }

  versionCount(label: Uint8Array): number {
    return this.q.versionCount.get(this.id, label)?.n ?? 0;
  }

  versions(label: Uint8Array, position: number | null): StoredVersion[] {
    const rows = this.q.versions.all(this.id, label, position ?? Number.MAX_SAFE_INTEGER);
    return rows.map((r) => versionFromRow(r, plain));
  }

  append(a: DeploymentAppend): void {
    this.db.transaction(() => {
      if (this.size() !== a.position)
        throw new DeploymentError('deployment_conflict', `the deployment is no longer at size ${a.position}`);
      this.q.addEntry.run(this.id, a.position, a.entry.timestamp, a.entry.prefixTree, a.headSignature);
      for (const n of a.logNodes) this.q.addLogNode.run(this.id, n.level, n.index, n.value);
      for (const n of a.prefixNodes)
        this.q.addPrefixNode.run(this.id, n.depth, n.path, a.position, encodePrefixNode(n.node));
      for (const { label, version: v } of a.versions) {
        const signature = v.value?.suffix.signature ?? null;
        const row = [v.version, v.position, v.vrfOutput, v.vrfProof, v.commitment, v.opening, v.value?.value ?? null];
        this.q.addVersion.run(this.id, label, ...row, signature);
      }
    })();
  }

  erase(label: Uint8Array, version: number): boolean {
    return this.q.erase.run(this.id, label, version).changes > 0;
  }
}

/**
 * Every provider's deployment in one SQLite file (the directory's); with `reader`, on a reader process's
 * connection, which creates nothing (the sequencer made the tables and the deployments).
 */
export class SqliteDeploymentStores implements DeploymentStores {
  constructor(
    private readonly db: Database.Database,
    opts: { reader?: boolean } = {},
  ) {
    if (!opts.reader) db.exec(KEYTRANS_SCHEMA);
  }

  private tablesSeen = false;

  putAnchor(a: KeyTransAnchor): void {
    this.db.prepare(Q.addAnchor).run(a.epoch, a.logIndex, a.entry, concatBytes(...a.proof));
  }

  anchor(epoch: number): KeyTransAnchor | null {
    type Row = { epoch: number; log_index: number; entry: Uint8Array; proof: Uint8Array };
    const row = this.hasTables() ? this.db.prepare<[number], Row>(Q.anchor).get(epoch) : undefined;
    if (!row) return null;
    if (row.proof.length % 32 !== 0) throw new DeploymentError('deployment_corrupt', `epoch ${epoch}'s anchor proof`);
    const proof = Array.from({ length: row.proof.length / 32 }, (_, i) =>
      plain(row.proof.subarray(32 * i, 32 * i + 32)),
    );
    return { epoch: row.epoch, logIndex: row.log_index, entry: plain(row.entry), proof };
  }

  /**
   * Whether the tables exist: a reader of a file the sequencer has not yet opened with KEYTRANS sees none. Asked
   * again until they do (every KEYTRANS request asks), never after.
   */
  private hasTables(): boolean {
    this.tablesSeen ||= !!this.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kt_anchors'")
      .get();
    return this.tablesSeen;
  }

  configured(): Map<string, Uint8Array> {
    if (!this.hasTables()) return new Map(); // a reader of a file the sequencer has not yet opened with KEYTRANS
    const rows = this.db.prepare<[], { provider: string; config: Uint8Array }>(Q.deployments).all();
    return new Map(rows.map((r) => [r.provider, plain(r.config)]));
  }

  /**
   * The deployment of `provider`, made with `config` if it has none. A stored deployment under another
   * configuration is refused with 'deployment_corrupt': its heads were signed under the stored one.
   */
  open(provider: string, config: Configuration): SqliteDeploymentStore {
    const bytes = encodeConfiguration(config);
    const found = this.db.prepare<[string], { id: number; config: Uint8Array }>(Q.deployment).get(provider);
    if (found && !equalBytes(plain(found.config), bytes))
      throw new DeploymentError('deployment_corrupt', `provider ${provider}'s deployment has another configuration`);
    const id = found?.id ?? Number(this.db.prepare(Q.addDeployment).run(provider, bytes).lastInsertRowid);
    return new SqliteDeploymentStore(this.db, id);
  }
}
