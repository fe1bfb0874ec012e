/**
 * `kt witness serve`'s state file and start-up errors (cli/witness-command.ts): a state file that is not a JSON
 * object of `{"size", "rootHash"}` records (an array, null, a number, a record of wrong types) is refused at start
 * (exit 2, `bad_state`, naming the file) instead of being served from, which kept no state (an array: rollbacks and
 * forks cosigned) or answered 500 to every request; a valid file is the witness's memory and a missing one a fresh
 * state. A missing --audit-dir or --public-key-file, and a port in use, are usage errors (exit 2) naming the
 * directory, file or port, and the process exits.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toBase64 } from '../../wasm-free-crypto/bytes.js';
import { generateSignerKey, parseSignerKey } from '../../wasm-free-crypto/note.js';
import { signCheckpoint } from '../../verifier/formats/checkpoint.js';
import { addCheckpointBody } from '../../verifier/formats/add-checkpoint.js';
import { kt, spawnKt } from '../helpers/kt-process.js';

const log = generateSignerKey('example.com/witness-state');
const signer = parseSignerKey(log.signerKey);
const ROOT = new Uint8Array(32).fill(1);
let dir: string;
let running: ChildProcessWithoutNullStreams | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kt-witness-state-'));
  const init = await kt(['witness', 'init', '--name', 'witness.example/w1', '--key', 'w.key'], dir);
  expect(init.code, init.stderr).toBe(0);
});

afterEach(() => {
  running?.kill('SIGTERM');
  running = undefined;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Started = { url: string } | { code: number | null; stdout: string; stderr: string } | 'still running';

/** Runs `kt witness serve ARGS --json` for the one log: listening (its URL), exited, or neither after 20 s. */
function serve(args: string[]): Promise<Started> {
  const child = spawnKt(
    [
      'witness',
      'serve',
      '--key',
      'w.key',
      '--port',
      '0',
      '--log',
      `${signer.name}=${log.verifierKey}`,
      '--json',
    ].concat(args),
    dir,
  );
  running = child;
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => resolve('still running'), 20_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /"url": "(http:\/\/\S+)"/.exec(stdout);
      if (m) clearTimeout(timer), resolve({ url: m[1] });
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

/** The `--json` error of a `kt witness serve` that exited (or what it did instead). */
function exited(started: Started): { code: number | null; error: { code: string; message: string } } | Started {
  if (typeof started === 'string' || 'url' in started) return started;
  return { code: started.code, error: JSON.parse(started.stdout).error };
}

/** The URL of a `kt witness serve` that started. */
function urlOf(started: Started): string {
  if (typeof started === 'object' && 'url' in started) return started.url;
  throw new Error(`the witness did not start: ${JSON.stringify(started)}`);
}

/** POSTs a checkpoint of `size` and `root` with `old` as the size the submitter believes cosigned: the status. */
async function add(url: string, old: number, size: number, root = ROOT): Promise<number> {
  const note = signCheckpoint({ origin: signer.name, size, rootHash: root }, signer);
  const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: addCheckpointBody(old, [], note) });
  await res.arrayBuffer();
  return res.status;
}

describe('kt witness serve refuses a state file that is not a witness state', () => {
  const record = { size: 5, rootHash: toBase64(ROOT) };
  it.each([
    ['an array', '[]'],
    ['null', 'null'],
    ['a number', '5'],
    ['a record whose size is a string', JSON.stringify({ [signer.name]: { ...record, size: '5' } })],
    ['a record whose size is negative', JSON.stringify({ [signer.name]: { ...record, size: -1 } })],
    ['a record whose rootHash is not 32 bytes', JSON.stringify({ [signer.name]: { ...record, rootHash: 'AAAA' } })],
    ['a record that is a number', JSON.stringify({ [signer.name]: 5 })],
  ])(
    '%s: exit 2, bad_state, naming the file',
    async (_what, contents) => {
      writeFileSync(join(dir, 'bad-state.json'), `${contents}\n`);
      expect(exited(await serve(['--state', 'bad-state.json']))).toEqual({
        code: 2,
        error: { code: 'bad_state', message: expect.stringContaining('bad-state.json') },
      });
    },
    40_000,
  );
});

describe('kt witness serve keeps its state in the file', () => {
  it('a valid file is what it cosigned: a rollback and a fork from it are refused, an equal checkpoint cosigned', async () => {
    const state = join(dir, 'valid-state.json');
    writeFileSync(state, JSON.stringify({ [signer.name]: { size: 5, rootHash: toBase64(ROOT) } }));
    const url = urlOf(await serve(['--state', 'valid-state.json']));
    expect(await add(url, 0, 5)).toBe(409); // it has cosigned size 5: "old 0" is not what it holds
    expect(await add(url, 5, 5, new Uint8Array(32).fill(2))).toBe(409); // another tree of size 5: a fork
    expect(await add(url, 5, 5)).toBe(200);
    expect(JSON.parse(readFileSync(state, 'utf8'))).toEqual({ [signer.name]: { size: 5, rootHash: toBase64(ROOT) } });
  }, 40_000);

  it('a missing file is a fresh state, then holds what it cosigned', async () => {
    const url = urlOf(await serve(['--state', 'new-state.json']));
    expect(await add(url, 0, 5)).toBe(200);
    expect(await add(url, 0, 5)).toBe(409); // it now holds size 5
    expect(JSON.parse(readFileSync(join(dir, 'new-state.json'), 'utf8'))).toEqual({
      [signer.name]: { size: 5, rootHash: toBase64(ROOT) },
    });
  }, 40_000);
});

describe('kt witness: what it cannot use is a usage error naming it', () => {
  let busy: Server;
  let port: number;

  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    port = (busy.address() as { port: number }).port;
  });

  afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

  it('serve --audit-dir of a missing directory', async () => {
    const audit = ['--audit', `${signer.name}=http://127.0.0.1:1/log`, '--audit-dir', 'missing-dir'];
    expect(exited(await serve(['--state', 'audit-state.json', ...audit]))).toEqual({
      code: 2,
      error: { code: 'usage', message: expect.stringContaining('missing-dir') },
    });
  }, 40_000);

  it('serve --port of a port in use: it exits', async () => {
    const r = exited(await serve(['--state', 'busy-state.json', '--port', String(port)]));
    expect(r).toEqual({
      code: 2,
      error: { code: 'usage', message: expect.stringMatching(new RegExp(`${port}.*EADDRINUSE`)) },
    });
  }, 40_000);

  it('cosigner-key --public-key-file of a missing file', async () => {
    const r = await kt(
      ['witness', 'cosigner-key', '--convention', 'sigsum', '--public-key-file', 'missing.pub', '--json'],
      dir,
    );
    expect({ code: r.code, error: JSON.parse(r.stdout).error }).toEqual({
      code: 2,
      error: { code: 'usage', message: expect.stringContaining('missing.pub') },
    });
  });
});
