/**
 * The backup of a live data directory (`kt backup`, cli/backup-command.ts): the SQLite file is copied with
 * SQLite's online backup, in one step that reads one consistent snapshot (in WAL mode the server's writes go
 * on meanwhile), and the configuration and keys beside it (`config.json`, `log.key`, `vrf.key`,
 * `operator.token`, the development CA, trusted roots named by a relative path) are copied as they are.
 * Everything is written into a new sibling directory first and renamed into place at the end, so a backup
 * that fails leaves nothing a server could start on; the copy's directory is 0700 and every file 0600.
 * Last, the copy gets its marker (api/node/restore-marker.ts): when the backup began and the checkpoint the
 * copy holds, which makes a server started on it read-only until that checkpoint is known to be the newest.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { utf8 } from '../../wasm-free-crypto/bytes.js';
import { splitNote } from '../../wasm-free-crypto/note.js';
import { parseCheckpoint } from '../../verifier/formats/checkpoint.js';
import { SqliteLogStorage } from '../../log/merkle/sqlite-storage.js';
import { ConfigError } from '../wiring/settings.js';
import { CONFIG_AND_KEY_FILES } from './data-dir.js';
import { readRestoreMarker, syncDirectory, writeRestoreMarker, type RestoreMarker } from './restore-marker.js';

export interface BackupResult extends RestoreMarker {
  /** The copy's directory. */
  dir: string;
  /** The files copied besides log.db, relative to the data directory. */
  files: string[];
  /** Trusted roots named by an absolute path in config.json, which the copy still names but does not hold. */
  externalRoots: string[];
}

/** Pages per step of the online backup: all of them, so that one step reads one snapshot. */
const ALL_PAGES = 0x7fffffff;

/** Copies a file into the copy, 0600, flushed to disk; a file that exists there already is refused. */
function copyPrivate(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
  writeFileSync(to, readFileSync(from), { mode: 0o600, flag: 'wx', flush: true });
  chmodSync(to, 0o600); // whatever the umask
}

/** The trusted root files config.json names: relative ones (inside the data directory) and absolute ones. */
function trustedRootPaths(source: string): { inside: string[]; absolute: string[] } {
  const config = JSON.parse(readFileSync(join(source, 'config.json'), 'utf8')) as { trustedRoots?: unknown };
  const roots = Array.isArray(config.trustedRoots) ? config.trustedRoots.filter((r) => typeof r === 'string') : [];
  const inside = roots.filter((r) => !isAbsolute(r)).map((r) => normalize(r));
  for (const r of inside)
    if (r === '..' || r.startsWith(`..${sep}`))
      throw new ConfigError(
        `config.json names the trusted root ${r}, outside the data directory; give its absolute path`,
      );
  return { inside: [...new Set(inside)], absolute: roots.filter((r) => isAbsolute(r)) };
}

/** The files to copy besides log.db: the configuration, the keys and the trusted roots kept in the directory. */
function filesToCopy(source: string): { files: string[]; externalRoots: string[] } {
  const roots = trustedRootPaths(source);
  const files = [...new Set([...CONFIG_AND_KEY_FILES, ...roots.inside])].filter((f) => existsSync(join(source, f)));
  return { files, externalRoots: roots.absolute };
}

/**
 * Copies the live SQLite file `from` into `to` with SQLite's online backup and returns the checkpoint the
 * copy holds. The copy is created empty and 0600 first, so SQLite never creates it with the umask's mode.
 */
async function backupDatabase(from: string, to: string): Promise<{ size: number; checkpoint: string }> {
  writeFileSync(to, new Uint8Array(0), { mode: 0o600, flag: 'wx' });
  chmodSync(to, 0o600);
  const live = new SqliteLogStorage(from);
  try {
    await live.db.backup(to, { progress: () => ALL_PAGES });
  } finally {
    await live.close();
  }
  const copy = new SqliteLogStorage(to);
  try {
    const head = copy.loadHeadSync();
    if (!head) throw new ConfigError(`${from} holds no log yet: start the server once before backing it up`);
    return head;
  } finally {
    await copy.close();
  }
}

/** Makes `dest` the new, empty-or-absent place of the copy; an existing non-empty directory is refused. */
function checkDestination(source: string, dest: string): void {
  if (!existsSync(join(source, 'config.json')) || !existsSync(join(source, 'log.db')))
    throw new ConfigError(`${source} is not a data directory (no config.json and log.db)`);
  const inside = relative(resolve(source), resolve(dest));
  if (inside === '' || !(inside.startsWith('..') || isAbsolute(inside)))
    throw new ConfigError(`the copy ${dest} cannot be inside the data directory ${source}`);
  if (existsSync(dest) && readdirSync(dest).length > 0)
    throw new ConfigError(`${dest} exists and is not empty: a backup goes into a new (or empty) directory`);
}

/**
 * Backs the live data directory `source` up into the new directory `dest` (which must not exist, or be
 * empty), with the marker of a restored backup; `now` is the clock (ms since the Unix epoch).
 */
export async function backupDataDir(source: string, dest: string, now: () => number = Date.now): Promise<BackupResult> {
  checkDestination(source, dest);
  // A copy of a copy still read-only holds what the first backup held: it keeps that backup's time.
  const backupTime = readRestoreMarker(source)?.backupTime ?? now();
  const staging = `${resolve(dest)}.partial-${process.pid}`;
  mkdirSync(dirname(staging), { recursive: true, mode: 0o700 });
  mkdirSync(staging, { mode: 0o700 });
  chmodSync(staging, 0o700);
  try {
    const { files, externalRoots } = filesToCopy(source);
    for (const f of files) copyPrivate(join(source, f), join(staging, f));
    const head = await backupDatabase(join(source, 'log.db'), join(staging, 'log.db'));
    const cp = parseCheckpoint(splitNote(utf8(head.checkpoint)).text);
    const marker = { backupTime, origin: cp.origin, treeSize: cp.size, rootHash: cp.rootHash };
    writeRestoreMarker(staging, marker);
    if (existsSync(dest)) rmdirSync(dest); // empty (checked): the copy takes its place
    renameSync(staging, dest);
    syncDirectory(dirname(resolve(dest)));
    return { ...marker, dir: dest, files, externalRoots };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}
