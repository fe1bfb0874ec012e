/**
 * The directory's indexes replicated to D1 (api/worker/d1-replica.ts) and the Worker's lookups from them
 * (api/worker/replica-lookup.ts), inside workerd with miniflare's D1: lookups served from D1 are byte for byte the
 * Durable Object's own answers (absences with the provider's enrolment too); a provider D1 has no enrolment of is
 * forwarded, and the object proves it not enrolled; while D1 lags, the Worker falls back and still answers the latest epoch;
 * a replication cut short at any batch leaves D1 at a whole epoch and the next run completes it; an epoch
 * applied but not yet removed from the outbox is not applied twice; a D1 that missed epochs is backfilled;
 * the lookup limit applies on the D1 path too, once per lookup even when the lookup is forwarded, an absent name
 * weighed, clients keyed by IPv4 address or IPv6 /64 from cf-connecting-ip, and a client cannot claim its lookup
 * was already counted; /metrics counts what the Worker answers itself.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../../wasm-free-crypto/bytes.js';
import { DoDirectoryStore } from '../../../api/worker/do-directory-store.js';
import {
  replicateOutbox,
  replicaAccountByName,
  replicatedEpoch,
  type IndexDatabase,
  type IndexStatement,
} from '../../../api/worker/d1-replica.js';
import { replicaLookup, type Forward, type ReplicaLookupOptions } from '../../../api/worker/replica-lookup.js';
import type { SequencerState } from '../../../api/worker/sequencer-state.js';
import type { TokenBuckets } from '../../../api/app/middleware.js';
import type { Directory } from '../../../log/directory/directory.js';
import { makeLeaf, type PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { get, operator, post, sequencer, settle, testRoot } from './helpers.js';

const PROVIDER = 'd1.example';
const db = () => env.INDEX!;

function replicaOptions(): ReplicaLookupOptions {
  const s = sequencer();
  return {
    db: db(),
    vrfSecretKey: fromHex(env.VRF_SECRET_KEY!),
    prove: (label, credentialIndex, client) => s.proveForLookup(label, credentialIndex, client),
    admit: (client) => s.admitLookup(client),
    ipv6PrefixBits: 64,
  };
}

let clients = 0;
/** A new client's IPv4 address (the rate limits key clients by address: api/app/rate-limit-keys.ts). */
const newClient = () => `10.2.${(clients >> 8) & 255}.${clients++ & 255}`;

/** The present lookups `client` may still make (each charged one token by the object's RPC), counted to empty. */
async function presentLookupsLeft(client: string): Promise<number> {
  let left = 0;
  while (!('retryAfter' in (await sequencer().proveForLookup(new Uint8Array(32), null, client)))) left++;
  return left;
}

const lookupRequest = (account: string, client = '192.0.2.1') =>
  new Request(`https://kt.example/v1/lookup/${PROVIDER}/${encodeURIComponent(account)}`, {
    headers: { 'cf-connecting-ip': client },
  });
/** The Response the D1 path answered (failing the test if it forwarded instead). */
async function answered(p: Promise<Response | Forward>): Promise<Response> {
  const r = await p;
  if (!(r instanceof Response)) throw new Error(`the D1 path forwarded (${JSON.stringify(r)})`);
  return r;
}

const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());

/** The Durable Object's own answer (its app, bypassing the Worker's D1 path). */
const objectAnswer = (account: string) => sequencer().fetch(lookupRequest(account, '192.0.2.2'));

/** Runs `fn` in the sequencer with its open directory and storage. */
function inSequencer<R>(
  fn: (
    open: SequencerState & { directory: Directory; lookupLimit: TokenBuckets },
    storage: DurableObjectStorage,
  ) => Promise<R>,
): Promise<R> {
  return runInDurableObject(sequencer(), (instance, state) => {
    const open = (instance as unknown as { state: SequencerState }).state;
    if (!open.directory || !open.lookupLimit) throw new Error('the sequencer has no directory');
    return fn({ ...open, directory: open.directory, lookupLimit: open.lookupLimit }, state.storage);
  });
}

/** Publishes without waiting and closes the epoch directly, without the alarm (so D1 is not updated). */
async function publishUnreplicated(leaf: PkiCert, account: string, version: number): Promise<void> {
  const res = await post('/v1/bindings', {
    statements: [
      signStatement(
        'ed25519',
        leaf.secretKey,
        statementOf(PROVIDER, account, version, Date.now(), `${account} ${version}`),
      ),
    ],
  });
  expect(res.status).toBe(202);
  await inSequencer(async (open) => void (await open.directory.closeEpoch(false)));
}

const publishWait = (leaf: PkiCert, account: string, version: number) =>
  settle(
    post('/v1/bindings?wait=1', {
      statements: [
        signStatement(
          'ed25519',
          leaf.secretKey,
          statementOf(PROVIDER, account, version, Date.now(), `${account} ${version}`),
        ),
      ],
    }),
  );

/** D1 wrapped so that its `failAt`-th batch (from 1) fails. */
function failingDb(inner: IndexDatabase, failAt: number): IndexDatabase {
  let batches = 0;
  return {
    prepare: (q: string): IndexStatement => inner.prepare(q),
    batch: (statements) =>
      ++batches === failAt ? Promise.reject(new Error('injected: the D1 batch failed')) : inner.batch(statements),
  };
}

/** Runs `fn` with the object's lookup-limit clock stopped, so that no token is refilled while it counts them. */
async function withStoppedClock<R>(fn: () => Promise<R>): Promise<R> {
  await inSequencer(async (open) => {
    const at = Date.now();
    open.lookupLimit.opts.now = () => at;
  });
  try {
    return await fn();
  } finally {
    await inSequencer(async (open) => void delete open.lookupLimit.opts.now);
  }
}

const outboxEpochs = (storage: DurableObjectStorage) =>
  storage.sql
    .exec<{ epoch: number }>('SELECT epoch FROM dir_outbox ORDER BY epoch')
    .toArray()
    .map((r) => r.epoch);

describe('the directory replicated to D1', () => {
  let leaf: PkiCert;

  it("serves lookups from D1 with the object's bytes, and falls back while D1 lags", async () => {
    leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    expect((await publishWait(leaf, 'bob@d1.example', 1)).status).toBe(200);
    const epoch = await inSequencer(async (open) => open.directory.epoch);
    expect(await replicatedEpoch(db())).toBe(epoch);

    for (const account of ['bob@d1.example', 'nobody@d1.example']) {
      const fromD1 = await answered(replicaLookup(replicaOptions(), lookupRequest(account)));
      expect([fromD1.status, fromD1.headers.get('Content-Type')]).toEqual([200, 'application/json']);
      expect(await bytesOf(fromD1), account).toEqual(await bytesOf(await objectAnswer(account)));
    }
    // A provider D1 has no enrolment of: forwarded before any token is taken; the object proves it not enrolled.
    const typo = new Request('https://kt.example/v1/lookup/d1.exmaple/bob%40d1.example');
    expect(await replicaLookup(replicaOptions(), typo)).toEqual({ forward: true, admitted: false });
    const viaWorker = await get('/v1/lookup/d1.exmaple/bob%40d1.example');
    expect(await bytesOf(viaWorker)).toEqual(await bytesOf(await sequencer().fetch(typo)));
    expect(JSON.parse(new TextDecoder().decode(await bytesOf(await sequencer().fetch(typo))))).toMatchObject({
      format: 1,
      notEnrolled: { credentials: [expect.any(String)] },
    });
    // D1's rows are the object's.
    const [inObject, inD1] = [
      await inSequencer((_o, storage) => new DoDirectoryStore(storage).accountByName(PROVIDER, 'bob@d1.example')),
      await replicaAccountByName(db(), PROVIDER, 'bob@d1.example'),
    ];
    expect(inD1).toEqual(inObject);

    // An epoch not yet replicated: D1's rows are behind the map, so the Worker answers through the object.
    await publishUnreplicated(leaf, 'bob@d1.example', 2);
    // The token is taken before D1's rows are compared with the map: the forward says so.
    expect(await replicaLookup(replicaOptions(), lookupRequest('bob@d1.example'))).toEqual({
      forward: true,
      admitted: true,
    });
    const lagging = (await (await get(`/v1/lookup/${PROVIDER}/bob%40d1.example`)).json()) as {
      present: { version: number };
    };
    expect(lagging.present.version).toBe(2);
    await runDurableObjectAlarm(sequencer());
    const caughtUp = await answered(replicaLookup(replicaOptions(), lookupRequest('bob@d1.example')));
    expect(await bytesOf(caughtUp)).toEqual(await bytesOf(await objectAnswer('bob@d1.example')));
  });

  it('leaves D1 at a whole epoch when a replication is cut short, and never applies an epoch twice', async () => {
    await publishUnreplicated(leaf, 'carol@d1.example', 1);
    await publishUnreplicated(leaf, 'carol@d1.example', 2);
    const [first, second] = await inSequencer(async (_o, storage) => outboxEpochs(storage));
    expect(second).toBe(first + 1);
    const before = await replicatedEpoch(db());
    // Batch 1 creates the schema, batch 2 applies the first epoch, batch 3 the second.
    for (const [failAt, expected] of [
      [1, before],
      [2, before],
      [3, first],
    ]) {
      await expect(inSequencer((_o, storage) => replicateOutbox(storage, failingDb(db(), failAt)))).rejects.toThrow(
        'injected',
      );
      expect(await replicatedEpoch(db()), `cut at batch ${failAt}`).toBe(expected);
      const row = await db().prepare('SELECT epoch FROM dir_epoch WHERE id = 1').first<{ epoch: number }>();
      expect(row?.epoch, 'the epoch row lands with the marker').toBe(expected);
      expect(await inSequencer(async (_o, storage) => outboxEpochs(storage))).toEqual(
        expected === first ? [second] : [first, second],
      );
    }
    expect(await inSequencer((_o, storage) => replicateOutbox(storage, db()))).toMatchObject({
      applied: 1,
      upTo: second,
    });
    // A crash after D1's batch but before the outbox row was deleted: the row is only deleted next time.
    const writes = await inSequencer(async (o, storage) => {
      const w = o.directory.epoch; // the last epoch, already in D1
      storage.sql.exec(
        'INSERT INTO dir_outbox (epoch, writes) VALUES (?, ?)',
        w,
        '{"names":[],"accounts":[],"versions":[{"label":{"$b":"AA=="}}],"credentials":[],"revocations":[],"erasures":[],"epoch":null}',
      );
      return w;
    });
    expect(await inSequencer((_o, storage) => replicateOutbox(storage, db()))).toMatchObject({
      applied: 0,
      upTo: writes,
    });
    expect(await inSequencer(async (_o, storage) => outboxEpochs(storage))).toEqual([]);
    const carol = await answered(replicaLookup(replicaOptions(), lookupRequest('carol@d1.example')));
    expect(await bytesOf(carol)).toEqual(await bytesOf(await objectAnswer('carol@d1.example')));
  });

  it("backfills a D1 that missed epochs, from the object's rows", async () => {
    await db().batch([
      db().prepare('DELETE FROM dir_replica'),
      db().prepare('DELETE FROM dir_versions'),
      db().prepare('DELETE FROM dir_names'),
    ]);
    expect(await replicaLookup(replicaOptions(), lookupRequest('bob@d1.example'))).toEqual({
      forward: true,
      admitted: true,
    }); // D1 lost the name
    const result = await inSequencer((_o, storage) => replicateOutbox(storage, db()));
    expect(result.backfilled).toBe(true);
    expect(result.upTo).toBe(await inSequencer(async (o) => o.directory.epoch));
    for (const account of ['bob@d1.example', 'carol@d1.example', 'nobody@d1.example']) {
      const res = await answered(replicaLookup(replicaOptions(), lookupRequest(account)));
      expect(await bytesOf(res), account).toEqual(await bytesOf(await objectAnswer(account)));
    }
    // A D1 ahead of the Durable Object (whose storage was reset) is backfilled too.
    await db().prepare('UPDATE dir_replica SET epoch = 1000000 WHERE id = 1').run();
    const again = await inSequencer((_o, storage) => replicateOutbox(storage, db()));
    expect(again).toMatchObject({ backfilled: true, upTo: result.upTo });
  });

  it('applies the lookup limit on the D1 path, for known and unknown names', () =>
    withStoppedClock(async () => {
      const client = newClient();
      let taken = 0;
      while ((await sequencer().admitLookup(client)) === 0) taken++;
      expect(taken).toBe(10); // LOOKUP_BURST's default, 60, in absent lookups of ABSENT_LOOKUP_COST's, 6
      for (const account of ['bob@d1.example', 'nobody@d1.example']) {
        const res = await answered(replicaLookup(replicaOptions(), lookupRequest(account, client)));
        expect(res.status, account).toBe(429);
        expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(0);
        expect(await res.json()).toMatchObject({ error: { code: 'rate_limited' } });
      }
    }));

  it('charges a lookup forwarded while D1 lags once, and no request can claim it was charged', async () => {
    await publishUnreplicated(leaf, 'dave@d1.example', 1); // D1 does not know dave yet; the map does
    await withStoppedClock(async () => {
      const client = newClient();
      const res = await get(`/v1/lookup/${PROVIDER}/dave%40d1.example`, { headers: { 'cf-connecting-ip': client } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { present: { version: number } }).present.version).toBe(1);
      // D1 does not know dave: the D1 path charged an absent lookup (it computed the VRF proof), once.
      expect(await presentLookupsLeft(client), 'charged once, by the D1 path only').toBe(54);
      // The bucket is empty now: what the object answers itself stays limited, whatever the request carries.
      const claims = { 'cf-connecting-ip': client, 'kt-lookup-admitted': '1', ktLookupAdmitted: 'true' };
      for (const path of [
        `/v1/history/${PROVIDER}/bob%40d1.example`,
        `/v1/monitor/${PROVIDER}/bob%40d1.example?version=1`,
      ]) {
        expect((await get(path, { headers: claims })).status, path).toBe(429);
      }
      const nobody = await get(`/v1/lookup/${PROVIDER}/nobody%40d1.example`, { headers: claims });
      expect(nobody.status, 'an unknown name, refused by the D1 path').toBe(429);
    });
    await runDurableObjectAlarm(sequencer()); // D1 catches up for the tests that follow
  });

  it('weighs an absent name on the D1 path, and counts each lookup of a batch', () =>
    withStoppedClock(async () => {
      const lookup = (account: string, client: string) =>
        get(`/v1/lookup/${PROVIDER}/${encodeURIComponent(account)}`, { headers: { 'cf-connecting-ip': client } });
      const present = newClient();
      expect((await lookup('bob@d1.example', present)).status).toBe(200);
      expect(await presentLookupsLeft(present)).toBe(59);
      const absent = newClient();
      expect((await lookup('nobody-weighed@d1.example', absent)).status).toBe(200);
      expect(await presentLookupsLeft(absent), 'an absent name costs ABSENT_LOOKUP_COST').toBe(54);
      // A batch through the object: each item counted, the absent one weighed.
      const batcher = newClient();
      const items = ['bob@d1.example', 'carol@d1.example', 'nobody-batched@d1.example'].map((account) => ({
        provider: PROVIDER,
        account,
      }));
      const batch = await post('/v1/lookup', { lookups: items }, { 'cf-connecting-ip': batcher });
      expect(batch.status).toBe(200);
      expect(await presentLookupsLeft(batcher)).toBe(60 - 2 - 6);
    }));

  it('keys IPv6 clients by their /64 from cf-connecting-ip, and IPv4-mapped ones as IPv4', () =>
    withStoppedClock(async () => {
      const lookup = (client: string) =>
        get(`/v1/lookup/${PROVIDER}/bob%40d1.example`, { headers: { 'cf-connecting-ip': client } });
      expect((await lookup('2001:db8:77:1::1')).status).toBe(200);
      expect((await lookup('2001:db8:77:1:ffff::2')).status).toBe(200);
      expect(await presentLookupsLeft('2001:db8:77:1:0:0:0:0/64'), 'one bucket for the /64').toBe(58);
      expect((await lookup('::ffff:10.3.0.1')).status).toBe(200);
      expect(await presentLookupsLeft('10.3.0.1')).toBe(59);
      // The bucket is empty: every address of the /64 is refused, on the D1 path and by the object.
      const refused = await lookup('2001:db8:77:1::abcd');
      expect(refused.status).toBe(429);
      const batch = await post(
        '/v1/lookup',
        { lookups: [{ provider: PROVIDER, account: 'bob@d1.example' }] },
        { 'cf-connecting-ip': '2001:db8:77:1::3' },
      );
      expect(batch.status).toBe(429);
    }));

  it("says whether the client's token was taken when the D1 path fails", async () => {
    const failing: ReplicaLookupOptions = {
      ...replicaOptions(),
      prove: () => Promise.reject(new Error('injected: the RPC failed')),
    };
    // An unknown name: admit() took the token before the VRF proof, then the proof's RPC failed.
    const unknown = await replicaLookup(failing, lookupRequest('nobody-else@d1.example', `failing-${Date.now()}`));
    expect(unknown).toMatchObject({ forward: true, admitted: true });
    expect((unknown as Forward).failure).toBeInstanceOf(Error);
    // A known name: the RPC that takes the token failed, so no token is counted as taken.
    expect(await replicaLookup(failing, lookupRequest('bob@d1.example'))).toMatchObject({
      forward: true,
      admitted: false,
    });
  });

  it('counts in /metrics the lookups and checkpoints the Worker answers itself from D1 and R2', async () => {
    const count = (text: string, route: string) =>
      Number(
        new RegExp(`^kt_requests_total\\{method="GET",route="${route}",status="200"\\} (\\d+)$`, 'm').exec(text)?.[1] ??
          0,
      );
    const before = await (await get('/metrics')).text();
    const fromD1 = await answered(replicaLookup(replicaOptions(), lookupRequest('bob@d1.example')));
    expect(fromD1.status, 'D1 answers bob').toBe(200);
    for (let i = 0; i < 3; i++) expect((await get(`/v1/lookup/${PROVIDER}/bob%40d1.example`)).status).toBe(200);
    expect((await get('/log/checkpoint')).status).toBe(200);
    const inObject = await inSequencer(
      async (open) =>
        open.requests.rows().find((r) => r.route === '/v1/lookup/:provider/:account' && r.status === 200)?.count ?? 0,
    );
    const after = await (await get('/metrics')).text();
    expect(count(after, '/v1/lookup/:provider/:account') - count(before, '/v1/lookup/:provider/:account')).toBe(3);
    expect(count(after, '/log/checkpoint') - count(before, '/log/checkpoint')).toBe(1);
    expect(inObject, 'the object itself answered none of them').toBe(count(before, '/v1/lookup/:provider/:account'));
    expect(after).toMatch(
      /^kt_request_duration_seconds_count\{method="GET",route="\/v1\/lookup\/:provider\/:account",status="200"\} \d+$/m,
    );
  });
});
