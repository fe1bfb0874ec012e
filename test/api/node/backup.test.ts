/**
 * The backup of a data directory (api/node/backup.ts), in this process: the trusted roots config.json names
 * by a relative path are copied (private, in their folders), those named by an absolute path are listed, not
 * copied; an existing empty destination is used; and every refusal (a root outside the directory, a copy
 * inside it, a log.db with no log yet) leaves nothing behind, not even the copy's staging directory.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backupDataDir } from '../../../api/node/backup.js';
import { openDataDir } from '../../../api/node/data-dir.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';

const ORIGIN = 'example.com/kt-backup-test';
const root = mkdtempSync(join(tmpdir(), 'kt-backup-unit-'));

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A data directory whose log holds its empty checkpoint, with `trustedRoots` in its config.json. */
async function dataDir(name: string, trustedRoots: string[]): Promise<string> {
  const dir = join(root, name);
  const data = openDataDir(dir, ORIGIN, () => undefined);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ origin: ORIGIN, trustedRoots }));
  const storage = new SqliteLogStorage(data.dbPath);
  await (await LogAppender.open({ storage, signer: data.signer, origin: ORIGIN })).close();
  await storage.close();
  return dir;
}

describe('backupDataDir', () => {
  it('copies the trusted roots kept in the data directory and lists the others', async () => {
    const source = await dataDir('roots', ['roots/extra.pem', '/etc/kt/root.pem']);
    mkdirSync(join(source, 'roots'));
    writeFileSync(join(source, 'roots', 'extra.pem'), 'not checked here', { mode: 0o644 });
    const dest = join(root, 'roots-copy');
    mkdirSync(dest, { mode: 0o755 }); // empty: the copy takes its place
    const r = await backupDataDir(source, dest);
    expect(r).toMatchObject({ origin: ORIGIN, treeSize: 0, externalRoots: ['/etc/kt/root.pem'] });
    expect(r.files).toEqual(['config.json', 'log.key', 'vrf.key', 'operator.token', 'roots/extra.pem']);
    expect(statSync(dest).mode & 0o777).toBe(0o700);
    expect(statSync(join(dest, 'roots')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dest, 'roots', 'extra.pem')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dest).sort()).toEqual([
      'config.json',
      'log.db',
      'log.key',
      'operator.token',
      'restored-backup.json',
      'roots',
      'vrf.key',
    ]);
  });

  it('refuses, leaving nothing behind, a root outside the directory, a copy inside it, and a log.db with no log', async () => {
    const outside = await dataDir('outside', ['../elsewhere/root.pem']);
    await expect(backupDataDir(outside, join(root, 'outside-copy'))).rejects.toThrow(/outside the data directory/);
    const inside = await dataDir('inside', []);
    await expect(backupDataDir(inside, join(inside, 'copy'))).rejects.toThrow(/cannot be inside the data directory/);
    const empty = join(root, 'empty');
    openDataDir(empty, ORIGIN, () => undefined); // log.db exists, empty: no server ever ran
    await expect(backupDataDir(empty, join(root, 'empty-copy'))).rejects.toThrow(/holds no log yet/);
    expect(readdirSync(root).filter((f) => /^(outside|empty)-copy|\.partial-/.test(f))).toEqual([]);
    expect(readdirSync(inside)).not.toContain('copy');
  });
});
