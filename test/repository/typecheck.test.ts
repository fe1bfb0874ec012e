/**
 * `npm run typecheck` covers every TypeScript file of the project: each one is a root file of one of the
 * two TypeScript projects it checks (tsconfig.json for Node, tsconfig.worker.json for the Worker and its
 * workerd tests), as TypeScript itself reads their include and exclude lists.
 */
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repositoryFiles, ROOT } from '../helpers/repository.js';

const typeScriptFiles = () => repositoryFiles(/\.(c|m)?ts$/);

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
