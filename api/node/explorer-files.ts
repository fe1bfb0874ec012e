/**
 * The explorer page's files for the Node server, read once at start from the build's output
 * (`dist/explorer/`, written by `npm run build`): beside the compiled server (`dist/api/node/` ->
 * `dist/explorer/`), or, when the server runs from its TypeScript sources (tsx, the tests), the
 * repository's `dist/explorer/`. A file that is not there is served as a 404 naming the build. The
 * setting `explorer` of config.json (Node only) chooses: `true` (default) that page, `false` no page at
 * `/`, or a folder (relative to the data directory, or absolute) holding another copy's three files.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isAbsolute, join } from 'node:path';
import type { ExplorerAssets, ExplorerFile } from '../app/explorer-routes.js';
import { ConfigError } from '../wiring/settings.js';

/** The key of config.json, and its values: the built page, none, or a folder. */
export const EXPLORER_SETTING = 'explorer';
export type ExplorerSetting = boolean | string;

/** The `explorer` setting of a parsed config.json (`file` names it in errors). */
export function explorerSetting(config: Record<string, unknown>, file: string): ExplorerSetting {
  const value = config[EXPLORER_SETTING];
  if (value === undefined) return true;
  if (typeof value === 'boolean' || (typeof value === 'string' && value !== '')) return value;
  throw new ConfigError(`${file}: "explorer" must be true, false or the path of a folder holding the page`);
}

/** The page's files as the setting chooses them for the data directory `dataDir`, or none. */
export function explorerFor(setting: ExplorerSetting, dataDir: string): ExplorerAssets | undefined {
  if (setting === false) return undefined;
  if (setting === true) return explorerFiles();
  return explorerFiles(isAbsolute(setting) ? setting : join(dataDir, setting));
}

const FILES: ExplorerFile[] = ['index.html', 'explorer.js', 'explorer.css'];

/** The folder of the built page for this copy of the server. */
function explorerDir(): string {
  const fromSources = import.meta.url.endsWith('.ts');
  return fileURLToPath(new URL(fromSources ? '../../dist/explorer/' : '../../explorer/', import.meta.url));
}

/** The page's files from `dir` (default: explorerDir()), read now. */
function explorerFiles(dir = explorerDir()): ExplorerAssets {
  const files = new Map<ExplorerFile, Uint8Array>();
  for (const name of FILES) {
    try {
      files.set(name, readFileSync(`${dir}/${name}`));
    } catch {
      // not built: served as a 404 that says so
    }
  }
  return { read: async (name) => files.get(name) };
}
