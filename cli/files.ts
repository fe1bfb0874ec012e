/**
 * Small file helpers of `kt`: JSON state written atomically (a temporary file, fsync, then rename, so a
 * crash leaves the old or the new contents, never a torn file; a write that fails removes its temporary file
 * and is a usage error naming the file), and evidence files named by kind and time.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './output.js';

/**
 * Writes `contents` to `path` through `path`.tmp-PID. A failure (`path` a directory, its directory missing or
 * not writable, a full disk) removes the temporary file and is a UsageError naming `path` and the cause.
 */
export function writeFileAtomic(path: string, contents: string, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      writeSync(fd, contents);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    throw new UsageError(`cannot write ${path}: ${cause(e)}`);
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // never created, or not ours to remove (a directory): nothing to clean up
  }
}

/** A file system error's cause without the paths Node appends (`EISDIR: illegal operation on a directory`). */
function cause(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return (e as NodeJS.ErrnoException).code ? message.split(', ')[0] : message;
}

/** Reads a JSON file, or returns `fallback` if it does not exist. */
export function readJsonOr<T>(path: string, fallback: T): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`, 'bad_state');
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new UsageError(`${path} is not valid JSON: ${(e as Error).message}`, 'bad_state');
  }
}

/** Writes an evidence object to `dir` as kt-evidence-<kind>-<time>.json and returns its path. */
export function writeEvidence(dir: string, kind: string, evidence: unknown): string {
  const path = join(dir, `kt-evidence-${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileAtomic(path, `${JSON.stringify(evidence, null, 2)}\n`);
  return path;
}
