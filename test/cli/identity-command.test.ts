/**
 * `kt identity` (cli/identity-command.ts): a test account's Ed25519 identity key pair written with mode
 * 0600 and never overwritten, its public key printed in the form `kt provider publish --identity` takes
 * and accepted there by a real server started here (published, then found by a verified lookup), `show`
 * reading the file back, and `--help`.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64 } from '../../wasm-free-crypto/bytes.js';
import { ed25519KeyPairFromSeed } from '../../wasm-free-crypto/ed25519.js';
import { kt } from '../helpers/kt-process.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let dir: string;
let server: ServerProcess | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kt-identity-'));
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('kt identity', () => {
  it('makes a key pair in a 0600 file it never overwrites, and prints its public key', async () => {
    const made = await kt(['identity', 'new', '--out', 'alice-identity.json'], dir);
    expect(made.code, made.stderr).toBe(0);
    const publicKey = /^identity key (\S+)$/m.exec(made.stdout)?.[1];
    const file = JSON.parse(readFileSync(join(dir, 'alice-identity.json'), 'utf8'));
    expect(file).toMatchObject({ type: 'kt-identity-key/v1', algorithm: 'ed25519', publicKey });
    expect(ed25519KeyPairFromSeed(fromBase64(file.secretKey)).publicKey).toEqual(fromBase64(publicKey!));
    expect(statSync(join(dir, 'alice-identity.json')).mode & 0o777).toBe(0o600);
    const again = await kt(['identity', 'new', '--out', 'alice-identity.json'], dir);
    expect([again.code, again.stderr]).toEqual([
      2,
      expect.stringContaining('exists; an identity key is never overwritten'),
    ]);
    expect(JSON.parse(readFileSync(join(dir, 'alice-identity.json'), 'utf8'))).toEqual(file);
    const bare = await kt(['identity', 'show', '--key', 'alice-identity.json'], dir);
    expect([bare.code, bare.stdout]).toEqual([0, `${publicKey}\n`]);
    const shown = await kt(['identity', 'show', '--key', 'alice-identity.json', '--json'], dir);
    expect(JSON.parse(shown.stdout)).toEqual({ keyFile: 'alice-identity.json', algorithm: 'ed25519', publicKey });
    writeFileSync(join(dir, 'broken.json'), JSON.stringify({ ...file, publicKey: 'AAAA' }));
    expect((await kt(['identity', 'show', '--key', 'broken.json'], dir)).code).toBe(2);
  });

  it('answers --help, and is listed by kt --help', async () => {
    const help = await kt(['identity', '--help'], dir);
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('usage: kt identity new [--out FILE]')]);
    expect((await kt(['identity', 'new', '--help'], dir)).stdout).toContain('usage: kt identity new');
    expect((await kt(['--help'], dir)).stdout).toMatch(/^ {2}identity {2}/m);
    expect((await kt(['identity', 'nonsense'], dir)).code).toBe(2);
  });

  it('makes a key that kt provider publish accepts, and a lookup then finds', async () => {
    const data = join(dir, 'data');
    expect((await kt(['init', '--data', data], dir)).code).toBe(0);
    server = await startServerProcess(['--data', data]);
    const ok = async (args: string[]) => {
      const r = await kt(args, dir);
      expect(r.code, `kt ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    const { publicKey } = JSON.parse(await ok(['identity', 'new', '--out', 'zoe-identity.json', '--json']));
    await ok(['provider', 'keygen', '--id', 'mail.example']);
    const cert = await ok(['provider', 'certify', '--csr', 'mail.example.csr', '--data', data]);
    writeFileSync(join(dir, 'mail.example.pem'), cert);
    await ok(['provider', 'enrol', '--chain', 'mail.example.pem', '--server', server.url, '--data', data, '--wait']);
    const account = ['--id', 'mail.example', '--key', 'mail.example.key', '--account', 'zoe@mail.example'];
    await ok([
      'provider',
      'publish',
      ...account,
      '--version',
      '1',
      '--identity',
      publicKey,
      '--server',
      server.url,
      '--wait',
    ]);
    await ok(['trust', '--server', server.url, '--save', 'kt-pins.json']);
    const seen = await kt(['lookup', 'mail.example', 'zoe@mail.example', '--json'], dir);
    expect(JSON.parse(seen.stdout)).toMatchObject({
      verified: true,
      status: 'present',
      keys: [{ algorithm: 'ed25519', publicKey }],
    });
  }, 60_000);
});
