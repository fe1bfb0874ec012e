/**
 * A real Node server (api/node/server.ts, in this process) with its data directory's `config.json` extended
 * by `settings`, a provider (chat.example) enrolled with a certificate of the development CA, and plain HTTP
 * requests that may leave from a chosen loopback address (Linux routes all of 127.0.0.0/8 to `lo`), so
 * that each simulated client has a rate-limit bucket of its own. Statements are published over HTTP as a
 * provider would; proofs are verified with only the pins of /v1/config.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64, toBase64 } from '../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import { LookupVerifier } from '../../verifier/verification/lookup-verifier.js';
import { openDataDir } from '../../api/node/data-dir.js';
import { issueProviderCertificate, loadDevCa } from '../../api/node/dev-ca.js';
import { startServer, type RunningServer } from '../../api/node/server.js';
import type { Logger } from '../../api/app/logger.js';
import { signedIdentityStatement } from './directory.js';

export const PROVIDER = 'chat.example';

/** The pids of this process's reader processes (api/node/reader-main.ts), started by a server under test. */
export function readerPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes('reader-main'))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTP request from `from` (a loopback address; default 127.0.0.1), on a fresh connection. */
export function http(
  url: string,
  opts: { method?: string; body?: unknown; from?: string; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers = { ...(body ? { 'Content-Type': 'application/json' } : {}), ...opts.headers };
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', localAddress: opts.from, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface NodeDirectory {
  server: RunningServer;
  url: string;
  verifier: LookupVerifier;
  /** Publishes the next version of `account` at chat.example and waits for its epoch. */
  publish(account: string, version?: number): Promise<HttpAnswer>;
  /** A signed statement body for `POST /v1/bindings` (version `version` of `account`). */
  signed(account: string, version: number): { statement: string; signature: string };
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1 over a new data directory (or `dataDir`, made beforehand) whose config.json adds
 * `settings`; its log goes to `logger` (default: standard error).
 */
export async function startNodeDirectory(
  settings: Record<string, unknown> = {},
  logger?: Logger,
  dataDir?: string,
): Promise<NodeDirectory> {
  const dir = dataDir ?? join(mkdtempSync(join(tmpdir(), 'kt-node-dir-')), 'data');
  const data = openDataDir(dir, undefined, () => {});
  const configPath = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(configPath, JSON.stringify({ ...config, ...settings }));
  const server = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1', logger });
  const url = server.url;
  const cert = await issueProviderCertificate(await loadDevCa(dir), PROVIDER);
  const enrolled = await http(`${url}/v1/providers?wait=1`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${data.operatorToken}` },
    body: { chain: [toBase64(cert.der)] },
  });
  if (enrolled.status !== 200) throw new Error(`enrolment failed: ${enrolled.status} ${enrolled.text}`);
  const pins = JSON.parse((await http(`${url}/v1/config`)).text) as { origin: string; logKey: string; vrfKey: string };
  const verifier = new LookupVerifier({
    origin: pins.origin,
    logKey: parseVerifierKey(pins.logKey),
    vrfKey: fromBase64(pins.vrfKey),
  });
  const signed = (account: string, version: number) => {
    const { statement, signature } = signedIdentityStatement(PROVIDER, cert.secretKey, account, version);
    return { statement: toBase64(statement), signature: toBase64(signature) };
  };
  return {
    server,
    url,
    verifier,
    signed,
    publish: (account, version = 1) =>
      http(`${url}/v1/bindings?wait=1`, { method: 'POST', body: { statements: [signed(account, version)] } }),
    close: () => server.close(),
  };
}
