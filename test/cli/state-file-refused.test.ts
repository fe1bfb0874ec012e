/**
 * `kt lookup --state FILE` refuses a file that is not a kt state (`bad_state`) and leaves it as it is: it overwrote
 * any JSON without an "origin" field, such as an identity key file (its private key lost) or the pins file
 * (docs/VERIFIER.md: a store holding "no kt state at all, is refused (bad_state), never overwritten").
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { kt } from '../helpers/kt-process.js';

let dir: string;
let server: ServerProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kt-state-refused-'));
  const init = await kt(['init', '--data', 'data', '--origin', 'example.com/state-refused'], dir);
  expect(init.code, init.stderr).toBe(0);
  server = await startServerProcess(['--data', join(dir, 'data')]);
  const trust = await kt(['trust', '--server', server.url, '--save', 'kt-pins.json'], dir);
  expect(trust.code, trust.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('refuses, and leaves alone, a --state file that is not a kt state (an identity key)', async () => {
  const made = await kt(['identity', 'new', '--out', 'identity.json'], dir);
  expect(made.code, made.stderr).toBe(0);
  const before = readFileSync(join(dir, 'identity.json'), 'utf8');
  const r = await kt(['lookup', 'chat.example', 'alice@example.org', '--state', 'identity.json', '--json'], dir);
  expect(readFileSync(join(dir, 'identity.json'), 'utf8')).toBe(before);
  expect([r.code, JSON.parse(r.stdout).error?.code]).toEqual([2, 'bad_state']);
  for (const [file, text] of [
    ['kt-pins.json', readFileSync(join(dir, 'kt-pins.json'), 'utf8')],
    ['list.json', '[]'],
    ['number.json', '5'],
    ['typed.json', '{"origin":5}'],
  ]) {
    writeFileSync(join(dir, `copy-${file}`), text);
    const other = await kt(['lookup', 'chat.example', 'alice@example.org', '--state', `copy-${file}`, '--json'], dir);
    expect([other.code, JSON.parse(other.stdout).error?.code], file).toEqual([2, 'bad_state']);
    expect(readFileSync(join(dir, `copy-${file}`), 'utf8')).toBe(text);
  }
  // A missing file is a first run, and what it writes is a state the next run takes.
  const first = await kt(['lookup', 'chat.example', 'alice@example.org', '--state', 'fresh.json', '--json'], dir);
  expect(first.code, first.stderr).toBe(0);
  const again = await kt(['lookup', 'chat.example', 'alice@example.org', '--state', 'fresh.json', '--json'], dir);
  expect(again.code, again.stderr).toBe(0);
});
