/**
 * The Node server's explorer files (api/node/explorer-files.ts): the `explorer` setting of config.json
 * (the built page, none, or a folder), checked strictly, and the files read from the folder it names.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explorerFor, explorerSetting } from '../../../api/node/explorer-files.js';

describe('the explorer setting', () => {
  it('is true by default, or false, or a folder; anything else is refused with the file named', () => {
    expect(explorerSetting({}, 'config.json')).toBe(true);
    expect(explorerSetting({ explorer: false }, 'config.json')).toBe(false);
    expect(explorerSetting({ explorer: 'page' }, 'config.json')).toBe('page');
    for (const bad of ['', 1, null, ['page']])
      expect(() => explorerSetting({ explorer: bad }, 'config.json')).toThrow(/config.json: "explorer" must be/);
  });

  it('serves no page when false, and the files of the folder named, relative to the data directory', async () => {
    expect(explorerFor(false, '/data')).toBeUndefined();
    const data = mkdtempSync(join(tmpdir(), 'kt-explorer-files-'));
    const page = mkdtempSync(join(data, 'page-'));
    writeFileSync(join(page, 'index.html'), '<!doctype html>');
    const assets = explorerFor(page.slice(data.length + 1), data)!;
    expect(new TextDecoder().decode(await assets.read('index.html'))).toBe('<!doctype html>');
    expect(await assets.read('explorer.js')).toBeUndefined(); // served as a 404 naming the build
  });
});
