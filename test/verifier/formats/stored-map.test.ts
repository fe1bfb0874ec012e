/**
 * Tests for the stored map (verifier/formats/stored-map.ts, map-nodes.ts, map-build.ts, map-cache.ts):
 * random batches applied by planning and writing rows give the roots, leaves and proofs of the in-memory
 * PrefixTree and the roots of the definition (test/helpers/map-definition.ts); the rows an incremental
 * history writes are exactly the rows a bulk build of the same leaves writes (the stored tree is
 * canonical); every tree size up to 100; a plan changes nothing until its rows are written; the cache
 * stays within its bound and answers as the source does, and keeps no view of a batch's slab; keys as Map
 * keys are exact; every malformed row is refused.
 */
import { describe, expect, it } from 'vitest';
import { toHex, u64be, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { MAP_EMPTY_ROOT, type MapLeaf } from '../../../verifier/formats/map-proof.js';
import { PrefixTree } from '../../../verifier/formats/prefix-tree.js';
import { buildStoredMap } from '../../../verifier/formats/map-build.js';
import { MapNodeCache } from '../../../verifier/formats/map-cache.js';
import {
  decodeMapNode,
  decodeMapRoot,
  MAP_ROOT_KEY,
  mapKeyId,
  mapKeyString,
  mapNodeKey,
  ownRowBytes,
  RowSlab,
  type MapNodeRow,
} from '../../../verifier/formats/map-nodes.js';
import { decodedNode } from '../../../verifier/formats/map-decoded.js';
import { MemoryMapStore, StoredMap, type MapNodeSource } from '../../../verifier/formats/stored-map.js';
import { rootFromLeaves } from '../../helpers/map-definition.js';
import { errorCode } from '../../helpers/error-code.js';
import { prng } from '../../helpers/prng.js';

/** An in-memory source that counts reads. */
class MemorySource implements MapNodeSource {
  readonly rows = new Map<string, MapNodeRow>();
  reads = 0;
  mapNode(key: Uint8Array): Uint8Array | undefined {
    this.reads++;
    return this.rows.get(mapKeyString(key))?.value;
  }
  write(rows: MapNodeRow[]): void {
    for (const r of rows) this.rows.set(mapKeyString(r.key), r);
  }
  /** The rows as sorted hex pairs, to compare two stores. */
  dump(): string[] {
    return [...this.rows.values()].map((r) => `${toHex(r.key)}=${toHex(r.value)}`).sort();
  }
}

const bytes32 = (tag: string, n: number) => sha256(utf8(tag), u64be(n));
const leafOf = (label: Uint8Array, version = 1): MapLeaf => ({
  label,
  version,
  historyHash: sha256(utf8('history'), label, u64be(version)),
});

/** Labels of which many share long prefixes (the same first 0..31 bytes as an earlier one). */
function labels(n: number, seed: number): Uint8Array[] {
  const rand = prng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const l = bytes32('label', seed * 1_000_000 + i);
    if (out.length > 0 && rand() < 0.3)
      l.set(out[Math.floor(rand() * out.length)].subarray(0, Math.floor(rand() * 32)));
    if (!out.some((o) => toHex(o) === toHex(l))) out.push(l);
  }
  return out;
}

function sortedLeaves(leaves: MapLeaf[]): MapLeaf[] {
  return [...leaves].sort((a, b) => (toHex(a.label) < toHex(b.label) ? -1 : 1));
}

function bulk(leaves: MapLeaf[]): { source: MemorySource; root: Uint8Array } {
  const source = new MemorySource();
  const root = buildStoredMap(sortedLeaves(leaves), (r) => source.write([r]));
  return { source, root };
}

describe('the stored map', () => {
  it('follows random batches as PrefixTree and the definition do, proof for proof', () => {
    const rand = prng(7);
    const source = new MemorySource();
    const map = new StoredMap(source);
    const memory = new PrefixTree();
    const current = new Map<string, MapLeaf>();
    const all = labels(1500, 3);
    let next = 0;
    for (let batch = 0; batch < 40; batch++) {
      const updates = new Map<string, MapLeaf>();
      const fresh = Math.floor(rand() * 60);
      for (let i = 0; i < fresh && next < all.length; i++, next++) updates.set(toHex(all[next]), leafOf(all[next]));
      for (const old of [...current.values()].filter(() => rand() < 0.05))
        updates.set(toHex(old.label), leafOf(old.label, old.version + 1));
      const batchLeaves = [...updates.values()];
      const planned = map.plan(batchLeaves);
      expect(toHex(map.root())).toBe(toHex(memory.root())); // planning wrote nothing
      source.write(planned.rows);
      for (const l of batchLeaves) current.set(toHex(l.label), l);
      expect(toHex(planned.root)).toBe(toHex(memory.applyBatch(batchLeaves)));
      expect(toHex(map.root())).toBe(toHex(rootFromLeaves([...current.values()])));
    }
    for (const l of [...current.values()].slice(0, 300)) {
      expect(map.prove(l.label)).toEqual(memory.prove(l.label));
      expect(map.get(l.label)).toEqual(memory.get(l.label));
    }
    for (let i = 0; i < 300; i++) {
      const absent = i % 2 ? bytes32('absent', i) : all[i].slice();
      if (i % 2 === 0) absent[31] ^= 1 << (i % 8);
      expect(map.prove(absent)).toEqual(memory.prove(absent));
      expect(map.get(absent)).toBe(memory.get(absent));
    }
    // A batch whose new leaves depend on the old: each label is asked for once, in label order, with its
    // leaf before the batch, and the plan is the plan of the leaves given.
    const asked = [
      ...[...current.values()].slice(0, 200).map((l) => l.label),
      ...all.slice(-100),
      bytes32('absent', 1),
    ];
    const given: { i: number; previous: MapLeaf | undefined }[] = [];
    const leaves = asked.map((l) => leafOf(l, (map.get(l)?.version ?? 0) + 1));
    const planned = map.planFrom(asked, (i, previous) => {
      given.push({ i, previous });
      return leaves[i];
    });
    expect(given.map((g) => g.i).sort((x, y) => x - y)).toEqual(asked.map((_, i) => i));
    expect(given.map((g) => toHex(asked[g.i]))).toEqual(asked.map(toHex).sort());
    for (const g of given) expect(g.previous).toEqual(memory.get(asked[g.i]));
    expect(planned).toEqual(map.plan(leaves));
    expect(errorCode(() => map.planFrom([asked[0]], () => leaves[1]))).toBe('bad_label');
    expect(errorCode(() => map.planFrom([asked[0]], () => ({ ...leaves[0], version: -1 })))).toBe('bad_version');
    // The stored tree is canonical: the same leaves built in one pass are the same rows.
    expect(source.dump()).toEqual(bulk([...current.values()]).source.dump());
  });

  it('plans a batch in one pass: it reads the nodes it changes, once each, and no other', () => {
    const source = bulk(labels(500, 5).map((l) => leafOf(l))).source;
    const map = new StoredMap(source);
    for (const [i, fresh] of labels(40, 9).entries()) {
      // A new label goes in at its first difference d from the leaf its bits lead to: the nodes above d
      // change (and are read), a new node branches on d, and the nodes below d are neither read nor written.
      const proof = map.prove(fresh);
      if (proof.kind !== 'absent' || proof.terminal === null) throw new Error('unreachable');
      let d = 0;
      while (d < 256 && ((fresh[d >>> 3] ^ proof.terminal.label[d >>> 3]) & (0x80 >>> (d & 7))) === 0) d++;
      const above = proof.path.filter((s) => s.depth < d).length;
      source.reads = 0;
      const batch = map.plan([leafOf(fresh)]);
      expect(source.reads, `label ${i}`).toBe(1 + above); // and the root row
      expect(batch.rows.length).toBe(above + 2); // and the new node and the root row
      expect(new Set(batch.rows.map((r) => mapKeyString(r.key))).size).toBe(batch.rows.length);
    }
    // Two labels in one batch: the union of the nodes each changes alone, each read once.
    const [x, y] = [bytes32('two', 1), bytes32('two', 2)];
    const keys = (rows: MapNodeRow[]) => rows.map((r) => toHex(r.key)).sort();
    const alone = [x, y].map((l) => keys(map.plan([leafOf(l)]).rows));
    source.reads = 0;
    const both = keys(map.plan([leafOf(y), leafOf(x)]).rows);
    expect(both).toEqual([...new Set([...alone[0], ...alone[1]])].sort());
    expect(source.reads).toBe(both.length - 2); // the two new nodes are not read, the root row is
  });

  it('builds every tree size up to 100 as the definition does, in one pass or one leaf at a time', () => {
    const all = labels(100, 11).map((l) => leafOf(l));
    for (let n = 0; n <= all.length; n++) {
      const leaves = all.slice(0, n);
      const { source, root } = bulk(leaves);
      expect(toHex(root)).toBe(toHex(rootFromLeaves(leaves)));
      expect(toHex(new StoredMap(source).root())).toBe(toHex(root));
      const oneByOne = new MemorySource();
      const map = new StoredMap(oneByOne);
      for (const l of leaves) oneByOne.write(map.plan([l]).rows);
      if (n > 0) expect(oneByOne.dump()).toEqual(source.dump()); // (no batch has written the empty root row)
    }
    expect(toHex(new StoredMap(new MemorySource()).root())).toBe(toHex(MAP_EMPTY_ROOT));
  });

  it('refuses a batch with a repeated label, and a bulk build out of order', () => {
    const map = new StoredMap(new MemorySource());
    const l = leafOf(bytes32('x', 1));
    expect(errorCode(() => map.plan([l, leafOf(l.label, 2)]))).toBe('duplicate_label');
    const [a, b] = sortedLeaves([leafOf(bytes32('x', 2)), leafOf(bytes32('x', 3))]);
    expect(errorCode(() => buildStoredMap([b, a], () => {}))).toBe('unsorted_leaves');
    expect(errorCode(() => buildStoredMap([a, a], () => {}))).toBe('duplicate_label');
  });

  it('reads through a bounded cache that answers as the source does and keeps the upper levels', () => {
    const leaves = labels(2000, 5).map((l) => leafOf(l));
    const { source } = bulk(leaves);
    const cache = new MapNodeCache(source, 64);
    const cached = new StoredMap(cache);
    const direct = new StoredMap(source);
    for (const l of leaves.slice(0, 500)) expect(cached.prove(l.label)).toEqual(direct.prove(l.label));
    expect(cache.stats.rows).toBeLessThanOrEqual(64);
    const depth = direct.prove(leaves[0].label).path.length;
    source.reads = 0;
    cached.get(leaves[0].label);
    expect(source.reads).toBeLessThan(depth); // the root and the upper nodes came from the cache
    // After a commit, the cached copies are replaced: the cache answers the new root.
    const batch = cached.plan([leafOf(leaves[1].label, 2)]);
    source.write(batch.rows);
    cache.committed(batch.rows);
    expect(toHex(cached.root())).toBe(toHex(batch.root));
    expect(cached.get(leaves[1].label)?.version).toBe(2);
  });

  it('evicts by CLOCK: the first row the hand finds unused since it last passed, the used ones getting a second chance', () => {
    const source = new MemorySource();
    const key = (i: number) => Uint8Array.of(8, i);
    source.write([1, 2, 3, 4, 5].map((i) => ({ key: key(i), value: Uint8Array.of(i) })));
    const cache = new MapNodeCache(source, 3);
    const read = (i: number) => {
      const before = source.reads;
      expect(cache.mapNode(key(i))).toEqual(Uint8Array.of(i));
      return source.reads > before ? 'miss' : 'hit';
    };
    expect([1, 2, 3].map(read)).toEqual(['miss', 'miss', 'miss']);
    expect(read(1)).toBe('hit'); // 1 used: it survives the next eviction
    expect(read(4)).toBe('miss'); // the hand clears 1's mark and evicts 2
    expect([1, 3, 4].map(read)).toEqual(['hit', 'hit', 'hit']);
    expect(read(2)).toBe('miss'); // every row used: one full turn clears them, then 3 (after 2's slot) goes
    expect(cache.stats.rows).toBe(3);
    expect([2, 1, 4].map(read)).toEqual(['hit', 'hit', 'hit']);
    expect(read(3)).toBe('miss');
    expect(cache.mapNode(Uint8Array.of(8, 9))).toBeUndefined(); // absent: not cached
    cache.committed([{ key: key(3), value: Uint8Array.of(33) }]);
    expect(cache.mapNode(key(3))).toEqual(Uint8Array.of(33)); // the committed copy replaces the cached one
    cache.clear();
    expect(cache.stats.rows).toBe(0);
    expect(read(1)).toBe('miss');
  });

  it("hands a batch's rows out as views of shared chunks that never overlap, and a cache keeps copies", () => {
    const slab = new RowSlab();
    const sizes = [64, 65, 146, 1, 100, 8000, 8193, ...Array.from({ length: 200 }, (_, i) => 70 + (i % 77))];
    const views = sizes.map((n, i) => {
      const v = slab.take(n);
      expect(v.length).toBe(n);
      expect(v.every((b) => b === 0)).toBe(true);
      v.fill(i % 255);
      return v;
    });
    views.forEach((v, i) => expect(v.every((b) => b === i % 255)).toBe(true)); // no row wrote over another
    // Up to 64 bytes (V8 allocates those in its heap) and past a chunk: arrays of their own; else views.
    sizes.forEach((n, i) => expect(views[i].buffer.byteLength === n).toBe(n <= 64 || n > 8192)); // 8,192: a chunk
    const shared = views[2];
    expect(ownRowBytes(shared)).not.toBe(shared);
    expect(ownRowBytes(shared)).toEqual(shared);
    expect(ownRowBytes(shared).buffer.byteLength).toBe(146);
    expect(ownRowBytes(views[0])).toBe(views[0]);
    // A batch's rows are such views; the cache replaces its copies with rows of their own.
    const leaves = labels(300, 9).map((l) => leafOf(l));
    const { source } = bulk(leaves);
    const cache = new MapNodeCache(source, 10_000);
    const map = new StoredMap(cache);
    for (const l of leaves) map.get(l.label);
    const batch = map.plan(leaves.slice(0, 40).map((l) => leafOf(l.label, 2)));
    expect(batch.rows.some((r) => r.value.buffer.byteLength > r.value.byteLength)).toBe(true);
    source.write(batch.rows);
    cache.committed(batch.rows);
    for (const r of batch.rows) {
      const cached = cache.mapNode(r.key)!;
      expect(cached).toEqual(r.value);
      expect(cached.buffer.byteLength).toBe(cached.byteLength);
    }
    expect(toHex(map.root())).toBe(toHex(batch.root));
  });

  it('keeps copies in a store in memory, compacted so that it holds at most about three times its rows', () => {
    const leaves = labels(2000, 11).map((l) => leafOf(l));
    const store = new MemoryMapStore();
    const map = new StoredMap(store);
    const tree = new PrefixTree();
    const rand = prng(11);
    const lengths = new Map<string, number>(); // each key's last row length, recomputed here
    let compactions = 0;
    for (let epoch = 0; epoch < 40; epoch++) {
      const batch = epoch === 0 ? leaves : leaves.filter(() => rand() < 0.05).map((l) => leafOf(l.label, epoch + 1));
      const planned = map.plan(batch);
      const copiedBefore = store.bytes.copied;
      store.writeMapRows(planned.rows);
      if (store.bytes.copied < copiedBefore) compactions++;
      tree.applyBatch(batch);
      expect(toHex(map.root())).toBe(toHex(tree.root()));
      for (const r of planned.rows) {
        lengths.set(toHex(r.key), r.value.length);
        expect(store.mapNode(r.key)!.buffer).not.toBe(r.value.buffer); // a copy, not the plan's chunk
      }
      const kept = [...lengths.values()].reduce((a, b) => a + b, 0);
      expect(store.bytes.kept).toBe(kept);
      expect(store.bytes.copied).toBeLessThanOrEqual(2 * kept + (1 << 20));
    }
    expect(compactions).toBeGreaterThan(0);
    for (const l of leaves.slice(0, 300)) expect(map.prove(l.label)).toEqual(tree.prove(l.label));
    // Forgetting rows counts them out.
    const some = [...lengths.keys()]
      .slice(0, 10)
      .map((k) => Uint8Array.from(k.match(/../g) ?? [], (h) => parseInt(h, 16)));
    const before = store.bytes.kept;
    store.forget(some);
    expect(store.bytes.kept).toBe(before - some.reduce((a, k) => a + lengths.get(toHex(k))!, 0));
    for (const k of some) expect(store.mapNode(k)).toBeUndefined();
  });

  it('names each key by a Map key equal only to the same bytes', () => {
    const keys: Uint8Array[] = [
      MAP_ROOT_KEY,
      Uint8Array.of(0),
      Uint8Array.of(0, 0),
      Uint8Array.of(1),
      Uint8Array.of(8),
    ];
    for (let n = 1; n <= 9; n++) for (const b of [0, 1, 0x80, 0xff]) keys.push(new Uint8Array(n).fill(b));
    keys.push(
      Uint8Array.of(8, 1),
      Uint8Array.of(0, 8, 1),
      Uint8Array.of(8, 1, 0),
      Uint8Array.of(255, 255, 255, 255, 255, 255),
    );
    keys.push(...labels(50, 4).flatMap((l) => [1, 7, 9, 40, 41, 47, 48, 49, 255].map((d) => mapNodeKey(l, d))));
    const ids = new Map<number | string, string>();
    for (const k of keys) {
      const id = mapKeyId(k);
      expect(typeof id === 'number').toBe(k.length <= 6);
      if (typeof id === 'number') expect(Number.isSafeInteger(id)).toBe(true);
      const seen = ids.get(id);
      if (seen !== undefined) expect(seen).toBe(toHex(k)); // the same id: the same bytes
      ids.set(id, toHex(k));
    }
    expect(ids.size).toBe(new Set(keys.map(toHex)).size);
  });

  it('reports a missing node and refuses every malformed row', () => {
    const leaves = labels(50, 9).map((l) => leafOf(l));
    const { source } = bulk(leaves);
    const top = decodeMapRoot(source.mapNode(MAP_ROOT_KEY));
    if (top?.kind !== 'node') throw new Error('expected an internal root');
    const key = top.key;
    const value = source.mapNode(key) as Uint8Array;
    expect(decodeMapNode(key, value).depth).toBe(top.depth);
    const broken = new MemorySource();
    broken.write([...source.rows.values()].filter((r) => toHex(r.key) !== toHex(key)));
    expect(errorCode(() => new StoredMap(broken).prove(leaves[0].label))).toBe('bad_node');
    const bad = (k: Uint8Array, v: Uint8Array) => errorCode(() => decodeMapNode(k, v));
    expect(bad(key, value.subarray(0, value.length - 1))).toBe('bad_node'); // cut short
    expect(bad(key, Uint8Array.of(...value, 0))).toBe('bad_node'); // trailing byte
    for (const tag of [0, 3, 0xff]) expect(bad(key, Uint8Array.of(tag, ...value.subarray(1)))).toBe('bad_node');
    expect(bad(Uint8Array.of(...key, 0), value)).toBe('bad_node'); // key longer than its depth needs
    const withLeaf = [...source.rows.values()].find((r) => r.key.length > 0 && r.value[0] === 2) as MapNodeRow;
    const huge = withLeaf.value.slice();
    huge.fill(0xff, 33, 41); // the leaf's version: 2^64 - 1
    expect(bad(withLeaf.key, huge)).toBe('bad_node');
    huge.fill(0, 33, 41);
    huge[34] = 0x20; // 2^53
    expect(bad(withLeaf.key, huge)).toBe('bad_node');
    huge[34] = 0x1f;
    huge.fill(0xff, 35, 41); // 2^53 - 1: a version the row may hold
    expect(decodeMapNode(withLeaf.key, huge).children[0]).toMatchObject({ kind: 'leaf', version: 2 ** 53 - 1 });
    // A decoded row is kept by its bytes, and handed out again only under its own key.
    const deeper = [...source.rows.values()].find((r) => r.key.length > 1 && r.key[0] < 12) as MapNodeRow;
    expect(decodedNode(deeper.key, deeper.value, true)).toEqual(decodeMapNode(deeper.key, deeper.value));
    const elsewhere = deeper.key.slice();
    elsewhere[1] ^= 0x80; // the same depth, under the other side of the root
    expect(errorCode(() => decodedNode(elsewhere, deeper.value, true))).toBe('bad_node');
    // Every single flipped bit in a child's reference that moves it out from under its parent is refused;
    // flips inside hashes and history hashes decode (they are caught by the proof, not the row format).
    let refused = 0;
    for (let i = 0; i < value.length * 8; i++) {
      const v = value.slice();
      v[i >>> 3] ^= 0x80 >>> (i & 7);
      try {
        decodeMapNode(key, v);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('bad_node');
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(8);
    // A key with a bit set past its depth, and a root row with trailing bytes.
    const odd = mapNodeKey(leaves[0].label, 3);
    odd[1] |= 0x01;
    expect(bad(odd, value)).toBe('bad_node');
    expect(errorCode(() => decodeMapRoot(Uint8Array.of(0, 0)))).toBe('bad_node');
  });
});
