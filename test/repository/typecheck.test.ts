/**
 * `npm run typecheck` covers every TypeScript file of the project: each one is a root file of one of the
 * two TypeScript projects it checks (tsconfig.json for Node, tsconfig.worker.json for the Worker and its
 * workerd tests), as TypeScript itself reads their include and exclude lists.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SKIP = new Set(['node_modules', '.git', '.wrangler', 'data', 'data-worker']);

function typeScriptFiles(dir = ROOT): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!SKIP.has(name)) out.push(...typeScriptFiles(path));
    } else if (/\.(c|m)?ts$/.test(name)) out.push(relative(ROOT, path));
  }
  return out;
}

function rootFiles(config: string): string[] {
  const { config: json, error } = ts.readConfigFile(join(ROOT, config), ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  return ts.parseJsonConfigFileContent(json, ts.sys, ROOT).fileNames.map((f) => relative(ROOT, f));
}

describe('npm run typecheck', () => {
  it('checks every TypeScript file of the project', () => {
    const checked = new Set([...rootFiles('tsconfig.json'), ...rootFiles('tsconfig.worker.json')]);
    const files = typeScriptFiles();
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((f) => !checked.has(f))).toEqual([]);
  });
});
