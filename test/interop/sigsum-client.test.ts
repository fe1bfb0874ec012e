/**
 * Our witness driven by a client nobody here wrote: test/interop/sigsumdrive (built by build-sigsum.sh from
 * Debian's sigsum-go library with Go 1.23) builds a log of its own with sigsum-go's merkle tree, submits C2SP
 * tlog-witness add-checkpoint requests to `kt witness serve` with sigsum-go's client, and verifies the returned
 * cosignatures with sigsum-go's checkpoint code. As the spec says: consistent checkpoints are cosigned (and a
 * cosignature with a bit flipped does not verify), a stale request gets 409 with the witness's size, a bad
 * consistency proof 422, an unknown log 404. CI sets KT_REQUIRE_INTEROP=1 and builds the program first, so
 * there the test cannot be skipped.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { ed25519KeyPairFromSeed } from '../../wasm-free-crypto/ed25519.js';
import { decodeVerifierKey, encodeVerifierKey, SIG_TYPE_ED25519 } from '../../wasm-free-crypto/note.js';
import { randomBytes } from '../../wasm-free-crypto/random.js';
import { startKtWitness, type KtWitness } from '../helpers/kt-process.js';

const DRIVE = fileURLToPath(new URL('./bin/sigsumdrive', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(DRIVE, args, { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe.runIf(existsSync(DRIVE) || process.env.KT_REQUIRE_INTEROP === '1')(
  "our witness, driven by sigsum-go's client",
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-sigsumdrive-'));
    let witness: KtWitness | undefined;
    afterAll(() => {
      witness?.child.kill();
      rmSync(dir, { recursive: true, force: true });
    });

    it('cosigns consistent checkpoints and answers 409, 422 and 404 as the spec says', async () => {
      const seed = randomBytes(32);
      const origin = 'example.com/sigsumdrive';
      const logKey = encodeVerifierKey(origin, SIG_TYPE_ED25519, ed25519KeyPairFromSeed(seed).publicKey);
      witness = await startKtWitness(join(dir, 'witness'), 'witness.example/sigsum-interop', origin, logKey);
      const witnessKey = toHex(decodeVerifierKey(witness.key).publicKey);
      const r = await run([
        '-url',
        witness.url,
        '-origin',
        origin,
        '-log-seed',
        toHex(seed),
        '-witness-key',
        witnessKey,
      ]);
      expect(r.stdout.trim().split('\n'), r.stderr).toEqual([
        'ok first checkpoint cosigned',
        'ok consistent checkpoint cosigned',
        'ok tampered cosignature refused',
        'ok stale request answered 409 with size 10',
        'ok bad consistency proof answered 422',
        'ok unknown log answered 404',
      ]);
      expect(r.code).toBe(0);
    });

    it('fails, in sigsum-go, when the cosignature is not by the key it expects', async () => {
      const seed = randomBytes(32);
      const origin = 'example.com/sigsumdrive-wrong-key';
      const logKey = encodeVerifierKey(origin, SIG_TYPE_ED25519, ed25519KeyPairFromSeed(seed).publicKey);
      const other = await startKtWitness(join(dir, 'other'), 'witness.example/other', origin, logKey);
      try {
        const notTheWitness = toHex(ed25519KeyPairFromSeed(randomBytes(32)).publicKey);
        const r = await run([
          '-url',
          other.url,
          '-origin',
          origin,
          '-log-seed',
          toHex(seed),
          '-witness-key',
          notTheWitness,
        ]);
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(/^FAIL first checkpoint's cosignature: no cosignature for given key/m);
      } finally {
        other.child.kill();
      }
    });
  },
);
