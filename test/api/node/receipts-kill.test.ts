/**
 * Receipts are a promise kept (docs/PROTOCOL.md section 16), on the real Node server as a child process, over
 * a data directory written by the release before the durable queue (test/fixtures/data-before-receipts.json):
 * it opens and serves what that release published, then statements posted without `wait` get 202 receipts,
 * the server is killed with SIGKILL before their epoch closes (a long epoch interval), and after a restart
 * each receipted statement is served (its lookup proof verifies and is that statement, so the receipt
 * checks as honoured) and a conflicting statement for the same version is refused.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { issueProviderCertificate, loadDevCa } from '../../../api/node/dev-ca.js';
import { lookupFromJson } from '../../../verifier/formats/proof-json.js';
import { openReceipt, receiptStatementHash } from '../../../verifier/formats/receipt.js';
import { LookupVerifier } from '../../../verifier/verification/lookup-verifier.js';
import { checkReceipt } from '../../../verifier/verification/receipt-check.js';
import { unpackDataFixture } from '../../helpers/data-fixture.js';
import { signedIdentityStatement } from '../../helpers/directory.js';
import { startServerProcess, type ServerProcess } from '../../helpers/server-process.js';

const N = 6;
const PROVIDER = 'fresh.example';

/** Writes the epoch timing into config.json (keeping the origin) and starts the server. */
function startWith(data: string, timing: Record<string, number>): Promise<ServerProcess> {
  const file = join(data, 'config.json');
  const { origin } = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify({ origin, ...timing }));
  return startServerProcess(['--data', data]);
}

/** Epochs only after 10 minutes: a kill within the test always lands before the epoch closes. */
const SLOW = { epochIntervalMs: 600_000, heartbeatMs: 600_000, receiptDeadlineMs: 1_300_000 };
const FAST = { epochIntervalMs: 50, heartbeatMs: 60_000 };

async function kill9(server: ServerProcess): Promise<void> {
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGKILL');
  await exited;
}

function signedStatement(secretKey: Uint8Array, account: string, version: number) {
  const { statement, signature } = signedIdentityStatement(PROVIDER, secretKey, account, version);
  return { statement, signature, json: { statement: toBase64(statement), signature: toBase64(signature) } };
}

async function post(url: string, path: string, body: unknown, token?: string): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body), headers });
}

async function verifierOf(url: string) {
  const config = await (await fetch(`${url}/v1/config`)).json();
  const pins = { origin: config.origin, logKey: parseVerifierKey(config.logKey), vrfKey: fromBase64(config.vrfKey) };
  return { pins, verifier: new LookupVerifier(pins) };
}

async function lookup(url: string, provider: string, account: string) {
  const res = await fetch(`${url}/v1/lookup/${provider}/${encodeURIComponent(account)}`);
  expect(res.status).toBe(200);
  return lookupFromJson(await res.json());
}

describe('receipts survive kill -9 (Node server)', () => {
  it('opens the data of the release before the queue, then commits every receipted statement after SIGKILL', async () => {
    const data = unpackDataFixture('data-before-receipts');
    const token = readFileSync(join(data, 'operator.token'), 'utf8').trim();

    // The earlier release's data opens: its accounts are served and verify; a fresh provider enrols.
    let server = await startWith(data, FAST);
    const { pins, verifier } = await verifierOf(server.url);
    const old = verifier.verifyLookup(
      await lookup(server.url, 'chat.example', 'alice@example.org'),
      'chat.example',
      'alice@example.org',
    );
    expect(old.status).toBe('present');
    const cert = await issueProviderCertificate(await loadDevCa(data), PROVIDER);
    const enrolled = await post(server.url, '/v1/providers?wait=1', { chain: [toBase64(cert.der)] }, token);
    expect(enrolled.status).toBe(200);
    expect(await server.stop()).toBe(0);

    // Statements posted without wait get receipts; the server is killed before their epoch.
    server = await startWith(data, SLOW);
    const signed = Array.from({ length: N }, (_, i) => signedStatement(cert.secretKey, `user${i}@fresh.example`, 1));
    const receipts: string[] = [];
    for (const batch of [signed.slice(0, 3), signed.slice(3)]) {
      const res = await post(server.url, '/v1/bindings', { statements: batch.map((s) => s.json) });
      expect(res.status).toBe(202);
      const { results } = (await res.json()) as { results: { status: string; receipt: string }[] };
      for (const r of results) {
        expect(r.status).toBe('accepted');
        receipts.push(r.receipt);
      }
    }
    receipts.forEach((note, i) =>
      expect(openReceipt(note, pins.logKey).statementHash).toEqual(receiptStatementHash(signed[i].statement)),
    );
    await kill9(server);

    // Restarted (epochs still slow): the queue is replayed, so a conflicting v1 is refused, the same one
    // answers the same receipt; killed again before any epoch.
    server = await startWith(data, SLOW);
    const conflict = signedStatement(cert.secretKey, 'user0@fresh.example', 1);
    const refused = await post(server.url, '/v1/bindings', { statements: [conflict.json] });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('version_conflict');
    const again = await post(server.url, '/v1/bindings', { statements: [signed[1].json] });
    expect(((await again.json()) as { results: { receipt: string }[] }).results[0].receipt).toBe(receipts[1]);
    await kill9(server);

    // Restarted with fast epochs: every receipted statement commits and is served as that statement.
    server = await startWith(data, FAST);
    try {
      for (let i = 0; i < N; i++) {
        const account = `user${i}@fresh.example`;
        let proof = await lookup(server.url, PROVIDER, account);
        for (let tries = 0; !proof.present && tries < 400; tries++) {
          await new Promise((r) => setTimeout(r, 50));
          proof = await lookup(server.url, PROVIDER, account);
        }
        expect(verifier.verifyLookup(proof, PROVIDER, account).status).toBe('present');
        expect(proof.present!.statement).toEqual(signed[i].statement);
        expect(checkReceipt(receipts[i], { lookup: proof }, PROVIDER, account, pins).status).toBe('honoured');
      }
      const late = await post(server.url, '/v1/bindings', { statements: [conflict.json] });
      expect(late.status).toBe(409);
      expect(((await late.json()) as { error: { code: string } }).error.code).toBe('version_conflict');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 120_000);
});
