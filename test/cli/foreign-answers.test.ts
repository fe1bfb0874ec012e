/**
 * `kt` against a server that answers something other than the directory's API (a wrong URL, a captive portal, a
 * proxy's error page), served by a small HTTP server in this process: `kt trust` names the URL with a stable code
 * (`bad_response`) for a /v1/config that is not a JSON object, and `kt audit` writes no evidence of a checkpoint
 * the pinned log never signed; `kt check-receipt` takes an answer that is not a proof as a proof that failed. The
 * provider commands' answers are test/cli/provider-answers.test.ts's.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSignerKey } from '../../wasm-free-crypto/note.js';
import { kt } from '../helpers/kt-process.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let dir: string;
let server: Server;
let base: string;
let handler: Handler = (_q, _b, res) => res.end();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kt-foreign-answers-'));
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const log = generateSignerKey('example.com/foreign');
  writeFileSync(
    join(dir, 'kt-pins.json'),
    JSON.stringify({
      origin: 'example.com/foreign',
      logKey: log.verifierKey,
      vrfKey: 'ZLZ4U72EBUnzV0Osn+Ht40wG/Z4yILmrmwF6xuJK6rE=',
      witnesses: [],
      witnessQuorum: 0,
    }),
  );
  writeFileSync(join(dir, 'operator.token'), 'operator-token-secret');
  writeFileSync(
    join(dir, 'provider.key'),
    '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n',
  );
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const html: Handler = (_q, _b, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<html>hello</html>');
};

describe('kt trust', () => {
  it('names the URL and gives a stable code when /v1/config is not JSON', async () => {
    handler = html;
    const r = await kt(['trust', '--server', base, '--json'], dir);
    const error = JSON.parse(r.stdout).error;
    expect([r.code, error.code, error.message]).toEqual([
      2,
      'bad_response',
      `${base}/v1/config: the answer is not JSON`,
    ]);
  });

  it('refuses a /v1/config of JSON null without a raw TypeError', async () => {
    handler = (_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('null');
    };
    const r = await kt(['trust', '--server', base, '--json'], dir);
    const error = JSON.parse(r.stdout).error;
    expect([r.code, error.code, error.message]).toEqual([
      2,
      'bad_response',
      `${base}/v1/config: the answer is not a JSON object`,
    ]);
  });
});

describe('kt audit', () => {
  it('writes no evidence file for a checkpoint the pinned log never signed (an HTML page)', async () => {
    handler = html;
    const r = await kt(['audit', '--server', base, '--state', 'audit.db', '--json'], dir);
    expect([r.code, JSON.parse(r.stdout).error.code]).toEqual([1, 'bad_checkpoint']);
    // It wrote kt-evidence-audit_failure-*.json whose "checkpoint" was "<html>hello</html>", which kt
    // verify-evidence itself refuses (evidence_invalid).
    expect(readdirSync(dir).filter((f) => f.startsWith('kt-evidence-'))).toEqual([]);
  });
});

describe('kt check-receipt', () => {
  it('takes a lookup answer that is not a proof as a proof that failed (exit 1), as kt lookup does', async () => {
    handler = (_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"present":5}');
    };
    writeFileSync(join(dir, 'receipt.txt'), 'not read before the proof\n');
    const r = await kt(
      ['check-receipt', 'chat.example', 'alice@example.org', '--receipt', 'receipt.txt', '--server', base, '--json'],
      dir,
    );
    expect([r.code, JSON.parse(r.stdout).error.code]).toEqual([1, 'bad_proof_json']);
  });
});
