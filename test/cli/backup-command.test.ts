/**
 * `kt backup` against a live server (test/helpers/demo-server.ts) while the demo publishes new versions:
 * the copy is a new directory 0700 with files 0600 and the marker of a restored backup (its checkpoint is one
 * the server signed, taken between the sizes before and after the writes); a server started on the copy is
 * read-only, passes `kt audit` and serves lookups that `kt lookup` verifies with the pins. Refusals: an
 * existing non-empty destination, a missing --out, a directory that is not a data directory, and `kt serve`
 * given an --accept-restore that is not the copy's tree size.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import { openCheckpoint } from '../../verifier/formats/checkpoint.js';
import { startDemoServer, type DemoServer } from '../helpers/demo-server.js';
import { kt } from '../helpers/kt-process.js';
import { runServerEntry, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

let demo: DemoServer;
let work: string;
let copyServer: ServerProcess | undefined;

beforeAll(async () => {
  demo = await startDemoServer();
  work = mkdtempSync(join(tmpdir(), 'kt-backup-'));
}, 120_000);

afterAll(async () => {
  await copyServer?.stop();
  await demo?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function treeSize(url: string): Promise<number> {
  return Number((await (await fetch(`${url}/log/checkpoint`)).text()).split('\n')[1]);
}

describe('kt backup', () => {
  it('copies a live directory under writes; the copy is read-only, passes kt audit and serves verified lookups', async () => {
    const before = await treeSize(demo.server.url);
    const copy = join(work, 'copy');
    // The demo publishes new versions of its accounts, epoch after epoch, while the backup runs.
    const [, backup] = await Promise.all([
      demo.publishMore().then(() => demo.publishMore()),
      new Promise((r) => setTimeout(r, 300)).then(() =>
        kt(['backup', '--data', demo.data, '--out', copy, '--json'], work),
      ),
    ]);
    const after = await treeSize(demo.server.url);
    expect(backup.code, backup.stderr).toBe(0);
    const result = JSON.parse(backup.stdout);
    expect(result).toMatchObject({ backedUp: true, dir: copy, origin: 'example.com/kt-demo-test' });
    expect(after).toBeGreaterThan(before);
    expect(result.treeSize).toBeGreaterThanOrEqual(before);
    expect(result.treeSize).toBeLessThanOrEqual(after);

    expect(statSync(copy).mode & 0o777).toBe(0o700);
    const files = readdirSync(copy).sort();
    expect(files).toEqual([
      'config.json',
      'dev-ca.key',
      'dev-ca.pem',
      'log.db',
      'log.key',
      'operator.token',
      'restored-backup.json',
      'vrf.key',
    ]);
    for (const f of files) expect(statSync(join(copy, f)).mode & 0o777, f).toBe(0o600);
    expect(JSON.parse(readFileSync(join(copy, 'restored-backup.json'), 'utf8'))).toMatchObject({
      format: 'kt-backup/1',
      backupTime: result.backupTime,
      treeSize: result.treeSize,
      rootHash: result.rootHash,
    });

    copyServer = await startServerProcess(['--data', copy]);
    const health = await (await fetch(`${copyServer.url}/healthz`)).json();
    expect(health.degraded[0]).toContain(
      `a backup taken at ${result.backupTime}, holding tree size ${result.treeSize}`,
    );
    const config = await (await fetch(`${copyServer.url}/v1/config`)).json();
    const served = openCheckpoint(
      await (await fetch(`${copyServer.url}/log/checkpoint`)).text(),
      config.origin,
      parseVerifierKey(config.logKey),
    );
    expect([served.checkpoint.size, Buffer.from(served.checkpoint.rootHash).toString('base64')]).toEqual([
      result.treeSize,
      result.rootHash,
    ]);

    const client = join(work, 'client'); // a client that never saw the original's newer checkpoints
    mkdirSync(client);
    const trust = await kt(['trust', '--server', copyServer.url, '--save', 'kt-pins.json'], client);
    expect(trust.code, trust.stderr).toBe(0);
    const audit = await kt(['audit', '--roots', join(copy, 'dev-ca.pem'), '--json'], client);
    expect(audit.code, audit.stderr + audit.stdout).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({
      audited: true,
      treeSize: result.treeSize,
      enrolmentsChecked: true,
    });
    const lookup = await kt(['lookup', 'chat.example', 'alice@example.org', '--json'], client);
    expect(lookup.code, lookup.stderr).toBe(0);
    expect(JSON.parse(lookup.stdout)).toMatchObject({ verified: true, status: 'present' });

    const refused = await fetch(`${copyServer.url}/v1/bindings`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ statements: [{ statement: 'AAAA', signature: 'AAAA' }] }),
    });
    expect([refused.status, (await refused.json()).error.code]).toEqual([503, 'read_only']);
  }, 120_000);

  it('refuses a non-empty destination, a missing --out and a directory that is not a data directory', async () => {
    const taken = join(work, 'taken');
    mkdirSync(taken);
    writeFileSync(join(taken, 'something'), 'x');
    const again = await kt(['backup', '--data', demo.data, '--out', taken], work);
    expect([again.code, again.stderr]).toEqual([2, expect.stringContaining('exists and is not empty')]);
    expect(readdirSync(taken)).toEqual(['something']);
    const noOut = await kt(['backup', '--data', demo.data], work);
    expect([noOut.code, noOut.stderr]).toEqual([2, expect.stringContaining('give --out DEST')]);
    const notData = await kt(['backup', '--data', work, '--out', join(work, 'nothing')], work);
    expect([notData.code, notData.stderr]).toEqual([2, expect.stringContaining('is not a data directory')]);
    expect(readdirSync(work).filter((f) => f.startsWith('nothing'))).toEqual([]); // nothing left behind
    // kt serve's restore options are checked before anything opens the copy (left by the test above).
    const badSize = await runServerEntry(['--data', join(work, 'copy'), '--accept-restore', 'all']);
    expect([badSize.code, badSize.output]).toEqual([2, expect.stringContaining('invalid --accept-restore "all"')]);
    const otherSize = await runServerEntry(['--data', join(work, 'copy'), '--accept-restore', '999999']);
    expect([otherSize.code, otherSize.output]).toEqual([1, expect.stringContaining('does not name this backup')]);
    const help = await kt(['--help'], work);
    expect(help.stdout).toMatch(/\n {2}backup {4}copy a live data directory/);
  });
});
