/**
 * Vitest's global setup for the Node tests (vitest.config.ts): compiles the project's TypeScript sources once
 * per run, file by file with esbuild (no bundling, no type check: `npm run typecheck` does that), into a
 * folder of its own under node_modules/.cache, which it names in KT_TEST_COMPILED for the test workers and
 * removes at the end (a folder left by a run killed with SIGTERM is removed by a run a day later). The tests'
 * child processes (`kt`, the server, the demo: test/helpers/node-entry.ts) then start from JavaScript, as the
 * installed package does, instead of each compiling its two hundred files again through tsx's loader: that
 * was 0.5 s of every `kt` a test runs, and the CI's time is capped. Under `npx vitest` in watch mode the
 * children keep the sources of the run's start: restart it after an edit.
 * The folder is inside the repository so that the compiled files resolve its node_modules; its `explorer`
 * is a link to the built page (dist/explorer), which is where the server run from its sources looks too.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The folders `npm run build` compiles (tsconfig.build.json), the Worker's excepted as there. */
const FOLDERS = ['wasm-free-crypto', 'verifier', 'log', 'api', 'cli'];

function sources(): string[] {
  const files: string[] = [];
  for (const folder of FOLDERS) {
    for (const name of readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })) {
      if (name.endsWith('.ts') && !name.endsWith('.d.ts') && !join(folder, name).startsWith(join('api', 'worker'))) {
        files.push(join(ROOT, folder, name));
      }
    }
  }
  return files;
}

/** Folders of earlier runs that were killed before their end (SIGTERM, a crash): a day old, no run holds them. */
function removeAbandoned(cache: string): void {
  for (const name of readdirSync(cache)) {
    const dir = join(cache, name);
    if (name.startsWith('kt-test-compiled-') && Date.now() - statSync(dir).mtimeMs > 86_400_000)
      rmSync(dir, { recursive: true, force: true });
  }
}

export default async function setup(): Promise<() => void> {
  const cache = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  removeAbandoned(cache);
  const out = mkdtempSync(join(cache, 'kt-test-compiled-'));
  const remove = () => rmSync(out, { recursive: true, force: true });
  try {
    await build({
      entryPoints: sources(),
      outdir: out,
      outbase: ROOT,
      bundle: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'warning',
    });
    // ES modules by their package scope, as the project's own package.json says: Node before 20.19 does not
    // detect module syntax, and node_modules ends the search for a package.json above the folder.
    writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
    symlinkSync(join(ROOT, 'dist', 'explorer'), join(out, 'explorer'));
  } catch (e) {
    remove();
    throw e;
  }
  process.env.KT_TEST_COMPILED = out;
  return remove;
}
