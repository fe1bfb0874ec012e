/**
 * The data directory's files are private (api/node/data-dir.ts): every file the server writes is 0600
 * whatever the directory's mode, SQLite's -wal and -shm included, and the 0644 files of an earlier release
 * are made private when the directory is opened.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDataDir } from '../../../api/node/data-dir.js';
import { issueProviderCertificate, loadDevCa } from '../../../api/node/dev-ca.js';
import { toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { kt } from '../../helpers/kt-process.js';
import { startServerProcess } from '../../helpers/server-process.js';

/** Every file under `dir` (subdirectories too) with its permission bits, by path relative to `dir`. */
function modes(dir: string, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) Object.assign(out, modes(path, `${prefix}${e.name}/`));
    else out[`${prefix}${e.name}`] = statSync(path).mode & 0o777;
  }
  return out;
}

const allPrivate = (m: Record<string, number>) => Object.fromEntries(Object.keys(m).map((k) => [k, 0o600]));

/** Enrols a provider with a certificate of the development CA, so that the server writes to its database. */
async function enrol(url: string, dir: string, token: string): Promise<void> {
  const cert = await issueProviderCertificate(await loadDevCa(dir), 'chat.example');
  const res = await fetch(`${url}/v1/providers?wait=1`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ chain: [toBase64(cert.der)] }),
  });
  expect(res.status).toBe(200);
}

describe('the data directory (api/node/data-dir.ts)', () => {
  it('keeps every file 0600 in a directory that exists with mode 0755: kt init, then the running server', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'kt-modes-')), 'data');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const init = await kt(['init', '--data', dir], tmpdir());
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).toContain(`the data directory ${dir} has mode 0755`);
    const afterInit = modes(dir);
    expect(Object.keys(afterInit).sort()).toEqual(
      ['config.json', 'dev-ca.key', 'dev-ca.pem', 'log.db', 'log.key', 'operator.token', 'vrf.key'].sort(),
    );
    expect(afterInit).toEqual(allPrivate(afterInit));
    const server = await startServerProcess(['--data', dir]);
    try {
      expect(server.output()).toContain(`the data directory ${dir} has mode 0755`);
      await enrol(server.url, dir, openDataDir(dir, undefined, () => {}).operatorToken);
      const running = modes(dir);
      expect(running).toHaveProperty(['log.db-wal']);
      expect(running).toHaveProperty(['log.db-shm']);
      expect(running).toEqual(allPrivate(running));
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(modes(dir)).toEqual(allPrivate(modes(dir)));
    expect(statSync(dir).mode & 0o777).toBe(0o755); // the operator's directory is left as it is, with a warning
  });

  it('creates a new data directory 0700', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'kt-modes-')), 'new', 'data');
    const lines: string[] = [];
    openDataDir(dir, undefined, (line) => lines.push(line));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(lines).toEqual([]);
    expect(modes(dir)).toEqual(allPrivate(modes(dir)));
  });

  it("makes the 0644 files of an earlier release's data directory private when it is opened", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'kt-upgrade-')), 'data');
    const first = await startServerProcess(['--data', dir]);
    await enrol(first.url, dir, openDataDir(dir, undefined, () => {}).operatorToken);
    // Killed, so that SQLite's -wal and -shm stay behind as a crash of the earlier release would leave them.
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    chmodSync(dir, 0o755);
    const old = modes(dir);
    expect(old).toHaveProperty(['log.db-wal']);
    for (const f of Object.keys(old)) chmodSync(join(dir, f), 0o644);
    const lines: string[] = [];
    openDataDir(dir, undefined, (line) => lines.push(line));
    expect(lines).toEqual([
      `warning: the data directory ${dir} has mode 0755; its files are 0600, but 0700 would hide them too`,
      `made the files of ${dir} private (mode 0600): ${[
        'config.json',
        'log.key',
        'vrf.key',
        'operator.token',
        'log.db',
        'log.db-wal',
        'log.db-shm',
        'dev-ca.pem',
        'dev-ca.key',
      ]
        .map((f) => `${f} (was 0644)`)
        .join(', ')}`,
    ]);
    expect(modes(dir)).toEqual(allPrivate(old));
    // The server does the same, and says so, when it opens such a directory.
    for (const f of ['log.db', 'log.db-wal', 'log.db-shm']) chmodSync(join(dir, f), 0o644);
    const second = await startServerProcess(['--data', dir]);
    try {
      expect(second.output()).toContain(
        `made the files of ${dir} private (mode 0600): log.db (was 0644), log.db-wal (was 0644), log.db-shm (was 0644)`,
      );
      expect(second.output()).toContain('opened the log');
      expect(modes(dir)).toEqual(allPrivate(modes(dir)));
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
