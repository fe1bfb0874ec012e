/**
 * `kt check-receipt` (cli/receipt-command.ts) against a test directory served over HTTP: a receipt that is
 * pending, then honoured; and one the directory broke (it lost its durable queue, as the queue exists to
 * prevent, and published another statement for the version), which writes `broken_receipt` evidence that
 * `kt verify-evidence` proves.
 */
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toBase64 } from '../../wasm-free-crypto/bytes.js';
import { checkReceiptCommand } from '../../cli/receipt-command.js';
import { verifyEvidenceCommand } from '../../cli/client-commands.js';
import { ORIGIN } from '../helpers/log.js';
import {
  appOver,
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  statementFor,
  type TestDirectory,
} from '../helpers/directory.js';

const ACCOUNT = 'c@chat.example';
const servers: ServerType[] = [];

function listen(app: Hono): Promise<string> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) =>
      resolve(`http://127.0.0.1:${info.port}`),
    );
    servers.push(server);
  });
}

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A folder with the pins of `t` (served at `url`) and the receipt file. */
function clientDir(t: TestDirectory, url: string, receipt: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kt-receipt-'));
  const pins = {
    server: url,
    origin: ORIGIN,
    logKey: logSignerForTests.verifierKey,
    vrfKey: toBase64(t.dir.vrfPublicKey),
    witnesses: [],
    witnessQuorum: 0,
  };
  writeFileSync(join(dir, 'kt-pins.json'), JSON.stringify(pins));
  writeFileSync(join(dir, 'receipt.txt'), receipt);
  return dir;
}

async function receiptFor(app: Hono, t: TestDirectory, s: { statement: Uint8Array; signature: Uint8Array }) {
  const res = await app.request('/v1/bindings', {
    method: 'POST',
    body: JSON.stringify({ statements: [{ statement: toBase64(s.statement), signature: toBase64(s.signature) }] }),
    headers: { 'Content-Type': 'application/json' },
  });
  return ((await res.json()) as { results: { receipt: string }[] }).results[0].receipt;
}

/** Runs the command with --json; returns its exit code and printed JSON. */
async function run(command: (argv: string[]) => Promise<number>, argv: string[]) {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const code = await command([...argv, '--json']);
  const printed = JSON.parse(String(log.mock.calls.at(-1)?.[0]));
  log.mockRestore();
  return { code, printed };
}

describe('kt check-receipt', () => {
  it('says pending, then honoured', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const app = appOver(t);
    const receipt = await receiptFor(app, t, chat.sign(statementFor(chat, ACCOUNT, 1, [identityKey()], t.clock.now)));
    const dir = clientDir(t, await listen(app), receipt);
    const args = ['chat.example', ACCOUNT, '--receipt', join(dir, 'receipt.txt'), '--pins', join(dir, 'kt-pins.json')];
    expect(await run(checkReceiptCommand, args)).toMatchObject({ code: 0, printed: { status: 'pending', version: 1 } });
    await t.dir.closeEpoch(false);
    expect(await run(checkReceiptCommand, args)).toMatchObject({ code: 0, printed: { status: 'honoured' } });
  });

  it('writes broken_receipt evidence that kt verify-evidence proves, when another statement holds the version', async () => {
    const first = await openTestDirectory();
    const chat = await enrolProvider(first, 'chat.example');
    const s = chat.sign(statementFor(chat, ACCOUNT, 1, [identityKey()], first.clock.now));
    const receipt = await receiptFor(appOver(first), first, s);
    first.db.prepare('DELETE FROM dir_queue').run();
    const t = await first.reopen();
    const other = chat.sign(statementFor(chat, ACCOUNT, 1, [identityKey()], t.clock.now));
    await t.dir.submit(other.statement, other.signature);
    await t.dir.closeEpoch(false);
    const dir = clientDir(t, await listen(appOver(t)), receipt);
    const pins = join(dir, 'kt-pins.json');
    const evidenceDir = join(dir, 'evidence');
    mkdirSync(evidenceDir);
    const broken = await run(checkReceiptCommand, [
      'chat.example',
      ACCOUNT,
      '--receipt',
      join(dir, 'receipt.txt'),
      '--pins',
      pins,
      '--evidence-dir',
      evidenceDir,
    ]);
    expect(broken).toMatchObject({ code: 1, printed: { status: 'broken', version: 1 } });
    const [file] = readdirSync(evidenceDir);
    expect(file).toMatch(/^kt-evidence-broken_receipt-/);
    const verdict = await run(verifyEvidenceCommand, [join(evidenceDir, file), '--pins', pins]);
    expect(verdict).toMatchObject({ code: 0, printed: { kind: 'broken_receipt', proven: true } });
  });
});
