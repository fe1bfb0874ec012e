/**
 * The repository's own files, for the tests of its rules (test/repository/): every file below the root
 * whose name matches, as a path relative to the root, leaving out dependencies, git's and wrangler's
 * folders, local data directories, compiled output (`dist/`), and any folder `skip` names (a path relative to the root).
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Dependencies, git's and wrangler's folders, data directories, and the compiled JavaScript (`npm run build`). */
const NOT_THE_PROJECT = new Set(['node_modules', '.git', '.wrangler', 'data', 'data-worker', 'dist']);

export function repositoryFiles(name: RegExp, skip: (folder: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(ROOT, dir))) {
      const path = join(dir, entry);
      if (!statSync(join(ROOT, path)).isDirectory()) {
        if (name.test(entry)) out.push(path);
      } else if (!NOT_THE_PROJECT.has(entry) && !skip(path)) walk(path);
    }
  };
  walk('');
  return out.map((p) => relative('', p));
}
