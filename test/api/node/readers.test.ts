/**
 * The Node server with reader processes (api/node/readers.ts, reader-process.ts), as a child process on one
 * port: clients from eight loopback addresses are spread over both readers, each always to the same one;
 * every reader's lookups, histories, discoveries and daily checks verify with only the pins and agree with the
 * others';
 * publications, enrolments and /metrics reach the sequencer through the readers; a client's lookup
 * allowance is the same with two readers as with one process (its connections always reach its reader).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { issueProviderCertificate, loadDevCa } from '../../../api/node/dev-ca.js';
import { openDataDir } from '../../../api/node/data-dir.js';
import {
  discoveryFromJson,
  historyFromJson,
  lookupFromJson,
  monitorFromJson,
} from '../../../verifier/formats/proof-json.js';
import { HISTORY_ZERO } from '../../../verifier/formats/directory-hashes.js';
import { LookupVerifier } from '../../../verifier/verification/lookup-verifier.js';
import { signedIdentityStatement } from '../../helpers/directory.js';
import { startServerProcess } from '../../helpers/server-process.js';

/**
 * GET `path` (or POST `json`) from the client address `from` (127.0.0.x) on a fresh connection: status, the
 * reader that answered, body.
 */
function getFrom(
  url: string,
  path: string,
  from: string,
  json?: unknown,
): Promise<{ status: number; reader?: string; body: string }> {
  const { hostname, port } = new URL(url);
  const method = json === undefined ? 'GET' : 'POST';
  const headers = json === undefined ? {} : { 'Content-Type': 'application/json' };
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers, localAddress: from, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, reader: res.headers['x-kt-reader'] as string | undefined, body }),
      );
    });
    req.on('error', reject);
    req.end(json === undefined ? undefined : JSON.stringify(json));
  });
}

async function post(url: string, path: string, body: unknown, token?: string): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body), headers });
}

const ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
const ACCOUNTS = ['alice@example.org', 'bob@example.org', 'carol@example.org'];

describe('reader processes', () => {
  it('spread clients over the readers on one port, whose proofs verify and agree, and forward writes', async () => {
    const data = join(mkdtempSync(join(tmpdir(), 'kt-readers-')), 'data');
    const { origin } = openDataDir(data, 'readers.example/kt');
    writeFileSync(join(data, 'config.json'), JSON.stringify({ origin, epochIntervalMs: 50, lookupBurst: 40 }));
    const server = await startServerProcess(['--data', data, '--readers', '2']);
    try {
      // Enrolment and publications go to the sequencer through whichever reader took the connection.
      const token = readFileSync(join(data, 'operator.token'), 'utf8').trim();
      const cert = await issueProviderCertificate(await loadDevCa(data), 'chat.example');
      expect((await post(server.url, '/v1/providers?wait=1', { chain: [toBase64(cert.der)] }, token)).status).toBe(200);
      for (let v = 1; v <= 2; v++) {
        const statements = ACCOUNTS.map((a) => signedIdentityStatement('chat.example', cert.secretKey, a, v)).map(
          (s) => ({ statement: toBase64(s.statement), signature: toBase64(s.signature) }),
        );
        expect((await post(server.url, '/v1/bindings?wait=1', { statements })).status).toBe(200);
      }
      const config = JSON.parse((await getFrom(server.url, '/v1/config', ADDRESSES[0])).body);
      const verifier = new LookupVerifier({
        origin: config.origin,
        logKey: parseVerifierKey(config.logKey),
        vrfKey: fromBase64(config.vrfKey),
      });

      // Every address is always answered by the same reader; both readers answer someone.
      const readerOf = new Map<string, string>();
      const bodies = new Map<string, string[]>();
      for (const from of ADDRESSES)
        for (const account of [...ACCOUNTS, 'nobody@example.org']) {
          const path = `/v1/lookup/chat.example/${encodeURIComponent(account)}`;
          const res = await getFrom(server.url, path, from);
          expect(res.status).toBe(200);
          expect(readerOf.get(from) ?? res.reader).toBe(res.reader);
          readerOf.set(from, res.reader as string);
          const result = verifier.verifyLookup(lookupFromJson(JSON.parse(res.body)), 'chat.example', account);
          expect(result.status).toBe(account === 'nobody@example.org' ? 'absent' : 'present');
          bodies.set(account, [...(bodies.get(account) ?? []), res.body]);
        }
      expect(new Set(readerOf.values())).toEqual(new Set(['0', '1']));
      for (const answers of bodies.values()) expect(new Set(answers).size).toBe(1); // the same proof from both
      // A client of each reader: histories, discoveries and the owner's daily check verify and agree.
      const oneOfEach = ['0', '1'].map((r) => ADDRESSES.find((a) => readerOf.get(a) === r) as string);
      const answersOf = new Map<string, string[]>();
      const keep = (what: string, res: { status: number; reader?: string; body: string }, from: string) => {
        expect([res.status, res.reader]).toEqual([200, readerOf.get(from)]);
        answersOf.set(what, [...(answersOf.get(what) ?? []), res.body]);
        return JSON.parse(res.body);
      };
      for (const from of oneOfEach) {
        const history = keep(
          'history',
          await getFrom(server.url, '/v1/history/chat.example/alice%40example.org?since=0', from),
          from,
        );
        const known = verifier.verifyHistory(
          historyFromJson(history),
          'chat.example',
          'alice@example.org',
          HISTORY_ZERO,
        );
        expect(known.statements.length).toBe(2);
        const discovery = keep(
          'discovery',
          await getFrom(server.url, '/v1/lookup', from, { discover: 'alice@example.org' }),
          from,
        );
        verifier.verifyDiscovery(discoveryFromJson(discovery), 'alice@example.org');
        const check = monitorFromJson(
          keep(
            'monitor',
            await getFrom(server.url, '/v1/monitor/chat.example/alice%40example.org?version=2', from),
            from,
          ),
        );
        if (!('unchanged' in check)) throw new Error('expected the version the owner knows to be unchanged');
        const leaf = { label: known.lookup.label, version: 2, historyHash: known.lookup.historyHash as Uint8Array };
        expect(verifier.verifyUnchanged(check.unchanged, leaf).epoch).toBe(known.lookup.epoch);
      }
      for (const [what, answers] of answersOf) expect(new Set(answers).size, what).toBe(1);
      // A route the readers' router reaches by another spelling is forwarded too.
      const spelled = await fetch(`${server.url}/v1/%62indings`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ statements: [] }),
      });
      expect(spelled.status).toBe(400); // the sequencer's own answer to an empty batch
      // /metrics is the sequencer's (it counts the publications the readers forwarded).
      const metrics = await getFrom(server.url, '/metrics', ADDRESSES[3]);
      expect(metrics.reader).toBeUndefined();
      expect(metrics.body).toMatch(/kt_requests_total\{method="POST",route="\/v1\/bindings",status="200"\} 2/);

      // One client's allowance (burst 40) is not multiplied by the readers: its connections reach one reader.
      const from = ADDRESSES[7];
      const statuses: number[] = [];
      for (let i = 0; i < 45; i++)
        statuses.push((await getFrom(server.url, '/v1/lookup/chat.example/alice%40example.org', from)).status);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(40 - 4 + 5); // 4 taken above, ~1/s refill

      // The readers' answers and refusals are in the sequencer's /metrics: each reader hands its counts over
      // before it forwards a scrape, and every 5 s.
      const answered = ADDRESSES.length * (ACCOUNTS.length + 1) + statuses.filter((s) => s === 200).length;
      const refused = statuses.filter((s) => s === 429).length;
      const lookupRow = (text: string, status: number) =>
        Number(
          new RegExp(
            `^kt_requests_total\\{method="GET",route="/v1/lookup/:provider/:account",status="${status}"\\} (\\d+)$`,
            'm',
          ).exec(text)?.[1] ?? 0,
        );
      let text = '';
      for (let waited = 0; waited < 8000; waited += 250) {
        text = (await getFrom(server.url, '/metrics', ADDRESSES[waited % 2])).body;
        if (lookupRow(text, 200) === answered && lookupRow(text, 429) === refused) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect([lookupRow(text, 200), lookupRow(text, 429)]).toEqual([answered, refused]);
      expect(text).toContain(`kt_rate_limited_total{kind="lookup"} ${refused}`);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
