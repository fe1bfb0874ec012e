/**
 * Restore safety (api/node/restore-check.ts) on real servers (api/node/server.ts, in this process) and a real
 * witness (`kt witness serve`): a backup (api/node/backup.ts) of a log that went on publishing, which its
 * witness saw, stays read-only for good and says why (the sizes, the backup time, the receipts); a backup
 * of the newest checkpoint becomes writable once the witness confirms it, and signs again; the operator's
 * `--accept-restore SIZE` (the right size only) and a published checkpoint (equal: writable; larger: stale;
 * another log's, older, or another root: refused); a marker that does not match log.db refuses the start;
 * a statement receipted (202) before the backup stays queued in the read-only copy, and commits once the
 * copy is known to be the newest (the original killed right after the backup).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { issueProviderCertificate, loadDevCa } from '../../../api/node/dev-ca.js';
import { startServerProcess } from '../../helpers/server-process.js';
import { signedIdentityStatement } from '../../helpers/directory.js';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { cosigner, parseCosignerKey } from '../../../wasm-free-crypto/cosignature.js';
import { randomBytes } from '../../../wasm-free-crypto/random.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { openCheckpoint, signCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { backupDataDir } from '../../../api/node/backup.js';
import { openDataDir } from '../../../api/node/data-dir.js';
import { RESTORE_MARKER } from '../../../api/node/restore-marker.js';
import { startServer, type RunningServer } from '../../../api/node/server.js';
import type { RestoreOptions } from '../../../api/node/restore-check.js';
import { closedPort, startKtWitness, type KtWitness } from '../../helpers/kt-process.js';

const ORIGIN = 'example.com/kt-restore-test';

let root: string;
const running: RunningServer[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'kt-restore-'));
});

afterAll(async () => {
  for (const s of running) await s.close().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

async function serve(dataDir: string, restore?: RestoreOptions): Promise<RunningServer> {
  const s = await startServer({ dataDir, port: 0, host: '127.0.0.1', restore });
  running.push(s);
  return s;
}

async function close(s: RunningServer): Promise<void> {
  running.splice(running.indexOf(s), 1);
  await s.close();
}

/** The server's /healthz reasons, once its restore check has given a verdict (no longer "checking"). */
async function settledHealth(s: RunningServer): Promise<string[]> {
  for (let i = 0; i < 200; i++) {
    const health = (await (await fetch(`${s.url}/healthz`)).json()) as { degraded?: string[] };
    const reasons = health.degraded ?? [];
    if (!reasons.some((r) => r.includes('checking that it is the newest'))) return reasons;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the restore check gave no verdict');
}

/** A submission, refused before anything is checked when the server is read-only. */
async function submit(s: RunningServer): Promise<{ status: number; code?: string; message?: string }> {
  const res = await fetch(`${s.url}/v1/bindings`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ statements: [{ statement: 'AAAA', signature: 'AAAA' }] }),
  });
  const body = (await res.json()) as { error?: { code: string; message: string } };
  return { status: res.status, code: body.error?.code, message: body.error?.message };
}

/** A new data directory of ORIGIN, with `config` merged into its config.json. */
function dataDir(name: string, config: Record<string, unknown> = {}): string {
  const dir = join(root, name);
  openDataDir(dir, ORIGIN, () => undefined);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ origin: ORIGIN, ...config }));
  return dir;
}

/** `kt witness serve` for ORIGIN under `logKey`. */
function startWitness(logKey: string): Promise<KtWitness> {
  return startKtWitness(join(root, 'witness'), 'witness.example/restore', ORIGIN, logKey);
}

describe('a restored backup with a witness', () => {
  let witness: Awaited<ReturnType<typeof startWitness>>;
  let stale: string;
  let fresh: string;
  let staleTime: string;

  beforeAll(async () => {
    const original = join(root, 'witnessed');
    openDataDir(original, ORIGIN, () => undefined);
    const logKey = parseSignerKey(readFileSync(join(original, 'log.key'), 'utf8').trim()).verifierKey;
    witness = await startWitness(logKey);
    writeFileSync(
      join(original, 'config.json'),
      JSON.stringify({ origin: ORIGIN, witnesses: [{ key: witness.key, url: witness.url }], witnessQuorum: 1 }),
    );
    const server = await serve(original); // epoch 0 (tree size 1), cosigned by the witness
    stale = join(root, 'stale-copy');
    staleTime = new Date((await backupDataDir(original, stale)).backupTime).toISOString();
    await server.directory!.closeEpoch(true); // the log goes on: tree size 2, which the witness cosigns
    fresh = join(root, 'fresh-copy');
    expect((await backupDataDir(original, fresh)).treeSize).toBe(2);
    await close(server);
  }, 60_000);

  afterAll(() => {
    witness?.child.kill('SIGTERM');
  });

  it('refuses to sign a stale copy and says why: the sizes, the backup time and the receipts', async () => {
    const copy = await serve(stale, { acceptRestore: 1 }); // the override never beats a proof of staleness
    const [reason] = await settledHealth(copy);
    expect(reason).toContain(`a backup taken at ${staleTime}, holding tree size 1`);
    expect(reason).toContain(`it is stale and will never sign`);
    expect(reason).toContain(`witness ${witness.url} holds tree size 2, larger than this copy's 1`);
    expect(reason).toContain(
      `receipts the log signed after ${staleTime} for statements not in this copy (tree size 1)`,
    );
    const refused = await submit(copy);
    expect(refused).toEqual({ status: 503, code: 'read_only', message: reason });
    await expect(copy.directory!.closeEpoch(true)).rejects.toMatchObject({ code: 'read_only' });
    await expect(copy.appender.append([utf8('x')])).rejects.toMatchObject({ code: 'read_only' }); // the signer refuses
    const cp = await (await fetch(`${copy.url}/log/checkpoint`)).text();
    expect(cp.split('\n')[1]).toBe('1'); // still the backup's checkpoint, served
    expect(existsSync(join(stale, RESTORE_MARKER))).toBe(true);
    const again = await backupDataDir(stale, join(root, 'copy-of-stale')); // a copy of the live, read-only copy
    expect([new Date(again.backupTime).toISOString(), again.treeSize]).toEqual([staleTime, 1]); // the first backup's time
    await close(copy); // closing a read-only copy signs nothing either
    expect(existsSync(join(stale, RESTORE_MARKER))).toBe(true);
  });

  it('makes a copy of the newest checkpoint writable once the witness confirms it, and it signs again', async () => {
    const copy = await serve(fresh);
    expect(await settledHealth(copy)).toEqual([]);
    expect(existsSync(join(fresh, RESTORE_MARKER))).toBe(false);
    const next = await copy.directory!.closeEpoch(true);
    expect(next?.treeSize).toBe(3);
    const config = (await (await fetch(`${copy.url}/v1/config`)).json()) as { logKey: string };
    const served = openCheckpoint(
      await (await fetch(`${copy.url}/log/checkpoint`)).text(),
      ORIGIN,
      parseVerifierKey(config.logKey),
      [parseCosignerKey(witness.key)],
    );
    expect([served.checkpoint.size, served.cosignatures.length]).toEqual([3, 1]); // the witness cosigned it
    expect((await submit(copy)).code).not.toBe('read_only');
    await close(copy);
  });
});

describe('a restored backup without witnesses', () => {
  const copyOf = (name: string) => join(root, name);
  const equal = () => join(root, 'equal-checkpoint.txt');
  const later = () => join(root, 'later-checkpoint.txt');
  let signer: ReturnType<typeof parseSignerKey>;

  beforeAll(async () => {
    const original = dataDir('unwitnessed');
    signer = parseSignerKey(readFileSync(join(original, 'log.key'), 'utf8').trim());
    const server = await serve(original);
    for (const name of ['override', 'published-equal', 'published-larger', 'published-other', 'mismatch'])
      await backupDataDir(original, copyOf(name));
    writeFileSync(equal(), await (await fetch(`${server.url}/log/checkpoint`)).text()); // what the copies hold
    await server.directory!.closeEpoch(true);
    writeFileSync(later(), await (await fetch(`${server.url}/log/checkpoint`)).text()); // published after them
    await close(server);
  }, 60_000);

  it('stays read-only and says how to resolve; --accept-restore of the right size makes it writable', async () => {
    const dir = copyOf('override');
    await expect(serve(dir, { acceptRestore: 7 })).rejects.toThrow(
      /--accept-restore 7 does not name this backup: its tree size is 1/,
    );
    const waiting = await serve(dir);
    const [reason] = await settledHealth(waiting);
    expect(reason).toContain('nothing to check it against');
    expect(reason).toContain('--published-checkpoint FILE|URL');
    expect(reason).toContain('--accept-restore 1 (dangerous');
    expect((await submit(waiting)).code).toBe('read_only');
    await close(waiting);
    const accepted = await serve(dir, { acceptRestore: 1 });
    expect(await settledHealth(accepted)).toEqual([]);
    expect(existsSync(join(dir, RESTORE_MARKER))).toBe(false);
    expect((await accepted.directory!.closeEpoch(true))?.treeSize).toBe(2);
    await close(accepted);
  });

  it('checks a published checkpoint, from a file or a URL: equal is the newest, larger is stale', async () => {
    const same = await serve(copyOf('published-equal'), { publishedCheckpoint: equal() });
    expect(await settledHealth(same)).toEqual([]);
    expect(existsSync(join(copyOf('published-equal'), RESTORE_MARKER))).toBe(false);
    await close(same);
    // The newer checkpoint as a URL, as the old server's /log/checkpoint would serve it.
    const web = createServer((_req, res) => res.end(readFileSync(later())));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}/log/checkpoint`;
    try {
      const larger = await serve(copyOf('published-larger'), { publishedCheckpoint: url });
      const [reason] = await settledHealth(larger);
      expect(reason).toContain(`it is stale and will never sign`);
      expect(reason).toContain(`the published checkpoint ${url} has tree size 2, larger than this copy's 1`);
      await close(larger);
    } finally {
      web.close();
    }
  });

  it("refuses a published checkpoint of another log, an older one, or another root of the copy's size", async () => {
    const dir = copyOf('published-other');
    const emptyRoot = sha256(new Uint8Array(0));
    const otherKey = parseSignerKey(generateSignerKey(ORIGIN).signerKey);
    const otherOrigin = parseSignerKey(generateSignerKey('example.com/another-log').signerKey);
    const cases: [string, RegExp][] = [
      [signCheckpoint({ origin: ORIGIN, size: 1, rootHash: emptyRoot }, otherKey), /is not a checkpoint of this log/],
      [
        signCheckpoint({ origin: 'example.com/another-log', size: 1, rootHash: emptyRoot }, otherOrigin),
        /is not a checkpoint of this log/,
      ],
      [signCheckpoint({ origin: ORIGIN, size: 0, rootHash: emptyRoot }, signer), /older than this copy's 1/],
      [signCheckpoint({ origin: ORIGIN, size: 1, rootHash: randomBytes(32) }, signer), /with another root hash/],
    ];
    for (const [note, message] of cases) {
      const file = join(root, 'offered-checkpoint.txt');
      writeFileSync(file, note);
      const copy = await serve(dir, { publishedCheckpoint: file });
      const [reason] = await settledHealth(copy);
      expect(reason).toContain('the evidence offered does not show it is the newest');
      expect(reason).toMatch(message);
      expect((await submit(copy)).code).toBe('read_only');
      await close(copy);
    }
    expect(existsSync(join(dir, RESTORE_MARKER))).toBe(true);
  });

  it('refuses to start when the marker does not match log.db, or does not parse', async () => {
    const dir = copyOf('mismatch');
    const marker = JSON.parse(readFileSync(join(dir, RESTORE_MARKER), 'utf8'));
    writeFileSync(join(dir, RESTORE_MARKER), JSON.stringify({ ...marker, treeSize: 5 }));
    await expect(serve(dir, { acceptRestore: 5 })).rejects.toThrow(
      /says the backup holds tree size 5, but log.db holds 1/,
    );
    writeFileSync(join(dir, RESTORE_MARKER), JSON.stringify({ ...marker, extra: 1 }));
    await expect(serve(dir)).rejects.toThrow(/is not a valid backup marker/);
    writeFileSync(join(dir, RESTORE_MARKER), '{');
    await expect(serve(dir)).rejects.toThrow(/is not a valid backup marker/);
  });
});

describe('a restored backup whose witness does not answer', () => {
  it('stays read-only, checking again later; the override then makes it writable', async () => {
    const key = cosigner('witness.example/gone', new Uint8Array(32).fill(7)).verifierKey;
    const gone = `http://127.0.0.1:${await closedPort()}`;
    const original = dataDir('unanswered', { witnesses: [{ key, url: gone }], witnessQuorum: 1 });
    const server = await serve(original);
    const copyDir = (await backupDataDir(original, join(root, 'unanswered-copy'))).dir;
    await close(server);
    const waiting = await serve(copyDir);
    const [reason] = await settledHealth(waiting);
    expect(reason).toContain(`only 0 of 1 witnesses answered, 1 needed (${gone}: no answer`);
    expect(reason).toContain('checking again in 30 s');
    expect((await submit(waiting)).code).toBe('read_only');
    await close(waiting);
    const accepted = await serve(copyDir, { acceptRestore: 1 });
    expect(await settledHealth(accepted)).toEqual([]);
    await close(accepted);
  });
});

describe('a restored backup holding receipted statements', () => {
  it('keeps them while read-only, and commits them once the copy is known to be the newest', async () => {
    const original = dataDir('receipts');
    const first = await serve(original); // enrols the provider
    const cert = await issueProviderCertificate(await loadDevCa(original), 'chat.example');
    const { committed } = await first.directory!.enrol([cert.der]);
    await first.directory!.closeEpoch(false);
    await committed;
    await close(first);
    // Then epochs only when asked: a statement accepted with a receipt stays in the durable queue.
    const settings = { epochIntervalMs: 60_000, heartbeatMs: 600_000, receiptDeadlineMs: 300_000 };
    writeFileSync(join(original, 'config.json'), JSON.stringify({ origin: ORIGIN, ...settings }));
    const server = await startServerProcess(['--data', original]);
    let copyDir = '';
    let published = '';
    let label = '';
    try {
      const { statement, signature } = signedIdentityStatement('chat.example', cert.secretKey, 'alice@example.org', 1);
      const accepted = await fetch(`${server.url}/v1/bindings`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ statements: [{ statement: toBase64(statement), signature: toBase64(signature) }] }),
      });
      expect(accepted.status).toBe(202);
      label = (await accepted.json()).results[0].label;
      published = join(root, 'receipts-checkpoint.txt');
      writeFileSync(published, await (await fetch(`${server.url}/log/checkpoint`)).text());
      copyDir = (await backupDataDir(original, join(root, 'receipts-copy'))).dir;
    } finally {
      server.child.kill('SIGKILL'); // the original dies at once: it publishes nothing after the backup
      await new Promise((r) => server.child.once('exit', r));
    }
    const waiting = await serve(copyDir);
    const [reason] = await settledHealth(waiting);
    expect(reason).toContain('the 1 receipted statement(s) queued in this copy are kept');
    expect(waiting.directory!.queueDepth).toBe(1);
    await close(waiting);
    const copy = await serve(copyDir, { publishedCheckpoint: published });
    expect(await settledHealth(copy)).toEqual([]);
    await copy.directory!.closeEpoch(false);
    expect(await copy.directory!.committedVersion(fromBase64(label))).toBe(1);
    await close(copy);
  });
});
