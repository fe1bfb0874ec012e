/** The directory's HTTP routes through app.request(): good and bad input for every route. */
import { describe, expect, it } from 'vitest';
import { toBase64, toHex } from '../../../wasm-free-crypto/bytes.js';
import { openNote, parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { HISTORY_ZERO } from '../../../verifier/formats/directory-hashes.js';
import { discoveryFromJson, historyFromJson, lookupFromJson } from '../../../verifier/formats/proof-json.js';
import {
  directoryApp,
  enrolProvider,
  identityKey,
  statementFor,
  TEST_OPERATOR_TOKEN,
  type TestDirectory,
} from '../../helpers/directory.js';
import { logSignerForTests } from '../../helpers/directory.js';
import { makeLeaf } from '../../helpers/pki.js';

const TOKEN = TEST_OPERATOR_TOKEN;

const setup = directoryApp;

function signedJson(
  t: TestDirectory,
  chat: Awaited<ReturnType<typeof setup>>['chat'],
  account: string,
  version: number,
) {
  const s = chat.sign(statementFor(chat, account, version, [identityKey()], t.clock.now));
  return { statement: toBase64(s.statement), signature: toBase64(s.signature) };
}

const post = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'Content-Type': 'application/json', ...headers },
});

describe('directory routes', () => {
  it('publishes with a signed receipt, then serves lookups, batches, discovery and history that verify', async () => {
    const { t, chat, app } = await setup();
    const res = await app.request('/v1/bindings', post({ statements: [signedJson(t, chat, 'a@chat.example', 1)] }));
    expect(res.status).toBe(202);
    const { results } = await res.json();
    expect(openNote(results[0].receipt, [parseVerifierKey(logSignerForTests.verifierKey)]).text).toMatch(
      /^kt\/v2\/receipt\n/,
    );
    await t.dir.closeEpoch();
    const one = await app.request('/v1/lookup/chat.example/a%40chat.example');
    expect(t.verifier.verifyLookup(lookupFromJson(await one.json()), 'chat.example', 'a@chat.example').status).toBe(
      'present',
    );
    const batch = await (
      await app.request(
        '/v1/lookup',
        post({
          lookups: [
            { provider: 'chat.example', account: 'a@chat.example' },
            { provider: 'chat.example', account: 'b@chat.example' },
          ],
        }),
      )
    ).json();
    expect(
      batch.lookups.map(
        (l: unknown) =>
          t.verifier.verifyLookup(lookupFromJson(l), 'chat.example', (l as { account: string }).account).status,
      ),
    ).toEqual(['present', 'absent']);
    const found = await (await app.request('/v1/lookup', post({ discover: 'a@chat.example' }))).json();
    expect(t.verifier.verifyDiscovery(discoveryFromJson(found), 'a@chat.example').get('chat.example')!.status).toBe(
      'present',
    );
    const h = await (await app.request('/v1/history/chat.example/a@chat.example?since=0')).json();
    expect(
      t.verifier.verifyHistory(historyFromJson(h), 'chat.example', 'a@chat.example', HISTORY_ZERO).statements,
    ).toHaveLength(1);
  });

  it('waits for the commit with ?wait=1', async () => {
    const { t, chat, app } = await setup();
    const pending = app.request(
      '/v1/bindings?wait=1',
      post({ statements: [signedJson(t, chat, 'w@chat.example', 1)] }),
    );
    // The statement is queued once its submission is validated (however long that takes on a busy machine).
    while (t.dir.queueDepth === 0) await new Promise((r) => setTimeout(r, 5));
    await t.dir.closeEpoch();
    const res = await pending;
    expect(res.status).toBe(200);
    expect((await res.json()).results[0]).toMatchObject({ status: 'committed', version: 1 });
  });

  it('answers refusals with the right status and code', async () => {
    const { t, chat, app } = await setup();
    const code = async (res: Response | Promise<Response>) => {
      const r = await res;
      return [r.status, (await r.json()).error.code];
    };
    expect(
      await code(
        app.request('/v1/bindings', { method: 'POST', body: '{', headers: { 'Content-Type': 'application/json' } }),
      ),
    ).toEqual([400, 'bad_request']);
    expect(await code(app.request('/v1/bindings', post({ statements: [], extra: 1 })))).toEqual([400, 'bad_request']);
    expect(
      await code(app.request('/v1/bindings', post({ statements: [{ statement: 'AA=', signature: 'AA==' }] }))),
    ).toEqual([400, 'bad_request']);
    expect(
      await code(app.request('/v1/bindings', post({ statements: [signedJson(t, chat, 'c@chat.example', 2)] }))),
    ).toEqual([409, 'version_gap']);
    const talk = await enrolProvider(t, 'talk.example');
    const forChat = statementFor(chat, 'c@chat.example', 1, [identityKey()], t.clock.now);
    const byTalk = talk.sign(forChat); // talk.example signs a statement in chat.example's namespace
    const wrong = { statement: toBase64(byTalk.statement), signature: toBase64(byTalk.signature) };
    expect(await code(app.request('/v1/bindings', post({ statements: [wrong] })))).toEqual([
      403,
      'namespace_violation',
    ]);
    const big = { statements: [{ statement: 'A'.repeat(3 * 1024 * 1024), signature: '' }] };
    expect(await code(app.request('/v1/bindings', post(big)))).toEqual([413, 'too_large']);
    for (let i = 0; i < 5; i++)
      await app.request('/v1/bindings', post({ statements: [signedJson(t, chat, `q${i}@chat.example`, 1)] }));
    const full = await app.request('/v1/bindings', post({ statements: [signedJson(t, chat, 'q9@chat.example', 1)] }));
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('1');
    expect(await code(app.request('/v1/history/chat.example/x@chat.example?since=-1'))).toEqual([400, 'bad_request']);
    expect(await code(app.request('/v1/lookup/chat.example/%00bad'))).toEqual([400, 'account_control_char']);
    expect(await code(app.request('/v1/lookup', post({ lookups: [] })))).toEqual([400, 'bad_request']);
  });

  it('rate-limits lookups per client with Retry-After', async () => {
    const { app } = await setup({ capacity: 2 });
    // An absent name costs 6 lookups (absentLookupCost): admitted from a balance of 2, which it leaves at -4.
    expect((await app.request('/v1/lookup/chat.example/a@chat.example')).status).toBe(200);
    // No header lets a client skip the limit (there is no way to: every lookup is charged).
    const limited = await app.request('/v1/lookup/chat.example/a@chat.example', {
      headers: { 'kt-lookup-admitted': '1' },
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('5');
    expect((await limited.json()).error.code).toBe('rate_limited');
  });

  it('lets only the operator enrol and revoke', async () => {
    const { t, app } = await setup();
    const leaf = await makeLeaf(t.root, { dnsNames: ['new.example'] });
    const body = post({ chain: leaf.pem });
    expect((await app.request('/v1/providers', body)).status).toBe(401);
    expect(
      (await app.request('/v1/providers', post({ chain: leaf.pem }, { Authorization: 'Bearer wrong' }))).status,
    ).toBe(401);
    const ok = await app.request('/v1/providers', post({ chain: leaf.pem }, { Authorization: `Bearer ${TOKEN}` }));
    expect(ok.status).toBe(202);
    expect((await ok.json()).providerId).toBe('new.example');
    await t.dir.closeEpoch();
    const fp = toHex(t.dir.credentials.all().find((c) => c.entry.providerId === 'new.example')!.fingerprint);
    // A reason the revocation entry cannot hold (printable ASCII, at most 255 bytes) is a bad request.
    for (const reason of ['key compromise — rotated', 'x'.repeat(256), 'line\nbreak']) {
      const refused = await app.request(
        '/v1/providers/revoke',
        post({ providerId: 'new.example', fingerprint: fp, reason }, { Authorization: `Bearer ${TOKEN}` }),
      );
      expect([refused.status, (await refused.json()).error.code], JSON.stringify(reason)).toEqual([400, 'bad_request']);
    }
    expect(t.dir.queueDepth).toBe(0);
    const revoking = app.request(
      '/v1/providers/revoke',
      post({ providerId: 'new.example', fingerprint: fp, reason: 'test' }, { Authorization: `Bearer ${TOKEN}` }),
    );
    await new Promise((r) => setTimeout(r, 20));
    await t.dir.closeEpoch();
    expect((await revoking).status).toBe(200);
    const again = await app.request(
      '/v1/providers/revoke',
      post({ providerId: 'new.example', fingerprint: fp, reason: 'test' }, { Authorization: `Bearer ${TOKEN}` }),
    );
    expect(again.status).toBe(404);
    const garbage = await app.request('/v1/providers', post({ chain: ['!!'] }, { Authorization: `Bearer ${TOKEN}` }));
    expect(garbage.status).toBe(400);
  });

  it('serves config with the VRF key and Prometheus metrics', async () => {
    const { t, app } = await setup();
    const config = await (await app.request('/v1/config')).json();
    expect(config.vrfKey).toBe(toBase64(t.dir.vrfPublicKey));
    await app.request('/v1/lookup/chat.example/a@chat.example');
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toMatch(/^kt_queue_depth 0$/m);
    expect(metrics).toMatch(/^kt_tree_size \d+$/m);
    const age = /^kt_checkpoint_age_seconds (\S+)$/m.exec(metrics);
    expect(Number(age?.[1])).toBeGreaterThanOrEqual(0);
    expect(await (await app.request('/healthz')).json()).toMatchObject({ ok: true });
    t.clock.now += 90_000; // no epoch for 90 s: the served checkpoint is 90 s older
    const later = /^kt_checkpoint_age_seconds (\S+)$/m.exec(await (await app.request('/metrics')).text());
    expect(Number(later?.[1]) - Number(age?.[1])).toBe(90);
    t.clock.now += 60_000; // more than two heartbeats (60 s each) without an epoch: epochs stall
    const health = await (await app.request('/healthz')).json();
    expect(health.ok).toBe(false);
    expect(health.degraded).toEqual([
      expect.stringMatching(/^epochs stall: the served checkpoint's epoch is 15\d s old/),
    ]);
    expect(metrics).toMatch(
      /kt_requests_total\{method="GET",route="\/v1\/lookup\/:provider\/:account",status="200"\} 1/,
    );
    expect(metrics).toMatch(/^# TYPE kt_request_duration_seconds histogram$/m);
    expect(metrics).toMatch(
      /^kt_request_duration_seconds_bucket\{method="GET",route="\/v1\/lookup\/:provider\/:account",status="200",le="\+Inf"\} 1$/m,
    );
    const sum =
      /^kt_request_duration_seconds_sum\{method="GET",route="\/v1\/lookup\/:provider\/:account",status="200"\} (\S+)$/m.exec(
        metrics,
      );
    expect(Number(sum?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(
      /^kt_request_duration_seconds_count\{method="GET",route="\/v1\/lookup\/:provider\/:account",status="200"\} 1$/m,
    );
    // Account names never appear in metrics: routes are patterns, and unknown paths are "unmatched".
    await app.request('/no/such/path/secret@chat.example');
    const after = await (await app.request('/metrics')).text();
    expect(after).not.toContain('a@chat.example');
    expect(after).not.toContain('secret');
    expect(after).toMatch(/kt_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
  });
});
