/**
 * The client library's entry (verifier/client/client.ts) against the real app (fetch = app.request): pins
 * checked strictly; lookups, histories and the owner's daily check verified; the newest checkpoint loaded
 * from its store before the first request and saved after each answer; a store of another log, or of no
 * kt state, refused; a store another client advanced meanwhile merged, never overwritten by an older tree
 * (two tabs, or a script and `kt`, sharing one store); a fork between the two views caught; a failed read
 * of the store tried again.
 */
import { describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { toBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { createClient, type ClientOptions } from '../../../verifier/client/client.js';
import { memoryStore, type CheckpointStore } from '../../../verifier/client/checkpoint-store.js';
import { dailyCheck } from '../../../verifier/client/daily-check.js';
import { MONITOR_START } from '../../../verifier/owner-monitor/owner-monitor.js';
import type { CheckpointEvidence } from '../../../verifier/lookup-client/lookup-client.js';
import {
  appOver,
  enrolProvider,
  identityKey,
  laggingReplica,
  logSignerForTests,
  openTestDirectory,
  publish,
  statementFor,
  type TestDirectory,
  type TestProvider,
} from '../../helpers/directory.js';
import { makeRoot } from '../../helpers/pki.js';
import { ORIGIN } from '../../helpers/log.js';

const pinsOf = (t: TestDirectory) => ({
  server: 'http://kt.test',
  origin: ORIGIN,
  logKey: logSignerForTests.verifierKey,
  vrfKey: toBase64(t.dir.vrfPublicKey),
});

function clientOver(app: Hono, t: TestDirectory, extra: Partial<ClientOptions> = {}) {
  return createClient({ pins: pinsOf(t), fetch: async (url, init) => app.request(url, init), ...extra });
}

async function rotate(t: TestDirectory, p: TestProvider, account: string, version: number) {
  await publish(t, p.sign(statementFor(p, account, version, [identityKey()], t.clock.now)));
}

const kept = async (store: CheckpointStore) => JSON.parse((await store.load())!);

const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return [(e as Error).name, (e as { code: string }).code];
  }
  return undefined;
};

describe('createClient', () => {
  it('refuses pins that are not exactly the pins, and a server that is not an http(s) URL', async () => {
    const t = await openTestDirectory();
    const pins = pinsOf(t);
    const bad = (p: unknown) => expect(() => createClient({ pins: p as typeof pins })).toThrow(/pins|server/);
    bad({ ...pins, extra: 1 });
    bad({ ...pins, vrfKey: toBase64(new Uint8Array(31)) });
    bad({ ...pins, logKey: 'not a key' });
    bad({ ...pins, witnessQuorum: 1 });
    bad({ ...pins, server: 'ftp://kt.test' });
    for (const lag of [0, -1, 1.5, '60', null]) bad({ ...pins, maxLagSeconds: lag });
    const { server: _, ...noServer } = pins;
    expect(() => createClient({ pins: noServer })).toThrow(/server/);
  });

  it("takes a lagging replica's answer within the pins' maxLagSeconds, and calls it a rollback without one", async () => {
    const t = await openTestDirectory();
    const {
      request: fetch,
      lag,
      laggedAt,
    } = await laggingReplica(t, await enrolProvider(t, 'chat.example'), 'lu@chat.example');
    const store = memoryStore();
    const now = () => laggedAt + 30_000;
    const pinned = createClient({ pins: { ...pinsOf(t), maxLagSeconds: 60 }, fetch, store, now });
    expect((await pinned.lookup('chat.example', 'lu@chat.example')).statement?.version).toBe(2);
    lag.on = true;
    expect((await pinned.lookup('chat.example', 'lu@chat.example')).statement?.version).toBe(1); // 30 s old
    const tight = createClient({ pins: { ...pinsOf(t), maxLagSeconds: 20 }, fetch, store, now });
    expect(await failure(tight.lookup('chat.example', 'lu@chat.example'))).toEqual(['ClientError', 'stale_answer']);
    // The option overrides the pins; without either, the same answer is a rollback.
    const own = createClient({ pins: { ...pinsOf(t), maxLagSeconds: 20 }, fetch, store, now, maxLagSeconds: 60 });
    expect((await own.lookup('chat.example', 'lu@chat.example')).statement?.version).toBe(1);
    const strict = createClient({ pins: pinsOf(t), fetch, store, now });
    expect(await failure(strict.lookup('chat.example', 'lu@chat.example'))).toEqual(['VerifyError', 'rollback']);
  });

  it('verifies lookups, histories and the daily check, and keeps the checkpoint in its store', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await rotate(t, chat, 'ann@chat.example', 1);
    const store = memoryStore();
    const kt = clientOver(appOver(t), t, { store });
    expect(kt.checkpoint()).toBeUndefined(); // nothing fetched before the first call
    expect((await kt.lookup('chat.example', 'ann@chat.example')).status).toBe('present');
    expect(await kept(store)).toEqual({ origin: ORIGIN, checkpoint: kt.checkpoint() });
    expect((await kt.lookup('chat.example', 'nobody@chat.example')).status).toBe('absent');
    expect((await kt.lookup('talk.example', 'ann@chat.example')).status).toBe('not_enrolled');
    await rotate(t, chat, 'ann@chat.example', 2);
    const h = await kt.history('chat.example', 'ann@chat.example');
    expect(h.statements.map((s) => s?.version)).toEqual([1, 2]);
    const report = await dailyCheck(kt, 'chat.example', 'ann@chat.example', [], MONITOR_START);
    expect(report.alarms.map((a) => a.kind)).toEqual(['unexpected_key', 'unexpected_key']);
    expect((await kept(store)).checkpoint).toBe(kt.checkpoint());

    // A new client over the same store starts from the kept checkpoint, and refuses an older tree.
    const old = kt.checkpoint();
    const restarted = clientOver(appOver(t), t, { store });
    await restarted.lookup('chat.example', 'ann@chat.example');
    expect(restarted.checkpoint()).toBe(old);
  });

  it('refuses, before asking, a malformed provider id or account, which the server refuses too', async () => {
    const t = await openTestDirectory();
    await enrolProvider(t, 'chat.example');
    const asked: string[] = [];
    const app = appOver(t);
    const kt = createClient({ pins: pinsOf(t), fetch: async (url, init) => (asked.push(url), app.request(url, init)) });
    for (const [provider, account] of [
      ['Chat.Example', 'a@chat.example'],
      ['chat.example.', 'a@chat.example'],
      ['x', 'a@chat.example'],
      ['chat.example', 'tel:abc'],
      ['chat.example', ''],
    ]) {
      expect(await failure(kt.lookup(provider, account))).toEqual(['ClientError', 'bad_request']);
      expect(await failure(kt.history(provider, account))).toEqual(['ClientError', 'bad_request']);
      const res = await app.request(`/v1/lookup/${encodeURIComponent(provider)}/${encodeURIComponent(account || ' ')}`);
      expect(res.status).toBe(400);
    }
    expect(asked).toEqual([]);
  });

  it('refuses a store of another log, or one that holds no kt state, and leaves it as it was', async () => {
    const t = await openTestDirectory();
    await enrolProvider(t, 'chat.example');
    // Another log's state, not JSON, a checkpoint that is no note, and JSON that is no kt state at all (an identity
    // key given by mistake, the pins, a list, null), which a client would otherwise have overwritten.
    for (const text of [
      '{"origin":"elsewhere.example/log","checkpoint":"x"}',
      'not json',
      '{"checkpoint":7}',
      '{"secretKey":"c2VjcmV0","publicKey":"cHVibGlj"}',
      '{"server":"https://kt.example","logKey":"k","vrfKey":"v"}',
      '[]',
      'null',
      '5',
    ]) {
      const store = memoryStore(text);
      const kt = clientOver(appOver(t), t, { store });
      expect(await failure(kt.lookup('chat.example', 'a@chat.example'))).toEqual(['PinsError', 'bad_state']);
      expect(await store.load()).toBe(text);
    }
  });

  it('tries a failed read of its store again', async () => {
    const t = await openTestDirectory();
    await enrolProvider(t, 'chat.example');
    const inner = memoryStore();
    let reads = 0;
    const flaky: CheckpointStore = {
      load: async () => {
        if (reads++ === 0) throw new Error('the store is busy');
        return inner.load();
      },
      save: (text) => inner.save(text),
    };
    const kt = clientOver(appOver(t), t, { store: flaky });
    await expect(kt.lookup('chat.example', 'a@chat.example')).rejects.toThrow('busy');
    expect((await kt.lookup('chat.example', 'a@chat.example')).status).toBe('absent');
    expect((await kept(inner)).checkpoint).toBe(kt.checkpoint());
  });

  it('merges a newer checkpoint another client saved meanwhile, never writing an older one over it', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await rotate(t, chat, 'ann@chat.example', 1);
    const app = appOver(t);
    const store = memoryStore();
    let slow = false;
    const old = await (await app.request('/v1/lookup/chat.example/ann@chat.example')).text();
    const late = {
      request: (url: string, init?: RequestInit) =>
        slow && url.includes('/v1/lookup/') ? new Response(old) : app.request(url, init),
    } as unknown as Hono;
    const a = clientOver(late, t, { store });
    await a.lookup('chat.example', 'ann@chat.example');
    await rotate(t, chat, 'ann@chat.example', 2);
    const b = clientOver(app, t, { store });
    await b.lookup('chat.example', 'ann@chat.example'); // b keeps and saves the larger tree
    const newer = b.checkpoint();
    expect(newer).not.toBe(a.checkpoint());
    slow = true; // a's next answer was computed before the rotation
    expect((await a.lookup('chat.example', 'ann@chat.example')).status).toBe('present');
    expect((await kept(store)).checkpoint).toBe(newer);
    expect(a.checkpoint()).toBe(newer); // merged, after a consistency proof from the tiles
  });

  it('reports a fork between its own checkpoint and the one another client kept', async () => {
    const root = await makeRoot();
    const vrfSecretKey = sha256(utf8('shared vrf key'));
    const honest = await openTestDirectory({ root, vrfSecretKey });
    await rotate(honest, await enrolProvider(honest, 'chat.example'), 'bo@chat.example', 1);
    const forked = await openTestDirectory({ root, vrfSecretKey });
    await rotate(forked, await enrolProvider(forked, 'chat.example'), 'eve@chat.example', 1);
    const evidence: CheckpointEvidence[] = [];
    const store = memoryStore();
    const other = clientOver(appOver(forked), forked, { store: memoryStore() });
    await other.lookup('chat.example', 'eve@chat.example');
    const kt = clientOver(appOver(honest), honest, { store, onEvidence: (e) => evidence.push(e) });
    await kt.lookup('chat.example', 'bo@chat.example');
    await store.save(JSON.stringify({ origin: ORIGIN, checkpoint: other.checkpoint() })); // the other view
    expect(await failure(kt.lookup('chat.example', 'bo@chat.example'))).toEqual([
      'VerifyError',
      'inconsistent_checkpoint',
    ]);
    expect(evidence.map((e) => e.kind)).toEqual(['fork']);
  });
});
