/**
 * The directory replicated to D1 in two index shards (api/worker/d1-layout.ts, d1-replica.ts) and the Worker's
 * reads from it (api/worker/isolate-reads.ts, d1-reader.ts), inside workerd with miniflare's D1: lookups, batches,
 * discovery, histories and daily checks answered by the isolate are byte for byte the Durable Object's own answers,
 * and the writer object is sent no request or RPC while they are answered; a present lookup takes three rounds
 * of D1 reads and a discovery reads the head once; rows and map nodes are spread over both
 * shards; while D1 lags, the Worker answers the replica's newest epoch (a verifiable older state), not the object's;
 * a replication cut short at any batch leaves readers at a whole epoch (an account whose shard is ahead of the head
 * is proven at the head's version by the isolate, the object sent nothing) and the next run completes it; a D1 that
 * missed epochs, is ahead of the object, or was written by the release before the stored map is refilled, over
 * as many bounded runs as it takes while epochs close in between (then its map and reads are the object's); an
 * erasure reaches D1 and the erased version is served as its commitment; the map rows of the last KEEP_EPOCHS
 * epochs are kept, each epoch's map still reproducing its head's root, and the rows superseded before them are
 * pruned; a read in another spelling of its path is answered by the isolate too; the lookup limit lives in the limiter
 * objects (a present lookup one token, an absent one ABSENT_LOOKUP_COST, each item of a batch, clients keyed by
 * IPv4 address or IPv6 /64); /metrics counts what the Worker answers itself.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  indexLayout,
  KEEP_EPOCHS,
  labelShard,
  REPLICA_QUERIES,
  type IndexDatabase,
  type IndexLayout,
  type IndexStatement,
} from '../../../api/worker/d1-layout.js';
import { replicateOutbox, replicatedEpoch } from '../../../api/worker/d1-replica.js';
import { limiterOf, type LookupLimiterObject } from '../../../api/worker/lookup-limiter.js';
import { proveDiscovery, proveLookup } from '../../../log/directory/proof-builder.js';
import { makeLeaf, type PkiCert } from '../../helpers/pki.js';
import { toHex as hex } from '../../../wasm-free-crypto/bytes.js';
import { signStatement, statementOf } from './directory-script.js';
import {
  d1Reader,
  get,
  inSequencer,
  invocations,
  operator,
  post,
  replicatedRowsAt,
  sequencer,
  supersededKeys,
  expectEpochsReadAsHeads,
  settle,
  testRoot,
} from './helpers.js';

const PROVIDER = 'd1.example';
const layout = () => indexLayout(env)!;
const meta = () => layout().meta;

let clients = 0;
/** A new client's IPv4 address (the rate limits key clients by address: api/app/rate-limit-keys.ts). */
const newClient = () => `10.2.${(clients >> 8) & 255}.${clients++ & 255}`;

const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());
const withClient = (client: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), 'cf-connecting-ip': client },
});

/** The Durable Object's own answer to `path` (its app, bypassing the Worker's isolate). */
const objectAnswer = (path: string, init?: RequestInit) =>
  sequencer().fetch(new Request(`https://kt.example${path}`, withClient(newClient(), init)));

const signed = (leaf: PkiCert, account: string, version: number, seed: string | null = `${account} ${version}`) =>
  signStatement('ed25519', leaf.secretKey, statementOf(PROVIDER, account, version, Date.now(), seed));

/** Publishes and closes the epoch directly, without the alarm (so D1 is not updated). */
async function publishUnreplicated(
  leaf: PkiCert,
  account: string,
  version: number,
  seed: string | null = `${account} ${version}`,
): Promise<void> {
  expect((await post('/v1/bindings', { statements: [signed(leaf, account, version, seed)] })).status).toBe(202);
  await inSequencer(async (open) => void (await open.directory.closeEpoch(false)));
}

const publishWait = (leaf: PkiCert, statements: ReturnType<typeof signed>[]) =>
  settle(post('/v1/bindings?wait=1', { statements }));

/**
 * `rounds.max`: the longest chain of D1 reads that waited for one another through a layout from
 * `roundCounting` (a read started when reads of round r had finished is of round r + 1).
 */
const rounds = { finished: 0, max: 0 };
function roundCounting(l: IndexLayout): IndexLayout {
  const counted = async <T>(read: () => Promise<T>): Promise<T> => {
    const round = rounds.finished + 1;
    rounds.max = Math.max(rounds.max, round);
    try {
      return await read();
    } finally {
      rounds.finished = Math.max(rounds.finished, round);
    }
  };
  type Counted = IndexStatement & { inner: IndexStatement };
  const statement = (inner: IndexStatement): Counted => ({
    inner,
    bind: (...values) => statement(inner.bind(...values)),
    first: () => counted(() => inner.first()),
    all: () => counted(() => inner.all()),
    run: () => counted(() => inner.run()),
  });
  const database = (db: IndexDatabase): IndexDatabase => ({
    prepare: (q) => statement(db.prepare(q)),
    batch: (statements) => counted(() => db.batch(statements.map((s) => (s as Counted).inner))),
  });
  const shards = l.shards.map(database);
  rounds.finished = 0;
  rounds.max = 0;
  return { meta: shards[0], shards, bits: l.bits };
}

/** The layout with every database's `failAt`-th batch overall (from 1) failing. */
function failingLayout(failAt: number): IndexLayout {
  let batches = 0;
  const wrap = (inner: IndexDatabase): IndexDatabase => ({
    prepare: (q) => inner.prepare(q),
    batch: (statements) =>
      ++batches === failAt ? Promise.reject(new Error('injected: the D1 batch failed')) : inner.batch(statements),
  });
  const l = layout();
  const shards = l.shards.map(wrap);
  return { meta: shards[0], shards, bits: l.bits };
}

const outboxEpochs = (storage: DurableObjectStorage) =>
  storage.sql
    .exec<{ epoch: number }>('SELECT epoch FROM dir_outbox ORDER BY epoch')
    .toArray()
    .map((r) => r.epoch);

const count = async (db: IndexDatabase, table: string) =>
  (await db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;

const ACCOUNTS = Array.from({ length: 12 }, (_, i) => `user${i}@d1.example`);

/** The stage of the refill under way in the object (d1-refill.ts), or "none". */
function refillStage(storage: DurableObjectStorage): string {
  storage.sql.exec(
    'CREATE TABLE IF NOT EXISTS dir_refill (id INTEGER PRIMARY KEY, token TEXT, from_epoch INTEGER, shards INTEGER, stage TEXT, accounts_after INTEGER, map_after BLOB)',
  );
  return storage.sql.exec<{ stage: string }>('SELECT stage FROM dir_refill').toArray()[0]?.stage ?? 'none';
}

/** Every stored map row of the object is, in D1 at `epoch`, the newest row of its key (and D1 has no other key). */
async function expectMapAsObject(epoch: number): Promise<void> {
  const own = await inSequencer(async (_o, storage) =>
    storage.sql
      .exec<{ key: ArrayBuffer; node: ArrayBuffer }>('SELECT key, node FROM dir_map ORDER BY key')
      .toArray()
      .map((r) => [hex(new Uint8Array(r.key)), hex(new Uint8Array(r.node))]),
  );
  const replicated = (await replicatedRowsAt(layout(), epoch)).map((r) => [hex(r.key), hex(r.value)]);
  replicated.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  expect(replicated).toEqual(own);
}

/** The read requests the isolate answers, each with the same request to the object. */
const READS: [string, RequestInit?][] = [
  [`/v1/lookup/${PROVIDER}/user1%40d1.example`],
  [`/v1/lookup/${PROVIDER}/nobody%40d1.example`],
  [`/v1/lookup/d1.exmaple/user1%40d1.example`], // a provider that is not enrolled: the whole credential set
  [`/v1/history/${PROVIDER}/user2%40d1.example?since=0`],
  [`/v1/monitor/${PROVIDER}/user3%40d1.example?version=1`],
  [`/v1/%6cookup/${PROVIDER}/user1%40d1.example`], // another spelling the object's router would take as a lookup
  [`/v1/%68istory/${PROVIDER}/user2%40d1.example?since=0`],
  [
    '/v1/lookup',
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ lookups: [{ provider: PROVIDER, account: 'user4@d1.example' }] }),
    },
  ],
  [
    '/v1/lookup',
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ discover: 'user5@d1.example' }),
    },
  ],
];

/** Every read through the Worker equals the object's own answer, and the object is sent nothing meanwhile. */
async function expectReadsFromD1(): Promise<void> {
  const expected: Uint8Array[] = [];
  for (const [path, init] of READS) expected.push(await bytesOf(await objectAnswer(path, init)));
  await get('/metrics'); // hands the isolate's counts over now, not during the reads
  const before = await invocations();
  const answers = [];
  for (const [path, init] of READS) {
    const res = await get(path, withClient(newClient(), init));
    answers.push([path, res.status, await bytesOf(res)]);
  }
  // HEAD of a GET read (Hono runs the GET route for it) is the isolate's too: it went to the writer, and was
  // charged only the object's own allowance.
  const heads = [];
  for (const [path] of READS.filter(([, init]) => init === undefined)) {
    const res = await get(path, withClient(newClient(), { method: 'HEAD' }));
    heads.push([path, res.status, (await bytesOf(res)).length]);
  }
  expect(await invocations(), 'the writer object was sent nothing').toBe(before);
  expect(answers).toEqual(READS.map(([path], i) => [path, 200, expected[i]]));
  expect(heads).toEqual(READS.filter(([, init]) => init === undefined).map(([path]) => [path, 200, 0]));
}

describe('the directory replicated to D1, read by the Worker', () => {
  let leaf: PkiCert;

  it('answers every read from D1, as the object would, without calling it; rows span both shards', async () => {
    leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    expect(
      (
        await publishWait(
          leaf,
          ACCOUNTS.map((a) => signed(leaf, a, 1)),
        )
      ).status,
    ).toBe(200);
    const epoch = await inSequencer(async (open) => open.directory.epoch);
    for (const db of layout().shards) expect(await replicatedEpoch(db)).toBe(epoch);
    await expectReadsFromD1();
    // Both shards hold accounts and map nodes; the meta database (shard 0) the credentials and epoch heads.
    const [zero, one] = layout().shards;
    for (const db of [zero, one]) {
      expect(await count(db, 'dir_accounts')).toBeGreaterThan(0);
      expect(await count(db, 'dir_map_rows')).toBeGreaterThan(0);
      expect(await count(db, 'dir_name_labels')).toBeGreaterThan(0);
    }
    expect((await count(zero, 'dir_accounts')) + (await count(one, 'dir_accounts'))).toBe(ACCOUNTS.length);
    expect([await count(one, 'dir_credentials'), await count(one, 'dir_heads')]).toEqual([0, 0]);
    expect(await count(zero, 'dir_credentials')).toBeGreaterThan(0);
  });

  it('proves a present lookup in three rounds of D1 reads: the head is read beside the name', async () => {
    const proof = await proveLookup(d1Reader(roundCounting(layout())), PROVIDER, 'user1@d1.example');
    expect(proof.present?.version).toBe(1);
    expect(rounds.max, 'name || head, then the account rows, then the path').toBe(3);
  });

  it('reads the head once for a discovery, however many providers it covers', async () => {
    const second = await makeLeaf(await testRoot(), { dnsNames: ['second.d1.example'] });
    expect((await settle(post('/v1/providers?wait=1', { chain: second.pem }, operator()))).status).toBe(200);
    let headReads = 0;
    const l = layout();
    const meta: IndexDatabase = {
      prepare: (q) => {
        if (q === REPLICA_QUERIES.servedHead) headReads++;
        return l.meta.prepare(q);
      },
      batch: (statements) => l.meta.batch(statements),
    };
    const reader = d1Reader({ ...l, meta, shards: [meta, ...l.shards.slice(1)] });
    const proof = await proveDiscovery(reader, 'user5@d1.example');
    expect(proof.lookups.map((p) => p.provider)).toEqual(expect.arrayContaining([PROVIDER, 'second.d1.example']));
    expect(new Set(proof.lookups.map((p) => p.epoch.headIndex)).size).toBe(1);
    expect(headReads).toBe(1);
  });

  it("answers the replica's newest epoch while D1 lags, then the new one once it is replicated", async () => {
    const before = (await (await get(`/v1/lookup/${PROVIDER}/user1%40d1.example`)).json()) as {
      epoch: { headIndex: number };
    };
    await publishUnreplicated(leaf, 'user1@d1.example', 2);
    const lagging = (await (await get(`/v1/lookup/${PROVIDER}/user1%40d1.example`)).json()) as {
      epoch: { headIndex: number };
      present: { version: number };
    };
    expect([lagging.present.version, lagging.epoch.headIndex]).toEqual([1, before.epoch.headIndex]);
    await runDurableObjectAlarm(sequencer());
    const path = `/v1/lookup/${PROVIDER}/user1%40d1.example`;
    expect(await bytesOf(await get(path))).toEqual(await bytesOf(await objectAnswer(path)));
    await expectReadsFromD1();
  });

  it('leaves readers at a whole epoch when a replication is cut short, and never applies an epoch twice', async () => {
    // Accounts in both shards: one in shard 1 is replicated ahead of the meta database's head when a run is cut
    // after shard 1's batch, its account row then of an epoch the head has not reached.
    const names = ['carol', 'cut1', 'cut2', 'cut3'].map((n) => `${n}@d1.example`);
    const shardOf = async (account: string) =>
      labelShard((await d1Reader(layout()).labelFor(PROVIDER, account)).label, layout().bits);
    expect(await Promise.all(names.map(shardOf))).toEqual(expect.arrayContaining([0, 1]));
    for (const version of [1, 2]) {
      const statements = names.map((n) => signed(leaf, n, version));
      expect((await post('/v1/bindings', { statements })).status).toBe(202);
      await inSequencer(async (open) => void (await open.directory.closeEpoch(false)));
    }
    const [first, second] = await inSequencer(async (_o, storage) => outboxEpochs(storage));
    expect(second).toBe(first + 1);
    const before = await replicatedEpoch(meta());
    // Batches 1 and 2 create the tables (once per database object), batch 3 applies the first epoch to shard
    // 1, batch 4 to the meta database, and so on; a shard that has an epoch is not given it again (so the run
    // cut at batch 5 gave shard 1 the second epoch, batch 4, and not the meta database).
    for (const [failAt, expected] of [
      [3, before],
      [4, before],
      [5, first],
    ]) {
      await expect(inSequencer((_o, storage) => replicateOutbox(storage, failingLayout(failAt)))).rejects.toThrow(
        'injected',
      );
      expect(await replicatedEpoch(meta()), `cut at batch ${failAt}`).toBe(expected);
      await get('/metrics'); // hands the isolate's counts over now, not during the reads
      const invoked = await invocations();
      for (const name of names) {
        const res = await get(`/v1/lookup/${PROVIDER}/${encodeURIComponent(name)}`);
        const answer = (await res.json()) as { present?: { version: number } };
        expect([res.status, answer.present?.version ?? 0], `${name} cut at batch ${failAt}: a whole epoch`).toEqual([
          200,
          expected - before,
        ]);
      }
      expect(await invocations(), `cut at batch ${failAt}: the writer object was sent nothing`).toBe(invoked);
    }
    expect(await inSequencer((_o, storage) => replicateOutbox(storage, layout()))).toMatchObject({
      applied: 1,
      upTo: second,
    });
    expect(await inSequencer(async (_o, storage) => outboxEpochs(storage))).toEqual([]);
    await expectReadsFromD1();
  });

  it('refills a D1 that missed epochs, is ahead of the object, or was written by the previous release', async () => {
    await meta().batch([meta().prepare('DELETE FROM dir_replica'), meta().prepare('DELETE FROM dir_heads')]);
    // No servable epoch in D1 until the refill: the object answers the reads meanwhile, not a 503.
    const meanwhile = `/v1/lookup/${PROVIDER}/user1%40d1.example`;
    expect(await bytesOf(await get(meanwhile))).toEqual(await bytesOf(await objectAnswer(meanwhile)));
    const result = await inSequencer((_o, storage) => replicateOutbox(storage, layout()));
    expect(result.backfilled).toBe(true);
    expect(result.upTo).toBe(await inSequencer(async (o) => o.directory.epoch));
    await expectReadsFromD1();
    // Ahead of the Durable Object (whose storage was reset).
    await meta().prepare('UPDATE dir_replica SET epoch = 1000000 WHERE id = 1').run();
    expect(await inSequencer((_o, storage) => replicateOutbox(storage, layout()))).toMatchObject({
      backfilled: true,
      upTo: result.upTo,
    });
    // The previous release's replica: its tables and marker, no epoch heads or map rows, and an outbox row
    // written without map rows.
    await publishUnreplicated(leaf, 'erin@d1.example', 1);
    for (const db of layout().shards)
      await db.batch(
        ['dir_heads', 'dir_map_rows', 'dir_name_labels', 'dir_layout'].map((t) => db.prepare(`DELETE FROM ${t}`)),
      );
    await inSequencer(async (_o, storage) => {
      const [row] = storage.sql.exec<{ writes: string }>('SELECT writes FROM dir_outbox').toArray();
      const { map: _map, served: _served, ...old } = JSON.parse(row.writes) as Record<string, unknown>;
      storage.sql.exec('UPDATE dir_outbox SET writes = ?', JSON.stringify(old));
    });
    expect(await inSequencer((_o, storage) => replicateOutbox(storage, layout()))).toMatchObject({ backfilled: true });
    await expectReadsFromD1();
  });

  it('erases in D1 what a deletion erases, and serves the erased version as its commitment', async () => {
    expect((await publishWait(leaf, [signed(leaf, 'user6@d1.example', 2, null)])).status).toBe(200);
    const label = await inSequencer(
      async (o) => (await o.directory.store.accountByName(PROVIDER, 'user6@d1.example'))!.account.label,
    );
    const shard = layout().shards[label[0] >> 7];
    const row = await shard
      .prepare(
        'SELECT v.opening, v.statement, v.signature FROM dir_versions v JOIN dir_accounts a ON a.id = v.id WHERE a.label = ? AND v.version = 1',
      )
      .bind(label.slice().buffer)
      .first();
    expect(row).toEqual({ opening: null, statement: null, signature: null });
    const path = `/v1/history/${PROVIDER}/user6%40d1.example?since=0`;
    const expected = await bytesOf(await objectAnswer(path));
    const before = await invocations();
    expect(await bytesOf(await get(path))).toEqual(expected);
    expect(await invocations(), 'the commitment came from R2').toBe(before);
  });

  it('refills over many bounded runs while epochs close in between, and D1 then answers as the object', async () => {
    await meta().prepare('DELETE FROM dir_replica').run(); // D1 went back: it needs a refill
    let begun = 0;
    const replicate = () =>
      inSequencer((_o, storage) =>
        replicateOutbox(storage, layout(), { beforeRefill: () => void begun++ }, { refillRows: 7 }),
      );
    let result = await replicate();
    expect(result).toMatchObject({ refilling: true, more: true, upTo: -1, backfilled: false });
    // Another refill took D1 over meanwhile (its token): this one begins again rather than mix with it.
    await meta().prepare("UPDATE dir_refilling SET token = 'another'").run();
    result = await replicate();
    expect(begun).toBe(2);
    // Epochs close between the runs, while accounts and then map rows are being copied: a new account, a
    // rotation and a deletion of accounts already copied, another new account.
    const between = [
      () => publishUnreplicated(leaf, 'late1@d1.example', 1),
      () => publishUnreplicated(leaf, 'user8@d1.example', 2),
      () => publishUnreplicated(leaf, 'user9@d1.example', 2, null),
      () => publishUnreplicated(leaf, 'late2@d1.example', 1),
    ];
    const stages: string[] = [];
    for (let runs = 0; result.refilling; runs++) {
      expect(runs, 'the refill ends').toBeLessThan(100);
      if (runs % 2 === 0) await between[runs / 2]?.();
      stages.push(await inSequencer(async (_o, storage) => refillStage(storage)));
      result = await replicate();
    }
    expect(stages).toContain('accounts');
    expect(stages).toContain('map');
    expect(begun).toBe(2);
    expect(result).toMatchObject({ backfilled: true, refilling: false });
    expect(result.upTo).toBe(await inSequencer(async (o) => o.directory.epoch));
    expect(await inSequencer(async (_o, storage) => outboxEpochs(storage))).toEqual([]);
    await expectMapAsObject(result.upTo);
    await expectReadsFromD1();
    for (const [path, status] of [
      [`/v1/lookup/${PROVIDER}/late2%40d1.example`, 200],
      [`/v1/history/${PROVIDER}/user9%40d1.example?since=0`, 200],
    ] as const) {
      const expected = await bytesOf(await objectAnswer(path));
      const before = await invocations();
      const res = await get(path, withClient(newClient()));
      expect([res.status, await bytesOf(res)]).toEqual([status, expected]);
      expect(await invocations()).toBe(before);
    }
  });

  it('keeps each map row of the last KEEP_EPOCHS epochs and prunes the rows superseded before them', async () => {
    // An account rotated in 20 more epochs, each replicated: the root row and the account's path change in each.
    for (let v = 1; v <= KEEP_EPOCHS + 4; v++)
      expect((await publishWait(leaf, [signed(leaf, 'pruned@d1.example', v)])).status).toBe(200);
    const epoch = await inSequencer(async (o) => o.directory.epoch);
    expect(await replicatedEpoch(meta())).toBe(epoch);
    const oldest = epoch - KEEP_EPOCHS; // the oldest servable epoch's predecessor: rows at or before it may go
    // At most one row of a key at or before `oldest`: the one a reader of epoch oldest + 1 still reads.
    expect(await supersededKeys(layout(), oldest)).toBe(0);
    // The root row (in the meta database) of every epoch of the window is kept.
    const roots = await meta()
      .prepare('SELECT epoch FROM dir_map_rows WHERE key = ? AND epoch > ? ORDER BY epoch')
      .bind(new ArrayBuffer(0), oldest)
      .all<{ epoch: number }>();
    expect(roots.results.map((r) => r.epoch)).toEqual(Array.from({ length: KEEP_EPOCHS }, (_, i) => oldest + 1 + i));
    const heads = await meta().prepare('SELECT MIN(epoch) AS low FROM dir_heads').first<{ low: number }>();
    expect(heads!.low).toBeGreaterThanOrEqual(oldest);
    // Each epoch of the window still reads as it was: the map its rows make has the root its head signed.
    await expectEpochsReadAsHeads(layout(), oldest + 1, epoch);
    await expectMapAsObject(epoch);
  });
});

/** The limiter object holding `client`'s bucket. */
const limiter = (client: string) => env.LIMITER!.get(env.LIMITER!.idFromName(`lookup-${limiterOf(client, 4)}`));

/** The present lookups `client` may still make (each one token), counted to empty. */
async function presentLookupsLeft(client: string): Promise<number> {
  let left = 0;
  while ((await limiter(client).take(client, 1)) === 0) left++;
  return left;
}

/** Runs `fn` with every limiter object's clock stopped, so that no token is refilled while it counts them. */
async function withStoppedClock<R>(fn: () => Promise<R>): Promise<R> {
  const at = Date.now();
  const objects = [0, 1, 2, 3].map((i) => env.LIMITER!.get(env.LIMITER!.idFromName(`lookup-${i}`)));
  const setClock = (now: (() => number) | undefined) =>
    Promise.all(
      objects.map((o) =>
        runInDurableObject(o, async (object) => {
          const instance = object as unknown as LookupLimiterObject;
          await instance.take('clock-setter', 0);
          const buckets = (instance as unknown as { buckets: { opts: { now?: () => number } } }).buckets;
          if (now) buckets.opts.now = now;
          else delete buckets.opts.now;
        }),
      ),
    );
  await setClock(() => at);
  try {
    return await fn();
  } finally {
    await setClock(undefined);
  }
}

/** `kt_rate_limited_total{kind="lookup"}` in a /metrics text. */
const refusedLookups = (text: string) => Number(/^kt_rate_limited_total\{kind="lookup"\} (\d+)$/m.exec(text)?.[1]);

describe("the Worker's reads are limited by the limiter objects", () => {
  const lookup = (account: string, client: string) =>
    get(`/v1/lookup/${PROVIDER}/${encodeURIComponent(account)}`, withClient(client));

  it('answers 503 rate_limit_unavailable when the limiter object fails, and never sends the read to the writer', async () => {
    const client = newClient();
    // The object's buckets fail (its RPC then rejects), as an overloaded or unreachable limiter object does.
    const broken = (fail: boolean) =>
      runInDurableObject(limiter(client), async (object) => {
        const instance = object as unknown as LookupLimiterObject;
        if (fail) await instance.take('buckets-maker', 0);
        const buckets = (instance as unknown as { buckets: { take: unknown; realTake?: unknown } }).buckets;
        if (fail) {
          buckets.realTake = buckets.take;
          buckets.take = () => Promise.reject(new RangeError('the limiter is overloaded'));
        } else buckets.take = buckets.realTake;
      });
    await lookup('user1@d1.example', client); // the isolate's replica is ready
    await get('/metrics'); // hands the isolate's counts over now, not during the read
    await broken(true);
    try {
      const before = await invocations();
      const res = await lookup('user1@d1.example', client);
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([
        503,
        'rate_limit_unavailable',
      ]);
      expect(res.headers.get('Retry-After')).toBe('1');
      expect(await invocations(), 'the writer object was sent nothing').toBe(before);
    } finally {
      await broken(false);
    }
    expect((await lookup('user1@d1.example', client)).status).toBe(200);
  });

  it('charges a present lookup one token, an absent one ABSENT_LOOKUP_COST, and each item of a batch', () =>
    withStoppedClock(async () => {
      const refusedBefore = refusedLookups(await (await get('/metrics')).text());
      const present = newClient();
      expect((await lookup('user1@d1.example', present)).status).toBe(200);
      expect(await presentLookupsLeft(present)).toBe(59); // LOOKUP_BURST's default, 60
      const absent = newClient();
      expect((await lookup('nobody-weighed@d1.example', absent)).status).toBe(200);
      expect(await presentLookupsLeft(absent), 'an absent name costs ABSENT_LOOKUP_COST (6)').toBe(54);
      const batcher = newClient();
      const items = ['user1@d1.example', 'user2@d1.example', 'nobody-batched@d1.example'].map((account) => ({
        provider: PROVIDER,
        account,
      }));
      const batch = await post('/v1/lookup', { lookups: items }, { 'cf-connecting-ip': batcher });
      expect(batch.status).toBe(200);
      expect(await presentLookupsLeft(batcher)).toBe(60 - 2 - 6);
      // The bucket is empty: every read route refuses, 429 with Retry-After, whatever the request claims.
      for (const path of [
        `/v1/lookup/${PROVIDER}/user1%40d1.example`,
        `/v1/history/${PROVIDER}/user1%40d1.example`,
        `/v1/monitor/${PROVIDER}/user1%40d1.example?version=1`,
      ]) {
        const res = await get(path, { headers: { 'cf-connecting-ip': batcher, ktLookupAdmitted: 'true' } });
        expect(res.status, path).toBe(429);
        expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(0);
        expect(await res.json()).toMatchObject({ error: { code: 'rate_limited' } });
      }
      // The isolate counted the refusals and handed them to the object's /metrics with its rows.
      expect(refusedLookups(await (await get('/metrics')).text()) - refusedBefore).toBe(3);
    }));

  it('keys IPv6 clients by their /64 from cf-connecting-ip, and IPv4-mapped ones as IPv4', () =>
    withStoppedClock(async () => {
      expect((await lookup('user1@d1.example', '2001:db8:77:1::1')).status).toBe(200);
      expect((await lookup('user1@d1.example', '2001:db8:77:1:ffff::2')).status).toBe(200);
      expect(await presentLookupsLeft('2001:db8:77:1:0:0:0:0/64'), 'one bucket for the /64').toBe(58);
      expect((await lookup('user1@d1.example', '::ffff:10.3.0.1')).status).toBe(200);
      expect(await presentLookupsLeft('10.3.0.1')).toBe(59);
      expect((await lookup('user1@d1.example', '2001:db8:77:1::abcd')).status).toBe(429);
    }));

  it('counts in /metrics the reads and checkpoints the Worker answers itself from D1 and R2', async () => {
    const countOf = (text: string, route: string) =>
      Number(
        new RegExp(`^kt_requests_total\\{method="GET",route="${route}",status="200"\\} (\\d+)$`, 'm').exec(text)?.[1] ??
          0,
      );
    const before = await (await get('/metrics')).text();
    for (let i = 0; i < 3; i++) expect((await get(`/v1/lookup/${PROVIDER}/user1%40d1.example`)).status).toBe(200);
    expect((await get('/log/checkpoint')).status).toBe(200);
    const after = await (await get('/metrics')).text();
    const route = '/v1/lookup/:provider/:account';
    expect(countOf(after, route) - countOf(before, route)).toBe(3);
    expect(countOf(after, '/log/checkpoint') - countOf(before, '/log/checkpoint')).toBe(1);
  });
});
