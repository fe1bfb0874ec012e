/** `npm start` as a child process: first run, restarts, refusals, serving, and the Go C2SP client. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { cosigner } from '../../../wasm-free-crypto/cosignature.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { openDataDir } from '../../../api/node/data-dir.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { openCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import { decodeEntryBundle } from '../../../verifier/formats/tiles.js';
import { records } from '../../helpers/log.js';
import { nodeEntry } from '../../helpers/node-entry.js';
import { runServerEntry, startServerProcess } from '../../helpers/server-process.js';
import { vectorBytes } from '../../helpers/vectors.js';

const TILES_300_ROOT = 'gw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=';
const EMPTY_ROOT = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';
const C2SPCHECK = fileURLToPath(new URL('../../interop/bin/c2spcheck', import.meta.url));

/** A data directory holding a log of `record 0` .. `record <count-1>`, written before the server starts. */
async function dataDirWithRecords(count = 300): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'kt-server-'));
  const data = openDataDir(dir, 'rome2026h1.example.org');
  const storage = new SqliteLogStorage(data.dbPath);
  const log = await LogAppender.open({ storage, signer: data.signer, origin: data.origin });
  for (let i = 0; i < count; i += 10_000) await log.append(records(i, Math.min(10_000, count - i)));
  await log.close();
  await storage.close();
  return dir;
}

async function get(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

describe('npm start (api/node/main.ts)', () => {
  it('creates keys on first run, prints the pins, keeps them on the next run and stops on SIGTERM', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'kt-fresh-')), 'data');
    const first = await startServerProcess(['--data', dir]);
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const config = await (await fetch(`${first.url}/v1/config`)).json();
    expect(first.output()).toContain(`log key ${config.logKey}`);
    expect(first.output()).toContain(`origin  ${config.origin}`);
    const cp = openCheckpoint(
      await (await fetch(`${first.url}/log/checkpoint`)).text(),
      config.origin,
      parseVerifierKey(config.logKey),
    );
    expect(cp.checkpoint.size).toBe(1); // the directory's epoch 0 head
    expect(first.output()).toContain(`vrf key ${config.vrfKey}`);
    for (const f of ['vrf.key', 'operator.token', 'dev-ca.key'])
      expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
    expect(await first.stop()).toBe(0);
    expect(statSync(join(dir, 'log.key')).mode & 0o777).toBe(0o600);
    const second = await startServerProcess(['--data', dir]);
    expect(await (await fetch(`${second.url}/v1/config`)).json()).toEqual(config);
    expect(second.output()).toContain('opened the log');
    expect(await second.stop()).toBe(0);
  });

  it('recovers the origin from the key when config.json is lost, and refuses a conflicting one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-lost-'));
    const first = openDataDir(dir, 'example.com/kept');
    rmSync(join(dir, 'config.json'));
    expect(() => openDataDir(dir, 'example.com/other')).toThrow(/not example.com\/other/);
    expect(existsSync(join(dir, 'config.json'))).toBe(false);
    const again = openDataDir(dir);
    expect(again.origin).toBe('example.com/kept');
    expect(again.signer.verifierKey).toBe(first.signer.verifierKey);
  });

  it('checks the configured witnesses and their quorum', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-witness-config-'));
    openDataDir(dir, 'example.com/witnessed');
    const key = cosigner('witness.example/w1', new Uint8Array(32).fill(1)).verifierKey;
    const withConfig = (extra: Record<string, unknown>) => {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ origin: 'example.com/witnessed', ...extra }));
      return () => openDataDir(dir);
    };
    expect(
      withConfig({ witnesses: [{ key, url: 'https://w.example/w1' }], witnessQuorum: 1 })().settings.witnesses,
    ).toEqual([{ key, url: 'https://w.example/w1' }]);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ witnesses: {} }, /"witnesses" must be a list/],
      [{ witnesses: [{ key }] }, /"witnesses" item 0 must be \{"key", "url"\}/],
      [{ witnesses: [{ key: 'not a key', url: 'https://w.example' }] }, /item 0: the key is not a cosigner key/],
      [
        { witnesses: [{ key, url: 'https://w.example/' }] },
        /item 0: the URL must be http\(s\), without a trailing slash/,
      ],
      [
        { witnesses: [{ key, url: 'https://w.example' }], witnessQuorum: 2 },
        /"witnessQuorum" is above the number of witnesses \(1\)/,
      ],
    ];
    for (const [extra, message] of bad) expect(withConfig(extra), JSON.stringify(extra)).toThrow(message);
  });

  it('refuses a changed origin and bad arguments with clear errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-origin-'));
    openDataDir(dir, 'example.com/one');
    const changed = await runServerEntry(['--data', dir, '--origin', 'example.com/two', '--port', '0']);
    expect(changed.code).toBe(1);
    expect(changed.output).toContain('origin of an existing log cannot change');
    const badPort = await runServerEntry(['--port', 'http']);
    expect(badPort.code).toBe(2);
    expect(badPort.output).toContain('invalid port');
    const unknown = await runServerEntry(['--frobnicate']);
    expect(unknown.code).toBe(2);
  });

  it('serves a log whose checkpoint, tiles and entries match the tiles-300 vectors', async () => {
    const server = await startServerProcess(['--log-only', '--data', await dataDirWithRecords()]);
    try {
      const config = await (await fetch(`${server.url}/v1/config`)).json();
      const note = new TextDecoder().decode(await get(`${server.url}/log/checkpoint`));
      const cp = openCheckpoint(note, 'rome2026h1.example.org', parseVerifierKey(config.logKey)).checkpoint;
      expect(cp.size).toBe(300);
      expect(toBase64(cp.rootHash)).toBe(TILES_300_ROOT);
      for (const path of ['tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1']) {
        expect(await get(`${server.url}/log/${path}`)).toEqual(vectorBytes(`tiles-300/${path}`));
      }
      const entries = [
        ...decodeEntryBundle(await get(`${server.url}/log/tile/entries/000`)),
        ...decodeEntryBundle(await get(`${server.url}/log/tile/entries/001.p/44`)),
      ];
      expect(entries).toEqual(records(0, 300));
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('runs the demo against a fresh server: enrols providers, publishes, and verifies lookups, discovery and history', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'kt-demo-')), 'data');
    const server = await startServerProcess(['--data', dir]);
    try {
      const out = execFileSync(
        process.execPath,
        [...nodeEntry('api/node/demo.ts'), '--server', server.url, '--data', dir],
        {
          encoding: 'utf8',
        },
      );
      expect(out).toContain('enrolled provider chat.example');
      expect(out.match(/^ {2}ok {2}/gm)).toHaveLength(8);
      expect(out).toContain('talk.example / bob@example.org: absent, proven absent');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  // Go's golang.org/x/mod/sumdb/note and tlog, built from Debian's sources by test/interop/build.sh.
  // CI builds it and sets KT_REQUIRE_INTEROP=1, so there the check cannot be skipped.
  const haveGo = existsSync(C2SPCHECK);
  it.runIf(haveGo || process.env.KT_REQUIRE_INTEROP === '1')(
    'is accepted by an off-the-shelf C2SP client (Go sumdb/note + sumdb/tlog)',
    async () => {
      // 70,000 records span three tile levels; the consistency proof from the tiles-300 root checks
      // that Go's ProveTree/CheckTree agree with our tiles too.
      const server = await startServerProcess(['--log-only', '--data', await dataDirWithRecords(70_000)]);
      try {
        const config = await (await fetch(`${server.url}/v1/config`)).json();
        const args = [
          '-url',
          `${server.url}/log`,
          '-vkey',
          config.logKey,
          '-origin',
          config.origin,
          '-old-size',
          '300',
          '-old-root',
          TILES_300_ROOT,
        ];
        const out = execFileSync(C2SPCHECK, args, { encoding: 'utf8' });
        expect(out).toMatch(/^ok: .*size=70000/m);
        expect(() =>
          execFileSync(C2SPCHECK, [...args.slice(0, -1), EMPTY_ROOT], { encoding: 'utf8', stdio: 'pipe' }),
        ).toThrow(/FAIL/);
      } finally {
        await server.stop();
      }
    },
  );
});
