/**
 * KEYTRANS on the Worker, inside workerd: a provider enrolled with an Ed25519 certificate gets its deployment in the
 * Durable Object's SQLite storage (api/worker/do-deployment-store.ts); statements published with the provider's
 * UpdateTBS signature enter it; the KEYTRANS client (verifier/keytrans-client/client.ts), given only the C2SP pins
 * of /v1/config, verifies searches and owner monitoring (which alerts for a version the owner did not process) and
 * checks each head against the log's checkpoint; the deployments, and a queued statement's UpdateTBS signature
 * (dir_queue_keytrans), survive the object's reset; a deletion erases the earlier versions there.
 */
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { indexLayout, type IndexLayout } from '../../../api/worker/d1-layout.js';
import { replicateOutbox } from '../../../api/worker/d1-replica.js';
import { DoDeploymentStores } from '../../../api/worker/do-deployment-store.js';
import { DoDirectoryStore } from '../../../api/worker/do-directory-store.js';
import { DIRECTORY_SCHEMA, QUEUE_QUERIES, QUEUE_SCHEMA } from '../../../log/directory/directory-sql.js';
import { describe, expect, it } from 'vitest';
import { encodeMessage, KEYTRANS_MEDIA_TYPE } from '../../../verifier/keytrans/messages.js';
import type { Configuration } from '../../../verifier/keytrans/types.js';
import { fromBase64, toHex } from '../../../wasm-free-crypto/bytes.js';
import { makeLeaf, type PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { get, inSequencer, invocations, operator, post, sequencer, settle, testRoot } from './helpers.js';
import {
  keytransClient as keytransClientOf,
  keytransConfig as keytransConfigOf,
  signedItem as signedItemOf,
} from './keytrans-helpers.js';

const PROVIDER = 'keytrans.example';
/** The tables KEYTRANS on the Worker added to the object's database. */
const NEW_TABLES = [
  'dir_queue_keytrans',
  ...['deployments', 'entries', 'log_nodes', 'prefix_nodes', 'anchors', 'versions'].map((t) => `kt_${t}`),
];
const utf8 = (s: string) => new TextEncoder().encode(s);

const signedItem = (leaf: PkiCert, config: Configuration, account: string, version: number, deleted = false) =>
  signedItemOf(PROVIDER, leaf, config, account, version, deleted);
const keytransConfig = () => keytransConfigOf(PROVIDER);
const keytransClient = () => keytransClientOf(PROVIDER, '10.17.0.1');

type Rows = Record<string, string[]>;
const TABLE_COLUMNS: Record<string, string> = {
  ktr_deployments: 'provider, config',
  ktr_entries: 'provider, position, timestamp, prefix_root, head_signature',
  ktr_log_nodes: 'provider, level, idx, value',
  ktr_prefix_nodes: 'provider, depth, path, position, node',
  ktr_versions: 'provider, label, version, position, vrf_output, vrf_proof, commitment, opening, value, signature',
};
const rowText = (r: Record<string, unknown>) =>
  Object.values(r)
    .map((v) =>
      v instanceof ArrayBuffer ? toHex(new Uint8Array(v)) : Array.isArray(v) ? toHex(Uint8Array.from(v)) : String(v),
    )
    .join('|');

/** The object's KEYTRANS rows, by replica table, the deployment's number replaced by its provider (sorted text). */
function objectRows(storage: DurableObjectStorage): Rows {
  const out: Rows = {};
  for (const [table, columns] of Object.entries(TABLE_COLUMNS)) {
    const from = table.replace('ktr_', 'kt_');
    const select = columns
      .split(', ')
      .map((c) => (c === 'provider' ? 'd.provider' : `t.${c}`))
      .join(', ');
    const q =
      table === 'ktr_deployments'
        ? `SELECT ${columns} FROM kt_deployments`
        : `SELECT ${select} FROM ${from} t JOIN kt_deployments d ON d.id = t.deployment`;
    out[table] = storage.sql.exec<Record<string, SqlStorageValue>>(q).toArray().map(rowText).sort();
  }
  return out;
}

/** D1's KEYTRANS rows in `shard` and, for shard 0, with every other shard's (sorted text). */
async function d1Rows(layout: IndexLayout, shard: number): Promise<Rows> {
  const out: Rows = {};
  const dbs = shard === 0 ? layout.shards : [layout.shards[shard]];
  for (const [table, columns] of Object.entries(TABLE_COLUMNS)) {
    const all = await Promise.all(
      dbs.map((db) => db.prepare(`SELECT ${columns} FROM ${table}`).all<Record<string, unknown>>()),
    );
    out[table] = all
      .flatMap((r) => r.results)
      .map(rowText)
      .sort();
  }
  return out;
}

describe('KEYTRANS on the Worker', () => {
  it('serves a deployment from the object that the KEYTRANS client verifies and anchors, across a reset', async () => {
    const leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    // The epoch after the enrolment makes the deployment (an account published without KEYTRANS closes one).
    const unsigned = signStatement('ed25519', leaf.secretKey, statementOf(PROVIDER, 'carol', 1, Date.now(), 'c'));
    expect((await settle(post('/v1/bindings?wait=1', { statements: [unsigned] }))).status).toBe(200);
    const config = await keytransConfig();
    expect(config.mode).toBe('thirdPartyManagement');
    expect(config.leafPublicKey).toEqual(leaf.publicKey);

    const items = [signedItem(leaf, config, 'alice', 1), signedItem(leaf, config, 'alice', 2)];
    for (const item of items)
      expect((await settle(post('/v1/bindings?wait=1', { statements: [item] }))).status).toBe(200);
    const client = await keytransClient();
    const found = await client.search('alice');
    expect(found.version).toBe(1);
    expect(found.value).toEqual(fromBase64(items[1].statement));
    expect((await client.search('alice', 0)).value).toEqual(fromBase64(items[0].statement));
    const owned = await client.ownerMonitor('alice'); // initialised at the rightmost distinguished entry
    expect(owned.treeSize).toBe(found.treeSize);
    expect([0, 1]).toContain(owned.version);

    // Accepted (202, its signature in dir_queue_keytrans), then the object is reset before any epoch takes it.
    const queued = signedItem(leaf, config, 'alice', 3);
    expect((await post('/v1/bindings', { statements: [queued] })).status).toBe(202);
    await abortAllDurableObjects();
    await runDurableObjectAlarm(sequencer());
    const later = await client.search('alice');
    expect(later.version).toBe(2);
    expect(later.value).toEqual(fromBase64(queued.statement));
    expect(later.treeSize).toBeGreaterThan(found.treeSize);
    // The owner holds the version at its start; the log's new distinguished entry (the new root) holds a later
    // version that this owner never processed (the client makes no update, draft-05 "Updating a Label"), so the log
    // stops there with no ladder: the owner's alert, not a silent "verified".
    await expect(client.ownerMonitor('alice')).rejects.toMatchObject({
      name: 'KeyTransError',
      code: 'kt_greatest_version',
    });
    // The owner made alice's versions 2 and 3 (KEYTRANS 1 and 2): declared, they start its monitoring again at the
    // new distinguished entry (a version not declared still alerts: test/verifier/keytrans/owner.test.ts).
    expect((await client.ownerMonitor('alice', { made: [1, 2] })).version).toBe(2);

    // A deletion erases the earlier versions' openings and values in the object's deployment too.
    const deleted = signedItem(leaf, config, 'alice', 4, true);
    expect((await settle(post('/v1/bindings?wait=1', { statements: [deleted] }))).status).toBe(200);
    expect((await client.search('alice')).value).toEqual(fromBase64(deleted.statement));
    for (const v of [0, 1, 2])
      await expect(client.search('alice', v)).rejects.toMatchObject({ code: 'kt_version_erased' });
  });

  it('replicates the deployments to D1, and refills them there, as the object holds them', async () => {
    const d1 = indexLayout(env)!;
    expect(d1.shards).toHaveLength(2);
    await inSequencer((_o, storage) => replicateOutbox(storage, d1));
    const inObject = await inSequencer(async (_o, storage) => objectRows(storage));
    expect(inObject.ktr_prefix_nodes.length).toBeGreaterThan(10);
    expect(await d1Rows(d1, 0)).toEqual(inObject); // shard 0 is the meta database
    // Spread over both databases: the prefix-tree nodes at depth 1 or deeper whose path begins with a 1 bit are in
    // shard 1, the erased versions (their opening, value and signature NULL) where the label hashes to.
    expect((await d1Rows(d1, 1)).ktr_prefix_nodes.length).toBeGreaterThan(0);
    expect(inObject.ktr_versions.filter((v) => v.endsWith('|null|null|null'))).toHaveLength(3);

    // D1 went back: refilled over bounded runs, the KEYTRANS rows among them, then the same rows again.
    await d1.meta.prepare('DELETE FROM dir_replica').run();
    let result = await inSequencer((_o, storage) => replicateOutbox(storage, d1, {}, { refillRows: 5 }));
    expect(result.refilling).toBe(true);
    for (let runs = 0; result.refilling && runs < 500; runs++)
      result = await inSequencer((_o, storage) => replicateOutbox(storage, d1, {}, { refillRows: 5 }));
    expect(result).toMatchObject({ refilling: false, backfilled: true });
    expect(await d1Rows(d1, 0)).toEqual(await inSequencer(async (_o, storage) => objectRows(storage)));
  });

  it('answers the KEYTRANS routes from D1, as the object does, without calling it', async () => {
    const config = await keytransConfig();
    const search = (label: string, version: number | null): RequestInit => ({
      method: 'POST',
      headers: { 'Content-Type': KEYTRANS_MEDIA_TYPE },
      body: encodeMessage(
        'SearchRequest',
        { last: null, label: utf8(label), version },
        { suite: 2, mode: config.mode },
      ) as Uint8Array<ArrayBuffer>,
    });
    const reads: [string, RequestInit | undefined][] = [
      [`/keytrans/v1/${PROVIDER}/config`, undefined],
      ['/keytrans/v1/anchor', undefined],
      [`/keytrans/v1/${PROVIDER}/search`, search('alice', null)],
      [`/keytrans/v1/${PROVIDER}/search`, search('alice', 0)], // erased: 410
      [`/keytrans/v1/${PROVIDER}/search`, search('carol', null)], // published without KEYTRANS: 404
      [
        `/keytrans/v1/${PROVIDER}/owner/init`,
        {
          method: 'POST',
          headers: { 'Content-Type': KEYTRANS_MEDIA_TYPE },
          body: encodeMessage(
            'OwnerInitRequest',
            { last: null, label: utf8('alice'), start: 0 },
            { suite: 2, mode: config.mode },
          ) as Uint8Array<ArrayBuffer>,
        },
      ],
    ];
    const answer = async (res: Response) => [res.status, new Uint8Array(await res.arrayBuffer())];
    const expected = [];
    for (const [path, init] of reads)
      expected.push(await answer(await sequencer().fetch(new Request(`https://kt.example${path}`, init))));
    expect(expected.map(([status]) => status)).toEqual([200, 200, 200, 410, 404, 200]);
    await get('/metrics'); // hands the isolate's counts over now, not during the reads
    const before = await invocations();
    const answers = [];
    // Each read from a client of its own: the lookup limit is shared by every test of the project (its limiters).
    const client = (init: RequestInit | undefined, i: number): RequestInit => ({
      ...init,
      headers: { ...(init?.headers as Record<string, string>), 'cf-connecting-ip': `10.16.0.${i}` },
    });
    for (const [i, [path, init]] of reads.entries()) answers.push(await answer(await get(path, client(init, i))));
    expect(await invocations(), 'the writer object was sent nothing').toBe(before);
    // The anchor's JSON carries the served checkpoint, the same note from either.
    expect(answers).toEqual(expected);
  });

  it('adds the KEYTRANS tables in place to a Durable Object storage written before them, keeping its queue', async () => {
    await runInDurableObject(env.LOG.get(env.LOG.idFromName('keytrans-upgrade')), async (_i, state) => {
      const sql = state.storage.sql;
      // What the release before KEYTRANS on the Worker left: the directory's tables and its queue, one row queued
      // (the object made the newer tables when it opened: they are dropped first).
      for (const table of NEW_TABLES) sql.exec(`DROP TABLE IF EXISTS ${table}`);
      sql.exec(DIRECTORY_SCHEMA);
      sql.exec(QUEUE_SCHEMA);
      const row = [Uint8Array.of(1), 1, Uint8Array.of(1, 2, 3), Uint8Array.of(2), 0, Uint8Array.of(3), 1000, 2000];
      const bound = row.map((v) => (v instanceof Uint8Array ? v.slice().buffer : v));
      sql.exec(QUEUE_QUERIES.put, ...bound).toArray(); // RETURNING id: the cursor read to its end
      const tables = () =>
        sql
          .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
          .toArray()
          .filter((t) => NEW_TABLES.includes(t.name)).length;
      expect(tables()).toBe(0);
      const store = new DoDirectoryStore(state.storage);
      const stores = new DoDeploymentStores(state.storage);
      expect(tables()).toBe(NEW_TABLES.length);
      expect((await store.queued()).map((q) => [q.version, q.keytransSignature])).toEqual([[1, null]]);
      expect(stores.configured()).toEqual(new Map());
      expect(stores.anchor(1)).toBeNull();
    });
  });

  it('answers a provider without a deployment with a typed 404', async () => {
    const res = await get('/keytrans/v1/nobody.example/config');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});
