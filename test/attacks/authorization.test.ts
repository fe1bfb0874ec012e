/**
 * The authorization matrix (test/attacks/authorization-matrix.ts) against the app as the servers wire it:
 * each operator route (enrolment, revocation) with every `Authorization` variant and a body that would
 * change the directory, answered 401 `unauthorized` unless the header is exactly the token, nothing enrolled
 * or revoked by a refused call; every public route answered the same whatever `Authorization` it carries
 * (ignored, never required); and a provider's signature on another provider's statement (`namespace_violation`)
 * and a revoked credential's (`cert_revoked`) refused, also when the submission names that credential, with
 * nothing published. Each attempt comes from a client address of its own, so that the limit on failed
 * authentications (api/app/middleware.ts) masks no answer.
 */
import type { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { toBase64, toHex } from '../../wasm-free-crypto/bytes.js';
import { lookupFromJson } from '../../verifier/formats/proof-json.js';
import {
  enrolProvider,
  identityKey,
  statementFor,
  TEST_OPERATOR_TOKEN,
  type TestDirectory,
} from '../helpers/directory.js';
import { makeLeaf } from '../helpers/pki.js';
import { authorizationVariants, publicRequests } from './authorization-matrix.js';
import { attackedDirectory, clientAddress, nodeEnv } from './hostile-setup.js';

type Provider = { providerId: string; fingerprint: string; revoked: boolean };

let client = 0;
/** A request to `app` from a client address of its own, with `authorization` (null: none). */
async function send(app: Hono, method: string, path: string, body: string | undefined, authorization: string | null) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (authorization !== null) headers.Authorization = authorization;
  const res = await app.request(path, { method, headers, body }, nodeEnv(path, clientAddress(client++)));
  const text = await res.text();
  return { status: res.status, code: res.status >= 400 ? (JSON.parse(text).error.code as string) : 'ok', text };
}

const providers = async (app: Hono) =>
  ((await (await app.request('/v1/config')).json()) as { providers: Provider[] }).providers;

const signedJson = (s: { statement: Uint8Array; signature: Uint8Array }) =>
  JSON.stringify({ statements: [{ statement: toBase64(s.statement), signature: toBase64(s.signature) }] });

/** `answer`, once the epochs closed meanwhile commit what it waits for. */
async function committed<T>(t: TestDirectory, answer: Promise<T>): Promise<T> {
  let done = false;
  answer.finally(() => (done = true)).catch(() => undefined);
  while (!done) {
    await t.dir.closeEpoch(false);
    await new Promise((r) => setTimeout(r, 5));
  }
  return answer;
}

describe('the authorization matrix', () => {
  it('refuses every header but the token on the operator routes, and a refused call changes nothing', async () => {
    const { t, app } = await attackedDirectory();
    await enrolProvider(t, 'old.example');
    const old = (await providers(app)).find((p) => p.providerId === 'old.example')!;
    const mail = await makeLeaf(t.root, { dnsNames: ['mail.example'] });
    const enrol = JSON.stringify({ chain: [toBase64(mail.der)] });
    const revoke = JSON.stringify({ providerId: 'old.example', fingerprint: old.fingerprint, reason: 'keyCompromise' });
    const before = await providers(app);
    for (const v of authorizationVariants(TEST_OPERATOR_TOKEN).filter((v) => !v.authorized)) {
      for (const [path, body] of [
        ['/v1/providers?wait=1', enrol],
        ['/v1/providers', enrol],
        ['/v1/providers/revoke', revoke],
      ]) {
        const res = await send(app, 'POST', path, body, v.header);
        expect([res.status, res.code], `${path}, ${v.name}`).toEqual([401, 'unauthorized']);
      }
    }
    expect(t.dir.queueDepth).toBe(0);
    await t.dir.closeEpoch(false);
    expect(await providers(app)).toEqual(before);
    // The header with white space around it is the token (HTTP strips it): the body is read, and refused.
    const [spaced, exact] = authorizationVariants(TEST_OPERATOR_TOKEN).filter((v) => v.authorized);
    expect((await send(app, 'POST', '/v1/providers', '{"chain":[]}', spaced.header)).code).toBe('bad_request');
    const unknown = JSON.stringify({ providerId: 'old.example', fingerprint: toHex(new Uint8Array(32)), reason: 'x' });
    expect((await send(app, 'POST', '/v1/providers/revoke', unknown, spaced.header)).code).toBe('unknown_credential');
    // With the token, both calls do what they say.
    expect((await send(app, 'POST', '/v1/providers', enrol, exact.header)).status).toBe(202);
    expect((await committed(t, send(app, 'POST', '/v1/providers/revoke', revoke, exact.header))).status).toBe(200);
    const after = await providers(app);
    expect(after.find((p) => p.providerId === 'mail.example')).toMatchObject({ revoked: false });
    expect(after.find((p) => p.providerId === 'old.example')).toMatchObject({ revoked: true });
  });

  it('answers every public route the same whatever Authorization it carries', async () => {
    const { t, app, target } = await attackedDirectory();
    const requests = publicRequests(target.provider, target.account, signedJson(target.signed), t.log.head.size);
    for (const r of requests) {
      const plain = await send(app, r.method, r.path, r.body, null);
      expect(plain.status, `${r.method} ${r.path}: ${plain.text.slice(0, 200)}`).toBe(r.status);
      for (const v of authorizationVariants(TEST_OPERATOR_TOKEN)) {
        const res = await send(app, r.method, r.path, r.body, v.header);
        expect([res.status, res.code], `${r.method} ${r.path}, ${v.name}`).toEqual([plain.status, plain.code]);
      }
    }
    expect(t.dir.queueDepth).toBe(0);
  });

  it('refuses a statement signed by another provider (namespace_violation) or by a revoked credential (cert_revoked)', async () => {
    const { t, chat, app } = await attackedDirectory();
    const mail = await enrolProvider(t, 'mail.example');
    const old = await enrolProvider(t, 'old.example');
    const fingerprintOf = async (id: string) => (await providers(app)).find((p) => p.providerId === id)!.fingerprint;
    const fingerprint = await fingerprintOf('old.example');
    const mailFingerprint = await fingerprintOf('mail.example');
    const revoked = t.dir.revoke('old.example', Uint8Array.from(Buffer.from(fingerprint, 'hex')), 'keyCompromise');
    await t.dir.closeEpoch(false);
    await revoked;
    const key = identityKey();
    const cases: [string, string, { statement: Uint8Array; signature: Uint8Array }][] = [
      [
        'namespace_violation',
        'eve@chat.example',
        mail.sign(statementFor(chat, 'eve@chat.example', 1, [key], t.clock.now)),
      ],
      ['cert_revoked', 'eve@old.example', old.sign(statementFor(old, 'eve@old.example', 1, [key], t.clock.now))],
    ];
    for (const [code, account, signed] of cases) {
      for (const path of ['/v1/bindings', '/v1/bindings?wait=1']) {
        const res = await send(app, 'POST', path, signedJson(signed), null);
        expect([res.status, res.code], `${account} ${path}`).toEqual([403, code]);
      }
    }
    // Naming the credential it is signed with changes nothing: another provider's is not the statement's own.
    const named = (signed: { statement: Uint8Array; signature: Uint8Array }, credential: string) =>
      JSON.stringify({
        statements: [{ statement: toBase64(signed.statement), signature: toBase64(signed.signature), credential }],
      });
    for (const [body, code] of [
      [named(cases[0][2], mailFingerprint), 'wrong_credential'],
      [named(cases[1][2], fingerprint), 'cert_revoked'],
    ]) {
      const res = await send(app, 'POST', '/v1/bindings', body, null);
      expect([res.status, res.code], code).toEqual([403, code]);
    }
    expect(t.dir.queueDepth).toBe(0);
    await t.dir.closeEpoch(false);
    for (const [, account] of cases) {
      const [provider] = account.split('@').slice(1);
      const proof = lookupFromJson(
        await (await app.request(`/v1/lookup/${provider}/${encodeURIComponent(account)}`)).json(),
      );
      expect(t.verifier.verifyLookup(proof, provider, account).status, account).toBe('absent');
    }
  });
});
