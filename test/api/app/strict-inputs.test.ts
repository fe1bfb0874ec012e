/**
 * Strict inputs at the HTTP API (issue 12): a statement whose public key is not valid for its algorithm is a 400
 * `statement_bad_public_key`; provider ids and accounts beyond their bounds are refused before any VRF work on
 * every lookup route; the log's paths are read as the client sent them, so a path that is not canonical (dot
 * segments, percent-encoding, empty segments) is refused, never normalised into a tile and served.
 */
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { signSync, type SignatureAlgorithm } from '../../../wasm-free-crypto/signatures.js';
import { encodeStatement, providerSignedMessage } from '../../../verifier/formats/statement-binary.js';
import { directoryApp, identityKey, statementFor } from '../../helpers/directory.js';

const post = (body: unknown) => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'Content-Type': 'application/json' },
});
const answer = async (res: Response | Promise<Response>): Promise<[number, string]> => {
  const r = await res;
  return [r.status, r.status === 200 ? 'ok' : (await r.json()).error.code];
};

/** A provider id of 254 bytes (labels of 62 letters): one byte over the bound. */
const LONG_PROVIDER = `${'a'.repeat(62)}.`.repeat(5).slice(0, 254);
/** An account of 257 bytes of UTF-8: one byte over the bound. */
const LONG_ACCOUNT = `${'a'.repeat(244)}@chat.example`;

describe('strict inputs over HTTP', () => {
  it('refuses a statement whose Ed25519 key is not a curve point: 400 statement_bad_public_key', async () => {
    const { t, chat, app } = await directoryApp();
    const key = identityKey();
    const good = encodeStatement(statementFor(chat, 'k@chat.example', 1, [key], t.clock.now));
    const statement = good.slice();
    statement.set(new Uint8Array(32).fill(0xff).fill(0x7f, 31), Buffer.from(good).indexOf(Buffer.from(key.publicKey)));
    const signature = signSync(
      chat.leaf.algorithm as SignatureAlgorithm,
      chat.leaf.secretKey,
      providerSignedMessage(statement),
    );
    const res = await app.request(
      '/v1/bindings',
      post({ statements: [{ statement: toBase64(statement), signature: toBase64(signature) }] }),
    );
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({
      code: 'statement_bad_public_key',
      message: expect.stringMatching(/keys\[0\] \(ed25519\)/),
    });
  });

  it('refuses provider ids and accounts beyond their bounds on every lookup route, before the VRF', async () => {
    const { t, app } = await directoryApp();
    expect(LONG_ACCOUNT.length).toBe(257);
    const enc = encodeURIComponent;
    for (const [provider, account, code] of [
      [LONG_PROVIDER, 'a@chat.example', 'bad_request'],
      ['chat.example', LONG_ACCOUNT, 'account_too_long'],
    ]) {
      expect(await answer(app.request(`/v1/lookup/${enc(provider)}/${enc(account)}`))).toEqual([400, code]);
      expect(await answer(app.request('/v1/lookup', post({ lookups: [{ provider, account }] })))).toEqual([400, code]);
      expect(await answer(app.request(`/v1/history/${enc(provider)}/${enc(account)}`))).toEqual([400, code]);
      expect(await answer(app.request(`/v1/monitor/${enc(provider)}/${enc(account)}?version=1`))).toEqual([400, code]);
    }
    expect(await answer(app.request('/v1/lookup', post({ discover: LONG_ACCOUNT })))).toEqual([
      400,
      'account_too_long',
    ]);
    // At the bounds, lookups are answered.
    const atBound = `${'a'.repeat(62)}.`.repeat(5).slice(0, 253);
    expect(await answer(app.request(`/v1/lookup/${atBound}/a`))).toEqual([200, 'ok']);
    expect(await answer(app.request(`/v1/lookup/chat.example/${LONG_ACCOUNT.slice(1)}`))).toEqual([200, 'ok']);
    // The directory's own entry point refuses them too, with a typed error, before its store or the VRF.
    await expect(t.dir.labelFor(LONG_PROVIDER, 'a')).rejects.toMatchObject({ code: 'bad_request' });
    await expect(t.dir.labelFor('chat.example', LONG_ACCOUNT)).rejects.toMatchObject({ code: 'bad_request' });
    await expect(t.dir.labelFor('chat.example', '')).rejects.toMatchObject({ code: 'bad_request' });
  });
});

describe("the log's paths as sent", () => {
  // What @hono/node-server hands the app: Node's request, whose url is the raw target, beside a Request whose URL
  // has its dot segments resolved. Elsewhere the Request's URL itself is read as text.
  const asNode = (raw: string) => ({ incoming: { url: raw } });
  const resolved = (raw: string) => new URL(raw, 'http://kt.example').pathname;

  it('refuses non-canonical tile and bundle paths that a URL parser would resolve into served ones', async () => {
    const { app } = await directoryApp(); // a tree of size 2 at least: tile/0/000.p/1 is served
    expect(await answer(app.request('/log/tile/0/000.p/1'))).toEqual([200, 'ok']);
    for (const [raw, status, code] of [
      ['/log/tile/0/x001/%2e%2e/000.p/1', 400, 'bad_tile_path'],
      ['/log/tile/0/x001/%2E%2E/000.p/1', 400, 'bad_tile_path'],
      ['/log/tile/0/x001/.%2e/000.p/1', 400, 'bad_tile_path'],
      ['/log/tile/0/x001/../000.p/1', 400, 'bad_tile_path'],
      ['/log/tile/0/./000.p/1', 400, 'bad_tile_path'],
      ['/log/tile/0/%2e/000.p/1', 400, 'bad_tile_path'],
      ['/log/tile/entries/x001/../000.p/1', 400, 'bad_tile_path'],
      ['/log/tile//0/000.p/1', 400, 'bad_tile_path'],
      ['/log/tile/0/000.p/%31', 400, 'bad_tile_path'],
      ['/log/x/../tile/0/000.p/1', 404, 'not_found'],
      ['/log/tile/../tile/0/000.p/1', 400, 'bad_tile_path'],
      ['/log/%74ile/0/000.p/1', 404, 'not_found'],
      ['/log/tile/../checkpoint', 404, 'not_found'],
      ['/log/%63heckpoint', 404, 'not_found'],
      ['/v1/../log/checkpoint', 404, 'not_found'],
    ] as const) {
      const res = await app.request(resolved(raw), {}, asNode(raw));
      expect([res.status, (await res.json()).error.code], raw).toEqual([status, code]);
      expect(res.headers.get('Cache-Control'), raw).toBeNull();
    }
    // Canonical paths, and a query, are served as before.
    for (const raw of [
      '/log/tile/0/000.p/1',
      '/log/tile/entries/000.p/1',
      '/log/checkpoint',
      '/log/tile/0/000.p/1?x=1',
    ])
      expect((await app.request(resolved(raw), {}, asNode(raw))).status, raw).toBe(200);
    expect((await app.request('/log/checkpoint', {}, asNode('http://kt.example/log/checkpoint'))).status).toBe(200);
  });

  it("reads a Request's URL as text, not parsed again (a platform that hands the app a raw URL)", async () => {
    const { app } = await directoryApp();
    const raw = (path: string) =>
      ({ method: 'GET', url: `http://kt.example${path}`, headers: new Headers() }) as unknown as Request;
    const res = await app.fetch(raw('/log/tile/0/x001/%2e%2e/000.p/1'));
    expect([res.status, (await res.json()).error.code]).toEqual([400, 'bad_tile_path']);
    expect((await app.fetch(raw('/log/tile/0/000.p/1'))).status).toBe(200);
  });
});
