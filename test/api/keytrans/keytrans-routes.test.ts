/**
 * KEYTRANS end to end over the app (api/app/keytrans-routes.ts, wired as the servers wire it): a provider enrolled
 * with an Ed25519 certificate gets a thirdPartyManagement deployment whose leaf key is its credential's; statements
 * published with the provider's UpdateTBS signature enter it as versions from 0; the KEYTRANS client in
 * verifier/keytrans/ verifies searches (greatest and fixed version), owner initialisation and monitoring across
 * new epochs against the routes' answers, with nothing but the configuration the route gave; every deployment
 * advances every epoch; refusals are typed JSON errors; and erasure reaches the deployment.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { GlobalState } from '../../../verifier/keytrans/head.js';
import {
  decodeMessage,
  encodeMessage,
  KEYTRANS_MEDIA_TYPE,
  type Message,
  type MessageType,
} from '../../../verifier/keytrans/messages.js';
import { verifyOwnerInit, verifyOwnerMonitor } from '../../../verifier/keytrans/owner.js';
import { verifySearch } from '../../../verifier/keytrans/search.js';
import { decodeConfiguration, encodeUpdateTbs } from '../../../verifier/keytrans/signed-structures.js';
import { KT_128_SHA256_Ed25519 as SUITE } from '../../../verifier/keytrans/suites.js';
import type { Configuration, SearchRequest } from '../../../verifier/keytrans/types.js';
import { rightmostDistinguished } from '../../../verifier/keytrans/view.js';
import { toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { signSync } from '../../../wasm-free-crypto/signatures.js';
import {
  appOver,
  enrolProvider,
  identityKey,
  openTestDirectory,
  statementFor,
  type TestDirectory,
  type TestProvider,
} from '../../helpers/directory.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const PROVIDER = 'chat.example';

let t: TestDirectory;
let chat: TestProvider;
let app: ReturnType<typeof appOver>;
let config: Configuration;

async function post<K extends MessageType, R extends MessageType>(path: string, type: K, body: Message<K>, reply: R) {
  const ctx = { suite: config.ciphersuite, mode: config.mode };
  const res = await app.request(`/keytrans/v1/${PROVIDER}/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': KEYTRANS_MEDIA_TYPE },
    body: encodeMessage(type, body, ctx) as Uint8Array<ArrayBuffer>,
  });
  if (res.status !== 200) throw Object.assign(new Error(await res.text()), { status: res.status });
  const requestHasVersion = (body as { version?: number | null }).version != null;
  return decodeMessage(reply, new Uint8Array(await res.arrayBuffer()), { ...ctx, requestHasVersion });
}

/** Publishes version `version` of `account` over HTTP, with the provider's UpdateTBS signature, and commits it. */
async function publish(account: string, version: number, status: 'active' | 'deleted' = 'active') {
  const s = {
    ...statementFor(chat, account, version, status === 'active' ? [identityKey()] : [], t.clock.now),
    status,
  };
  const signed = chat.sign(s);
  const tbs = encodeUpdateTbs(config, utf8(account), version - 1, signed.statement);
  const keytrans = signSync('ed25519', chat.leaf.secretKey, tbs);
  const item = { statement: toBase64(signed.statement), signature: toBase64(signed.signature) };
  const res = await app.request('/v1/bindings', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ statements: [{ ...item, keytrans_signature: toBase64(keytrans) }] }),
  });
  expect(res.status, await res.clone().text()).toBe(202);
  await tick();
  return signed.statement;
}

/** One more epoch, a second later. */
async function tick() {
  t.clock.now += 1000;
  await t.dir.closeEpoch();
}

async function search(state: GlobalState | null, label: string, version: number | null) {
  const request: SearchRequest = { last: state?.treeHead.treeSize ?? null, label: utf8(label), version };
  const response = await post('search', 'SearchRequest', request, 'SearchResponse');
  return verifySearch(SUITE, config, state, request, response, t.clock.now);
}

beforeAll(async () => {
  t = await openTestDirectory({ keytrans: true });
  chat = await enrolProvider(t, PROVIDER);
  app = appOver(t);
  await tick(); // the epoch after the enrolment makes the deployment
  const res = await app.request(`/keytrans/v1/${PROVIDER}/config`);
  expect(res.headers.get('content-type')).toBe(KEYTRANS_MEDIA_TYPE);
  config = decodeConfiguration(new Uint8Array(await res.arrayBuffer()));
});

describe('a provider’s KEYTRANS deployment over HTTP', () => {
  it('is in thirdPartyManagement mode under the provider’s enrolled key', () => {
    expect(config.mode).toBe('thirdPartyManagement');
    expect(config.ciphersuite).toBe(0x0002);
    expect(config.leafPublicKey).toEqual(chat.leaf.publicKey);
  });

  it('serves searches, fixed-version searches and owner monitoring that the KEYTRANS client verifies', async () => {
    const statements = [await publish('alice', 1), await publish('alice', 2), await publish('alice', 3)];
    await publish('bob', 1);
    const found = await search(null, 'alice', null);
    expect(found.version).toBe(2);
    expect(found.value.value).toEqual(statements[2]);
    for (const v of [0, 1, 2]) expect((await search(null, 'alice', v)).value.value).toEqual(statements[v]);
    await tick();
    const later = await search(found.state, 'alice', null);
    expect(later.state.treeHead.treeSize).toBeGreaterThan(found.state.treeHead.treeSize);

    const start = rightmostDistinguished(
      later.state.treeHead.treeSize,
      (p) => later.state.frontier.find((e) => e.position === p)?.timestamp ?? 0,
      config.reasonableMonitoringWindow,
    );
    const initRequest = { last: later.state.treeHead.treeSize, label: utf8('alice'), start: start ?? 0 };
    const init = await post('owner/init', 'OwnerInitRequest', initRequest, 'OwnerInitResponse');
    const owned = verifyOwnerInit(SUITE, config, later.state, initRequest, init, t.clock.now);
    await tick();
    await tick();
    const monitorRequest = {
      last: owned.state.treeHead.treeSize,
      label: utf8('alice'),
      entries: [],
      start: owned.owner.starting,
      greatestVersion: owned.owner.versionAtStarting,
    };
    const monitored = await post('owner/monitor', 'OwnerMonitorRequest', monitorRequest, 'OwnerMonitorResponse');
    const next = verifyOwnerMonitor(
      SUITE,
      config,
      owned.state,
      owned.owner,
      owned.retained,
      monitorRequest,
      monitored,
      t.clock.now,
    );
    expect(next.state.treeHead.treeSize).toBe(owned.state.treeHead.treeSize + 2);
  });

  it('advances every provider’s deployment every epoch, with or without updates', async () => {
    await enrolProvider(t, 'mail.example');
    await tick();
    const sizes = () =>
      ['chat.example', 'mail.example'].map(
        (p) => t.keytrans?.view(p, t.dir.servedSnapshot.epoch)?.treeHead.treeSize ?? 0,
      );
    const before = sizes();
    expect(before[1]).toBeGreaterThan(0);
    await publish('dave', 1);
    await tick();
    expect(sizes()).toEqual(before.map((n) => n + 2));
  });

  it('refuses what it cannot answer with typed JSON errors', async () => {
    const refused = async (p: Promise<unknown>, status: number, code: string) => {
      const e = (await p.then(
        () => null,
        (x) => x,
      )) as { status: number; message: string };
      expect(e?.status).toBe(status);
      expect(JSON.parse(e.message).error.code).toBe(code);
    };
    await refused(search(null, 'nobody', null), 404, 'kt_label_absent');
    await refused(search(null, 'bob', 5), 404, 'kt_version_absent');
    const bad = await app.request(`/keytrans/v1/${PROVIDER}/search`, {
      method: 'POST',
      headers: { 'Content-Type': KEYTRANS_MEDIA_TYPE },
      body: new Uint8Array([0, 1, 2]),
    });
    expect([bad.status, (await bad.json()).error.code]).toEqual([400, 'bad_request']);
    const other = await app.request('/keytrans/v1/other.example/config');
    expect([other.status, (await other.json()).error.code]).toEqual([404, 'not_found']);
    const wrongType = await app.request(`/keytrans/v1/${PROVIDER}/search`, { method: 'POST', body: 'x' });
    expect(wrongType.status).toBe(400);
  });

  it('refuses a statement whose UpdateTBS signature does not fit, and an unsigned one of an account in KEYTRANS', async () => {
    const signed = chat.sign(statementFor(chat, 'bob', 2, [identityKey()], t.clock.now));
    const wrong = signSync('ed25519', chat.leaf.secretKey, encodeUpdateTbs(config, utf8('bob'), 0, signed.statement));
    const item = { statement: toBase64(signed.statement), signature: toBase64(signed.signature) };
    for (const extra of [{ keytrans_signature: toBase64(wrong) }, {}]) {
      const res = await app.request('/v1/bindings', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ statements: [{ ...item, ...extra }] }),
      });
      const body = await res.json();
      expect(body.results?.[0]?.error?.code ?? body.error?.code, JSON.stringify(body)).toBe('bad_keytrans_update');
    }
  });

  it('erases the versions a deleted statement erases, and refuses a fixed-version search for one', async () => {
    await publish('carol', 1);
    await publish('carol', 2, 'deleted');
    const err = await search(null, 'carol', 0).then(
      () => null,
      (e) => e as { status: number; message: string },
    );
    expect([err?.status, err && JSON.parse(err.message).error.code]).toEqual([410, 'kt_version_erased']);
    expect((await search(null, 'carol', null)).version).toBe(1);
  });
});

describe('what a deployment refuses at acceptance, and what never stops an epoch', () => {
  const kt = (account: string, version: number, statement: Uint8Array) =>
    signSync('ed25519', chat.leaf.secretKey, encodeUpdateTbs(config, utf8(account), version - 1, statement));
  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (e) => (e as { code: string }).code,
    );

  it('refuses a signed version whose earlier one was queued unsigned, so that KEYTRANS never goes stale', async () => {
    const v1 = chat.sign(statementFor(chat, 'erin', 1, [identityKey()], t.clock.now));
    await t.dir.submit(v1.statement, v1.signature, undefined, kt('erin', 1, v1.statement));
    const v2 = chat.sign(statementFor(chat, 'erin', 2, [identityKey()], t.clock.now));
    // v1 is queued signed: erin is in KEYTRANS, so an unsigned v2 is refused, a signed one taken
    expect(await code(t.dir.submit(v2.statement, v2.signature))).toBe('bad_keytrans_update');
    const frank1 = chat.sign(statementFor(chat, 'frank', 1, [identityKey()], t.clock.now));
    await t.dir.submit(frank1.statement, frank1.signature); // unsigned: frank is not in KEYTRANS
    const frank2 = chat.sign(statementFor(chat, 'frank', 2, [identityKey()], t.clock.now));
    expect(
      await code(t.dir.submit(frank2.statement, frank2.signature, undefined, kt('frank', 2, frank2.statement))),
    ).toBe('bad_keytrans_update');
    expect(await code(t.dir.submit(v2.statement, v2.signature, undefined, kt('erin', 2, v2.statement)))).toBe(
      'accepted',
    );
    await tick();
    expect((await search(null, 'erin', null)).version).toBe(1);
  });

  it('skips an update whose signature does not fit, without failing the epoch of any provider', async () => {
    const s = chat.sign(statementFor(chat, 'gina', 1, [identityKey()], t.clock.now));
    const bad = { providerId: PROVIDER, account: 'gina', version: 1, statement: s.statement, deleted: false };
    const prepared = await t.keytrans!.prepareEpoch(
      [{ ...bad, signature: new Uint8Array(64) }],
      t.dir.credentials,
      t.clock.now,
    );
    expect(prepared.heads.length).toBeGreaterThan(0); // prepared, not thrown; nothing written (no commit here)
    const unknown = chat.sign(statementFor({ ...chat, id: 'nobody.example' }, 'x', 1, [identityKey()], t.clock.now));
    await expect(
      t.keytrans!.checkUpdate(
        { ...bad, providerId: 'nobody.example', statement: unknown.statement, signature: new Uint8Array(64) },
        null,
      ),
    ).rejects.toThrow(expect.objectContaining({ code: 'bad_keytrans_update' }));
  });
});
