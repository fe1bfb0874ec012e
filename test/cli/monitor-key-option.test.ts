/**
 * `kt monitor --key` takes only the base64 of a public key of a size some statement key algorithm has. An empty
 * --key (what `--key "$(kt identity show --key missing.json)"` gives when the identity file is missing) or one of
 * another size was taken as an owner key: the run raised a false unexpected_key alarm and wrote evidence that
 * `kt verify-evidence` called PROVEN. Now it is a usage error before anything is fetched.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closedPort, kt } from '../helpers/kt-process.js';

let dir: string;
let refused: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kt-monitor-key-'));
  refused = `http://127.0.0.1:${await closedPort()}`;
  writeFileSync(
    join(dir, 'kt-pins.json'),
    JSON.stringify({
      origin: 'example.com/monitor-key',
      logKey: 'example.com/monitor-key+bf63162e+AUD70eCIFYmJp8e8wg+7/TdFx0wqE9eqBFiBijIRDHsl',
      vrfKey: 'ZLZ4U72EBUnzV0Osn+Ht40wG/Z4yILmrmwF6xuJK6rE=',
      witnesses: [],
      witnessQuorum: 0,
    }),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it.each([[''], ['AAAA'], [Buffer.alloc(31).toString('base64')]])(
  'refuses --key %j as a usage error before asking the directory',
  async (key) => {
    const r = await kt(
      ['monitor', 'chat.example', 'alice@example.org', '--key', key, '--server', refused, '--json'],
      dir,
    );
    expect(r.code).toBe(2);
    const error = JSON.parse(r.stdout).error;
    expect(error.code).toBe('usage'); // refused before any request (else: network)
    expect(error.message).toContain('--key');
  },
);
