/**
 * The epochs the Durable Object committed that D1 may not hold yet: the rows of its outbox (`dir_outbox`,
 * do-directory-store.ts), decoded once each and indexed by name and label, to lay over the replica's rows when the
 * object reads its own bulk from D1 (replicated-store.ts). An outbox row is deleted only once every database holds
 * its epoch (d1-replica.ts), so the replica's rows with the outbox's laid over them are the object's committed
 * state. Only the rows a submission, a lookup or an epoch's plan reads are indexed: names, account rows, versions,
 * erasures and the stored map's rows.
 */
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { mapKeyString } from '../../verifier/formats/map-nodes.js';
import type { AccountRow, EpochWrites, VersionRow } from '../../log/directory/store.js';
import type { DoSqlStorage } from './do-log-storage.js';
import { decodeEpochWrites } from './outbox-json.js';

type Sql = Pick<DoSqlStorage, 'sql'>;
/** What the view keeps of an epoch's writes. */
type IndexWrites = Pick<EpochWrites, 'names' | 'accounts' | 'versions' | 'erasures' | 'map'>;

const nameKey = (provider: string, account: string) => `${provider}\u0000${account}`;
const versionKey = (label: Uint8Array, version: number) => `${toHex(label)}/${version}`;

/** The outbox's rows at one moment, indexed; later epochs' rows replace earlier ones'. */
export class OutboxView {
  private readonly names = new Map<string, Uint8Array>();
  private readonly accounts = new Map<string, AccountRow>();
  private readonly versionRows = new Map<string, VersionRow>();
  /** Per label, the version below which openings, statements and signatures are erased. */
  private readonly erasedBelow = new Map<string, number>();
  private readonly mapRows = new Map<string, Uint8Array>();

  constructor(epochs: IndexWrites[]) {
    for (const w of epochs) {
      for (const n of w.names) this.names.set(nameKey(n.provider, n.account), n.label);
      for (const a of w.accounts) this.accounts.set(toHex(a.label), a);
      for (const v of w.versions) this.versionRows.set(versionKey(v.label, v.version), v);
      for (const e of w.erasures)
        this.erasedBelow.set(toHex(e.label), Math.max(e.below, this.erasedBelow.get(toHex(e.label)) ?? 0));
      for (const r of w.map ?? []) this.mapRows.set(mapKeyString(r.key), r.value);
    }
  }

  labelOfName(provider: string, account: string): Uint8Array | undefined {
    return this.names.get(nameKey(provider, account));
  }

  /** The stored map's row of `key` as the outbox's newest epoch that wrote it has it. */
  mapRow(key: Uint8Array): Uint8Array | undefined {
    return this.mapRows.get(mapKeyString(key));
  }

  account(label: Uint8Array): AccountRow | undefined {
    return this.accounts.get(toHex(label));
  }

  version(label: Uint8Array, version: number): VersionRow | undefined {
    const row = this.versionRows.get(versionKey(label, version));
    return row && this.erased(row);
  }

  /** The outbox's versions of `label` from `from` to `to` (inclusive). */
  versions(label: Uint8Array, from: number, to: number): VersionRow[] {
    const rows: VersionRow[] = [];
    for (let v = from; v <= to; v++) {
      const row = this.version(label, v);
      if (row) rows.push(row);
    }
    return rows;
  }

  /** `row` with the outbox's erasures applied (erasure only ever clears values: a row cleared stays cleared). */
  erased(row: VersionRow): VersionRow {
    const below = this.erasedBelow.get(toHex(row.label)) ?? 0;
    return row.version < below ? { ...row, opening: null, statement: null, signature: null } : row;
  }
}

/** The outbox's current view, decoding only the rows it has not decoded before. */
export class OutboxOverlay {
  private readonly decoded = new Map<number, IndexWrites>();
  private view = new OutboxView([]);
  private epochsSeen = '';

  constructor(private readonly storage: Sql) {}

  /** The outbox as committed now (a Durable Object's reads see its own committed writes). */
  current(): OutboxView {
    const sql = this.storage.sql;
    const epochs = sql
      .exec<{ epoch: number }>('SELECT epoch FROM dir_outbox ORDER BY epoch')
      .toArray()
      .map((r) => r.epoch);
    const seen = epochs.join(',');
    if (seen === this.epochsSeen) return this.view;
    for (const e of [...this.decoded.keys()]) if (!epochs.includes(e)) this.decoded.delete(e);
    for (const e of epochs) {
      if (this.decoded.has(e)) continue;
      const [row] = sql.exec<{ writes: string }>('SELECT writes FROM dir_outbox WHERE epoch = ?', e).toArray();
      const { names, accounts, versions, erasures, map } = decodeEpochWrites(row.writes);
      this.decoded.set(e, { names, accounts, versions, erasures, map });
    }
    this.view = new OutboxView(epochs.map((e) => this.decoded.get(e)!));
    this.epochsSeen = seen;
    return this.view;
  }
}
