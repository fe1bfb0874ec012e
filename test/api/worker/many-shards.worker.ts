/**
 * The directory replicated to D1 over 32 index shards (5 bits of prefix; api/worker/d1-layout.ts), inside workerd:
 * while the map holds two accounts whose top node branches above the shards' depth, an absent label that leaves
 * its prefix reads that node in a later round, from the meta database, and is proven as the object proves it; then
 * every database reaches each epoch; accounts, names and map rows spread over the shards, the nodes above depth 5
 * only in the meta database; lookups, histories, daily checks, batches and discovery answered by the isolate are
 * the object's own answers byte for byte while the object is sent nothing; a present lookup reads map rows in
 * three queries: the root row with the head, then together its path's 5 keys above the shards' depth in the meta
 * database (not the 31 nodes up there) and the rest in its label's shard; the next epoch, a rotation of every
 * account, reaches every shard again; a run in which one shard's batch fails leaves the others ahead of the meta
 * database and the next run completes it; and a replica that went back is refilled over all 32 shards.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { indexLayout, labelShard, type IndexDatabase, type IndexLayout } from '../../../api/worker/d1-layout.js';
import { firstDifferingBit, mapNodeKey } from '../../../verifier/formats/map-nodes.js';
import { toHex as hex } from '../../../wasm-free-crypto/bytes.js';
import { replicatedEpoch, replicateOutbox } from '../../../api/worker/d1-replica.js';
import { proveLookup } from '../../../log/directory/proof-builder.js';
import { makeLeaf, type PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import {
  d1Reader,
  get,
  inSequencer,
  invocations,
  operator,
  post,
  sequencer,
  settle,
  testRoot,
  verifiedLookup,
} from './helpers.js';

const PROVIDER = 'shards.example';
const ACCOUNTS = Array.from({ length: 64 }, (_, i) => `user${i}@shards.example`);
const layout = () => indexLayout(env)!;

const signed = (leaf: PkiCert, account: string, version: number) =>
  signStatement(
    'ed25519',
    leaf.secretKey,
    statementOf(PROVIDER, account, version, Date.now(), `${account} ${version}`),
  );

const count = async (db: IndexDatabase, sql: string) => (await db.prepare(sql).first<{ n: number }>())!.n;

/** The read requests the isolate answers. */
const READS: [string, RequestInit?][] = [
  [`/v1/lookup/${PROVIDER}/user1%40shards.example`],
  [`/v1/lookup/${PROVIDER}/nobody%40shards.example`],
  [`/v1/history/${PROVIDER}/user2%40shards.example?since=0`],
  [`/v1/monitor/${PROVIDER}/user3%40shards.example?version=1`],
  [
    '/v1/lookup',
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ lookups: ACCOUNTS.slice(10, 20).map((account) => ({ provider: PROVIDER, account })) }),
    },
  ],
  [
    '/v1/lookup',
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ discover: 'user5@shards.example' }),
    },
  ],
];

let clients = 0;
const fromClient = (init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), 'cf-connecting-ip': `10.3.0.${clients++ & 255}` },
});

/** Every read through the isolate equals the object's own answer, and the object is sent nothing meanwhile. */
async function expectReadsFromD1(): Promise<void> {
  const expected = [];
  for (const [path, init] of READS) {
    const res = await sequencer().fetch(new Request(`https://kt.example${path}`, fromClient(init)));
    expected.push([path, res.status, new Uint8Array(await res.arrayBuffer())]);
  }
  await get('/metrics'); // hands the isolate's counts over now, not during the reads
  const before = await invocations();
  const answers = [];
  for (const [path, init] of READS) {
    const res = await get(path, fromClient(init));
    answers.push([path, res.status, new Uint8Array(await res.arrayBuffer())]);
  }
  expect(await invocations(), 'the writer object was sent nothing').toBe(before);
  expect(answers).toEqual(expected);
  expect(answers.every(([, status]) => status === 200)).toBe(true);
}

/** A map-row query: the database it went to (0: the meta database) and the keys it named, in hex. */
type MapQuery = { db: number; keys: string[] };

/** `l` with each map-row query recorded in `queries`. */
function recording(l: IndexLayout, queries: MapQuery[]): IndexLayout {
  const wrap = (db: IndexDatabase, i: number): IndexDatabase => ({
    prepare: (q) => {
      if (q.startsWith('SELECT key, epoch, node FROM dir_map_rows'))
        queries.push({ db: i, keys: [...q.matchAll(/X'([0-9a-f]*)'/g)].map((m) => m[1]) });
      return db.prepare(q);
    },
    batch: (statements) => db.batch(statements),
  });
  const shards = l.shards.map(wrap);
  return { meta: shards[0], shards, bits: l.bits };
}

describe('the directory replicated to D1 over 32 shards', () => {
  let leaf: PkiCert;

  it('proves an absent lookup whose walk leaves its label above the shards, reading that node from the meta database', async () => {
    expect([layout().shards.length, layout().bits]).toEqual([32, 5]);
    leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    // Two accounts whose labels first differ at bit 2, 3 or 4: the map's top node branches there, above the shards'
    // depth, and its key is their shared prefix. A label that leaves that prefix does not name the node in the
    // first round of its walk (its own path's keys): the node is read in a later round, from the meta database.
    const labelOf = async (account: string) => (await d1Reader(layout()).labelFor(PROVIDER, account)).label;
    const first = await labelOf('early0@shards.example');
    let second = '';
    let depth = 0;
    for (let i = 1; i < 200 && !second; i++) {
      depth = firstDifferingBit(first, await labelOf(`early${i}@shards.example`));
      if (depth >= 2 && depth <= 4) second = `early${i}@shards.example`;
    }
    expect(second, 'a second label branching from the first at bit 2, 3 or 4').not.toBe('');
    const statements = ['early0@shards.example', second].map((a) => signed(leaf, a, 1));
    expect((await settle(post('/v1/bindings?wait=1', { statements }))).status).toBe(200);
    let absent = '';
    let label = first;
    for (let i = 0; i < 100 && !absent; i++) {
      label = await labelOf(`absent${i}@shards.example`);
      if (firstDifferingBit(label, first) < depth) absent = `absent${i}@shards.example`;
    }
    const queries: MapQuery[] = [];
    const proof = await proveLookup(d1Reader(recording(layout(), queries)), PROVIDER, absent);
    expect(proof.absent).toBeDefined();
    // The root row; the first round (its path above depth 5 in the meta database, below it in its shard); then the
    // top node, from the meta database, named by its own key.
    expect(queries.map((q) => q.db)).toEqual([0, 0, labelShard(label, 5), 0]);
    expect(queries[3].keys[0]).toBe(hex(mapNodeKey(first, depth)));
    expect(queries[3].keys.every((k) => Number.parseInt(k.slice(0, 2), 16) < 5)).toBe(true);
    expect(proof).toEqual(await inSequencer((open) => proveLookup(open.directory, PROVIDER, absent)));
    // The isolate's answer over HTTP takes the same walk, and verifies under the directory's pins.
    expect(await verifiedLookup(PROVIDER, absent, '10.4.0.1')).toEqual(['absent', undefined]);
  });

  it('replicates every epoch to every shard, spreads the rows, and answers reads as the object', async () => {
    const statements = ACCOUNTS.map((a) => signed(leaf, a, 1));
    expect((await settle(post('/v1/bindings?wait=1', { statements }))).status).toBe(200);
    const epoch = await inSequencer(async (open) => open.directory.epoch);
    for (const db of layout().shards) expect(await replicatedEpoch(db)).toBe(epoch);
    let holding = 0;
    for (const [i, db] of layout().shards.entries()) {
      // Nodes above depth 5 (key byte 0 below 5) and the root (the empty key) only in the meta database.
      const top = await count(
        db,
        "SELECT COUNT(*) AS n FROM dir_map_rows WHERE length(key) = 0 OR substr(key, 1, 1) < X'05'",
      );
      if (i === 0) expect(top).toBeGreaterThan(0);
      else expect(top).toBe(0);
      if ((await count(db, 'SELECT COUNT(*) AS n FROM dir_accounts')) > 0) holding++;
    }
    expect(holding).toBeGreaterThan(16); // 64 random labels over 32 shards
    await expectReadsFromD1();
  });

  it('proves a present lookup in three map-row queries, reading the meta database only along its path', async () => {
    const queries: MapQuery[] = [];
    const reader = d1Reader(recording(layout(), queries));
    const account = 'user7@shards.example';
    const { label } = await reader.labelFor(PROVIDER, account);
    queries.length = 0;
    const proof = await proveLookup(reader, PROVIDER, account);
    expect(proof.present?.version).toBe(1);
    // The root row with the head; the 5 keys of its path above the shards' depth (not the 31 nodes up there);
    // its path below, in its label's shard.
    const above = Array.from({ length: 5 }, (_, d) => hex(mapNodeKey(label, d)));
    expect(queries.map((q) => q.db)).toEqual([0, 0, labelShard(label, 5)]);
    expect(queries.slice(0, 2).map((q) => q.keys)).toEqual([[''], above]);
    expect(queries[2].keys[0]).toBe(hex(mapNodeKey(label, 5)));
  });

  it('replicates the next epoch, a rotation of every account, to every shard, and reads it as the object', async () => {
    const statements = ACCOUNTS.map((a) => signed(leaf, a, 2));
    expect((await settle(post('/v1/bindings?wait=1', { statements }))).status).toBe(200);
    const epoch = await inSequencer(async (open) => open.directory.epoch);
    for (const db of layout().shards) expect(await replicatedEpoch(db)).toBe(epoch);
    const lookup = (await (await get(`/v1/lookup/${PROVIDER}/user1%40shards.example`)).json()) as {
      present: { version: number };
    };
    expect(lookup.present.version).toBe(2);
    await expectReadsFromD1();
  });

  it("leaves the other shards ahead when one shard's batch fails, and the next run completes the epoch", async () => {
    expect(
      (await post('/v1/bindings', { statements: ACCOUNTS.slice(0, 8).map((a) => signed(leaf, a, 3)) })).status,
    ).toBe(202);
    await inSequencer(async (open) => void (await open.directory.closeEpoch(false)));
    const epoch = await inSequencer(async (open) => open.directory.epoch);
    const before = await replicatedEpoch(layout().meta);
    // Shard 7's batch fails: the others commit theirs (in flight together), the meta database is not written.
    const l = layout();
    // (Its first batch creates the tables, once per database object; its second applies the epoch.)
    let shard7Batches = 0;
    const failing = l.shards.map(
      (db, i): IndexDatabase =>
        i !== 7
          ? db
          : {
              prepare: (q) => db.prepare(q),
              batch: (statements) =>
                ++shard7Batches === 2 ? Promise.reject(new Error('injected: shard 7 failed')) : db.batch(statements),
            },
    );
    await expect(
      inSequencer((_o, storage) => replicateOutbox(storage, { meta: failing[0], shards: failing, bits: l.bits })),
    ).rejects.toThrow('injected');
    const markers = await Promise.all(l.shards.map(replicatedEpoch));
    expect(markers[0]).toBe(before);
    expect(markers[7]).toBe(before);
    expect(markers.filter((m) => m === epoch)).toHaveLength(30);
    expect(await inSequencer((_o, storage) => replicateOutbox(storage, layout()))).toMatchObject({ upTo: epoch });
    for (const db of layout().shards) expect(await replicatedEpoch(db)).toBe(epoch);
    await expectReadsFromD1();
  });

  it('refills all 32 shards from the object when the replica went back, then answers as the object', async () => {
    const { meta } = layout();
    await meta.batch([meta.prepare('DELETE FROM dir_replica'), meta.prepare('DELETE FROM dir_heads')]);
    const result = await inSequencer((_o, storage) => replicateOutbox(storage, layout()));
    expect(result.backfilled).toBe(true);
    const epoch = await inSequencer(async (open) => open.directory.epoch);
    for (const db of layout().shards) expect(await replicatedEpoch(db)).toBe(epoch);
    await expectReadsFromD1();
  });
});
