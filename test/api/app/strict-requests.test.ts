/**
 * The parts of a request read strictly (api/app/request-fields.ts, docs/PROTOCOL.md section 7): a name in the
 * path whose %-escapes are malformed or not UTF-8 is refused, never looked up as the literal text (which has
 * its own spelling, `%25`); a JSON body only as `application/json`, in UTF-8 without a byte order mark, so that
 * a page elsewhere cannot make its visitors' browsers send lookups without asking first, and with no member named
 * twice in one object (json-duplicates.ts has the scanner's own tests); a query parameter
 * given twice is refused; a daily check names its own parameter when it refuses one; and an Accept-Encoding
 * item whose quality is not a qvalue does not count as asking for gzip.
 */
import { describe, expect, it } from 'vitest';
import { acceptsGzip } from '../../../api/app/compression.js';
import { concatBytes, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { directoryApp, identityKey, publish, statementFor, TEST_OPERATOR_TOKEN } from '../../helpers/directory.js';

const answer = async (res: Response | Promise<Response>): Promise<[number, string]> => {
  const r = await res;
  return [r.status, r.status === 200 ? 'ok' : (await r.json()).error.code];
};
const json = (body: BodyInit, type = 'application/json') => ({
  method: 'POST',
  body,
  headers: { 'Content-Type': type },
});

async function withAlice() {
  const d = await directoryApp();
  await publish(d.t, d.chat.sign(statementFor(d.chat, 'alice@chat.example', 1, [identityKey()], d.t.clock.now)));
  return d;
}

describe('requests read strictly', () => {
  it('refuses a name in the path whose %-escapes are malformed or not UTF-8, on every read route', async () => {
    const { app } = await withAlice();
    const routes = (provider: string, account: string) => [
      `/v1/lookup/${provider}/${account}`,
      `/v1/history/${provider}/${account}`,
      `/v1/monitor/${provider}/${account}?version=1`,
    ];
    for (const route of routes('chat.example', 'alice%40chat.example'))
      expect(await answer(app.request(route))).toEqual([200, 'ok']);
    // Not UTF-8: a byte that starts nothing, a lone surrogate, an overlong "/", a lead byte without its follower.
    for (const account of ['%FF', 'a%FFb%40chat.example', '%ED%A0%80', '%C0%AF', '%C3%28'])
      for (const route of routes('chat.example', account))
        expect(await answer(app.request(route)), route).toEqual([400, 'account_bad_utf8']);
    for (const account of ['%zz', '%', 'a%4', '%%41'])
      for (const route of routes('chat.example', account))
        expect(await answer(app.request(route)), route).toEqual([400, 'bad_request']);
    for (const route of routes('chat%FF.example', 'alice%40chat.example'))
      expect(await answer(app.request(route)), route).toEqual([400, 'bad_request']);
    // From a platform that hands the app its raw URL, the names are the segments the route matched, not those of
    // the URL parsed again (which resolves dot segments: here, provider "chat.example" and no account).
    const raw = (path: string) =>
      ({ method: 'GET', url: `http://kt.example${path}`, headers: new Headers() }) as unknown as Request;
    const dotted = await app.fetch(raw('/v1/lookup/%2e/chat.example'));
    expect([dotted.status, (await dotted.json()).error.message]).toEqual([
      400,
      '"." is not a provider id (a lower-case DNS name of at least two labels)',
    ]);
    expect(await answer(app.fetch(raw('/v1/lookup/chat.example/alice%40chat.example?x=1')))).toEqual([200, 'ok']);
    // The literal text "%FF" is spelled %25FF, and is a name like any other (absent here).
    const literal = await app.request('/v1/lookup/chat.example/%25FF');
    expect(literal.status).toBe(200);
    expect((await literal.json()).account).toBe('%FF');
  });

  it('takes a JSON body only as application/json, in UTF-8 without a byte order mark', async () => {
    const { app } = await withAlice();
    const batch = JSON.stringify({ lookups: [{ provider: 'chat.example', account: 'alice@chat.example' }] });
    expect(await answer(app.request('/v1/lookup', json(batch)))).toEqual([200, 'ok']);
    expect(await answer(app.request('/v1/lookup', json(batch, 'Application/JSON; charset=utf-8')))).toEqual([
      200,
      'ok',
    ]);
    // What a browser sends across origins without a preflight, and no type at all: refused before any lookup.
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/jsonx'])
      expect(await answer(app.request('/v1/lookup', json(batch, type))), type).toEqual([400, 'bad_request']);
    const untyped = await app.request('/v1/lookup', { method: 'POST', body: batch });
    expect(await answer(untyped)).toEqual([400, 'bad_request']);
    for (const path of ['/v1/bindings', '/v1/providers', '/v1/providers/revoke']) {
      const res = await app.request(path, {
        method: 'POST',
        body: '{}',
        headers: { 'Content-Type': 'text/plain', Authorization: `Bearer ${TEST_OPERATOR_TOKEN}` },
      });
      expect((await res.json()).error.message, path).toMatch(/application\/json/);
    }
    // Bytes that are not UTF-8 inside a string, and a byte order mark before the JSON.
    const discover = (account: Uint8Array) =>
      concatBytes(utf8('{"discover":"'), account, utf8('"}')) as Uint8Array<ArrayBuffer>;
    expect(await answer(app.request('/v1/lookup', json(discover(Uint8Array.of(0xff, 0x40)))))).toEqual([
      400,
      'bad_request',
    ]);
    expect(await answer(app.request('/v1/lookup', json(discover(utf8('alice@chat.example')))))).toEqual([200, 'ok']);
    const bom = concatBytes(Uint8Array.of(0xef, 0xbb, 0xbf), utf8(batch)) as Uint8Array<ArrayBuffer>;
    const refused = await app.request('/v1/lookup', json(bom));
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.message).toMatch(/byte order mark/);
  });

  it('refuses a body that names a member twice in one object, on every JSON route, before any work', async () => {
    const { app } = await withAlice();
    const lookup = '{"provider":"chat.example","account":"alice@chat.example"}';
    const sent = (path: string, body: string) =>
      app.request(path, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TEST_OPERATOR_TOKEN}` },
      });
    expect(await answer(sent('/v1/lookup', `{"lookups":[${lookup}]}`))).toEqual([200, 'ok']);
    // The same name at the top, inside a lookup, spelled with an escape, and after other members.
    for (const body of [
      `{"lookups":[${lookup}],"lookups":[]}`,
      `{"lookups":[{"provider":"chat.example","account":"alice@chat.example","account":"bob@chat.example"}]}`,
      `{"lookups":[${lookup}],"\u006cookups":[${lookup}]}`,
      '{"discover":"alice@chat.example","discover":"bob@chat.example"}',
    ])
      expect(await answer(sent('/v1/lookup', body)), body).toEqual([400, 'bad_request']);
    const res = await sent('/v1/lookup', '{"discover":"a@chat.example", "discover" :"b@chat.example"}');
    expect((await res.json()).error.message).toBe('the body names "discover" twice in one object');
    for (const [path, body] of [
      ['/v1/bindings', '{"statements":[],"statements":[]}'],
      ['/v1/providers', '{"chain":"x","chain":"y"}'],
      ['/v1/providers/revoke', '{"providerId":"chat.example","providerId":"talk.example"}'],
    ])
      expect(await answer(sent(path, body)), path).toEqual([400, 'bad_request']);
  });

  it('refuses a query parameter given twice, rather than taking the first', async () => {
    const { app } = await withAlice();
    const account = '/chat.example/alice%40chat.example';
    for (const query of ['?since=1&since=x', '?since=x&since=1', '?since=0&since=0'])
      expect(await answer(app.request(`/v1/history${account}${query}`)), query).toEqual([400, 'bad_request']);
    expect(await answer(app.request(`/v1/monitor${account}?version=1&version=abc`))).toEqual([400, 'bad_request']);
    const twice = await app.request(`/v1/history${account}?since=0&since=1`);
    expect((await twice.json()).error.message).toBe('since is given 2 times');
    expect(await answer(app.request(`/v1/bindings?wait=1&wait=0`, json('{"statements":[]}')))).toEqual([
      400,
      'bad_request',
    ]);
  });

  it("names the daily check's own parameter when its version is above the latest", async () => {
    const { app } = await withAlice();
    const res = await app.request('/v1/monitor/chat.example/alice%40chat.example?version=2');
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toBe('version (2) is above the latest version (1)');
  });

  it('counts an Accept-Encoding item for gzip only with a well-formed quality above 0', () => {
    for (const yes of ['gzip', 'GZIP', 'br, gzip', 'gzip;q=0.5', 'gzip; q=1', 'gzip;q=1.000', '*;q=0.001', 'x;q=0, *'])
      expect(acceptsGzip(yes), yes).toBe(true);
    for (const no of [
      undefined,
      '',
      'identity',
      'gzip;q=0',
      'gzip;q=0.000',
      'gzip;q=abc',
      'gzip;q=-1',
      'gzip;q=1.5',
      'gzip;q=0.0001',
      'gzip;q=',
      'gzip;q=0.5;q=1',
      'gzip;q=NaN',
    ])
      expect(acceptsGzip(no), String(no)).toBe(false);
  });
});
