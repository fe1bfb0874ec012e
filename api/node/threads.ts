/**
 * How the Node server starts its worker threads (the VRF pool's, the WAL checkpointer's): the compiled
 * `.js` entry beside the caller, or, when the caller runs as TypeScript source (tsx, vitest), the `.ts`
 * entry loaded through tsx's loader, registered in the thread.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The file URL of tsx's ESM loader API (`tsx/esm/api`, its `import` export), resolved from `from`. */
function tsxLoaderApi(from: string): string {
  const packageJson = createRequire(from).resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(packageJson, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return new URL(manifest.exports['./esm/api'].import.default, pathToFileURL(packageJson)).href;
}

/** A new thread running `entry` (a file name without its extension) beside the module `here`. */
export function spawnThread(here: string, entry: string, workerData: unknown): Worker {
  if (!here.endsWith('.ts')) return new Worker(new URL(`./${entry}.js`, here), { workerData });
  const source = new URL(`./${entry}.ts`, here).href;
  const boot = `import(${JSON.stringify(tsxLoaderApi(here))}).then((t) => { t.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
