/**
 * `kt init --origin-from-key sigsum` and `kt witness cosigner-key` (cli/init-command.ts, cli/witness-command.ts,
 * verifier/witness/conventions.ts): the origin is derived from the log key it is made with, recomputed here
 * from the key file with @noble/hashes; an existing log keeps its origin and is checked against the convention;
 * a witness's OpenSSH or hex key becomes its cosigner key string, and the mistakes say what is wrong.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toBase64, toHex } from '../../wasm-free-crypto/bytes.js';
import { ed25519KeyPairFromSeed } from '../../wasm-free-crypto/ed25519.js';
import { decodeVerifierKey, encodeVerifierKey, parseSignerKey } from '../../wasm-free-crypto/note.js';
import { kt } from '../helpers/kt-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kt-conventions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An OpenSSH public key line of `publicKey` (RFC 8709), built here. */
function openSsh(publicKey: Uint8Array): string {
  const field = (b: Uint8Array) => [0, 0, 0, b.length, ...b];
  const blob = Uint8Array.from([...field(new TextEncoder().encode('ssh-ed25519')), ...field(publicKey)]);
  return `ssh-ed25519 ${toBase64(blob)} witness@example`;
}

describe('kt and sigsum conventions', () => {
  it('creates a log named after its key, and keeps it so', async () => {
    const data = join(dir, 'log');
    const made = await kt(['init', '--data', data, '--origin-from-key', 'sigsum', '--json'], dir);
    expect(made.code, made.stderr).toBe(0);
    const out = JSON.parse(made.stdout);
    const signer = parseSignerKey(readFileSync(join(data, 'log.key'), 'utf8').trim());
    const origin = `sigsum.org/v1/tree/${toHex(sha256(signer.publicKey))}`;
    expect(out).toMatchObject({
      created: true,
      origin,
      logKey: signer.verifierKey,
      logPublicKey: toHex(signer.publicKey),
    });
    expect(JSON.parse(readFileSync(join(data, 'config.json'), 'utf8')).origin).toBe(origin);
    const again = await kt(['init', '--data', data, '--origin-from-key', 'sigsum', '--json'], dir);
    expect([again.code, JSON.parse(again.stdout).created, JSON.parse(again.stdout).origin]).toEqual([0, false, origin]);
  });

  it('never makes another key for a log named after its key', async () => {
    const data = join(dir, 'lost-key');
    expect((await kt(['init', '--data', data, '--origin-from-key', 'sigsum'], dir)).code).toBe(0);
    const config = readFileSync(join(data, 'config.json'), 'utf8');
    rmSync(join(data, 'log.key'));
    for (const args of [[], ['--origin-from-key', 'sigsum']]) {
      const r = await kt(['init', '--data', data, ...args], dir);
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("is named after the log's key")]);
      expect(existsSync(join(data, 'log.key'))).toBe(false);
      expect(readFileSync(join(data, 'config.json'), 'utf8')).toBe(config);
    }
  });

  it('refuses the convention for a log named otherwise, with an origin too, or unknown', async () => {
    const other = join(dir, 'other');
    expect((await kt(['init', '--data', other, '--origin', 'example.com/log'], dir)).code).toBe(0);
    const refused = await kt(['init', '--data', other, '--origin-from-key', 'sigsum'], dir);
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('not sigsum.org/v1/tree/')]);
    const both = await kt(
      ['init', '--data', join(dir, 'both'), '--origin', 'a.example/x', '--origin-from-key', 'sigsum'],
      dir,
    );
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('not both')]);
    const unknown = await kt(['init', '--data', join(dir, 'unknown'), '--origin-from-key', 'trillian'], dir);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('--origin-from-key takes sigsum')]);
  });

  it("turns a witness's OpenSSH or hex key into its cosigner key string", async () => {
    const { publicKey } = ed25519KeyPairFromSeed(new Uint8Array(32).fill(7));
    const name = `sigsum.org/v1/witness/${toHex(sha256(publicKey))}`;
    const file = join(dir, 'witness.pub');
    writeFileSync(file, `${openSsh(publicKey)}\n`);
    const fromFile = await kt(
      ['witness', 'cosigner-key', '--convention', 'sigsum', '--public-key-file', file, '--json'],
      dir,
    );
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const key = JSON.parse(fromFile.stdout).cosignerKey;
    expect(decodeVerifierKey(key)).toMatchObject({ name, type: 0x04, publicKey });
    const fromHex = await kt(
      ['witness', 'cosigner-key', '--convention', 'sigsum', '--public-key', toHex(publicKey)],
      dir,
    );
    expect(fromHex.stdout.trim()).toBe(`cosigner key ${key}`);
  });

  it('says what is wrong with a mistaken witness key', async () => {
    const { publicKey } = ed25519KeyPairFromSeed(new Uint8Array(32).fill(8));
    const logForm = encodeVerifierKey(`sigsum.org/v1/tree/${toHex(sha256(publicKey))}`, 0x01, publicKey);
    const badId = logForm.replace(/\+[0-9a-f]{8}\+/, '+00000000+');
    const cases: [string[], string][] = [
      [['--public-key', 'ssh-rsa AAAAB3NzaC1yc2E='], 'wrong_key_type: an OpenSSH ssh-rsa key'],
      [['--public-key', toHex(publicKey).slice(1)], 'bad_witness_key'],
      [['--public-key', logForm], 'wrong_key_type: sigsum.org/v1/tree/'],
      [['--public-key', badId], 'verifier key ID does not match'],
      [[], 'give the witness public key'],
    ];
    for (const [args, message] of cases) {
      const r = await kt(['witness', 'cosigner-key', '--convention', 'sigsum', ...args], dir);
      expect([r.code, r.stderr], args.join(' ')).toEqual([2, expect.stringContaining(message)]);
    }
    const noConvention = await kt(['witness', 'cosigner-key', '--public-key', toHex(publicKey)], dir);
    expect([noConvention.code, noConvention.stderr]).toEqual([2, expect.stringContaining('--convention takes sigsum')]);
  });
});
