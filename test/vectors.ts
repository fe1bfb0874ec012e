/**
 * Reads the shared test vectors from `../shared/vectors/` relative to the project root. Vectors are
 * never copied into the project; a missing directory fails the test that needs it.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const VECTORS_DIR = fileURLToPath(new URL('../../shared/vectors/', import.meta.url));

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
