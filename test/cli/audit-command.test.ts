/**
 * `kt audit` (cli/audit-command.ts) and the KEYTRANS history, over a log served on loopback: the state files of the
 * release before the history (test/fixtures/audit-before-keytrans-history.json, written by that release's `kt
 * audit`: one saved before the log's first KEYTRANS heads entry, one after five) are resumed, the history built
 * once by reading the audited entries again (the result says so) and saved with the rest; a continuation whose
 * KEYTRANS heads entry drops a provider (re-signed with the log's key) fails with `replay_keytrans_history`, exit
 * 1, an evidence file, and the state file left as it was.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fromBase64, toBase64 } from '../../wasm-free-crypto/bytes.js';
import { parseSignerKey } from '../../wasm-free-crypto/note.js';
import { audit } from '../../cli/audit-command.js';
import { SqliteAuditStore } from '../../cli/audit-store.js';
import { reportError } from '../../cli/output.js';
import { decodeEntry } from '../../verifier/formats/entries.js';
import { fakeLog, type Fetch } from '../attacks/malicious.js';
import { rewritten } from '../helpers/keytrans-log.js';

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/audit-before-keytrans-history.json', import.meta.url), 'utf8'),
) as {
  origin: string;
  signerKey: string;
  verifierKey: string;
  entries: string[];
  before: { size: number; file: string };
  after: { size: number; file: string };
};
const entries = fixture.entries.map(fromBase64);
const heads = entries.flatMap((e, i) => (decodeEntry(e).type === 'keytrans' ? [i] : []));
const signer = parseSignerKey(fixture.signerKey);

let served: Fetch = fakeLog(entries, signer);
let server: Server;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'kt-audit-command-'));

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const answer = await served(`http://kt.test${req.url}`);
    res.writeHead(answer.status).end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pins = { origin: fixture.origin, logKey: fixture.verifierKey, vrfKey: toBase64(new Uint8Array(32)) };
  writeFileSync(join(dir, 'kt-pins.json'), JSON.stringify(pins));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** `kt audit --json` from the state file `state`: its exit (0, or the error's through `kt`'s report) and output. */
async function ktAudit(state: string, evidence = dir): Promise<{ code: number; out: Record<string, unknown> }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const args = ['--pins', join(dir, 'kt-pins.json'), '--server', url, '--state', state, '--json'];
    const code = await audit([...args, '--evidence-dir', evidence]).catch((e) => reportError(e, true));
    return { code, out: JSON.parse(log.mock.calls.at(-1)?.[0] as string) };
  } finally {
    log.mockRestore();
  }
}

/** The fixture's state file `which`, written to a file of its own. */
function stateFile(which: 'before' | 'after'): string {
  const path = join(mkdtempSync(join(dir, `${which}-`)), 'kt-audit.db');
  writeFileSync(path, fromBase64(fixture[which].file));
  return path;
}

const savedState = (path: string) => {
  const { store } = SqliteAuditStore.open(path);
  try {
    return store.savedState();
  } finally {
    store.close();
  }
};

describe('kt audit and the state files of the release before the KEYTRANS history', () => {
  it('resumes them, building the history once from the entries audited before', async () => {
    served = fakeLog(entries, signer);
    expect(heads.filter((i) => i < fixture.before.size)).toHaveLength(0);
    expect(heads.filter((i) => i < fixture.after.size).length).toBeGreaterThan(1);
    for (const which of ['before', 'after'] as const) {
      const path = stateFile(which);
      const { size } = fixture[which];
      expect(savedState(path)).toMatchObject({ replay: { size } });
      expect(savedState(path)?.keyTransHistory).toBeUndefined();
      const first = await ktAudit(path);
      expect([first.code, first.out]).toEqual([
        0,
        expect.objectContaining({
          audited: true,
          from: size,
          treeSize: entries.length,
          keyTransHeadsRead: heads.filter((i) => i >= size).length,
          keyTransProviders: 2,
          keyTransReread: size,
        }),
      ]);
      expect(savedState(path)?.keyTransHistory).toBeInstanceOf(Uint8Array);
      const again = await ktAudit(path);
      expect(again.out).toMatchObject({ from: entries.length, keyTransHeadsRead: 0, keyTransReread: 0 });
    }
  });

  it('fails on a KEYTRANS heads entry that drops a provider: exit 1, evidence, the state file kept', async () => {
    const path = stateFile('after');
    const at = heads.find((i) => i >= fixture.after.size)!;
    served = fakeLog(
      rewritten(entries, at, (e) => (e.type === 'keytrans' ? { ...e, heads: e.heads.slice(1) } : e)),
      signer,
    );
    const evidence = mkdtempSync(join(dir, 'evidence-'));
    const failed = await ktAudit(path, evidence);
    expect([failed.code, failed.out]).toEqual([
      1,
      {
        error: { code: 'replay_keytrans_history', message: expect.stringMatching(/leaves out chat\.example/) },
        verified: false,
      },
    ]);
    const [file] = readdirSync(evidence);
    expect(JSON.parse(readFileSync(join(evidence, file), 'utf8'))).toMatchObject({
      kind: 'audit_failure',
      code: 'replay_keytrans_history',
    });
    expect(readFileSync(path)).toEqual(Buffer.from(fromBase64(fixture.after.file)));
    served = fakeLog(entries, signer);
  });
});
