/**
 * How a test runs one of the project's TypeScript entries (cli/kt.ts, api/node/main.ts, api/node/demo.ts)
 * in a child Node process: the arguments for `process.execPath`. In a vitest run that is the entry compiled
 * by test/global-setup.ts (the folder KT_TEST_COMPILED names), so the child starts as the installed package
 * does and the tests never depend on a stale `npm run build`; outside one, the source through tsx's loader.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../../', import.meta.url);
/** tsx's loader by its file URL: `--import tsx` would be resolved from the child's working directory. */
const TSX = new URL('node_modules/tsx/dist/loader.mjs', ROOT).href;

/** The arguments that run `entry` (a path from the repository's root, such as 'cli/kt.ts') with node. */
export function nodeEntry(entry: string): string[] {
  const compiled = process.env.KT_TEST_COMPILED;
  if (compiled) return [join(compiled, entry.replace(/\.ts$/, '.js'))];
  return ['--import', TSX, fileURLToPath(new URL(entry, ROOT))];
}
