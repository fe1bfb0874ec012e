/**
 * Fair, cost-aware limits through the app (api/app/rate-limit-lookups.ts, rate-limit-publish.ts,
 * middleware.ts): lookups counted per item and per provider and weighted (an absent name's surcharge
 * refused before its VRF proof), clients keyed by IPv4 address or IPv6 /64, publications limited per
 * address and per provider before any signature is checked, failed operator logins limited, each refusal
 * counted in /metrics by kind; and a submission that names its credential.
 */
import { describe, expect, it } from 'vitest';
import { equalBytes, toBase64, toHex } from '../../../wasm-free-crypto/bytes.js';
import { TokenBuckets } from '../../../api/app/middleware.js';
import { statementProvider } from '../../../api/app/rate-limit-publish.js';
import { jsonLogger } from '../../../api/app/logger.js';
import { serverApp } from '../../../api/wiring/open-server.js';
import { DEFAULT_SETTINGS, type Settings } from '../../../api/wiring/settings.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import {
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  publish,
  statementFor,
  TEST_OPERATOR_TOKEN,
  type TestDirectory,
  type TestProvider,
} from '../../helpers/directory.js';

/** An app over `t` with `settings` (refilling at one token per second unless they say otherwise). */
function appWith(t: TestDirectory, settings: Partial<Settings>) {
  return serverApp({
    reader: new LogReader(new SqliteLogStorage(t.db), () => t.log.head),
    signer: logSignerForTests,
    directory: t.dir,
    operatorToken: TEST_OPERATOR_TOKEN,
    settings: { ...DEFAULT_SETTINGS, lookupRatePerSecond: 1, publishRatePerSecond: 1, ...settings },
    logger: jsonLogger(() => {}),
  }).app;
}

async function setup(settings: Partial<Settings>) {
  const t = await openTestDirectory({ maxQueue: 1000 });
  const chat = await enrolProvider(t, 'chat.example');
  for (const account of ['a@chat.example', 'b@chat.example', 'c@chat.example'])
    await publish(t, chat.sign(statementFor(chat, account, 1, [identityKey()], t.clock.now)));
  return { t, chat, app: appWith(t, settings) };
}

const from = (ip: string) => ({ headers: { 'cf-connecting-ip': ip } });
const post = (body: unknown, ip = '198.51.100.1', headers: Record<string, string> = {}) => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'Content-Type': 'application/json', 'cf-connecting-ip': ip, ...headers },
});

/** The value of `kt_rate_limited_total{kind}` in /metrics. */
async function refusals(app: ReturnType<typeof appWith>, kind: string): Promise<number> {
  const text = await (await app.request('/metrics')).text();
  return Number(new RegExp(`^kt_rate_limited_total\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
}

function signed(t: TestDirectory, p: TestProvider, account: string, extra: Record<string, string> = {}) {
  const s = p.sign(statementFor(p, account, 1, [identityKey()], t.clock.now));
  return { statement: toBase64(s.statement), signature: toBase64(s.signature), ...extra };
}

const fingerprintOf = (t: TestDirectory, leafDer: Uint8Array) =>
  toHex(t.dir.credentials.all().find((c) => equalBytes(c.entry.chain[0], leafDer))!.fingerprint);

describe('token buckets', () => {
  it('admit a charge while the client holds a token, let it overdraw, and say how long to wait', () => {
    let now = 0;
    let refused = 0;
    const b = new TokenBuckets({ capacity: 3, refillPerSecond: 2, now: () => now, refused: () => refused++ });
    expect(b.take('x', 2)).toBe(0); // 1 left
    expect(b.take('x', 5)).toBe(0); // admitted from 1: -4
    expect(b.take('x')).toBe(3); // 5 tokens short, at 2 per second
    expect(b.take('y', 3)).toBe(0); // another client has its own bucket
    expect(refused).toBe(1);
    now = 2500; // +5 tokens: 1
    expect(b.take('x')).toBe(0);
    expect(b.take('x', 1, 1)).toBe(0); // a charge with one token of credit is admitted from 0
    expect(b.take('x', 1, 0)).toBe(1);
    now = 1_000_000;
    expect(b.wait('x')).toBe(0);
    expect(b.take('x', 4)).toBe(0); // capped at the burst: 3, then -1
    expect(b.wait('x')).toBe(1);
  });
});

describe('lookup limits', () => {
  it('count each lookup of a batch and weigh an absent name, refusing its surcharge before its VRF proof', async () => {
    const { app } = await setup({ lookupBurst: 10, absentLookupCost: 4 });
    const lookups = (accounts: string[]) => ({
      lookups: accounts.map((account) => ({ provider: 'chat.example', account })),
    });
    // 3 present lookups and one absent: 3 + 4 = 7 of 10.
    const batch = lookups(['a@chat.example', 'b@chat.example', 'c@chat.example', 'nobody@chat.example']);
    expect((await app.request('/v1/lookup', post(batch))).status).toBe(200);
    // 3 left: a batch of 2 absent names pays 2 up front (1 left), then the first surcharge (3: -2), and the
    // second is refused before its VRF proof.
    const refused = await app.request('/v1/lookup', post(lookups(['x@chat.example', 'y@chat.example'])));
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThanOrEqual(2);
    expect(await refusals(app, 'lookup')).toBe(1);
    // Another client is not affected; one in the same IPv6 /64 is.
    expect((await app.request('/v1/lookup/chat.example/a@chat.example', from('203.0.113.9'))).status).toBe(200);
  });

  it('take one lookup per provider of a discovery, and weigh the providers it is absent at', async () => {
    const t = await openTestDirectory();
    for (const id of ['one.example', 'two.example', 'three.example']) await enrolProvider(t, id);
    const app = appWith(t, { lookupBurst: 18, absentLookupCost: 6 });
    // 3 providers, the name absent at each: 3 + 3 x 5 = 18, the whole burst.
    expect((await app.request('/v1/lookup', post({ discover: 'x@example.org' }))).status).toBe(200);
    expect((await app.request('/v1/lookup', post({ discover: 'x@example.org' }))).status).toBe(429);
    // With less than the discovery costs, it is refused part way, before the next absent name's VRF proof.
    const small = appWith(t, { lookupBurst: 4, absentLookupCost: 6 });
    expect((await small.request('/v1/lookup', post({ discover: 'x@example.org' }))).status).toBe(429);
  });

  it('key IPv6 clients by /64 (configurable) and IPv4-mapped addresses as IPv4', async () => {
    const { app } = await setup({ lookupBurst: 2 });
    const get = (ip: string) => app.request('/v1/lookup/chat.example/a@chat.example', from(ip));
    expect((await get('2001:db8:1:2::1')).status).toBe(200);
    expect((await get('2001:db8:1:2:ffff::9')).status).toBe(200);
    expect((await get('2001:db8:1:2::abcd')).status).toBe(429); // same /64
    expect((await get('2001:db8:1:3::1')).status).toBe(200); // another /64
    expect((await get('192.0.2.5')).status).toBe(200);
    expect((await get('::ffff:192.0.2.5')).status).toBe(200);
    expect((await get('::ffff:c000:205')).status).toBe(429); // the same IPv4 client
    // Malformed addresses share one bucket.
    expect((await get('not an address')).status).toBe(200);
    expect((await get('999.1.1.1')).status).toBe(200);
    expect((await get('')).status).toBe(429);
    const wide = (await setup({ lookupBurst: 1, ipv6PrefixLength: 48 })).app;
    expect((await wide.request('/v1/lookup/chat.example/a@chat.example', from('2001:db8:1:2::1'))).status).toBe(200);
    expect((await wide.request('/v1/lookup/chat.example/a@chat.example', from('2001:db8:1:ff::1'))).status).toBe(429);
  });
});

describe('publication limits', () => {
  it('count each statement per address and per provider, before any signature is checked', async () => {
    const { t, chat, app } = await setup({ publishBurst: 3, providerPublishBurst: 5, providerPublishRatePerSecond: 1 });
    const batch = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => signed(t, chat, `${prefix}${i}@chat.example`));
    expect((await app.request('/v1/bindings', post({ statements: batch(3, 'p') }))).status).toBe(202);
    // The address's bucket is empty: refused, even with signatures that do not verify.
    const forged = { ...signed(t, chat, 'q@chat.example'), signature: toBase64(new Uint8Array(64)) };
    const byAddress = await app.request('/v1/bindings', post({ statements: [forged] }));
    expect(byAddress.status).toBe(429);
    expect(Number(byAddress.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(await refusals(app, 'publish_address')).toBe(1);
    // From another address, the provider's bucket pays 2 more (5 in all), then refuses its statements.
    expect((await app.request('/v1/bindings', post({ statements: batch(2, 'r') }, '198.51.100.2'))).status).toBe(202);
    const byProvider = await app.request('/v1/bindings', post({ statements: [forged] }, '198.51.100.3'));
    expect(byProvider.status).toBe(429);
    expect(await refusals(app, 'publish_provider')).toBe(1);
    // A statement whose provider cannot be read is charged to its address only, and refused as malformed.
    const junk = { statement: toBase64(new Uint8Array([1, 200, 1, 2])), signature: toBase64(new Uint8Array(64)) };
    const malformed = await app.request('/v1/bindings', post({ statements: [junk] }, '198.51.100.4'));
    expect(malformed.status).toBe(400);
    expect(statementProvider(new Uint8Array([1, 12, ...new TextEncoder().encode('chat.example')]))).toBe(
      'chat.example',
    );
    expect(statementProvider(new Uint8Array([1, 12, ...new TextEncoder().encode('Chat.example')]))).toBeNull();
    expect(statementProvider(new Uint8Array([2, 12, ...new TextEncoder().encode('chat.example')]))).toBeNull();
    expect(statementProvider(new Uint8Array([1, 13, ...new TextEncoder().encode('chat.example')]))).toBeNull();
  });

  it('limit failed operator logins per client, whatever token it then gives', async () => {
    const { app } = await setup({});
    const revoke = (token: string, ip: string) =>
      app.request(
        '/v1/providers/revoke',
        post({ providerId: 'chat.example', fingerprint: '00'.repeat(32), reason: 'x' }, ip, {
          Authorization: `Bearer ${token}`,
        }),
      );
    for (let i = 0; i < 10; i++) expect((await revoke('wrong-token-xxxxxxxx', '192.0.2.66')).status).toBe(401);
    const limited = await revoke(TEST_OPERATOR_TOKEN, '192.0.2.66');
    expect(limited.status).toBe(429);
    expect(await refusals(app, 'operator_auth')).toBe(1);
    // From elsewhere the operator is still let in (an unknown fingerprint: 404).
    expect((await revoke(TEST_OPERATOR_TOKEN, '192.0.2.67')).status).toBe(404);
  });
});

describe('a submission naming its credential', () => {
  it('is checked against that credential only, and refused clearly when it names another one', async () => {
    const { t, chat, app } = await setup({});
    const talk = await enrolProvider(t, 'talk.example');
    const chatFp = fingerprintOf(t, chat.leaf.der);
    const talkFp = fingerprintOf(t, talk.leaf.der);
    const answer = async (item: Record<string, unknown>) => {
      const res = await app.request('/v1/bindings', post({ statements: [item] }));
      const json = (await res.json()) as { error?: { code: string } };
      return [res.status, json.error?.code ?? 'ok'];
    };
    expect(await answer(signed(t, chat, 'n1@chat.example', { credential: chatFp }))).toEqual([202, 'ok']);
    expect(await answer(signed(t, chat, 'n2@chat.example', { credential: talkFp }))).toEqual([403, 'wrong_credential']);
    expect(await answer(signed(t, chat, 'n3@chat.example', { credential: 'ab'.repeat(32) }))).toEqual([
      404,
      'unknown_credential',
    ]);
    // A second credential of chat.example: a statement signed by the first does not verify under it.
    const second = await enrolProvider(t, 'chat.example');
    const secondFp = fingerprintOf(t, second.leaf.der);
    expect(await answer(signed(t, chat, 'n4@chat.example', { credential: secondFp }))).toEqual([403, 'bad_signature']);
    expect(await answer(signed(t, second, 'n5@chat.example', { credential: secondFp }))).toEqual([202, 'ok']);
    for (const credential of [chatFp.toUpperCase(), chatFp.slice(2), 42, null])
      expect(await answer(signed(t, chat, 'n6@chat.example', { credential } as never))).toEqual([400, 'bad_request']);
    expect(await answer({ ...signed(t, chat, 'n7@chat.example'), extra: 'x' })).toEqual([400, 'bad_request']);
  });
});
