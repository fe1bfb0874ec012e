/**
 * A failed request (verifier/http/request.ts) as the clients report it: a ClientError `network` whose
 * message names the method, the URL and the cause, for a real refused connection, an unknown host (a
 * fetch that throws as undici does), a browser's fetch that gives no cause, a timeout, an abort and a
 * connection lost mid-body (verifier/http/bounded-body.ts); never with the request's headers or a URL's
 * password. The lookup client, the auditor and the tiles' consistency proofs all go through it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { ClientError } from '../../../verifier/verification/errors.js';
import { CheckpointVerifier } from '../../../verifier/verification/checkpoint-policy.js';
import { LookupClient } from '../../../verifier/lookup-client/lookup-client.js';
import { Auditor } from '../../../verifier/auditor/auditor.js';
import { fetchConsistencyProof } from '../../../verifier/http/tile-fetch.js';
import { readBounded } from '../../../verifier/http/bounded-body.js';
import { request, type Fetch } from '../../../verifier/http/request.js';
import { logSigner, ORIGIN } from '../../helpers/log.js';
import { closedPort } from '../../helpers/kt-process.js';

const caught = async (p: Promise<unknown>): Promise<ClientError> => {
  try {
    await p;
  } catch (e) {
    return e as ClientError;
  }
  throw new Error('no error');
};

/** A fetch that fails as Node's (undici) does for a host name that does not resolve. */
const unknownHost: Fetch = async () => {
  const cause = Object.assign(new Error('getaddrinfo ENOTFOUND kt.invalid'), { code: 'ENOTFOUND' });
  throw new TypeError('fetch failed', { cause });
};

let refused: string;
/** Accepts connections and never answers; or answers with a body cut off after 3 bytes. */
let silent: Server;
const held: Socket[] = [];
let cutOff: Server;
const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as { port: number }).port}`;

beforeAll(async () => {
  refused = `http://127.0.0.1:${await closedPort()}`;
  silent = createServer((socket) => held.push(socket));
  cutOff = createServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc');
    setTimeout(() => socket.destroy(), 20);
  });
  await Promise.all([silent, cutOff].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
});

afterAll(() => {
  for (const socket of held) socket.destroy();
  for (const s of [silent, cutOff]) s.close();
});

describe('a failed request', () => {
  it('names the method, the URL and the cause of a refused connection', async () => {
    const e = await caught(request(globalThis.fetch, `${refused}/v1/config`));
    expect(e).toBeInstanceOf(ClientError);
    expect(e.code).toBe('network');
    const port = refused.split(':').pop();
    expect(e.message).toBe(`GET ${refused}/v1/config: fetch failed (connect ECONNREFUSED 127.0.0.1:${port})`);
  });

  it('names an unknown host, and says when the platform gives no cause', async () => {
    const dns = await caught(request(unknownHost, 'https://kt.invalid/v1/config', { method: 'post' }));
    expect([dns.code, dns.message]).toEqual([
      'network',
      'POST https://kt.invalid/v1/config: fetch failed (getaddrinfo ENOTFOUND kt.invalid)',
    ]);
    const browser: Fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    const e = await caught(request(browser, 'https://kt.example/log/checkpoint'));
    expect(e.message).toMatch(/^GET https:\/\/kt.example\/log\/checkpoint: Failed to fetch \(no cause given/);
  });

  it('names timeouts and aborts', async () => {
    const url = `${urlOf(silent)}/log/checkpoint`;
    const timeout = await caught(request(globalThis.fetch, url, { signal: AbortSignal.timeout(100) }));
    expect([timeout.code, timeout.message]).toEqual(['network', expect.stringMatching(`^GET ${url}: timed out`)]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const aborted = await caught(request(globalThis.fetch, url, { signal: controller.signal }));
    expect(aborted.message).toMatch(`GET ${url}: aborted before an answer`);
  });

  it('names the URL of an answer cut off while it is read', async () => {
    const res = await globalThis.fetch(`${urlOf(cutOff)}/tile/0/000`);
    const e = await caught(readBounded(res, 1000));
    expect([e.code, e.message]).toEqual([
      'network',
      `reading the answer of ${urlOf(cutOff)}/tile/0/000: terminated (other side closed [UND_ERR_SOCKET])`,
    ]);
  });

  it('never shows the request headers or the password of a URL', async () => {
    const e = await caught(
      request(unknownHost, 'https://kt.invalid/v1/providers', { headers: { Authorization: 'Bearer s3cret-token' } }),
    );
    expect(e.message).not.toContain('s3cret');
    const leaky: Fetch = async (url) => {
      throw new TypeError(`Request cannot be constructed from a URL that includes credentials: ${url}`);
    };
    const withPassword = await caught(request(leaky, 'https://op:hunter2@kt.example/v1/providers'));
    expect(withPassword.message).toMatch(/^GET https:\/\/kt.example\/v1\/providers: /);
    expect(withPassword.message).not.toContain('hunter2');
  });
});

describe('the clients', () => {
  const pins = { origin: ORIGIN, logKey: parseVerifierKey(logSigner().verifierKey), vrfKey: new Uint8Array(32) };

  it('report a failed request with its URL and cause: lookups, audits and tiles', async () => {
    const port = refused.split(':').pop();
    const cause = `fetch failed (connect ECONNREFUSED 127.0.0.1:${port})`;
    const lookup = await caught(new LookupClient({ baseUrl: refused, pins }).lookup('chat.example', 'a@chat.example'));
    expect([lookup.code, lookup.message]).toEqual([
      'network',
      `GET ${refused}/v1/lookup/chat.example/a%40chat.example: ${cause}`,
    ]);
    const audit = await caught(
      new Auditor({
        logUrl: `${refused}/log`,
        checkpoints: new CheckpointVerifier(pins),
        enrolment: 'unchecked',
      }).audit(),
    );
    expect([audit.code, audit.message]).toEqual(['network', `GET ${refused}/log/checkpoint: ${cause}`]);
    const tiles = await caught(fetchConsistencyProof(unknownHost, 'https://kt.invalid/log', 1, 2));
    expect(tiles).toBeInstanceOf(ClientError);
    expect(tiles.message).toBe(
      'GET https://kt.invalid/log/tile/0/000.p/2: fetch failed (getaddrinfo ENOTFOUND kt.invalid)',
    );
  });
});
