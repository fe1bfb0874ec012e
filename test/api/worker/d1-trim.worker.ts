/**
 * The Durable Object moving its bulk to D1 (api/worker/object-trim.ts, `ReplicatedDirectoryStore.trim`), in
 * workerd with two index shards: once trimmed, the object holds no account, version or name rows and only the
 * map's upper levels, and submissions, epochs and lookups (the isolate's and its own) go on, verified; an object
 * opened again over that storage serves too; reads it cannot make from D1 are refused (503 `busy`), never
 * answered from what it no longer holds; a refill of D1 is refused by either side's mark and leaves D1 as it is.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  indexLayout,
  type IndexDatabase,
  type IndexLayout,
  type IndexStatement,
} from '../../../api/worker/d1-layout.js';
import { ReplicaRefillRefused } from '../../../api/worker/d1-replica.js';
import { D1IndexRows } from '../../../api/worker/d1-rows.js';
import { DoDirectoryStore } from '../../../api/worker/do-directory-store.js';
import { ReplicatedDirectoryStore } from '../../../api/worker/replicated-store.js';
import { openSequencerState } from '../../../api/worker/sequencer-state.js';
import { fromBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { ed25519KeyPairFromSeed, ed25519Sign } from '../../../wasm-free-crypto/ed25519.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { continuityMessage } from '../../../verifier/formats/statement-binary.js';
import { makeLeaf, type PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { get, inSequencer, operator, post, sequencer, settle, testRoot, verifiedLookup } from './helpers.js';

const PROVIDER = 'trim.example';
const layout = () => indexLayout(env)!;
const ACCOUNTS = Array.from({ length: 40 }, (_, i) => `u${i}@trim.example`);

const signed = (leaf: PkiCert, account: string, version: number, seed = `${account} ${version}`) =>
  signStatement('ed25519', leaf.secretKey, statementOf(PROVIDER, account, version, Date.now(), seed));

const lookupPath = (account: string) => `/v1/lookup/${PROVIDER}/${encodeURIComponent(account)}`;
let clients = 0;
const asClient = () => ({ headers: { 'cf-connecting-ip': `10.7.0.${clients++ % 250}` } });

/**
 * The object's own bulk rows: accounts, versions, names, and map rows of depth 2 or more (the account of the
 * greatest id is never deleted, so that SQLite never gives its id to another).
 */
const objectBulk = () =>
  inSequencer(async (_o, storage) => {
    const count = (q: string) => storage.sql.exec<{ n: number }>(q).toArray()[0].n;
    return {
      accounts: count('SELECT COUNT(*) AS n FROM dir_accounts'),
      versions: count('SELECT COUNT(*) AS n FROM dir_versions'),
      names: count('SELECT COUNT(*) AS n FROM dir_names'),
      lowerMap: count("SELECT COUNT(*) AS n FROM dir_map WHERE key >= X'02'"),
      upperMap: count("SELECT COUNT(*) AS n FROM dir_map WHERE key < X'02'"),
    };
  });

/**
 * Trims until nothing is left, 20 rows a call in chunks of 7; map rows of depth 2 or more (not 12: so that most
 * paths are read from D1).
 */
const trimAll = () =>
  inSequencer(async (o) => {
    let total = 0;
    for (let n = await o.replica!.trim(20, 7, 2); n > 0; n = await o.replica!.trim(20, 7, 2)) total += n;
    // The object's map cache emptied too: its epochs and lookups read the map from D1.
    (o.directory as unknown as { map: { failed(): void } }).map.failed();
    return total;
  });

const d1Rows = async () => {
  let n = 0;
  for (const db of layout().shards)
    n += (await db.prepare('SELECT COUNT(*) AS n FROM dir_versions').first<{ n: number }>())!.n;
  return n;
};

type Wrapped = IndexStatement & { inner: IndexStatement };

/** `l` with every statement failing while `failing.now`. */
function failingWhile(l: IndexLayout, failing: { now: boolean }): IndexLayout {
  const fail = () => Promise.reject(new Error('injected: D1 is unreachable'));
  const statement = (inner: IndexStatement): Wrapped => ({
    inner,
    bind: (...v) => statement(inner.bind(...v)),
    first: <T>() => (failing.now ? fail() : inner.first<T>()),
    all: <T>() => (failing.now ? fail() : inner.all<T>()),
    run: () => (failing.now ? fail() : inner.run()),
  });
  const wrap = (db: IndexDatabase): IndexDatabase => ({
    prepare: (q) => statement(db.prepare(q)),
    batch: (statements) => (failing.now ? fail() : db.batch((statements as Wrapped[]).map((s) => s.inner))),
  });
  const shards = l.shards.map(wrap);
  return { meta: shards[0], shards, bits: l.bits };
}

/** A map key of depth 200 that no map of these tests has: the object never holds it, so a walk fetches it. */
const NOT_HELD = new Uint8Array([200, 0x5a, 0xa5]);

describe('the object moves its bulk to D1', () => {
  let leaf: PkiCert;

  it('keeps no account, version or name rows and only the upper map levels, and serves and publishes on', async () => {
    leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    const first = ACCOUNTS.map((a) => signed(leaf, a, 1));
    expect((await settle(post('/v1/bindings?wait=1', { statements: first }))).status).toBe(200);
    expect(await trimAll()).toBeGreaterThan(3 * ACCOUNTS.length);
    expect(await objectBulk()).toMatchObject({ accounts: 1, versions: 1, names: 0, lowerMap: 0 });
    expect((await objectBulk()).upperMap).toBeGreaterThan(0); // the root row and the top levels stay
    const marked = await layout().meta.prepare('SELECT epoch FROM dir_trimmed').first<{ epoch: number }>();
    expect(marked?.epoch).toBeGreaterThan(0);
    // Nothing while an epoch is still in the outbox (D1 may not hold its rows), before the first trim as after it.
    expect((await post('/v1/bindings', { statements: [signed(leaf, ACCOUNTS[9], 2)] })).status).toBe(202);
    const heldBack = await inSequencer(async (o) => {
      await o.directory.closeEpoch(false);
      return [await o.replica!.trim(), (await objectBulk()).versions];
    });
    expect(heldBack).toEqual([0, 2]);
    await inSequencer(async (o) => void (await o.replica!.replicate()));
    await trimAll();
    // A rotation, two new accounts, an identical resubmission and a rival version, all checked against D1.
    const again = await settle(post('/v1/bindings?wait=1', { statements: [first[3]] }));
    expect(await again.json()).toMatchObject({ results: [{ status: 'committed', version: 1 }] });
    const rival = await post('/v1/bindings', { statements: [signed(leaf, ACCOUNTS[3], 1, 'another key')] });
    expect(await rival.json()).toMatchObject({ error: { code: 'version_conflict' } });
    const next = [
      signed(leaf, ACCOUNTS[0], 2),
      signed(leaf, 'new1@trim.example', 1),
      signed(leaf, 'new2@trim.example', 1),
    ];
    expect((await settle(post('/v1/bindings?wait=1', { statements: next }))).status).toBe(200);
    for (const [account, version] of [
      [ACCOUNTS[0], 2],
      [ACCOUNTS[1], 1],
      ['new1@trim.example', 1],
      ['new2@trim.example', 1],
    ] as const)
      expect(await verifiedLookup(PROVIDER, account, asClient().headers['cf-connecting-ip'])).toEqual([
        'present',
        version,
      ]);
    // The object's own answers equal the isolate's.
    for (const account of [ACCOUNTS[0], ACCOUNTS[7], 'nobody@trim.example']) {
      const own = await sequencer().fetch(new Request(`https://kt.example${lookupPath(account)}`, asClient()));
      expect(await own.text()).toBe(await (await get(lookupPath(account), asClient())).text());
    }
    expect(await trimAll()).toBeGreaterThan(0); // the last epoch's rows, now replicated
    expect(await objectBulk()).toMatchObject({ accounts: 1, versions: 1, names: 0, lowerMap: 0 });
  });

  it('opens again over its trimmed storage, and serves', async () => {
    const answer = await runInDurableObject(sequencer(), async (_instance, state) => {
      const reopened = await openSequencerState(state.storage, state.storage, env, { replica: layout() });
      await reopened.replica!.replicate();
      const res = await reopened.app.fetch(new Request(`https://kt.example${lookupPath(ACCOUNTS[5])}`, asClient()));
      return [res.status, ((await res.json()) as { present?: { version: number } }).present?.version];
    });
    expect(answer).toEqual([200, 1]);
  });

  it('refuses what it cannot read from D1 instead of answering from rows it no longer holds', async () => {
    const failing = { now: false };
    const outcome = await inSequencer(async (_o, storage) => {
      const store = new ReplicatedDirectoryStore(
        new DoDirectoryStore(storage),
        storage,
        failingWhile(layout(), failing),
        () => {},
      );
      const codes: unknown[] = [];
      const codeOf = (p: Promise<unknown>) =>
        p.then(
          () => 'answered',
          (e: { code?: string }) => e.code,
        );
      codes.push(await codeOf(store.accountByName(PROVIDER, ACCOUNTS[2]))); // not replicated to yet
      await store.replicate();
      codes.push(await codeOf(store.accountByName(PROVIDER, ACCOUNTS[2])));
      failing.now = true;
      codes.push(await codeOf(store.accountByName(PROVIDER, ACCOUNTS[2])));
      codes.push(await codeOf(store.version(new Uint8Array(32), 1)));
      const walkToRow = () => {
        try {
          store.mapNode(NOT_HELD);
        } catch {} // MapRowNotFetched: met (the object does not hold it), fetched next
      };
      codes.push(await codeOf(store.fetchMapRows(walkToRow)));
      return codes;
    });
    expect(outcome).toEqual(['busy', 'answered', 'busy', 'busy', 'busy']);
  });

  it('refuses a refill once trimmed, by either mark, and leaves D1 as it is', async () => {
    const before = await d1Rows();
    await layout().meta.prepare('UPDATE dir_layout SET shards = 99').run();
    try {
      const refused = await inSequencer(async (o) =>
        o.replica!.replicate().then(
          () => null,
          (e: unknown) => e,
        ),
      );
      expect(refused).toBeInstanceOf(ReplicaRefillRefused);
      expect(await d1Rows()).toBe(before);
      // Neither the isolate (another layout) nor the object (not replicated to) answers from what it cannot trust.
      const res = await get(lookupPath(ACCOUNTS[4]), asClient());
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([503, 'busy']);
      // The object's own mark lost: D1's still refuses.
      await inSequencer(async (_o, storage) => void storage.sql.exec('DELETE FROM dir_trimmed'));
      const store = await inSequencer(async (_o, storage) => {
        const s = new ReplicatedDirectoryStore(new DoDirectoryStore(storage), storage, layout(), () => {});
        return s.replicate().then(
          () => null,
          (e: unknown) => (e as Error).name,
        );
      });
      expect(store).toBe('ReplicaRefillRefused');
      expect(await d1Rows()).toBe(before);
    } finally {
      await layout().meta.prepare('UPDATE dir_layout SET shards = 2').run();
      await inSequencer(
        async (_o, storage) => void storage.sql.exec('INSERT OR IGNORE INTO dir_trimmed (id, epoch) VALUES (1, 1)'),
      );
    }
    await inSequencer(async (o) => void (await o.replica!.replicate()));
    expect(await verifiedLookup(PROVIDER, ACCOUNTS[4], '10.7.1.1')).toEqual(['present', 1]);
  });

  it('fetches the path for the last check of a submission an epoch overtook', async () => {
    // A rotation with a continuity signature by the previous version's key: its check reads that version last.
    const account = ACCOUNTS[13];
    const s = statementOf(PROVIDER, account, 2, Date.now(), `${account} 2`);
    const previousKey = ed25519KeyPairFromSeed(sha256(utf8(`${account} 1`))).secretKey;
    s.continuity = { keyId: 'identity', signature: ed25519Sign(previousKey, continuityMessage(s)) };
    const rotation = signStatement('ed25519', leaf.secretKey, s);
    const outcome = await inSequencer(async (o) => {
      // The third read of the replica (after the name's label and its account) waits until an epoch committed.
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      let waiting!: () => void;
      const held = new Promise<void>((r) => (waiting = r));
      let batches = 0;
      const l = layout();
      const gated = (db: IndexDatabase): IndexDatabase => ({
        prepare: (q) => db.prepare(q),
        batch: async (statements) => {
          if (++batches === 3) {
            waiting();
            await gate;
          }
          return db.batch(statements);
        },
      });
      const shards = l.shards.map(gated);
      const replica = o.replica as unknown as { rows: D1IndexRows; replicatedUpTo: number };
      const rows = replica.rows;
      replica.rows = new D1IndexRows({ meta: shards[0], shards, bits: l.bits }, () => replica.replicatedUpTo);
      try {
        const submitting = o.directory.submit(fromBase64(rotation.statement), fromBase64(rotation.signature));
        await held;
        replica.rows = rows; // the epoch's own reads go straight to D1
        const other = signed(leaf, ACCOUNTS[14], 2);
        await o.directory.submit(fromBase64(other.statement), fromBase64(other.signature));
        await o.directory.closeEpoch(false);
        // The path is read from D1 again: the cache emptied, as a large epoch would have pushed it out.
        (o.directory as unknown as { map: { failed(): void } }).map.failed();
        open();
        const accepted = await submitting;
        await o.directory.closeEpoch(false);
        return accepted.version;
      } finally {
        replica.rows = rows;
      }
    });
    expect(outcome).toBe(2);
    await runDurableObjectAlarm(sequencer());
    expect(await verifiedLookup(PROVIDER, account, '10.7.2.1')).toEqual(['present', 2]);
  });

  it('fetches a path whole even while the cache holds its rows (the cache may drop them before the plan)', async () => {
    const fetched = await inSequencer(async (o) => {
      const map = (
        o.directory as unknown as {
          map: { fetchPaths(l: Uint8Array[]): Promise<void>; lookup(l: Uint8Array): unknown };
        }
      ).map;
      const replica = o.replica as unknown as { fetched: Map<string, Uint8Array>; dropFetched(): void };
      const label = (await o.directory.store.accountByName(PROVIDER, ACCOUNTS[20]))!.account.label;
      await map.fetchPaths([label]);
      map.lookup(label); // the path's rows are in the cache now
      replica.dropFetched(); // as an epoch's commit does
      await map.fetchPaths([label]);
      return replica.fetched.size;
    });
    expect(fetched).toBeGreaterThan(0);
  });

  it('refuses, rather than answer, when a shard of D1 went back', async () => {
    const label = await inSequencer(
      async (o) => (await o.directory.store.accountByName(PROVIDER, ACCOUNTS[11]))!.account.label,
    );
    const shard = layout().shards[label[0] >> 7];
    await shard.batch(
      ['dir_versions', 'dir_accounts', 'dir_name_labels', 'dir_map_rows', 'dir_replica'].map((t) =>
        shard.prepare(`DELETE FROM ${t}`),
      ),
    );
    const rival = await post('/v1/bindings', { statements: [signed(leaf, ACCOUNTS[11], 1, 'another key')] });
    expect([rival.status, ((await rival.json()) as { error: { code: string } }).error.code]).toEqual([503, 'busy']);
    const refused = await inSequencer(async (o) =>
      o.replica!.replicate().then(
        () => null,
        (e: Error) => e.name,
      ),
    );
    expect(refused).toBe('ReplicaRefillRefused');
  });
});
