/**
 * The Durable Object reads its own bulk through the D1 replica (api/worker/replicated-store.ts), in workerd with
 * two index shards: once replicated, a submission is checked and the object's own lookups answered with the
 * object's account, version and name rows gone (so D1 answered); an epoch not yet replicated is read from the
 * outbox laid over D1 (a new name, a next version, an identical resubmission, an erasure); before the first
 * replication, while a refill runs and for a read in flight when one begins, and when D1 fails or lacks a row,
 * the object's own rows answer.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  indexLayout,
  nameShard,
  REPLICA_QUERIES,
  type IndexDatabase,
  type IndexLayout,
  type IndexStatement,
} from '../../../api/worker/d1-layout.js';
import { DoDirectoryStore } from '../../../api/worker/do-directory-store.js';
import { ReplicatedDirectoryStore } from '../../../api/worker/replicated-store.js';
import { MapRowNotFetched, type DirectoryStore } from '../../../log/directory/store.js';
import { keysAlong } from '../../../verifier/formats/map-nodes.js';
import { StoredMap } from '../../../verifier/formats/stored-map.js';
import { toHex as hex } from '../../../wasm-free-crypto/bytes.js';
import { makeLeaf, type PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { get, inSequencer, operator, post, sequencer, settle, testRoot, verifiedLookup } from './helpers.js';

const PROVIDER = 'writer-reads.example';
const layout = () => indexLayout(env)!;

const signed = (leaf: PkiCert, account: string, version: number, seed: string | null = `${account} ${version}`) =>
  signStatement('ed25519', leaf.secretKey, statementOf(PROVIDER, account, version, Date.now(), seed));

const publish = (leaf: PkiCert, statements: ReturnType<typeof signed>[]) =>
  post('/v1/bindings', { statements }).then(async (r) => ({ status: r.status, body: await r.json() }));

/** Publishes and closes the epoch without the alarm, so that it stays in the outbox (D1 does not get it). */
async function publishUnreplicated(leaf: PkiCert, statement: ReturnType<typeof signed>): Promise<void> {
  expect((await publish(leaf, [statement])).status).toBe(202);
  await inSequencer(async (open) => void (await open.directory.closeEpoch(false)));
}

/**
 * Deletes the object's own account, version and name rows of `account` (found through the replica): only D1 and
 * the outbox still hold them. (A later version writes its account and version rows again, not its name.)
 */
const dropOwnRows = (account: string) =>
  inSequencer(async (o, storage) => {
    const named = await o.directory.store.accountByName(PROVIDER, account);
    expect(named, `the directory knows ${account}`).toBeDefined();
    const id = 'SELECT id FROM dir_accounts WHERE label = ?';
    const label = named!.account.label.slice().buffer;
    expect(storage.sql.exec(id, label).toArray(), `the object holds ${account}`).toHaveLength(1);
    for (const table of ['dir_versions', 'dir_names', 'dir_accounts'])
      storage.sql.exec(`DELETE FROM ${table} WHERE id = (${id})`, label);
  });

const lookup = async (account: string) => {
  const res = await sequencer().fetch(
    new Request(`https://kt.example/v1/lookup/${PROVIDER}/${encodeURIComponent(account)}`, {
      headers: { 'cf-connecting-ip': '10.9.0.1' },
    }),
  );
  expect(res.status).toBe(200);
  return (await res.json()) as { present?: { version: number; statement?: string } };
};

/** Deletes every map row the object holds and empties its map cache: only D1 and the outbox hold the map. */
const dropOwnMap = () =>
  inSequencer(async (o, storage) => {
    storage.sql.exec('DELETE FROM dir_map');
    (o.directory as unknown as { map: { failed(): void } }).map.failed();
  });

const objectLookup = (path: string) =>
  sequencer().fetch(new Request(`https://kt.example${path}`, { headers: { 'cf-connecting-ip': '10.9.0.4' } }));

const outboxEpochs = () =>
  inSequencer(async (_o, storage) => storage.sql.exec('SELECT epoch FROM dir_outbox').toArray().length);

type Wrapped = IndexStatement & { inner: IndexStatement; query: string };

/**
 * The test's layout: every read (a statement's, or a batch) counted, failing while `o.failing.now`; a read of a
 * name's label waits for `o.nameGate`, one of map rows (counted apart) resolves `mapBlocked` and waits for
 * `o.mapGate`; a refill's first batch (it empties the tables) resolves `refillBegun`, then waits for `o.refillGate`.
 */
function controlledLayout(o: {
  failing?: { now: boolean };
  nameGate?: Promise<void>;
  refillGate?: Promise<void>;
  mapGate?: Promise<void>;
}) {
  const reads = { count: 0, map: 0 };
  let begun!: () => void;
  const refillBegun = new Promise<void>((r) => (begun = r));
  let mapWaiting!: () => void;
  const mapBlocked = new Promise<void>((r) => (mapWaiting = r));
  const before = async (queries: string[]) => {
    reads.count++;
    if (o.failing?.now) throw new Error('injected: D1 is unreachable');
    if (o.nameGate && queries.includes(REPLICA_QUERIES.nameLabel)) await o.nameGate;
    if (!queries.some((q) => q.includes('FROM dir_map_rows WHERE key IN'))) return;
    reads.map++;
    mapWaiting();
    await o.mapGate;
  };
  const statement = (inner: IndexStatement, query: string): Wrapped => ({
    inner,
    query,
    bind: (...v) => statement(inner.bind(...v), query),
    first: async <T>() => (await before([query]), inner.first<T>()),
    all: async <T>() => (await before([query]), inner.all<T>()),
    run: () => inner.run(),
  });
  const wrap = (db: IndexDatabase): IndexDatabase => ({
    prepare: (q) => statement(db.prepare(q), q),
    batch: async (statements) => {
      const wrapped = statements as Wrapped[];
      if (wrapped.some((s) => s.query.startsWith('DELETE FROM dir_versions'))) {
        begun();
        await o.refillGate;
      } else await before(wrapped.map((s) => s.query));
      return db.batch(wrapped.map((s) => s.inner));
    },
  });
  const l = layout();
  const shards = l.shards.map(wrap);
  return { layout: { meta: shards[0], shards, bits: l.bits } satisfies IndexLayout, reads, refillBegun, mapBlocked };
}

/** The object's own store with its `accountByName` reads counted. */
function countedOwn(storage: DurableObjectStorage): { own: DirectoryStore; ownReads: { count: number } } {
  const inner = new DoDirectoryStore(storage, { outbox: { encodeWrites: () => '' } });
  const ownReads = { count: 0 };
  const own = Object.assign(Object.create(inner) as DirectoryStore, {
    accountByName: (p: string, a: string) => {
      ownReads.count++;
      return inner.accountByName(p, a);
    },
  });
  return { own, ownReads };
}

/** Every map row key D1 holds, from all its databases. */
async function mapKeysInD1(): Promise<Uint8Array[]> {
  const keys: Uint8Array[] = [];
  for (const db of layout().shards) {
    const { results } = await db.prepare('SELECT DISTINCT key FROM dir_map_rows').all<{ key: ArrayBuffer }>();
    keys.push(...results.map((r) => new Uint8Array(r.key)));
  }
  return keys;
}

/**
 * A walk to each of `keys`' rows through `store`: a row not fetched is recorded by the store and reported
 * (MapRowNotFetched), and the walk goes on to the next key.
 */
const walkTo = (store: DirectoryStore, keys: Uint8Array[]) => () => {
  for (const k of keys)
    try {
      store.mapNode(k);
    } catch (e) {
      if (!(e instanceof MapRowNotFetched)) throw e;
    }
};

/** A map key of depth 200 that no map of these tests has: the object never holds it, so a walk fetches it. */
const NOT_HELD = new Uint8Array([200, 0x5a, 0xa5]);

describe('the object reads its own bulk through D1', () => {
  let leaf: PkiCert;

  it('checks submissions and answers its own lookups from D1 once replicated', async () => {
    leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    const first = signed(leaf, 'ann@x.example', 1);
    expect((await settle(post('/v1/bindings?wait=1', { statements: [first] }))).status).toBe(200);
    expect(await inSequencer(async (o) => o.replica!.readsReplica)).toBe(true);
    await dropOwnRows('ann@x.example');
    expect((await lookup('ann@x.example')).present?.version).toBe(1);
    // The identical statement again is its committed outcome; the same version signed anew is taken.
    const again = await settle(post('/v1/bindings?wait=1', { statements: [first] }));
    expect(await again.json()).toMatchObject({ results: [{ status: 'committed', version: 1 }] });
    const rival = await publish(leaf, [signed(leaf, 'ann@x.example', 1, 'another key')]);
    expect(rival.body).toMatchObject({ error: { code: 'version_conflict' } });
    expect((await settle(post('/v1/bindings?wait=1', { statements: [signed(leaf, 'ann@x.example', 2)] }))).status).toBe(
      200,
    );
    expect((await lookup('ann@x.example')).present?.version).toBe(2);
  });

  it('reads the epochs not yet replicated from the outbox laid over D1', async () => {
    await publishUnreplicated(leaf, signed(leaf, 'bob@x.example', 1)); // a name only the outbox knows
    const ann3 = signed(leaf, 'ann@x.example', 3);
    await publishUnreplicated(leaf, ann3);
    await publishUnreplicated(leaf, signed(leaf, 'ann@x.example', 4, null)); // a deletion: erases versions 1-3
    expect(await outboxEpochs()).toBe(3);
    await dropOwnRows('bob@x.example');
    await dropOwnRows('ann@x.example');
    expect((await lookup('bob@x.example')).present?.version).toBe(1);
    expect((await lookup('ann@x.example')).present?.version).toBe(4);
    expect((await publish(leaf, [signed(leaf, 'bob@x.example', 3)])).body).toMatchObject({
      error: { code: 'version_gap', message: expect.stringContaining('must be 2') },
    });
    // Version 3 was erased by the deletion (in the outbox): its statement is gone, so the same bytes are a conflict.
    expect((await publish(leaf, [ann3])).body).toMatchObject({ error: { code: 'version_conflict' } });
    const erased = await inSequencer(async (o) => {
      const label = (await o.directory.store.accountByName(PROVIDER, 'ann@x.example'))!.account.label;
      return o.directory.store.versions(label, 1, 4);
    });
    expect(erased.map((v) => [v.version, v.statement === null])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, false],
    ]);
    const next = await settle(post('/v1/bindings?wait=1', { statements: [signed(leaf, 'bob@x.example', 2)] }));
    expect(next.status).toBe(200);
    expect(await outboxEpochs()).toBe(0);
    expect((await lookup('bob@x.example')).present?.version).toBe(2);
  });

  it('reads its own rows before its first replication, and when D1 fails or lacks a row', async () => {
    const cy = signed(leaf, 'cy@x.example', 1); // an account whose rows the object still holds all of
    expect((await settle(post('/v1/bindings?wait=1', { statements: [cy] }))).status).toBe(200);
    const failing = { now: false };
    const warnings: unknown[] = [];
    await inSequencer(async (_o, storage) => {
      const { layout: l, reads } = controlledLayout({ failing });
      const { own, ownReads } = countedOwn(storage);
      const store = new ReplicatedDirectoryStore(own, storage, l, (e) => warnings.push(e));
      expect(await store.accountByName(PROVIDER, 'cy@x.example')).toMatchObject({ account: { version: 1 } });
      expect([reads.count, ownReads.count]).toEqual([0, 1]);
      await store.replicate();
      expect(await store.accountByName(PROVIDER, 'cy@x.example')).toMatchObject({ account: { version: 1 } });
      expect(ownReads.count).toBe(1);
      failing.now = true;
      expect(await store.accountByName(PROVIDER, 'cy@x.example')).toMatchObject({ account: { version: 1 } });
      expect(ownReads.count).toBe(2);
      expect(String(warnings[0])).toContain('injected');
      failing.now = false;
      // A name whose account row D1 lost: the object's rows answer, and it is logged.
      const label = (await own.accountByName(PROVIDER, 'cy@x.example'))!.account.label;
      await l.shards[label[0] >> 7]
        .prepare('DELETE FROM dir_accounts WHERE label = ?')
        .bind(label.slice().buffer)
        .run();
      expect(await store.accountByName(PROVIDER, 'cy@x.example')).toMatchObject({ account: { version: 1 } });
      expect(String(warnings[1])).toContain('ReplicaGapError');
    });
  });

  it('reads its own rows while a refill runs, and for a read in flight when one began', async () => {
    let openNames!: () => void;
    let openRefill!: () => void;
    const nameGate = new Promise<void>((r) => (openNames = r));
    const refillGate = new Promise<void>((r) => (openRefill = r));
    await inSequencer(async (_o, storage) => {
      const ready = controlledLayout({});
      const { own, ownReads } = countedOwn(storage);
      // A refill first, so that D1 holds every row again (the previous test deleted one).
      await ready.layout.meta.prepare('UPDATE dir_layout SET shards = 99').run();
      expect(await new ReplicatedDirectoryStore(own, storage, ready.layout, () => {}).replicate()).toMatchObject({
        backfilled: true,
      });
      const { layout: l, refillBegun } = controlledLayout({ nameGate, refillGate });
      const warnings: unknown[] = [];
      const store = new ReplicatedDirectoryStore(own, storage, l, (e) => warnings.push(e));
      await store.replicate();
      const inFlight = store.accountByName(PROVIDER, 'cy@x.example'); // waits for the gate, on D1
      // Another number of shards laid out: the next run refills every database, emptying them first.
      await l.meta.prepare('UPDATE dir_layout SET shards = 99').run();
      const refill = store.replicate();
      await refillBegun;
      expect(store.readsReplica).toBe(false);
      expect(await store.accountByName(PROVIDER, 'cy@x.example')).toMatchObject({ account: { version: 1 } });
      expect(ownReads.count).toBe(1);
      openNames();
      expect((await inFlight)?.account.version).toBe(1);
      expect(ownReads.count).toBe(2);
      openRefill();
      expect(await refill).toMatchObject({ backfilled: true });
      expect(store.readsReplica).toBe(true);
      expect(await store.accountByName(PROVIDER, 'cy@x.example')).toMatchObject({ account: { version: 1 } });
      expect(ownReads.count).toBe(2);
      expect(warnings, 'no read failed: the refill alone sent them to the object').toEqual([]);
    });
  });

  it('discards a round of map rows that a refill overtook, and reads them again', async () => {
    let openMap!: () => void;
    const mapGate = new Promise<void>((r) => (openMap = r));
    const rounds = await inSequencer(async (_o, storage) => {
      const { layout: l, reads, mapBlocked } = controlledLayout({ mapGate });
      const store = new ReplicatedDirectoryStore(countedOwn(storage).own, storage, l, () => {});
      await store.replicate();
      const walkToRow = () => {
        try {
          store.mapNode(NOT_HELD);
        } catch {} // MapRowNotFetched: met (the object does not hold it), fetched next
      };
      const fetching = store.fetchMapRows(walkToRow);
      await mapBlocked; // the first round's read has been sent
      await l.meta.prepare('UPDATE dir_layout SET shards = 99').run();
      expect(await store.replicate()).toMatchObject({ backfilled: true }); // a refill, during the round
      openMap();
      await fetching;
      return reads.map;
    });
    expect(rounds, 'the first round was read again after the refill').toBe(2);
  });

  it('reads its own rows while a shard of D1 went back, then refills it', async () => {
    // The shard of the name's label, so that the name itself is unknown there.
    const shard = layout().shards[nameShard(PROVIDER, 'cy@x.example', layout().bits)];
    const emptied = ['dir_versions', 'dir_accounts', 'dir_name_labels', 'dir_map_rows', 'dir_replica'];
    await shard.batch(emptied.map((t) => shard.prepare(`DELETE FROM ${t}`)));
    // Not an unknown account: the object reads its own rows, and the rival version is refused.
    const rival = await publish(leaf, [signed(leaf, 'cy@x.example', 1, 'another key')]);
    expect(rival.body).toMatchObject({ error: { code: 'version_conflict' } });
    expect(await inSequencer(async (o) => o.replica!.replicate())).toMatchObject({ backfilled: true });
    expect(await verifiedLookup(PROVIDER, 'cy@x.example', '10.9.0.6')).toEqual(['present', 1]);
  });

  it('plans epochs and proves its own lookups from map rows fetched from D1 and the outbox, its own deleted', async () => {
    await publishUnreplicated(leaf, signed(leaf, 'dee@x.example', 1)); // map rows only the outbox holds
    await dropOwnMap();
    const next = [signed(leaf, 'dee@x.example', 2), signed(leaf, 'eve@x.example', 1), signed(leaf, 'cy@x.example', 2)];
    expect((await publish(leaf, next)).status).toBe(202);
    // Planned from D1's rows with the outbox's (the previous epoch's) laid over them.
    await inSequencer(async (open) => void (await open.directory.closeEpoch(false)));
    expect(await outboxEpochs()).toBe(2);
    await runDurableObjectAlarm(sequencer()); // replicates both
    expect(await outboxEpochs()).toBe(0);
    const expected = { 'dee@x.example': 2, 'eve@x.example': 1, 'cy@x.example': 2, 'bob@x.example': 2 };
    // The replica's proofs (the isolate's) verify against the new epoch's signed map root: it planned right.
    for (const [account, version] of Object.entries(expected))
      expect(await verifiedLookup(PROVIDER, account, '10.9.0.5')).toEqual(['present', version]);
    // The object's own lookups, from rows it fetched (its cache emptied, its rows of the last epoch deleted too).
    await dropOwnMap();
    for (const account of Object.keys(expected)) {
      const path = `/v1/lookup/${PROVIDER}/${encodeURIComponent(account)}`;
      const fromObject = await objectLookup(path);
      expect(fromObject.status).toBe(200);
      expect(await fromObject.text()).toBe(
        await (await get(path, { headers: { 'cf-connecting-ip': '10.9.0.3' } })).text(),
      );
    }
  });
  it('keeps at most its bound of fetched map rows between epochs, dropping them before a walk past it', async () => {
    await runDurableObjectAlarm(sequencer()); // D1 holds every epoch
    await dropOwnMap();
    await inSequencer(async (_o, storage) => {
      const store = new ReplicatedDirectoryStore(countedOwn(storage).own, storage, layout(), () => {}, 3);
      expect(await store.replicate()).toMatchObject({ refilling: false });
      const keys = await mapKeysInD1();
      expect(keys.length).toBeGreaterThanOrEqual(5);
      const walkOver = (some: Uint8Array[]) => walkTo(store, some);
      const read = (some: Uint8Array[]) => some.map((k) => store.mapNode(k) !== undefined);
      const sizes = [];
      for (const some of [keys.slice(0, 2), keys.slice(2, 4), keys.slice(4, 5)]) {
        await store.fetchMapRows(walkOver(some));
        expect(read(some), 'every row it met is there after it').toEqual(some.map(() => true));
        sizes.push(store.fetchedRows);
      }
      expect(sizes, 'dropped before the third walk, past the bound of 3').toEqual([2, 4, 1]);
    });
  });

  it("fetches the map's paths in a round or two with the keys a walk names ahead, a level a round without", async () => {
    // 60 more accounts, so that paths are several levels deep.
    const more = Array.from({ length: 60 }, (_, i) => signed(leaf, `deep${i}@x.example`, 1));
    expect((await settle(post('/v1/bindings?wait=1', { statements: more }))).status).toBe(200);
    await runDurableObjectAlarm(sequencer()); // D1 holds every epoch
    await dropOwnMap();
    const labels: Uint8Array[] = [];
    for (const db of layout().shards) {
      const { results } = await db.prepare('SELECT label FROM dir_accounts').all<{ label: ArrayBuffer }>();
      labels.push(...results.map((r) => new Uint8Array(r.label)));
    }
    expect(labels.length).toBeGreaterThanOrEqual(64);
    const fetchWith = (ahead: boolean) =>
      inSequencer(async (_o, storage) => {
        const { layout: l, reads } = controlledLayout({});
        const store = new ReplicatedDirectoryStore(countedOwn(storage).own, storage, l, () => {});
        await store.replicate();
        const map = new StoredMap(store);
        let rounds = 0;
        await store.fetchMapRows((named) => {
          rounds++;
          for (const label of labels)
            try {
              map.get(label);
            } catch (e) {
              if (!(e instanceof MapRowNotFetched)) throw e;
              if (ahead) named(keysAlong(e.key, label, 24));
            }
        });
        // Every path is fetched whole: each label's leaf is read without I/O now.
        const leaves = labels.map((label) => hex(map.get(label)!.historyHash));
        return { rounds, mapReads: reads.map, leaves };
      });
    const [without, withAhead] = [await fetchWith(false), await fetchWith(true)];
    expect(withAhead.leaves).toEqual(without.leaves);
    // A walk runs once more than the rounds it fetched: the last run meets nothing.
    expect(withAhead.rounds).toBeLessThanOrEqual(3);
    expect(without.rounds).toBeGreaterThan(withAhead.rounds);
    expect(withAhead.mapReads).toBeLessThan(without.mapReads);
  });

  it("keeps the fetched rows past the bound while another walk's fetch is in flight, so that its round stands", async () => {
    await runDurableObjectAlarm(sequencer()); // D1 holds every epoch
    await dropOwnMap(); // so that every row is fetched
    await inSequencer(async (_o, storage) => {
      const keys = (await mapKeysInD1()).filter((k) => k.length > 0);
      // The reads of keys[4]'s row wait for `open`, and are counted (a read is a batch of its statement with the
      // database's marker, prepared just before it).
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      const slowKey = `X'${hex(keys[4])}'`;
      let slowReads = 0;
      let slowPrepared = false;
      const gated = (db: IndexDatabase): IndexDatabase => ({
        prepare: (q) => {
          if (q.includes(slowKey)) slowPrepared = true;
          return db.prepare(q);
        },
        batch: async (statements) => {
          if (slowPrepared) {
            slowPrepared = false;
            slowReads++;
            await gate;
          }
          return db.batch(statements);
        },
      });
      const l = layout();
      const shards = l.shards.map(gated);
      const store = new ReplicatedDirectoryStore(
        countedOwn(storage).own,
        storage,
        { meta: shards[0], shards, bits: l.bits },
        () => {},
        3,
      );
      expect(await store.replicate()).toMatchObject({ refilling: false });
      const walkOver = (some: Uint8Array[]) => walkTo(store, some);
      await store.fetchMapRows(walkOver(keys.slice(0, 2)));
      // An epoch's fetch whose round waits for its reads; meanwhile the rows pass the bound of 3 (another fetch),
      // and a lookup's walk over rows fetched before starts: it would have dropped every row, and the first
      // fetch's round would have been read again.
      const slow = store.fetchMapRows(walkOver([keys[4]]));
      await store.fetchMapRows(walkOver(keys.slice(2, 4)));
      expect(store.fetchedRows).toBe(4);
      await store.fetchMapRows(walkOver(keys.slice(0, 2)));
      open();
      await slow;
      expect(store.fetchedRows, 'nothing dropped while the first fetch was in flight').toBe(5);
      expect(slowReads, "the first fetch's round read once").toBe(1);
    });
  });
});
