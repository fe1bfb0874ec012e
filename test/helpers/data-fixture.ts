/**
 * Data directories kept as fixtures (test/fixtures/*.json: each file of the directory in base64, with a note
 * of the release that wrote it), unpacked into a fresh temporary folder with the modes the server gives
 * them (0700 for folders, 0600 for files), so that a test can open what an earlier release wrote.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Unpacks `test/fixtures/<name>.json` and returns the data directory's path. */
export function unpackDataFixture(name: string): string {
  const fixture = JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/${name}.json`, import.meta.url)), 'utf8'));
  const data = join(mkdtempSync(join(tmpdir(), `kt-${name}-`)), 'data');
  for (const [path, b64] of Object.entries(fixture.files as Record<string, string>)) {
    const target = join(data, path);
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    writeFileSync(target, Buffer.from(b64, 'base64'), { mode: 0o600 });
  }
  return data;
}
