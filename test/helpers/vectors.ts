/**
 * Reads the test vectors kept in `test/vectors/` (their sources and licences are in its README).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const VECTORS_DIR = fileURLToPath(new URL('../vectors/', import.meta.url));

/** The bytes of a vector file, by path relative to the vectors directory. */
export function vectorBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(join(VECTORS_DIR, path)));
}

/** A vector file parsed as JSON. */
export function vectorJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(join(VECTORS_DIR, path), 'utf8')) as T;
}

/** Every file under a vectors subdirectory, as paths relative to the vectors directory. */
export function vectorFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(VECTORS_DIR, dir)).sort()) {
    const rel = join(dir, name);
    if (statSync(join(VECTORS_DIR, rel)).isDirectory()) out.push(...vectorFiles(rel));
    else out.push(rel);
  }
  return out;
}
