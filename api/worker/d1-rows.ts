/**
 * The directory's index rows read from the D1 replica (d1-layout.ts): a name's label from its name shard, and a
 * label's account row and versions from its label's shard. Shared by the isolate's reader (d1-reader.ts), which
 * answers lookups at the replica's servable epoch, and by the Durable Object's own reads of its bulk
 * (replicated-store.ts), which lays the epochs not yet replicated over them. Each method is one D1 query; rows
 * of a shard applied ahead of the meta database are returned as they are (each caller says what that means).
 */
import {
  DIRECTORY_QUERIES as Q,
  type RawAccount,
  type RawNamed,
  type RawVersion,
} from '../../log/directory/directory-sql.js';
import type { AccountRow, NamedAccount, VersionRow } from '../../log/directory/store.js';
import { labelShard, nameShard, REPLICA_QUERIES as R, type IndexDatabase, type IndexLayout } from './d1-layout.js';
import { blob, blobBytes, doRowReaders, type BlobColumn } from './do-directory-store.js';

/** A label's account row with its latest version's row, in one query of the label's shard. */
const BY_LABEL =
  'SELECT a.label, a.version, a.history, a.prev_history, a.vrf_proof, v.opening, v.statement, v.signature, v.credential, v.log_index ' +
  'FROM dir_accounts a LEFT JOIN dir_versions v ON v.id = a.id AND v.version = a.version WHERE a.label = ?';

export class D1IndexRows {
  constructor(private readonly layout: IndexLayout) {}

  private shardOf(label: Uint8Array): IndexDatabase {
    return this.layout.shards[labelShard(label, this.layout.bits)];
  }

  /** The label of (provider, account) in its name shard, or undefined. */
  async labelOfName(provider: string, account: string): Promise<Uint8Array | undefined> {
    const { shards, bits } = this.layout;
    const row = await shards[nameShard(provider, account, bits)]
      .prepare(R.nameLabel)
      .bind(provider, account)
      .first<{ label: BlobColumn }>();
    return row ? blobBytes(row.label) : undefined;
  }

  /** The account row of `label` with its latest version's row, or undefined. */
  async named(label: Uint8Array): Promise<NamedAccount | undefined> {
    const row = await this.shardOf(label).prepare(BY_LABEL).bind(blob(label)).first<RawNamed<BlobColumn>>();
    return row ? doRowReaders.named(row) : undefined;
  }

  async account(label: Uint8Array): Promise<AccountRow | undefined> {
    const row = await this.shardOf(label).prepare(Q.account).bind(blob(label)).first<RawAccount<BlobColumn>>();
    return row ? doRowReaders.account(row) : undefined;
  }

  async version(label: Uint8Array, version: number): Promise<VersionRow | undefined> {
    const row = await this.shardOf(label).prepare(Q.version).bind(blob(label), version).first<RawVersion<BlobColumn>>();
    return row ? doRowReaders.version(row) : undefined;
  }

  /** The versions of `label` from `from` to `to` (inclusive), in ascending order. */
  async versions(label: Uint8Array, from: number, to: number): Promise<VersionRow[]> {
    const { results } = await this.shardOf(label)
      .prepare(Q.versions)
      .bind(blob(label), from, to)
      .all<RawVersion<BlobColumn>>();
    return results.map(doRowReaders.version);
  }
}
