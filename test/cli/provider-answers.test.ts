/**
 * `kt provider` (cli/provider-command.ts) with what it must not trust: a `--chain` that is a private key (refused
 * before anything is sent; only the parsed certificates are ever sent), a server answering 200 with something
 * that is not the directory's answer (`bad_response` naming the URL, exit 2, never a success or a TypeError), and
 * a `keygen --id` that is not a provider id (refused before anything is written). The server is a tiny HTTP
 * server in this process that records what it is sent. Also `writeFileAtomic` (cli/files.ts): a write that fails
 * leaves no temporary file and is a usage error naming the file.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toBase64 } from '../../wasm-free-crypto/bytes.js';
import { ensureDevCa, issueProviderCertificate, loadDevCa } from '../../api/node/dev-ca.js';
import { writeFileAtomic } from '../../cli/files.js';
import { UsageError } from '../../cli/output.js';
import { kt } from '../helpers/kt-process.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const KEY_BODY = 'MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF';
const KEY_PEM = `-----BEGIN PRIVATE KEY-----\n${KEY_BODY}\n-----END PRIVATE KEY-----\n`;

let dir: string;
let server: Server;
let base: string;
let certDer: Uint8Array;
let handler: Handler;
/** Each request the server got: `METHOD URL` and its body. */
let received: { request: string; body: string }[];

function answer(status: number, type: string, body: string): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };
}

/** A 200 with `body` to POSTs, and 404 to the KEYTRANS configuration (no deployment). */
function answerPosts(body: string, type = 'application/json'): Handler {
  return (req, res) => (req.method === 'POST' ? answer(200, type, body) : answer(404, 'text/plain', ''))(req, res);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kt-provider-answers-'));
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ request: `${req.method} ${req.url}`, body });
      handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mkdirSync(join(dir, 'ca'));
  await ensureDevCa(join(dir, 'ca'));
  const cert = await issueProviderCertificate(await loadDevCa(join(dir, 'ca')), 'mail.example');
  certDer = cert.der;
  writeFileSync(join(dir, 'chain.pem'), cert.pem);
  writeFileSync(join(dir, 'provider.key'), KEY_PEM);
  writeFileSync(join(dir, 'chain-and-key.pem'), cert.pem + KEY_PEM);
  writeFileSync(join(dir, 'operator.token'), 'operator-token-secret');
});

beforeEach(() => {
  received = [];
  handler = answer(500, 'text/plain', 'no handler');
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const enrol = (chain: string, ...extra: string[]) =>
  kt(['provider', 'enrol', '--chain', chain, '--server', base, '--token', 'operator.token', ...extra], dir);

const publish = () =>
  kt(
    ['provider', 'publish', '--id', 'mail.example', '--key', 'provider.key', '--account', 'zoe@mail.example'].concat([
      '--version',
      '1',
      '--delete',
      '--server',
      base,
      '--json',
    ]),
    dir,
  );

describe('kt provider enrol: the chain is checked before it is sent', () => {
  it('refuses a private key given as --chain, sending nothing and never printing it', async () => {
    handler = answer(200, 'application/json', '{"providerId":"mail.example","status":"accepted"}');
    const r = await enrol('provider.key', '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toEqual({
      code: 'usage',
      message: expect.stringMatching(/^provider\.key is not a PEM certificate chain .*"PRIVATE KEY"/),
    });
    expect(r.stdout + r.stderr).not.toContain(KEY_BODY);
    expect(received).toEqual([]);
  });

  it('refuses a file with a certificate and a private key, sending nothing', async () => {
    handler = answer(200, 'application/json', '{"providerId":"mail.example","status":"accepted"}');
    const r = await enrol('chain-and-key.pem');
    expect([r.code, r.stdout, r.stderr]).toEqual([2, '', expect.stringContaining('error [usage]: chain-and-key.pem')]);
    expect(r.stderr).not.toContain(KEY_BODY);
    expect(received).toEqual([]);
  });

  it('sends the certificates it parsed, and only them', async () => {
    handler = answer(200, 'application/json', '{"providerId":"mail.example","status":"committed","epoch":3}');
    const r = await enrol('chain.pem', '--wait');
    expect([r.code, r.stdout.trim()]).toEqual([0, 'committed enrolment of mail.example in epoch 3']);
    expect(received.map((q) => q.request)).toEqual(['POST /v1/providers?wait=1']);
    expect(JSON.parse(received[0].body)).toEqual({ chain: [toBase64(certDer)] });
  });
});

describe('kt provider enrol: an answer that is not the directory’s', () => {
  it('is bad_response naming the URL, not a success, when a 200 is not JSON', async () => {
    handler = answer(200, 'text/html', '<html>hello</html>');
    const r = await enrol('chain.pem');
    expect([r.code, r.stdout]).toEqual([2, '']); // was: exit 0, "undefined enrolment of undefined"
    expect(r.stderr.trim()).toBe(
      `error [bad_response]: POST ${base}/v1/providers: HTTP 200 with a body that is not a JSON object`,
    );
  });

  it('is bad_response when a 200 lacks providerId and status', async () => {
    handler = answer(200, 'application/json', '{"garbage":true}');
    const r = await enrol('chain.pem', '--json');
    expect([r.code, JSON.parse(r.stdout).error]).toEqual([
      2,
      { code: 'bad_response', message: `POST ${base}/v1/providers: HTTP 200 without providerId and status` },
    ]);
  });

  it('still relays the code of an error answer', async () => {
    handler = answer(400, 'application/json', '{"error":{"code":"cert_untrusted","message":"no trusted root"}}');
    const r = await enrol('chain.pem', '--json');
    expect([r.code, JSON.parse(r.stdout).error]).toEqual([
      2,
      { code: 'cert_untrusted', message: '/v1/providers: HTTP 400: no trusted root' },
    ]);
  });
});

describe('kt provider publish: an answer that is not the directory’s', () => {
  it('is bad_response naming the URL, not a TypeError, when a 200 has no "results"', async () => {
    handler = answerPosts('{"garbage":true}');
    const r = await publish();
    expect([r.code, JSON.parse(r.stdout).error]).toEqual([
      2,
      { code: 'bad_response', message: `POST ${base}/v1/bindings: HTTP 200 without results[0].status` },
    ]); // was: internal, "Cannot read properties of undefined (reading '0')"
  });

  it('is bad_response when a 200 is JSON null or holds a result that is not an object', async () => {
    for (const body of ['null', '{"results":[null]}', '{"results":"committed"}']) {
      handler = answerPosts(body);
      const r = await publish();
      expect([r.code, JSON.parse(r.stdout).error.code], body).toEqual([2, 'bad_response']);
    }
  });

  it('still reports a well-formed answer', async () => {
    handler = answerPosts('{"results":[{"status":"committed","epoch":7}]}');
    const r = await publish();
    expect([r.code, JSON.parse(r.stdout)]).toEqual([0, { status: 'committed', epoch: 7 }]);
  });
});

describe('kt provider keygen', () => {
  it('refuses an --id that is not a provider id before writing anything', async () => {
    const sub = join(dir, 'keygen-sub');
    mkdirSync(sub);
    for (const id of ['../escaped', 'mail.example/../../escaped', 'Mail.Example', 'localhost']) {
      const r = await kt(['provider', 'keygen', '--id', id, '--dir', '.', '--json'], sub);
      expect([r.code, JSON.parse(r.stdout).error], id).toEqual([
        2,
        { code: 'bad_provider', message: `${JSON.stringify(id)} is not a provider id (a lower-case DNS name)` },
      ]);
    }
    expect(readdirSync(sub)).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.includes('escaped'))).toEqual([]);
  });

  it('is a usage error naming the file when --dir does not exist', async () => {
    const r = await kt(['provider', 'keygen', '--id', 'mail.example', '--dir', 'no-such-dir', '--json'], dir);
    expect([r.code, JSON.parse(r.stdout).error]).toEqual([
      2,
      { code: 'usage', message: expect.stringMatching(/^cannot write no-such-dir\/mail\.example\.\w+: ENOENT/) },
    ]); // was: internal, a raw ENOENT
  });

  it('leaves neither a temporary file nor a key when the request cannot be written', async () => {
    const out = join(dir, 'keygen-blocked');
    mkdirSync(join(out, 'mail.example.csr'), { recursive: true }); // a directory where the request goes
    const r = await kt(['provider', 'keygen', '--id', 'mail.example', '--dir', out], dir);
    expect([r.code, r.stderr.trim()]).toEqual([
      2,
      `error [usage]: cannot write ${join(out, 'mail.example.csr')}: EISDIR: illegal operation on a directory`,
    ]);
    expect(readdirSync(out)).toEqual(['mail.example.csr']);
  });
});

describe('writeFileAtomic', () => {
  it('writes the file, through a temporary file it does not leave', () => {
    const path = join(dir, 'atomic-ok.json');
    writeFileAtomic(path, '{"a":1}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('is a UsageError naming the target, and removes its temporary file, when the target is a directory', () => {
    const target = join(dir, 'atomic-dir');
    mkdirSync(target);
    expect(() => writeFileAtomic(target, 'x')).toThrow(UsageError);
    expect(() => writeFileAtomic(target, 'x')).toThrow(`cannot write ${target}: EISDIR`);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]); // was: atomic-dir.tmp-PID left
    expect(existsSync(target) && readdirSync(target)).toEqual([]);
  });

  it('is a UsageError naming the target when its directory does not exist', () => {
    const target = join(dir, 'missing', 'state.json');
    expect(() => writeFileAtomic(target, 'x')).toThrow(
      new UsageError(`cannot write ${target}: ENOENT: no such file or directory`),
    );
  });
});
