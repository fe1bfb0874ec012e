/**
 * The files of `kt lookup` against a real server: a --state FILE that is not a kt state is refused (`bad_state`)
 * and left as it is (it overwrote any JSON without an "origin" field, such as an identity key file, its private
 * key lost, or the pins file; docs/VERIFIER.md: a store holding "no kt state at all, is refused (bad_state), never
 * overwritten"); and a rollback whose evidence cannot be written (a missing --evidence-dir) is still reported as
 * the verification failure it is (exit 1; it exited 2 with a raw ENOENT of the evidence's temporary file), the
 * unwritten evidence said on stderr.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { kt } from '../helpers/kt-process.js';
import { parseSignerKey } from '../../wasm-free-crypto/note.js';
import { signCheckpoint } from '../../verifier/formats/checkpoint.js';

let dir: string;
let server: ServerProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kt-client-files-'));
  const init = await kt(['init', '--data', 'data', '--origin', 'example.com/client-files'], dir);
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

it('reports a rollback as a verification failure (exit 1) even when the evidence directory is missing', async () => {
  // A state holding a checkpoint the log signed of a larger tree than it serves: the next lookup is a rollback.
  const signer = parseSignerKey(readFileSync(join(dir, 'data', 'log.key'), 'utf8').trim());
  const note = signCheckpoint({ origin: signer.name, size: 100_000, rootHash: new Uint8Array(32).fill(7) }, signer);
  writeFileSync(join(dir, 'rolled-back.json'), JSON.stringify({ origin: signer.name, checkpoint: note }));
  const r = await kt(
    [
      'lookup',
      'chat.example',
      'alice@example.org',
      '--state',
      'rolled-back.json',
      '--evidence-dir',
      join(dir, 'no-such-dir'),
      '--json',
    ],
    dir,
  );
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(JSON.parse(r.stdout).error.code).toBe('rollback');
  expect(r.stderr).toContain('the evidence of the rollback could NOT be written');
});
