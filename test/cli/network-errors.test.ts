/**
 * `kt` when a directory cannot be reached: exit 2 with `error [network]: METHOD URL: cause`, the cause
 * being what Node's fetch hides behind `fetch failed` (here a real refused connection), for the client
 * commands and for a provider's enrolment, whose operator token never appears in the message; a server that
 * never answers is given up on after KT_REQUEST_TIMEOUT seconds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevCa, issueProviderCertificate, loadDevCa } from '../../api/node/dev-ca.js';
import { closedPort, kt } from '../helpers/kt-process.js';

let dir: string;
let refused: string;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kt-network-'));
  port = await closedPort();
  refused = `http://127.0.0.1:${port}`;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kt, with a directory it cannot reach', () => {
  it('names the URL and the cause, and exits 2', async () => {
    const cause = `fetch failed (connect ECONNREFUSED 127.0.0.1:${port})`;
    const trust = await kt(['trust', '--server', refused], dir);
    expect([trust.code, trust.stderr.trim()]).toEqual([2, `error [network]: GET ${refused}/v1/config: ${cause}`]);
    const json = await kt(['trust', '--server', `${refused}/`, '--json'], dir);
    expect([json.code, JSON.parse(json.stdout)]).toEqual([
      2,
      { error: { code: 'network', message: `GET ${refused}/v1/config: ${cause}` }, verified: false },
    ]);
  });

  it('gives up on a server that never answers (KT_REQUEST_TIMEOUT seconds), and refuses a bad setting', async () => {
    const silent = createServer(() => undefined); // accepts connections, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const started = Date.now();
      const r = await kt(['trust', '--server', url, '--json'], dir, { KT_REQUEST_TIMEOUT: '1' });
      expect(Date.now() - started).toBeLessThan(15_000);
      const error = JSON.parse(r.stdout).error;
      expect([r.code, error.code, error.message]).toEqual([
        2,
        'network',
        expect.stringContaining(`GET ${url}/v1/config: timed out`),
      ]);
      const bad = await kt(['trust', '--server', url, '--json'], dir, { KT_REQUEST_TIMEOUT: 'soon' });
      expect([bad.code, JSON.parse(bad.stdout).error.code]).toEqual([2, 'usage']);
    } finally {
      silent.close();
    }
  });

  it('never prints the operator token of a failed enrolment', async () => {
    writeFileSync(join(dir, 'operator.token'), 'operator-token-that-is-secret');
    await ensureDevCa(dir); // kt checks the chain before sending it: a real certificate
    writeFileSync(join(dir, 'chain.pem'), (await issueProviderCertificate(await loadDevCa(dir), 'mail.example')).pem);
    const r = await kt(
      ['provider', 'enrol', '--chain', 'chain.pem', '--server', refused, '--token', 'operator.token'],
      dir,
    );
    expect([r.code, r.stderr]).toEqual([
      2,
      expect.stringContaining(`error [network]: POST ${refused}/v1/providers: fetch failed`),
    ]);
    expect(r.stderr + r.stdout).not.toContain('operator-token-that-is-secret');
  });
});
