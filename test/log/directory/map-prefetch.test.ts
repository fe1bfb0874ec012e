/**
 * The map rows read ahead of an epoch's plan (log/directory/map-prefetch.ts): a path reader returns real rows that
 * suffice to walk each label's path; their packing is exact and refuses every truncation; the upper levels a
 * reader keeps are read again once the root row changes; rows answered after an epoch committed are not taken
 * (read again instead), and a reader that fails costs nothing but the time. In a directory, the plan finds the
 * rows read ahead, and a reader that answers late with rows of an earlier state changes nothing it signs.
 */
import { describe, expect, it } from 'vitest';
import { proveLookup } from '../../../log/directory/proof-builder.js';
import {
  MapPrefetch,
  packRows,
  pathRows,
  unpackRows,
  UpperLevelMemo,
  type MapPathReader,
} from '../../../log/directory/map-prefetch.js';
import { buildStoredMap } from '../../../verifier/formats/map-build.js';
import { mapKeyString, type MapNodeRow } from '../../../verifier/formats/map-nodes.js';
import type { MapLeaf } from '../../../verifier/formats/map-proof.js';
import { MemoryMapStore, StoredMap, type MapNodeSource } from '../../../verifier/formats/stored-map.js';
import { toHex } from '../../../wasm-free-crypto/bytes.js';
import { randomBytes } from '../../../wasm-free-crypto/random.js';
import {
  enrolProvider,
  identityKey,
  openTestDirectory,
  statementFor,
  type TestDirectory,
  type TestProvider,
} from '../../helpers/directory.js';

const leafOf = (label: Uint8Array, version = 1): MapLeaf => ({ label, version, historyHash: randomBytes(32) });

/** A stored map of `n` random labels in memory, and its labels. */
function memoryMap(n: number): { store: MemoryMapStore; labels: Uint8Array[] } {
  const store = new MemoryMapStore();
  const labels = Array.from({ length: n }, () => randomBytes(32));
  store.writeMapRows(new StoredMap(store).plan(labels.map((l) => leafOf(l))).rows);
  return { store, labels };
}

/** `source`, counting its reads. */
function counting(source: MapNodeSource): MapNodeSource & { reads: number } {
  const c = { reads: 0, mapNode: (key: Uint8Array) => (c.reads++, source.mapNode(key)) };
  return c;
}

describe('reading paths ahead', () => {
  it("returns the store's own rows below the upper levels, enough to walk each path", () => {
    const { store, labels } = memoryMap(2000);
    const asked = labels.slice(0, 50);
    const rows = pathRows(store, asked);
    const byKey = new Map(rows.map((r) => [mapKeyString(r.key), r.value]));
    expect(byKey.size).toBe(rows.length); // each row once
    for (const r of rows) {
      expect(r.key[0]).toBeGreaterThanOrEqual(10);
      expect(toHex(r.value)).toBe(toHex(store.mapNode(r.key)!));
    }
    // The upper levels from the store, everything below only from the rows read ahead: every path walks.
    const upperOnly: MapNodeSource = {
      mapNode: (key) => (key.length === 0 || key[0] < 10 ? store.mapNode(key) : byKey.get(mapKeyString(key))),
    };
    for (const label of asked) expect(new StoredMap(upperOnly).get(label)).toEqual(new StoredMap(store).get(label));
  });

  it('packs rows exactly and refuses every truncated packing', () => {
    const { store, labels } = memoryMap(300);
    const rows = pathRows(store, labels.slice(0, 5));
    const packed = packRows(rows);
    const back = unpackRows(packed);
    expect(back.map((r) => `${toHex(r.key)}=${toHex(r.value)}`)).toEqual(
      rows.map((r) => `${toHex(r.key)}=${toHex(r.value)}`),
    );
    const ends = new Set<number>([0]);
    let at = 0;
    for (const r of rows) ends.add((at += 3 + r.key.length + r.value.length));
    for (let n = 1; n < packed.length; n++)
      if (!ends.has(n)) expect(() => unpackRows(packed.subarray(0, n)), `cut at ${n}`).toThrow(RangeError);
    expect(() => packRows([{ key: new Uint8Array(256), value: new Uint8Array(1) }])).toThrow(RangeError);
  });

  it('keeps the upper levels while the root row is the same, and reads them again once it changes', () => {
    const { store, labels } = memoryMap(1000);
    const source = counting(store);
    const memo = new UpperLevelMemo(source);
    pathRows(memo.current(), labels.slice(0, 20));
    const first = source.reads;
    pathRows(memo.current(), labels.slice(0, 20));
    expect(source.reads - first).toBeLessThan(first / 2); // only the root row and the levels below the memo
    const changed = leafOf(labels[0], 2);
    store.writeMapRows(new StoredMap(store).plan([changed]).rows);
    const rows = new Map(pathRows(memo.current(), [labels[0]]).map((r) => [mapKeyString(r.key), r.value]));
    const walk: MapNodeSource = { mapNode: (k) => rows.get(mapKeyString(k)) ?? memo.current().mapNode(k) };
    expect(new StoredMap(walk).get(labels[0])).toEqual(changed);
  });
});

/** A path reader over `store` whose answers wait until `release` is called. */
function heldReader(store: MapNodeSource, minDepth?: number) {
  const held: (() => void)[] = [];
  const reader: MapPathReader & { calls: number } = {
    calls: 0,
    readPaths(labels) {
      reader.calls++;
      const rows = pathRows(store, labels, minDepth); // read now, answered later
      return new Promise<MapNodeRow[]>((resolve) => held.push(() => resolve(rows)));
    },
  };
  return { reader, release: () => held.splice(0).forEach((r) => r()) };
}

const turn = () => new Promise((r) => setTimeout(r, 5));

describe('the rows read ahead', () => {
  it('answer the plan in place of the store', async () => {
    const { store, labels } = memoryMap(4000);
    const depths: number[] = [];
    const source: MapNodeSource = { mapNode: (k) => (depths.push(k.length === 0 ? -1 : k[0]), store.mapNode(k)) };
    const prefetch = new MapPrefetch(source, { readPaths: async (l) => pathRows(store, l) });
    for (const l of labels.slice(0, 30)) prefetch.request(l);
    await prefetch.settled(labels.slice(0, 30));
    for (const l of labels.slice(0, 30)) expect(new StoredMap(prefetch).get(l)).toEqual(new StoredMap(store).get(l));
    expect(prefetch.stats.hits).toBeGreaterThan(30);
    expect(depths.length).toBeGreaterThan(0);
    expect(depths.every((d) => d < 10)).toBe(true); // only the root row and the upper levels from the store
  });

  it('are not taken when an epoch committed before they came, and are asked for once more', async () => {
    const { store, labels } = memoryMap(4000);
    const { reader, release } = heldReader(store);
    const prefetch = new MapPrefetch(store, reader);
    prefetch.request(labels[0]);
    await turn();
    expect(reader.calls).toBe(1);
    prefetch.invalidate(); // an epoch committed meanwhile
    release();
    await turn();
    expect(prefetch.stats).toMatchObject({ taken: 0 });
    expect(prefetch.stats.stale).toBeGreaterThan(0);
    expect(reader.calls).toBe(2); // asked again, at the new state
    release();
    await prefetch.settled([labels[0]]);
    expect(prefetch.stats.taken).toBeGreaterThan(0);
    prefetch.invalidate();
    const source = counting(store);
    new StoredMap(new MapPrefetch(source, reader)).get(labels[0]);
    expect(source.reads).toBeGreaterThan(0);
  });

  it('are waited for only for the labels of the epoch being planned', async () => {
    const { store, labels } = memoryMap(4000);
    const { reader, release } = heldReader(store);
    const prefetch = new MapPrefetch(store, reader);
    prefetch.request(labels[0]);
    await turn();
    const done: string[] = [];
    void prefetch.settled([labels[1]]).then(() => done.push('other'));
    void prefetch.settled([]).then(() => done.push('none'));
    void prefetch.settled([labels[0]]).then(() => done.push('own'));
    await turn();
    expect(done.sort()).toEqual(['none', 'other']); // a heartbeat, or an epoch of other labels, does not wait
    release();
    await turn();
    expect(done).toContain('own');
  });

  it('read at most 20,000 labels at once, and keep copies of what they take', async () => {
    const { store, labels } = memoryMap(4000);
    const { reader, release } = heldReader(store);
    const asked: number[] = [];
    const prefetch = new MapPrefetch(store, {
      readPaths: (l) => (asked.push(l.length), reader.readPaths(l)),
    });
    for (let i = 0; i < 20_050; i++) prefetch.request(labels[i % labels.length]);
    await turn();
    expect(asked.reduce((a, b) => a + b, 0)).toBe(20_000);
    const answer = pathRows(store, [labels[0]]);
    const { reader: once, release: answerOnce } = {
      reader: { readPaths: async () => answer },
      release: () => undefined,
    };
    const copying = new MapPrefetch(store, once);
    copying.request(labels[0]);
    answerOnce();
    await copying.settled([labels[0]]);
    const row = answer[answer.length - 1];
    const before = toHex(copying.mapNode(row.key)!);
    row.value.fill(0); // the answer's buffer reused or changed: what was taken is unchanged
    expect(toHex(copying.mapNode(row.key)!)).toBe(before);
    release();
  });

  it('cost nothing but the time when the reader fails', async () => {
    const { store, labels } = memoryMap(200);
    const prefetch = new MapPrefetch(store, { readPaths: () => Promise.reject(new Error('gone')) });
    prefetch.request(labels[1]);
    await prefetch.settled([labels[1]]);
    expect(new StoredMap(prefetch).get(labels[1])).toEqual(new StoredMap(store).get(labels[1]));
    expect(prefetch.stats).toEqual({ taken: 0, stale: 0, hits: 0 });
  });
});

const ACCOUNTS = Array.from({ length: 60 }, (_, i) => `user${i}@chat.example`);

async function publish(t: TestDirectory, chat: TestProvider, accounts: string[], version: number, close = true) {
  const accepted = [];
  for (const a of accounts) {
    const s = chat.sign(statementFor(chat, a, version, [identityKey()], t.clock.now));
    accepted.push(await t.dir.submit(s.statement, s.signature));
  }
  if (!close) return accepted;
  await t.dir.closeEpoch(false);
  await Promise.all(accepted.map((a) => a.committed));
  return accepted;
}

/** Every account verifies at its version, and the stored rows are those a bulk build of the accounts makes. */
async function expectSound(t: TestDirectory, versions: Map<string, number>) {
  for (const [a, v] of versions) {
    const result = t.verifier.verifyLookup(await proveLookup(t.dir, 'chat.example', a), 'chat.example', a);
    expect([a, result.status, result.statement?.version]).toEqual([a, 'present', v]);
  }
  type Row = { label: Uint8Array; version: number; history: Uint8Array };
  const leaves = (t.db.prepare('SELECT label, version, history FROM dir_accounts ORDER BY label').all() as Row[]).map(
    (r) => ({ label: new Uint8Array(r.label), version: r.version, historyHash: new Uint8Array(r.history) }),
  );
  const built: string[] = [];
  buildStoredMap(leaves, (r) => built.push(`${toHex(r.key)}=${toHex(r.value)}`));
  const rows = t.db.prepare('SELECT key, node FROM dir_map').all() as { key: Uint8Array; node: Uint8Array }[];
  expect(rows.map((r) => `${toHex(r.key)}=${toHex(r.node)}`).sort()).toEqual(built.sort());
}

describe('a directory reading paths ahead', () => {
  it('plans its epochs from the rows read ahead, and signs the same map', async () => {
    const t = await openTestDirectory({
      mapCacheRows: 5,
      mapPathReader: (store) => ({ readPaths: async (labels) => pathRows(store, labels, 0) }),
    });
    const chat = await enrolProvider(t, 'chat.example');
    await publish(t, chat, ACCOUNTS, 1);
    await publish(t, chat, ACCOUNTS.slice(0, 20), 2);
    expect(t.dir.mapReadAheadStats.hits).toBeGreaterThan(0);
    await expectSound(t, new Map(ACCOUNTS.map((a, i) => [a, i < 20 ? 2 : 1])));
  });

  it('reads no path for a submission it refuses', async () => {
    const asked: number[] = [];
    const t = await openTestDirectory({
      maxQueue: 2,
      mapPathReader: (store) => ({
        readPaths: async (labels) => (asked.push(labels.length), pathRows(store, labels, 0)),
      }),
    });
    const chat = await enrolProvider(t, 'chat.example');
    const sign = (a: string) => chat.sign(statementFor(chat, a, 1, [identityKey()], t.clock.now));
    for (const a of ACCOUNTS.slice(0, 2)) {
      const s = sign(a);
      await t.dir.submit(s.statement, s.signature);
    }
    await turn();
    expect(asked.reduce((a, b) => a + b, 0)).toBe(2);
    for (const a of ACCOUNTS.slice(2, 8)) {
      const s = sign(a);
      await expect(t.dir.submit(s.statement, s.signature)).rejects.toMatchObject({ code: 'queue_full' });
    }
    await turn();
    expect(asked.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('takes nothing a reader answers after an epoch committed: the next epoch is planned on the new state', async () => {
    let held: ReturnType<typeof heldReader> | null = null;
    const t = await openTestDirectory({
      mapCacheRows: 5,
      mapPathReader: (store) => {
        held = heldReader(store, 0);
        return held.reader;
      },
    });
    const h = held as unknown as ReturnType<typeof heldReader>;
    const chat = await enrolProvider(t, 'chat.example');
    const first = await publish(t, chat, ACCOUNTS.slice(0, 30), 1, false);
    h.release();
    await t.dir.closeEpoch(false);
    await Promise.all(first.map((a) => a.committed));
    // Version 2 of user0..9: their paths are read now, at version 1, and answered only after the epoch of
    // version 2 committed (the plan waited for them, then read the store itself).
    const second = await publish(t, chat, ACCOUNTS.slice(0, 10), 2, false);
    await t.dir.closeEpoch(false);
    await Promise.all(second.map((a) => a.committed));
    h.release(); // rows of version 1, too late: asked for again, at version 2
    await turn();
    expect(t.dir.mapReadAheadStats.stale).toBeGreaterThan(0);
    h.release();
    const third = await publish(t, chat, ACCOUNTS.slice(0, 10), 3, false);
    h.release();
    await turn();
    h.release();
    await t.dir.closeEpoch(false);
    await Promise.all(third.map((a) => a.committed));
    await expectSound(t, new Map(ACCOUNTS.slice(0, 30).map((a, i) => [a, i < 10 ? 3 : 1])));
  }, 20_000);
});
