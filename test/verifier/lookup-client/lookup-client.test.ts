/**
 * The lookup client (verifier/lookup-client/lookup-client.ts) against the real app (fetch = app.request): verified
 * lookups and histories that keep the newest checkpoint, consistency proofs from tiles when the tree
 * grows, a rollback and a fork refused with the two checkpoints as evidence, a witness policy enforced,
 * and server refusals and network failures reported as client errors, not as verification failures.
 */
import { describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { cosigner, parseCosignerKey } from '../../../wasm-free-crypto/cosignature.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { utf8 } from '../../../wasm-free-crypto/bytes.js';
import { ClientError, VerifyError } from '../../../verifier/verification/errors.js';
import { LookupClient, type CheckpointEvidence } from '../../../verifier/lookup-client/lookup-client.js';
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

const BASE = 'http://kt.test';

function client(app: Hono, t: TestDirectory, extra: Partial<ConstructorParameters<typeof LookupClient>[0]> = {}) {
  const urls: string[] = [];
  const fetch = async (url: string, init?: RequestInit) => (urls.push(url), app.request(url, init));
  const c = new LookupClient({
    baseUrl: BASE,
    pins: { origin: ORIGIN, logKey: parseVerifierKey(logSignerForTests.verifierKey), vrfKey: t.dir.vrfPublicKey },
    fetch,
    ...extra,
  });
  return { c, urls };
}

async function rotate(t: TestDirectory, p: TestProvider, account: string, version: number) {
  await publish(t, p.sign(statementFor(p, account, version, [identityKey()], t.clock.now)));
}

const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return [(e as Error).constructor.name, (e as VerifyError).code];
  }
  return undefined;
};

describe('the lookup client', () => {
  it('verifies lookups and histories, and proves each newer tree consistent with the one it kept', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await rotate(t, chat, 'ann@chat.example', 1);
    const { c, urls } = client(appOver(t), t);
    expect((await c.lookup('chat.example', 'ann@chat.example')).status).toBe('present');
    const first = c.state.checkpoint!;
    expect(urls.some((u) => u.includes('/log/tile/'))).toBe(false); // nothing to prove yet
    for (let v = 2; v <= 4; v++) await rotate(t, chat, 'ann@chat.example', v);
    const h = await c.history('chat.example', 'ann@chat.example');
    expect(h.statements.map((s) => s?.version)).toEqual([1, 2, 3, 4]);
    expect(c.state.checkpoint).not.toBe(first);
    expect(urls.some((u) => u.startsWith(`${BASE}/log/tile/0/`))).toBe(true);
    expect((await c.lookup('chat.example', 'nobody@chat.example')).status).toBe('absent');
    expect((await c.lookup('talk.example', 'ann@chat.example')).status).toBe('not_enrolled');
  });

  it('refuses a rollback to an older tree and a fork, reporting both checkpoints', async () => {
    const root = await makeRoot();
    const vrfSecretKey = sha256(utf8('shared vrf key'));
    const honest = await openTestDirectory({ root, vrfSecretKey });
    const chat = await enrolProvider(honest, 'chat.example');
    await rotate(honest, chat, 'bo@chat.example', 1);
    const app = appOver(honest);
    const old = await (await app.request('/v1/lookup/chat.example/bo@chat.example')).text();
    await rotate(honest, chat, 'bo@chat.example', 2);

    // A server that answers the second lookup with the older response (a rollback).
    const evidence: CheckpointEvidence[] = [];
    let calls = 0;
    const rollback = {
      request: async (url: string, init?: RequestInit) =>
        url.includes('/v1/lookup/') && calls++ > 0 ? new Response(old) : app.request(url, init),
    } as unknown as Hono;
    const { c } = client(rollback, honest, { onEvidence: (e) => evidence.push(e) });
    await c.lookup('chat.example', 'bo@chat.example');
    expect(await failure(c.lookup('chat.example', 'bo@chat.example'))).toEqual(['VerifyError', 'rollback']);
    expect(evidence.map((e) => e.kind)).toEqual(['rollback']);

    // Another directory with the same keys and a different history (a split view), one epoch longer.
    const forked = await openTestDirectory({ root, vrfSecretKey });
    const chat2 = await enrolProvider(forked, 'chat.example');
    await rotate(forked, chat2, 'eve@chat.example', 1);
    await rotate(forked, chat2, 'eve@chat.example', 2);
    await rotate(forked, chat2, 'eve@chat.example', 3);
    const { c: split } = client(appOver(forked), forked, {
      state: { checkpoint: c.state.checkpoint },
      onEvidence: (e) => evidence.push(e),
    });
    expect(await failure(split.lookup('chat.example', 'bo@chat.example'))).toEqual([
      'VerifyError',
      'inconsistent_checkpoint',
    ]);
    expect(evidence.at(-1)).toMatchObject({ kind: 'fork', accepted: c.state.checkpoint });
    expect(split.state.checkpoint).toBe(c.state.checkpoint); // the fork was not kept
  });

  it("takes a lagging replica's answer within the client's own bound, and refuses an older one", async () => {
    const root = await makeRoot();
    const vrfSecretKey = sha256(utf8('shared vrf key'));
    const t = await openTestDirectory({ root, vrfSecretKey });
    // A replica that lags: it answers from the older epoch, while the client already kept the newer one.
    const { app, request, lag, laggedAt } = await laggingReplica(
      t,
      await enrolProvider(t, 'chat.example'),
      'lu@chat.example',
    );
    const both = { request } as unknown as Hono;
    let now = laggedAt + 30_000;
    const evidence: CheckpointEvidence[] = [];
    const { c } = client(both, t, { maxLagSeconds: 60, now: () => now, onEvidence: (e) => evidence.push(e) });
    expect((await c.lookup('chat.example', 'lu@chat.example')).statement?.version).toBe(2);
    const newest = c.state.checkpoint;
    lag.on = true;
    const older = await c.lookup('chat.example', 'lu@chat.example'); // 30 s old: within the bound
    expect(older.statement?.version).toBe(1);
    expect(c.state.checkpoint).toBe(newest); // the newest checkpoint stays kept
    now = laggedAt + 61_000;
    expect(await failure(c.lookup('chat.example', 'lu@chat.example'))).toEqual(['ClientError', 'stale_answer']);
    expect(evidence).toEqual([]); // neither is evidence of misbehaviour
    // Without a bound of its own, the client calls the same answer a rollback.
    const { c: strict } = client(both, t, { state: { checkpoint: newest } });
    expect(await failure(strict.lookup('chat.example', 'lu@chat.example'))).toEqual(['VerifyError', 'rollback']);
    // A smaller tree that the kept one does not extend is a fork, whatever the bound.
    const forked = await openTestDirectory({ root, vrfSecretKey });
    const chat2 = await enrolProvider(forked, 'chat.example');
    await rotate(forked, chat2, 'lu@chat.example', 1);
    const other = await (await appOver(forked).request('/v1/lookup/chat.example/lu@chat.example')).text();
    const forkedBoth = {
      request: async (url: string, init?: RequestInit) =>
        url.includes('/v1/lookup/') ? new Response(other) : app.request(url, init),
    } as unknown as Hono;
    now = forked.clock.now;
    const { c: split } = client(forkedBoth, t, {
      state: { checkpoint: newest },
      maxLagSeconds: 60,
      now: () => now,
      onEvidence: (e) => evidence.push(e),
    });
    expect(await failure(split.lookup('chat.example', 'lu@chat.example'))).toEqual([
      'VerifyError',
      'inconsistent_checkpoint',
    ]);
    expect(evidence.map((e) => e.kind)).toEqual(['fork']);
  });

  it("reports tiles that do not match the log's own tree as bad tiles, not as a fork", async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await rotate(t, chat, 'fi@chat.example', 1);
    const app = appOver(t);
    const evidence: CheckpointEvidence[] = [];
    const { c } = client(app, t, { onEvidence: (e) => evidence.push(e) });
    await c.lookup('chat.example', 'fi@chat.example');
    await rotate(t, chat, 'fi@chat.example', 2);
    const corrupt = {
      request: async (url: string, init?: RequestInit) => {
        const res = await app.request(url, init);
        if (!url.includes('/log/tile/')) return res;
        const b = new Uint8Array(await res.arrayBuffer());
        b[b.length - 1] ^= 1;
        return new Response(b);
      },
    } as unknown as Hono;
    const { c: c2 } = client(corrupt, t, { state: c.state, onEvidence: (e) => evidence.push(e) });
    expect(await failure(c2.lookup('chat.example', 'fi@chat.example'))).toEqual(['VerifyError', 'bad_tile']);
    expect(evidence).toEqual([]);
  });

  it('keeps the largest checkpoint when lookups run at once', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await rotate(t, chat, 'ra@chat.example', 1);
    const app = appOver(t);
    const { c } = client(app, t);
    await c.lookup('chat.example', 'ra@chat.example');
    await rotate(t, chat, 'ra@chat.example', 2);
    const older = await (await app.request('/v1/lookup/chat.example/ra@chat.example')).text();
    await rotate(t, chat, 'ra@chat.example', 3);
    const newer = await (await app.request('/v1/lookup/chat.example/ra@chat.example')).text();
    let n = 0;
    const slow = {
      request: async (url: string, init?: RequestInit) => {
        if (url.includes('/v1/lookup/')) return new Response(n++ === 0 ? newer : older);
        await new Promise((r) => setTimeout(r, 20)); // tiles arrive slowly: both answers are being checked at once
        return app.request(url, init);
      },
    } as unknown as Hono;
    const { c: racing } = client(slow, t, { state: { ...c.state } });
    const results = await Promise.allSettled([
      racing.lookup('chat.example', 'ra@chat.example'),
      racing.lookup('chat.example', 'ra@chat.example'),
    ]);
    expect(racing.state.checkpoint).toBe(JSON.parse(newer).epoch.checkpoint);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']); // the older answer, after the newer one, is a rollback
  });

  it('enforces the witness policy on the checkpoints of proofs', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await rotate(t, chat, 'cy@chat.example', 1);
    const w = cosigner('witness.example/w1', sha256(utf8('w1')));
    const { c } = client(appOver(t), t);
    const policed = new LookupClient({
      ...c.opts,
      pins: { ...c.opts.pins, policy: { witnesses: [parseCosignerKey(w.verifierKey)], quorum: 1 } },
    });
    expect(await failure(policed.lookup('chat.example', 'cy@chat.example'))).toEqual(['VerifyError', 'witness_quorum']);
  });

  it('reports refusals and network failures as client errors', async () => {
    const t = await openTestDirectory();
    const { c } = client(appOver(t, { capacity: 1 }), t);
    await c.lookup('chat.example', 'dee@chat.example');
    expect(await failure(c.lookup('chat.example', 'dee@chat.example'))).toEqual(['ClientError', 'rate_limited']);
    const { c: bad } = client(appOver(t), t);
    expect(await failure(bad.lookup('chat.example', 'nul\u0000here'))).toEqual(['ClientError', expect.any(String)]);
    const down = new LookupClient({ ...c.opts, fetch: () => Promise.reject(new Error('ECONNREFUSED')) });
    expect(await failure(down.lookup('chat.example', 'dee@chat.example'))).toEqual(['ClientError', 'network']);
    expect(new ClientError('network', 'y')).not.toBeInstanceOf(VerifyError);
  });
});
