/**
 * The server compiled as `npm run build` compiles it (tsconfig.build.json), into a folder of its own, for
 * the benchmarks that measure what `npm start` runs rather than the TypeScript sources under tsx: a worker
 * thread started from the sources loads tsx in the thread too, about 23 MiB of memory more per thread
 * (the VRF pool's and the WAL checkpointer's) than the compiled thread does.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repository = fileURLToPath(new URL('..', import.meta.url));

/** Compiles the server; `root` is the folder holding its `api/`, `log/`, ... as `dist/` does. */
export function compileServer(): { root: string; remove(): void } {
  const folder = mkdtempSync(join(tmpdir(), 'kt-compiled-'));
  const root = join(folder, 'dist');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(repository, 'tsconfig.build.json'), '--outDir', root], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  symlinkSync(join(repository, 'node_modules'), join(folder, 'node_modules'), 'dir');
  return { root, remove: () => rmSync(folder, { recursive: true, force: true }) };
}
