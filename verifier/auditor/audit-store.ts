/**
 * Where an auditor keeps what it has audited: the saved state (`AuditorState`) and the replayed map's rows
 * (verifier/formats/stored-map.ts), committed together, so that the state and the map always belong to
 * each other. An audit writes each epoch's rows as it replays them; they are kept when the whole audit passed
 * or at a save part way through a long one (`commit`, with the new state), and dropped otherwise (`rollback`,
 * back to the last commit). `MemoryAuditStore` keeps
 * both in memory, with an undo log for `rollback`; `kt audit` keeps them in an SQLite file (cli/audit-store.ts),
 * so that its memory does not grow with the directory.
 */
import { mapKeyId, type MapNodeRow } from '../formats/map-nodes.js';
import { MemoryMapStore, type MapNodeStore } from '../formats/stored-map.js';
import type { AuditorState } from './auditor.js';

export interface AuditStore extends MapNodeStore {
  /** The state the last committed audit saved, or undefined before the first. */
  savedState(): AuditorState | undefined;
  /** Keeps the rows written since the last commit or rollback, with `state`, in one step. */
  commit(state: AuditorState): void;
  /** Drops the rows written since the last commit or rollback. */
  rollback(): void;
}

/** An audit store in memory; `state` is where it starts (a state of the release before the stored map too). */
export class MemoryAuditStore implements AuditStore {
  private readonly rows = new MemoryMapStore();
  /** The rows' values before their first write since the last commit (undefined: the row was absent). */
  private undo = new Map<number | string, { key: Uint8Array; value: Uint8Array | undefined }>();

  constructor(private state?: AuditorState) {}

  savedState(): AuditorState | undefined {
    return this.state;
  }

  mapNode(key: Uint8Array): Uint8Array | undefined {
    return this.rows.mapNode(key);
  }

  writeMapRows(rows: MapNodeRow[]): void {
    for (const r of rows) {
      const k = mapKeyId(r.key);
      if (!this.undo.has(k)) this.undo.set(k, { key: r.key, value: this.rows.mapNode(r.key) });
    }
    this.rows.writeMapRows(rows);
  }

  commit(state: AuditorState): void {
    this.state = state;
    this.undo.clear();
  }

  rollback(): void {
    for (const { key, value } of this.undo.values())
      this.rows.writeMapRows(value === undefined ? [] : [{ key, value }]);
    this.rows.forget([...this.undo.values()].filter((u) => u.value === undefined).map((u) => u.key));
    this.undo.clear();
  }
}
