/**
 * Malformed local files and arguments give exit 2 with a message that names the file (or flag) and a stable code,
 * never a raw TypeError or Node error (code "internal"), and none of them reaches a directory (the server is a port
 * nothing listens on): state files of lookup, monitor, KEYTRANS and audit; a receipt file; a --since-hash; --save
 * without --server; a monitor's --key that is no public key; a --data folder without a development CA; a provider or account kt lookup would refuse. An evidence file that is not JSON is no evidence (exit 1, `evidence_invalid`).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closedPort, kt } from '../helpers/kt-process.js';

let dir: string;
let refused: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kt-bad-files-'));
  refused = `http://127.0.0.1:${await closedPort()}`;
  writeFileSync(
    join(dir, 'kt-pins.json'),
    JSON.stringify({
      origin: 'example.com/review',
      logKey: 'example.com/review+bf63162e+AUD70eCIFYmJp8e8wg+7/TdFx0wqE9eqBFiBijIRDHsl',
      vrfKey: 'ZLZ4U72EBUnzV0Osn+Ht40wG/Z4yILmrmwF6xuJK6rE=',
      server: refused,
      witnesses: [],
      witnessQuorum: 0,
    }),
  );
  writeFileSync(join(dir, 'null.json'), 'null\n');
  writeFileSync(join(dir, 'monitor-partial.json'), '{"provider":"chat.example","account":"alice@example.org"}');
  writeFileSync(join(dir, 'truncated.db'), 'SQLite format 3\u0000'); // an SQLite header and nothing after it
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function jsonError(args: string[]): Promise<{ code: number; error: { code: string; message: string } }> {
  const r = await kt([...args, '--json'], dir);
  return { code: r.code, error: JSON.parse(r.stdout).error };
}

it('kt lookup: a state file holding JSON null is bad_state, not a TypeError', async () => {
  const r = await jsonError(['lookup', 'chat.example', 'alice@example.org', '--state', 'null.json']);
  expect(r).toEqual({ code: 2, error: { code: 'bad_state', message: expect.stringContaining('null.json') } });
});

it('kt monitor: a state file missing fields is bad_state, not a TypeError', async () => {
  const r = await jsonError([
    'monitor',
    'chat.example',
    'alice@example.org',
    '--key',
    'U8DkJ7eWIETokzo8P2GZuSR4zvHbxBV56teFLp/68Bk=',
    '--state',
    'monitor-partial.json',
  ]);
  expect(r).toEqual({
    code: 2,
    error: { code: 'bad_state', message: expect.stringContaining('monitor-partial.json') },
  });
});

it('kt keytrans: a state file holding JSON null is bad_replay_state, not a TypeError', async () => {
  const r = await jsonError([
    'keytrans',
    'search',
    '--provider',
    'chat.example',
    '--account',
    'a@b.example',
    '--state',
    'null.json',
  ]);
  expect([r.code, r.error.code]).toEqual([2, 'bad_replay_state']);
});

it('kt audit: a damaged SQLite state file, a directory, a file in a missing directory, JSON null: bad_state naming it', async () => {
  for (const state of ['truncated.db', '.', 'missing/audit.db', 'null.json']) {
    const r = await jsonError(['audit', '--state', state]);
    expect(r, state).toEqual({ code: 2, error: { code: 'bad_state', message: expect.stringContaining(state) } });
  }
});

it('kt check-receipt: a missing --receipt file is a usage error, not internal', async () => {
  const r = await jsonError(['check-receipt', 'chat.example', 'alice@example.org', '--receipt', 'missing.txt']);
  expect(r).toEqual({ code: 2, error: { code: 'usage', message: expect.stringContaining('missing.txt') } });
});

it('kt provider certify: a --data folder without the development CA is a usage error naming it, not internal', async () => {
  const r = await jsonError(['provider', 'certify', '--csr', 'missing.csr', '--data', dir]);
  expect(r).toEqual({
    code: 2,
    error: { code: 'usage', message: expect.stringContaining(`no development CA in ${dir}`) },
  });
});

it('kt history: a --since-hash that is not 32 bytes, or one without --since N, is a usage error', async () => {
  const hash = Buffer.alloc(32, 7).toString('base64');
  for (const args of [
    ['--since', '1', '--since-hash', 'AAAA'],
    ['--since', '1', '--since-hash', 'not base64!'],
    ['--since-hash', hash],
  ]) {
    const r = await jsonError(['history', 'chat.example', 'alice@example.org', ...args]);
    expect([r.code, r.error.code], args.join(' ')).toEqual([2, 'usage']);
  }
});

it('kt monitor: a state file whose fields are of the wrong kind is bad_state naming the field', async () => {
  const base = { provider: 'chat.example', account: 'alice@example.org', version: 1 };
  const hash = Buffer.alloc(32, 7).toString('base64');
  const cases: [string, unknown][] = [
    ['"version"', { ...base, version: -1, historyHash: hash }],
    ['"historyHash"', { ...base, historyHash: 'AAAA' }],
    ['"label"', { ...base, historyHash: hash, label: 5 }],
    ['"epoch"', { ...base, historyHash: hash, epoch: 'x' }],
    ['not an object', [base]],
  ];
  for (const [field, state] of cases) {
    writeFileSync(join(dir, 'monitor-bad.json'), JSON.stringify(state));
    const r = await jsonError([
      'monitor',
      'chat.example',
      'alice@example.org',
      '--key',
      hash,
      '--state',
      'monitor-bad.json',
    ]);
    expect([r.code, r.error.code, r.error.message], field).toEqual([2, 'bad_state', expect.stringContaining(field)]);
  }
});

it('kt trust: --save without --server is a usage error, not a silent no-op', async () => {
  const r = await kt(['trust', '--save', 'saved-pins.json'], dir);
  expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('--save needs --server')]);
  expect(existsSync(join(dir, 'saved-pins.json'))).toBe(false);
});

it('kt verify-evidence: a file that is not JSON is no evidence (exit 1), not a bad state file', async () => {
  writeFileSync(join(dir, 'evidence.json'), '<html>');
  const r = await jsonError(['verify-evidence', 'evidence.json']);
  expect([r.code, r.error.code]).toEqual([1, 'evidence_invalid']);
  const missing = await jsonError(['verify-evidence', 'no-such-evidence.json']);
  expect([missing.code, missing.error.code]).toEqual([2, 'usage']);
});

it('kt keytrans, monitor and check-receipt check the provider and account as kt lookup does, before any request', async () => {
  const key = Buffer.alloc(32, 7).toString('base64');
  for (const args of [
    ['keytrans', 'search', '--provider', '../escaped', '--account', 'a@b.example'],
    ['keytrans', 'owner', '--provider', 'CHAT.example', '--account', 'a@b.example'],
    ['monitor', 'CHAT.example', 'alice@example.org', '--key', key],
    ['check-receipt', 'mail', 'alice@example.org', '--receipt', 'missing.txt'],
  ]) {
    const r = await jsonError(args);
    expect([r.code, r.error.code], args.join(' ')).toEqual([2, 'bad_provider']);
  }
  const account = await jsonError(['keytrans', 'search', '--provider', 'chat.example', '--account', '']);
  expect([account.code, account.error.code]).toEqual([2, 'usage']); // --account is required
  expect(existsSync(join(dir, '..', 'escaped.json')) || existsSync(join(dir, 'kt-keytrans-..'))).toBe(false);
});

// An empty --key (what `--key "$(kt identity show --key missing.json)"` gives when the identity file is missing) or
// one of another size than a public key was taken as an owner key: a false unexpected_key alarm, with evidence
// that kt verify-evidence called PROVEN.
it.each([[''], ['AAAA'], [Buffer.alloc(31).toString('base64')]])(
  'kt monitor: refuses --key %j as a usage error before asking the directory',
  async (key) => {
    const r = await jsonError(['monitor', 'chat.example', 'alice@example.org', '--key', key]);
    expect([r.code, r.error.code, r.error.message]).toEqual([2, 'usage', expect.stringContaining('--key')]);
  },
);
