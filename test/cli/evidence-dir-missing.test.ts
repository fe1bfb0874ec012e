/**
 * A verification failure exits 1 even when its evidence file cannot be written: `kt lookup` that catches a
 * rollback with an --evidence-dir that does not exist reports the rollback (it exited 2 with a raw ENOENT of the
 * evidence's temporary file, and never said the directory rolled back), and says on stderr that the evidence
 * could not be written.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseSignerKey } from '../../wasm-free-crypto/note.js';
import { signCheckpoint } from '../../verifier/formats/checkpoint.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { kt } from '../helpers/kt-process.js';

let dir: string;
let server: ServerProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kt-evidence-dir-'));
  const init = await kt(['init', '--data', 'data', '--origin', 'example.com/evidence-dir'], dir);
  expect(init.code, init.stderr).toBe(0);
  server = await startServerProcess(['--data', join(dir, 'data')]);
  const trust = await kt(['trust', '--server', server.url, '--save', 'kt-pins.json'], dir);
  expect(trust.code, trust.stderr).toBe(0);
  // A state holding a checkpoint the log signed of a larger tree than it serves: the next lookup is a rollback.
  const signer = parseSignerKey(readFileSync(join(dir, 'data', 'log.key'), 'utf8').trim());
  const note = signCheckpoint({ origin: signer.name, size: 100_000, rootHash: new Uint8Array(32).fill(7) }, signer);
  writeFileSync(join(dir, 'kt-state.json'), JSON.stringify({ origin: signer.name, checkpoint: note }));
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('reports a rollback as a verification failure (exit 1) even when the evidence directory is missing', async () => {
  const r = await kt(
    ['lookup', 'chat.example', 'alice@example.org', '--evidence-dir', join(dir, 'no-such-dir'), '--json'],
    dir,
  );
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(JSON.parse(r.stdout).error.code).toBe('rollback');
  expect(r.stderr).toContain('the evidence of the rollback could NOT be written');
});
