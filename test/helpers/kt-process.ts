/**
 * Test helpers for running `kt` as a child process, as a user would, and for a TCP port on 127.0.0.1 that
 * nothing listens on (a free port, bound and closed again), where a connection is refused. `kt` runs from
 * its TypeScript sources (cli/kt.ts, compiled for the run: test/helpers/node-entry.ts), so the tests never
 * depend on a stale `npm run build`; the compiled `bin/kt.mjs` is tested from the packed tarball
 * (test/packages/packages.test.ts).
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { nodeEntry } from './node-entry.js';

const KT_ARGS = nodeEntry('cli/kt.ts');

/** Runs `kt ARGS` in `cwd` to completion: its exit code, stdout and stderr. */
export function kt(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const options = { cwd, encoding: 'utf8' as const, env: { ...process.env, ...env } };
    execFile(process.execPath, [...KT_ARGS, ...args], options, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 99) : 0, stdout, stderr });
    });
  });
}

/** A port of 127.0.0.1 that was free a moment ago and is closed now: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Spawns `kt ARGS` in `cwd` (for commands that keep running, such as `kt serve`). */
export function spawnKt(args: string[], cwd: string): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [...KT_ARGS, ...args], { cwd });
}

/** A running `kt witness serve`: its URL, its cosigner key and its process. */
export interface KtWitness {
  url: string;
  key: string;
  child: ChildProcessWithoutNullStreams;
}

/**
 * `kt witness init` in `dir` (a new folder) with the witness's `name`, then `kt witness serve` on a free port
 * of 127.0.0.1 for the one log `origin` under `logKey`, its state in `dir`.
 */
export async function startKtWitness(dir: string, name: string, origin: string, logKey: string): Promise<KtWitness> {
  mkdirSync(dir);
  const init = await kt(['witness', 'init', '--name', name, '--key', join(dir, 'w.key'), '--json'], dir);
  if (init.code !== 0) throw new Error(`kt witness init failed: ${init.stderr}`);
  const args = ['witness', 'serve', '--key', join(dir, 'w.key'), '--state', join(dir, 'state.json'), '--port', '0'];
  const child = spawnKt([...args, '--log', `${origin}=${logKey}`], dir);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`the witness exited with ${code}: ${out}`)));
  });
  return { url, key: JSON.parse(init.stdout).cosignerKey, child };
}
