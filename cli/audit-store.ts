/**
 * The state of `kt audit` and of an auditing witness (`kt witness serve --audit`) in one SQLite file
 * (verifier/auditor/audit-store.ts): the auditor's state as JSON (byte strings in base64) and the replayed
 * map's rows (docs/PROTOCOL.md section 21), committed in one transaction after each audit that passed and at
 * the auditor's saves part way through a long one (`progressEvery`), so that the state and the map always
 * belong to each other: a failed audit leaves the file as its last save left it, and an interrupted one goes
 * on from there. The map lives in the file, not in memory: an audit's memory is the
 * rows' cache and one epoch's updates, whatever the directory's size.
 *
 * A state file of the release before the stored map was JSON holding every map leaf. Opened here, it is
 * upgraded in place: its leaves are built into map rows, checked against its last epoch head, and the new
 * file replaces it atomically (written beside it, then renamed over it); a damaged one is refused and left
 * as it is. A state saved before the auditor kept a KEYTRANS history has none (`keyTransHistory` absent): it
 * opens as it is, and the next audit that passes builds the history and writes it with the rest.
 */
import { closeSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { fromBase64, toBase64 } from '../wasm-free-crypto/bytes.js';
import { MapNodeCache } from '../verifier/formats/map-cache.js';
import type { MapNodeRow } from '../verifier/formats/map-nodes.js';
import type { AuditStore } from '../verifier/auditor/audit-store.js';
import type { AuditorState } from '../verifier/auditor/auditor.js';
import { MapReplay } from '../verifier/verification/map-replay.js';
import { readJsonOr } from './files.js';
import { UsageError } from './output.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_map (key BLOB PRIMARY KEY, node BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_state (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL);
`;

/** The state as JSON holds it; `leaves` only in files of the release before the stored map. */
type SavedState = {
  checkpoint: string | null;
  frontier: string[];
  replay: { size: number; lastEpoch: number; credentials: string[]; lastHead: string | null; leaves?: string };
  /** Absent in states saved before it was recorded (verifier/auditor/auditor.ts AuditorState). */
  uncheckedEnrolments?: number;
  /**
   * The KEYTRANS history (`KeyTransHistory.encode`, base64); absent in states of the releases before it, which
   * the next audit builds it for (verifier/auditor/auditor.ts).
   */
  keyTransHistory?: string;
  /** The checkpoint note an audit saved part way was auditing toward (verifier/auditor/auditor.ts). */
  target?: string;
};

function stateFromJson(s: SavedState, path: string): AuditorState {
  try {
    return {
      checkpoint: s.checkpoint,
      frontier: s.frontier.map(fromBase64),
      replay: {
        size: s.replay.size,
        lastEpoch: s.replay.lastEpoch,
        credentials: s.replay.credentials.map(fromBase64),
        lastHead: s.replay.lastHead === null ? null : fromBase64(s.replay.lastHead),
        ...(s.replay.leaves !== undefined && { leaves: fromBase64(s.replay.leaves) }),
      },
      ...(s.uncheckedEnrolments !== undefined && { uncheckedEnrolments: s.uncheckedEnrolments }),
      ...(s.keyTransHistory !== undefined && { keyTransHistory: fromBase64(s.keyTransHistory) }),
      ...(s.target !== undefined && { target: s.target }),
    };
  } catch (e) {
    throw new UsageError(`${path} is not an audit state: ${(e as Error).message}`, 'bad_state');
  }
}

function stateToJson(s: AuditorState): string {
  const saved: SavedState = {
    checkpoint: s.checkpoint,
    frontier: s.frontier.map(toBase64),
    replay: {
      size: s.replay.size,
      lastEpoch: s.replay.lastEpoch,
      credentials: s.replay.credentials.map(toBase64),
      lastHead: s.replay.lastHead && toBase64(s.replay.lastHead),
    },
    uncheckedEnrolments: s.uncheckedEnrolments,
    keyTransHistory: s.keyTransHistory && toBase64(s.keyTransHistory),
    target: s.target,
  };
  return JSON.stringify(saved);
}

/** Whether the file at `path` starts as an SQLite database does (false if it does not exist). */
function isSqlite(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(16);
    return readSync(fd, head, 0, 16, 0) === 16 && head.toString('latin1') === 'SQLite format 3\u0000';
  } catch {
    return false; // a directory: open to read, but not readable (reported when it is read as JSON)
  } finally {
    closeSync(fd);
  }
}

/** How many map rows the store keeps in memory in front of the file (the upper levels stay: map-cache.ts). */
export const AUDIT_CACHE_ROWS = 100_000;

export class SqliteAuditStore implements AuditStore {
  private readonly node;
  private readonly put;
  /** Rows as the open transaction holds them: written rows replace their copies; a rollback forgets them all. */
  private readonly cache = new MapNodeCache({ mapNode: (key) => this.fileRow(key) }, AUDIT_CACHE_ROWS);

  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {
    db.pragma('journal_mode = WAL');
    // One audit at a time per file: held until close, the lock makes a second process (a second kt audit, a cron
    // run overlapping the last) fail at open instead of reading rows the other has not committed, or committing a
    // state over rows of another point of the log.
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    db.exec(SCHEMA);
    this.node = db.prepare<[Uint8Array], { node: Uint8Array }>('SELECT node FROM audit_map WHERE key = ?');
    this.put = db.prepare('INSERT OR REPLACE INTO audit_map (key, node) VALUES (?, ?)');
  }

  /**
   * Opens (or creates) the state file at `path`. A JSON state file of the earlier release, at `path` or at
   * `legacy` when `path` does not exist yet, is upgraded into `path` first; `upgradedFrom` names it.
   */
  static open(path: string, legacy?: string): { store: SqliteAuditStore; upgradedFrom?: string } {
    if (!isSqlite(path))
      for (const source of legacy ? [path, legacy] : [path]) {
        const old = readJsonOr<SavedState | null>(source, null);
        if (old === null) continue;
        SqliteAuditStore.upgrade(stateFromJson(old, source), path);
        return { store: SqliteAuditStore.openFile(path), upgradedFrom: source };
      }
    return { store: SqliteAuditStore.openFile(path) };
  }

  /** The store in the SQLite file at `path`; a file that is not one, damaged or out of reach is `bad_state`. */
  private static openFile(path: string): SqliteAuditStore {
    let db: Database.Database | undefined;
    try {
      db = new Database(path);
      return new SqliteAuditStore(db, path);
    } catch (e) {
      db?.close();
      if ((e as { code?: string }).code === 'SQLITE_BUSY')
        throw new UsageError(`${path} is in use by another audit (kt audit, or a witness that audits)`, 'bad_state');
      throw new UsageError(`${path} cannot be opened as an audit state: ${(e as Error).message}`, 'bad_state');
    }
  }

  /** Builds the map rows of an old state beside `path`, checked against its epoch head, then renames it. */
  private static upgrade(state: AuditorState, path: string): void {
    const temporary = `${path}.upgrade`;
    rmSync(temporary, { force: true });
    const store = new SqliteAuditStore(new Database(temporary), temporary);
    try {
      MapReplay.fromState(state.replay, store); // builds the rows and checks them against the state's head
      const { leaves: _leaves, ...replay } = state.replay;
      store.commit({ ...state, replay });
    } catch (e) {
      store.close();
      rmSync(temporary, { force: true });
      throw new UsageError(`${path}: the audit state cannot be upgraded: ${(e as Error).message}`, 'bad_state');
    }
    store.close();
    renameSync(temporary, path);
  }

  savedState(): AuditorState | undefined {
    const row = this.db.prepare('SELECT state FROM audit_state WHERE id = 1').get() as { state: string } | undefined;
    if (!row) return undefined;
    let json: SavedState;
    try {
      json = JSON.parse(row.state) as SavedState;
    } catch (e) {
      throw new UsageError(`${this.path}: the saved audit state is not JSON: ${(e as Error).message}`, 'bad_state');
    }
    return stateFromJson(json, this.path);
  }

  mapNode(key: Uint8Array): Uint8Array | undefined {
    return this.cache.mapNode(key);
  }

  private fileRow(key: Uint8Array): Uint8Array | undefined {
    const r = this.node.get(key);
    return r ? new Uint8Array(r.node.buffer, r.node.byteOffset, r.node.byteLength) : undefined;
  }

  /** Writes rows in the transaction of the audit in progress (begun by the first write). */
  writeMapRows(rows: MapNodeRow[]): void {
    if (!this.db.inTransaction) this.db.exec('BEGIN');
    for (const r of rows) this.put.run(r.key, r.value);
    this.cache.committed(rows);
  }

  commit(state: AuditorState): void {
    if (!this.db.inTransaction) this.db.exec('BEGIN');
    this.db.prepare('INSERT OR REPLACE INTO audit_state (id, state) VALUES (1, ?)').run(stateToJson(state));
    this.db.exec('COMMIT');
  }

  rollback(): void {
    this.cache.clear(); // it may hold rows of the transaction rolled back
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  close(): void {
    this.rollback();
    this.db.close();
  }
}
