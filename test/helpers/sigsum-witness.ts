/**
 * sigsum-go's `sigsum-witness` for the interop tests (test/interop/sigsum-witness.test.ts, and the Worker's through
 * test/fixtures/worker-sigsum-witness.ts), from Debian's bookworm-backports (.ci/run installs it): the log's key
 * handed to it in OpenSSH form by sigsum's own `sigsum-key from-hex`, its key made by `sigsum-key generate`, and
 * the witness started on a port of 127.0.0.1 with its state in a file, so that it can be stopped and started again.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { parseWitnessPublicKey } from '../../verifier/witness/conventions.js';

export const SIGSUM_WITNESS_BIN = '/usr/bin/sigsum-witness';
export const SIGSUM_KEY_BIN = '/usr/bin/sigsum-key';

/** Whether sigsum-go's tools are installed. */
export const haveSigsum = existsSync(SIGSUM_WITNESS_BIN) && existsSync(SIGSUM_KEY_BIN);

/**
 * Writes, in `dir`, the log's key as the witness reads it (`log.pub`) and a new witness key (`witness`,
 * `witness.pub`); returns the witness's Ed25519 public key.
 */
export function makeSigsumWitnessKeys(dir: string, logPublicKey: Uint8Array): Uint8Array {
  writeFileSync(join(dir, 'log.hex'), `${toHex(logPublicKey)}\n`);
  execFileSync(SIGSUM_KEY_BIN, ['from-hex', '-k', join(dir, 'log.hex'), '-o', join(dir, 'log.pub')]);
  execFileSync(SIGSUM_KEY_BIN, ['generate', '-o', join(dir, 'witness')]);
  return parseWitnessPublicKey(readFileSync(join(dir, 'witness.pub'), 'utf8'));
}

async function listening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), resolve(true))).on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sigsum-witness did not listen on ${port}`);
}

/**
 * Starts the witness of the keys in `dir` (state in `dir/witness-state`) on 127.0.0.1:`port`, once it listens.
 * Debian's build routes nothing without the Go 1.22 router, which GODEBUG selects.
 */
export async function startSigsumWitness(dir: string, port: number): Promise<ChildProcess> {
  const files = ['-k', join(dir, 'witness'), '--log-key', join(dir, 'log.pub')];
  const child = spawn(SIGSUM_WITNESS_BIN, [...files, '--state-file', join(dir, 'witness-state'), `127.0.0.1:${port}`], {
    env: { ...process.env, GODEBUG: 'httpmuxgo121=0' },
    stdio: 'ignore',
  });
  await listening(port);
  return child;
}

/** Stops a witness started so (nothing if it already stopped). */
export async function stopSigsumWitness(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve).kill());
}
