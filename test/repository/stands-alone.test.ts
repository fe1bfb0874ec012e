/**
 * The repository stands alone: a fresh clone has nothing beside it, so no file may name a path outside
 * the repository. Checked from the text of every file the project keeps (source, tests, scripts, configs
 * and docs): a relative path (`./...`, `../...`, as a string or a Markdown link) must resolve inside the
 * repository from the file's own folder, and no absolute path may point into a home, work or temporary
 * folder, where a sibling checkout would be. Paths of installed system packages (`/usr/...`) are allowed.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryFiles, ROOT } from '../helpers/repository.js';

/** Folders of data, not of the project's own text: the vectors and the Go client's binaries. */
const DATA = new Set(['test/vectors', 'test/interop/bin']);
const TEXT = /\.(ts|mts|mjs|js|json|md|toml|sh|go|mod|yml|yaml)$|^(run|\.gitignore)$/;
/** A relative path in quotes, backquotes or a Markdown link target. */
const RELATIVE = /(?:['"`(])(\.\.?\/[^'"`)\s]*)/g;
/** An absolute path into the folders where checkouts, data and scratch files live. */
const ABSOLUTE = /['"`(](\/(?:home|root|work|tmp|srv|opt|mnt|var|Users)\/[^'"`)\s]*)/g;

function projectFiles(): string[] {
  return repositoryFiles(TEXT, (folder) => DATA.has(folder)).map((f) => join(ROOT, f));
}

/** The relative paths in `text` that leave the repository when resolved from `file`'s folder. */
function escapingPaths(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(RELATIVE)) {
    const target = resolve(dirname(file), m[1].replace(/\$\{[^}]*\}/g, 'x'));
    if (target !== ROOT.replace(/\/$/, '') && !target.startsWith(ROOT)) out.push(m[1]);
  }
  return out;
}

describe('the repository stands alone', () => {
  const files = projectFiles();

  it('finds the project files', () => {
    const names = files.map((f) => relative(ROOT, f));
    for (const expected of [
      'package.json',
      'bin/kt.mjs',
      '.ci/run',
      'test/helpers/vectors.ts',
      'vitest.workers.config.ts',
      'docs/PROTOCOL.md',
    ]) {
      expect(names).toContain(expected);
    }
  });

  it('names no relative path outside the repository', () => {
    const bad = files.flatMap((f) =>
      escapingPaths(f, readFileSync(f, 'utf8')).map((p) => `${relative(ROOT, f)}: ${p}`),
    );
    expect(bad).toEqual([]);
  });

  it('names no absolute path into a home, work or temporary folder', () => {
    const bad = files.flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(ABSOLUTE)].map((m) => `${relative(ROOT, f)}: ${m[1]}`),
    );
    expect(bad).toEqual([]);
  });

  it('catches a path that climbs out, and allows one that stays in', () => {
    // Built from parts, so that this file does not name the paths it uses as examples.
    const up = ['..', '..', 'shared', 'vectors', ''].join('/');
    expect(escapingPaths(join(ROOT, 'test', 'x.ts'), `new URL('${up}', import.meta.url)`)).toEqual([up]);
    expect(escapingPaths(join(ROOT, 'x.ts'), `readFileSync('${up.slice(3)}')`)).toEqual([up.slice(3)]);
    expect(escapingPaths(join(ROOT, 'test', 'x.ts'), "import { a } from '../verifier/formats/tlog.js'")).toEqual([]);
    expect(escapingPaths(join(ROOT, 'test', 'x.ts'), 'new URL(`../${dir}/`, import.meta.url)')).toEqual([]);
    const sibling = ['', 'work', 'shared', 'DESIGN.md'].join('/');
    expect([...`readFileSync('${sibling}')`.matchAll(ABSOLUTE)].map((m) => m[1])).toEqual([sibling]);
    expect([..."fetch('/v1/lookup/a/b'); '/usr/share/gocode'".matchAll(ABSOLUTE)]).toEqual([]);
  });
});
