/**
 * The marker `kt backup` writes into its copy of a data directory, `restored-backup.json` (mode 0600): the
 * directory is a backup, taken at `backupTime`, and the log in it ends with the checkpoint of `treeSize`
 * and `rootHash`. A server that finds the marker starts read-only (api/node/restore-check.ts) and removes
 * it, durably, only once it knows that checkpoint is the newest the log ever published; so a copy can
 * never sign a checkpoint that forks the log it was taken from. The marker is parsed strictly: one that
 * does not parse refuses the start rather than being ignored.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBase64, toBase64 } from '../../wasm-free-crypto/bytes.js';
import { isValidKeyName } from '../../wasm-free-crypto/note.js';
import { ConfigError } from '../wiring/settings.js';

/** The marker's file name in the data directory. */
export const RESTORE_MARKER = 'restored-backup.json';
const FORMAT = 'kt-backup/1';
const ABOUT =
  'This data directory is a backup. A server started on it is read-only until it knows that the checkpoint ' +
  'below is the newest the log published (README: Operations, backup and restore).';

export interface RestoreMarker {
  /** When the backup began, in ms since the Unix epoch: receipts signed after it may not be in the copy. */
  backupTime: number;
  origin: string;
  /** The checkpoint the copy holds. */
  treeSize: number;
  rootHash: Uint8Array;
}

/** The marker as its file holds it (JSON, one field per line). */
function formatRestoreMarker(m: RestoreMarker): string {
  const json = {
    format: FORMAT,
    about: ABOUT,
    backupTime: new Date(m.backupTime).toISOString(),
    origin: m.origin,
    treeSize: m.treeSize,
    rootHash: toBase64(m.rootHash),
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** Parses a marker's text; anything but exactly the fields of `formatRestoreMarker` is refused. */
function parseRestoreMarker(text: string, path: string): RestoreMarker {
  const bad = (why: string) => new ConfigError(`${path} is not a valid backup marker: ${why}`);
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('not a JSON object');
  const keys = Object.keys(v).sort().join(',');
  if (keys !== 'about,backupTime,format,origin,rootHash,treeSize') throw bad(`fields ${keys}`);
  if (v.format !== FORMAT) throw bad(`format ${JSON.stringify(v.format)}, not ${FORMAT}`);
  const time = typeof v.backupTime === 'string' ? Date.parse(v.backupTime) : Number.NaN;
  if (!Number.isFinite(time) || new Date(time).toISOString() !== v.backupTime) throw bad('backupTime');
  if (typeof v.origin !== 'string' || !isValidKeyName(v.origin)) throw bad('origin');
  if (typeof v.treeSize !== 'number' || !Number.isSafeInteger(v.treeSize) || v.treeSize < 0) throw bad('treeSize');
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(String(v.rootHash));
  } catch {
    throw bad('rootHash');
  }
  if (typeof v.rootHash !== 'string' || rootHash.length !== 32) throw bad('rootHash');
  return { backupTime: time, origin: v.origin, treeSize: v.treeSize, rootHash };
}

/** The marker of the data directory `dir`, or null when it is not a restored backup. */
export function readRestoreMarker(dir: string): RestoreMarker | null {
  const path = join(dir, RESTORE_MARKER);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseRestoreMarker(text, path);
}

/** Flushes a directory's entries (a created, renamed or removed file) to disk. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes the marker into `dir` atomically (a temporary file renamed into place), mode 0600, durably. */
export function writeRestoreMarker(dir: string, m: RestoreMarker): void {
  const path = join(dir, RESTORE_MARKER);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, formatRestoreMarker(m), { mode: 0o600, flag: 'wx', flush: true });
  renameSync(tmp, path);
  syncDirectory(dir);
}

/** Removes the marker durably: once this returns, a crash cannot bring it back. */
export function removeRestoreMarker(dir: string): void {
  unlinkSync(join(dir, RESTORE_MARKER));
  syncDirectory(dir);
}
