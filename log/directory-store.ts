/**
 * The directory's indexes beside the log, in the same SQLite database as the log's tiles, so that an
 * epoch's index writes commit in the very transaction that appends its entries and signs its checkpoint
 * (they run as the log commit's `withinCommit`). What is kept: for each (provider, account) its label;
 * for each label its latest version and VRF proof; for each version its commitment, history hash, log
 * index, the credential that signed it and, until erased, its opening, statement and signature; each
 * provider credential (the enrolment entry and its revocation); and the latest epoch head with its
 * inclusion proof and checkpoint. Reads are async so that other backends can implement the interface.
 * The rows, the interface and the schema are in directory-store-types.ts (re-exported here).
 */
import type Database from 'better-sqlite3';
import { DIRECTORY_SCHEMA, type AccountRow, type CredentialRow, type DirectoryStore, type NamedAccount, type EpochRow, type EpochWrites, type VersionRow } from './directory-store-types.js';

export type { AccountRow, CredentialRow, DirectoryStore, EpochRow, EpochWrites, NamedAccount, VersionRow } from './directory-store-types.js';

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

type RawNamed = RawAccount & { opening: Uint8Array | null; statement: Uint8Array | null; signature: Uint8Array | null; credential: number | null; log_index: number | null };

function namedAccount(r: RawNamed): NamedAccount {
  const account = accountRow(r);
  if (r.credential === null || r.log_index === null) return { account };
  return { account, latest: versionRow({ ...r, credential: r.credential, log_index: r.log_index }) };
}

/** An account by name with its latest version (a LEFT JOIN, so that a missing version row shows). */
const BY_NAME =
  'SELECT a.label, a.version, a.history, a.prev_history, a.vrf_proof, v.opening, v.statement, v.signature, v.credential, v.log_index ' +
  'FROM dir_names n JOIN dir_accounts a ON a.id = n.id LEFT JOIN dir_versions v ON v.id = a.id AND v.version = a.version ' +
  'WHERE n.provider = ? AND n.account = ?';
const VERSION_COLUMNS = 'a.label, v.version, v.opening, v.statement, v.signature, v.credential, v.log_index FROM dir_versions v JOIN dir_accounts a ON a.id = v.id';
const ID_OF = '(SELECT id FROM dir_accounts WHERE label = ?)';

function prepare(db: Database.Database) {
  return {
    byName: db.prepare<[string, string], RawNamed>(BY_NAME),
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
    db.exec(DIRECTORY_SCHEMA);
    this.q = prepare(db);
  }

  /** Copies the WAL into the database and truncates it, so erased bytes do not linger in the WAL file. */
  afterErasure(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  async accountByName(provider: string, account: string): Promise<NamedAccount | undefined> {
    const r = this.q.byName.get(provider, account);
    return r ? namedAccount(r) : undefined;
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
