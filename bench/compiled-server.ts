/**
 * The server compiled as `npm run build` compiles it (tsconfig.build.json), into a folder of its own, for
 * the benchmarks that measure what `npm start` runs rather than the TypeScript sources under tsx: a worker
 * thread started from the sources loads tsx in the thread too, about 23 MiB of memory more per thread
 * (the VRF pool's and the WAL checkpointer's) than the compiled thread does, and tsx's loader runs in a
 * thread of its own in the process that imports through it. So a bench script that measures the server's
 * process is bundled too (esbuild: its own code; the server's modules it imports at run time from the
 * compiled folder) and runs on plain Node.
 */
import { execFileSync } from 'node:child_process';
import { buildSync } from 'esbuild';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repository = fileURLToPath(new URL('..', import.meta.url));

/**
 * Compiles the server, and bundles each of `scripts` (bench files, by name); `root` is the folder holding
 * its `api/`, `log/`, ... as `dist/` does, `bundled(script)` the path of a bundled script.
 */
export function compileServer(scripts: string[] = []): {
  root: string;
  bundled(script: string): string;
  remove(): void;
} {
  const folder = mkdtempSync(join(tmpdir(), 'kt-compiled-'));
  const remove = () => rmSync(folder, { recursive: true, force: true });
  const root = join(folder, 'dist');
  const bundled = (script: string) => join(folder, script.replace(/\.ts$/, '.mjs'));
  try {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', join(repository, 'tsconfig.build.json'), '--outDir', root], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    symlinkSync(join(repository, 'node_modules'), join(folder, 'node_modules'), 'dir');
    for (const script of scripts)
      buildSync({
        entryPoints: [join(repository, 'bench', script)],
        outfile: bundled(script),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        logLevel: 'warning',
      });
  } catch (e) {
    remove();
    throw e;
  }
  return { root, bundled, remove };
}
