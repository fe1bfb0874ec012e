/**
 * Tests for the map (verifier/formats/prefix-tree.ts, verifier/formats/map-proof.ts): the three hashes against their definitions and
 * known answers; the canonical compressed structure (hand-built trees, any insertion order or batch split
 * gives the root `rootFromLeaves` computes from the definition); a property test replaying random batches
 * of new labels (many sharing long prefixes) and version bumps, proving every present label and many
 * absent ones; the exact hash count of a batch; every tampered proof rejected; the strict binary
 * encoding; and a 100,000-leaf tree.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, u64be, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import {
  MAP_EMPTY_ROOT,
  MapError,
  decodeMapProof,
  encodeMapProof,
  labelBit,
  mapLeafHash,
  mapNodeHash,
  verifyAbsence,
  verifyMembership,
  type MapLeaf,
  type MapProof,
  type MapProofStep,
} from '../../../verifier/formats/map-proof.js';
import { PrefixTree } from '../../../verifier/formats/prefix-tree.js';
import { rootFromLeaves } from '../../helpers/map-definition.js';
import { errorCode } from '../../helpers/error-code.js';
import { prng } from '../../helpers/prng.js';

// ---- deterministic test data ----

/** A 32-byte pseudo-random label or hash, from a tag and a counter. */
function bytes32(tag: string, n: number): Uint8Array {
  return sha256(utf8(tag), u64be(n));
}

const leafOf = (label: Uint8Array, version = 1): MapLeaf => ({
  label,
  version,
  historyHash: sha256(utf8('history'), label, u64be(version)),
});

/** A copy of `label` with bit `d` flipped. */
function flipBit(label: Uint8Array, d: number): Uint8Array {
  const out = label.slice();
  out[d >>> 3] ^= 0x80 >>> (d & 7);
  return out;
}

/** A label equal to `label` on bits 0..d-1 and random after, with bit d flipped (first difference at d). */
function divergeAt(label: Uint8Array, d: number, rand: () => number): Uint8Array {
  const out = label.slice();
  for (let i = d + 1; i < 256; i++) if (rand() < 0.5) out[i >>> 3] ^= 0x80 >>> (i & 7);
  return flipBit(out, d);
}

function shuffled<T>(xs: T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** The model: the current leaf of every label, by hex label. */
type Model = Map<string, MapLeaf>;

/**
 * Labels that stress the structure: fully random ones, and ones diverging from an existing label at a
 * late bit (often the very last one), so subtrees sit under long shared prefixes.
 */
function newLabel(model: Model, rand: () => number, n: number): Uint8Array {
  const existing = [...model.values()];
  if (existing.length === 0 || rand() < 0.4) return bytes32('random', n);
  const base = existing[Math.floor(rand() * existing.length)].label;
  const r = rand();
  const d = r < 0.3 ? 255 : r < 0.6 ? 200 + Math.floor(rand() * 56) : Math.floor(rand() * 256);
  return divergeAt(base, d, rand);
}

// Known answers (docs/draft-map.md), computed independently with Python's hashlib. The tree: labels
// a = 00..00, b = 80 00..00, c = c0 00..00 with versions 1, 2, 3 and history hashes 11.., 22.., 33..;
// its root is node(0, leaf(a), node(1, leaf(b), leaf(c))).
const VECTORS = {
  empty: 'debe8f69235ae89f43a130242199072ef07186752e01d8344a61532e5ab47e02',
  leaf: 'ed5c9ff0f9f7bf009ca1415d8ec0f74d48701bb273372ce48d1ad86de7a457a7', // label 00.., version 1, history ff..
  node: '029720e1893be8ca760704360a0e2d3a32dfa6201e3367918607aa3f4fe23925', // depth 3, left 00.., right ff..
  treeRoot: 'd6618069ebe342d5ceea44ed23caed2b47abbb9ce29e4c0286a2844394f09995',
  memberB:
    '00000201dfb19cc8380fa7ce14a6948c0fb48848d4010f05f1d14ef5f82b38373b9b5d4d00ae12f6f1c4fce87742bde1a0173b00cef7241bbd5b9bfdae6a509b77535141ce',
  absent40:
    '010001005c51c2b4a003a59b19ee3626979ebf06fc570b78ca762685a76d8d27fc859e2801' +
    '00'.repeat(32) +
    '0000000000000001' +
    '11'.repeat(32),
};

const D = (x: string): Uint8Array => utf8(`${x}\u0000`);

function throwsMap(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    if (!(e instanceof MapError)) throw e;
    return true;
  }
}

// ---- hashes ----

describe('map hashes', () => {
  const label = bytes32('label', 1);
  const hist = bytes32('hist', 1);

  it('follow their definitions, with distinct domains', () => {
    expect(MAP_EMPTY_ROOT).toEqual(sha256(D('kt/v1/map-empty')));
    expect(mapLeafHash(label, 7, hist)).toEqual(sha256(D('kt/v1/map-leaf'), label, u64be(7), hist));
    const v = Number.MAX_SAFE_INTEGER;
    expect(mapLeafHash(label, v, hist)).toEqual(sha256(D('kt/v1/map-leaf'), label, u64be(v), hist));
    expect(mapLeafHash(label, 2 ** 32, hist)).toEqual(sha256(D('kt/v1/map-leaf'), label, u64be(2 ** 32), hist));
    expect(mapNodeHash(9, label, hist)).toEqual(sha256(D('kt/v1/map-node'), new Uint8Array([9]), label, hist));
    // The same bytes under the three domains give three different hashes; no domain prefixes another.
    const body = new Uint8Array(72).fill(7);
    const domains = ['kt/v1/map-leaf', 'kt/v1/map-node', 'kt/v1/map-empty'].map(D);
    expect(new Set(domains.map((d) => toHex(sha256(d, body)))).size).toBe(3);
    for (const a of domains) for (const b of domains) if (a !== b) expect(toHex(b).startsWith(toHex(a))).toBe(false);
    // A node whose bytes after the domain equal a leaf's (minus the last 7 bytes) still differs.
    const leafBody = new Uint8Array([...label, ...u64be(0), ...hist]);
    const asNode = mapNodeHash(leafBody[0], leafBody.slice(1, 33), leafBody.slice(33, 65));
    expect(asNode).not.toEqual(mapLeafHash(label, 0, hist));
  });

  it('match known answers (the vectors of docs/draft-map.md)', () => {
    const zero = new Uint8Array(32);
    const ones = new Uint8Array(32).fill(0xff);
    expect(toHex(MAP_EMPTY_ROOT)).toBe(VECTORS.empty);
    expect(toHex(mapLeafHash(zero, 1, ones))).toBe(VECTORS.leaf);
    expect(toHex(mapNodeHash(3, zero, ones))).toBe(VECTORS.node);
  });

  it('match the known-answer tree and proofs', () => {
    const mk = (first: number, version: number, fill: number): MapLeaf => {
      const label = new Uint8Array(32);
      label[0] = first;
      return { label, version, historyHash: new Uint8Array(32).fill(fill) };
    };
    const [a, b, c] = [mk(0x00, 1, 0x11), mk(0x80, 2, 0x22), mk(0xc0, 3, 0x33)];
    const t = PrefixTree.fromLeaves([c, a, b]);
    expect(toHex(t.root())).toBe(VECTORS.treeRoot);
    expect(toHex(encodeMapProof(t.prove(b.label)))).toBe(VECTORS.memberB);
    const q = mk(0x40, 0, 0).label;
    expect(toHex(encodeMapProof(t.prove(q)))).toBe(VECTORS.absent40);
    verifyMembership(t.root(), b, decodeMapProof(fromHex(VECTORS.memberB)));
    verifyAbsence(t.root(), q, decodeMapProof(fromHex(VECTORS.absent40)));
  });

  it('depend on every input', () => {
    const l = bytes32('l', 0);
    const r = bytes32('r', 0);
    const h = toHex(mapNodeHash(5, l, r));
    expect(toHex(mapNodeHash(6, l, r))).not.toBe(h);
    expect(toHex(mapNodeHash(5, r, l))).not.toBe(h);
    const leaf = toHex(mapLeafHash(label, 1, hist));
    expect(toHex(mapLeafHash(label, 2, hist))).not.toBe(leaf);
    expect(toHex(mapLeafHash(flipBit(label, 255), 1, hist))).not.toBe(leaf);
    expect(toHex(mapLeafHash(label, 1, flipBit(hist, 0)))).not.toBe(leaf);
  });

  it('refuse malformed inputs', () => {
    expect(errorCode(() => mapLeafHash(new Uint8Array(31), 1, hist))).toBe('bad_label');
    expect(errorCode(() => mapLeafHash(new Uint8Array(33), 1, hist))).toBe('bad_label');
    expect(errorCode(() => mapLeafHash(label, 1, new Uint8Array(31)))).toBe('bad_hash');
    for (const v of [-1, 1.5, 2 ** 53, Number.NaN, Infinity])
      expect(errorCode(() => mapLeafHash(label, v, hist))).toBe('bad_version');
    for (const d of [-1, 256, 1.5]) expect(errorCode(() => mapNodeHash(d, label, hist))).toBe('bad_depth');
    expect(errorCode(() => mapNodeHash(0, label, new Uint8Array(0)))).toBe('bad_hash');
  });
});

// ---- structure ----

describe('map structure', () => {
  const leafHash = (l: MapLeaf): Uint8Array => mapLeafHash(l.label, l.version, l.historyHash);

  it('is compressed and branches on the first differing bit', () => {
    const a = leafOf(fromHex('00'.repeat(32)));
    const b = leafOf(fromHex('80' + '00'.repeat(31)));
    const c = leafOf(fromHex('c0' + '00'.repeat(31)));
    const expected = mapNodeHash(0, leafHash(a), mapNodeHash(1, leafHash(b), leafHash(c)));
    for (const order of [
      [a, b, c],
      [c, b, a],
      [b, a, c],
    ]) {
      expect(PrefixTree.fromLeaves(order).root()).toEqual(expected);
      expect(rootFromLeaves(order)).toEqual(expected);
      const t = new PrefixTree();
      for (const l of order) t.applyBatch([l]);
      expect(t.root()).toEqual(expected);
    }
    // Two labels first differing at bit 100: one node on bit 100, no chain of nodes above it.
    const x = leafOf(bytes32('x', 0));
    const y = leafOf(flipBit(x.label, 100));
    const [lo, hi] = labelBit(x.label, 100) === 0 ? [x, y] : [y, x];
    expect(PrefixTree.fromLeaves([x, y]).root()).toEqual(mapNodeHash(100, leafHash(lo), leafHash(hi)));
    // Labels differing only in the last bit.
    const z = leafOf(flipBit(x.label, 255));
    const [zl, zr] = labelBit(x.label, 255) === 0 ? [x, z] : [z, x];
    expect(PrefixTree.fromLeaves([z, x]).root()).toEqual(mapNodeHash(255, leafHash(zl), leafHash(zr)));
  });

  it('handles the empty tree', () => {
    for (const t of [new PrefixTree(), PrefixTree.fromLeaves([])]) {
      expect(t.size).toBe(0);
      expect(t.root()).toEqual(MAP_EMPTY_ROOT);
      expect(rootFromLeaves([])).toEqual(MAP_EMPTY_ROOT);
      const q = bytes32('q', 0);
      expect(t.get(q)).toBeUndefined();
      const p = t.prove(q);
      expect(p).toEqual({ kind: 'absent', path: [], terminal: null });
      verifyAbsence(t.root(), q, p);
      expect(errorCode(() => verifyAbsence(mapLeafHash(q, 0, q), q, p))).toBe('not_absent');
      expect(errorCode(() => verifyMembership(t.root(), leafOf(q), { kind: 'member', path: [] }))).toBe('not_member');
    }
  });

  it('handles a one-leaf tree', () => {
    const a = leafOf(bytes32('one', 0), 3);
    const t = PrefixTree.fromLeaves([a]);
    expect(t.root()).toEqual(leafHash(a));
    expect(t.get(a.label)).toEqual(a);
    const member = t.prove(a.label);
    expect(member).toEqual({ kind: 'member', path: [] });
    verifyMembership(t.root(), a, member);
    const q = flipBit(a.label, 255);
    const absent = t.prove(q);
    expect(absent).toEqual({ kind: 'absent', path: [], terminal: a });
    verifyAbsence(t.root(), q, absent);
    expect(t.applyBatch([{ ...a, version: 4 }])).toEqual(leafHash({ ...a, version: 4 }));
  });

  it('gives the same root for the same set in any order and any batch split', () => {
    const rand = prng(1);
    const model: Model = new Map();
    for (let i = 0; i < 300; i++) {
      const l = leafOf(newLabel(model, rand, i));
      if (!model.has(toHex(l.label))) model.set(toHex(l.label), l);
    }
    const leaves = [...model.values()];
    const expected = rootFromLeaves(leaves);
    expect(PrefixTree.fromLeaves(leaves).root()).toEqual(expected);
    for (let trial = 0; trial < 8; trial++) {
      const order = shuffled(leaves, rand);
      const t = new PrefixTree();
      for (let i = 0; i < order.length; ) {
        const n = 1 + Math.floor(rand() * (trial < 4 ? 5 : 80));
        t.applyBatch(order.slice(i, i + n));
        i += n;
      }
      expect(t.root()).toEqual(expected);
      expect(t.size).toBe(leaves.length);
    }
    // Reaching the same final versions through intermediate versions gives the same root too.
    const t = PrefixTree.fromLeaves(leaves.map((l) => leafOf(l.label, 0)));
    t.applyBatch(leaves.slice(0, 150).map((l) => leafOf(l.label, 5)));
    t.applyBatch(leaves);
    expect(t.root()).toEqual(expected);
  });

  it("hands out copies and keeps none of the caller's arrays", () => {
    const leaves = Array.from({ length: 20 }, (_, i) => leafOf(bytes32('copy', i)));
    const t = PrefixTree.fromLeaves(leaves);
    const root = t.root();
    t.root().fill(0);
    t.get(leaves[0].label)!.historyHash.fill(0);
    const p = t.prove(leaves[0].label);
    p.path[0].sibling.fill(0);
    const extra = leafOf(bytes32('copy', 99));
    const extraLabel = extra.label.slice();
    t.applyBatch([extra]);
    const root2 = t.root();
    extra.label.fill(0);
    extra.historyHash.fill(0);
    leaves[1].label.fill(1);
    expect(t.root()).toEqual(root2);
    expect(t.get(extraLabel)).toBeDefined();
    expect(root).not.toEqual(root2);
    verifyMembership(root2, t.get(extraLabel)!, t.prove(extraLabel));
  });
});

// ---- refusals ----

describe('map refusals', () => {
  const leaves = Array.from({ length: 10 }, (_, i) => leafOf(bytes32('ref', i)));

  it('refuses a batch with a repeated label or a malformed leaf and leaves the tree unchanged', () => {
    const t = PrefixTree.fromLeaves(leaves);
    const root = t.root();
    const fresh = leafOf(bytes32('ref', 100));
    const bad: [MapLeaf[], string][] = [
      [[fresh, leafOf(fresh.label, 2)], 'duplicate_label'],
      [[leafOf(leaves[0].label, 5), fresh, leafOf(leaves[0].label, 6)], 'duplicate_label'],
      [[fresh, { ...leaves[1], label: new Uint8Array(31) }], 'bad_label'],
      [[fresh, { ...leaves[1], historyHash: new Uint8Array(33) }], 'bad_hash'],
      [[fresh, { ...leaves[1], version: -1 }], 'bad_version'],
      [[fresh, { ...leaves[1], version: 2 ** 53 }], 'bad_version'],
      [[fresh, { ...leaves[1], version: 0.5 }], 'bad_version'],
    ];
    for (const [batch, code] of bad) {
      expect(errorCode(() => t.applyBatch(batch))).toBe(code);
      expect(t.root()).toEqual(root);
      expect(t.size).toBe(leaves.length);
      expect(t.get(fresh.label)).toBeUndefined();
      expect(t.get(leaves[0].label)).toEqual(leaves[0]);
    }
    expect(t.applyBatch([])).toEqual(root);
  });

  it('refuses repeated labels in a bulk build and in rootFromLeaves, and bad lookup labels', () => {
    const dup = [...leaves, leafOf(leaves[3].label, 9)];
    expect(errorCode(() => PrefixTree.fromLeaves(dup))).toBe('duplicate_label');
    expect(errorCode(() => rootFromLeaves(dup))).toBe('duplicate_label');
    expect(errorCode(() => PrefixTree.fromLeaves([{ ...leaves[0], version: -2 }]))).toBe('bad_version');
    const t = PrefixTree.fromLeaves(leaves);
    expect(errorCode(() => t.get(new Uint8Array(16)))).toBe('bad_label');
    expect(errorCode(() => t.prove(new Uint8Array(64)))).toBe('bad_label');
  });
});

// ---- property test ----

/** Checks the tree against the model: root, size, lookups, and proofs for present and absent labels. */
function checkAgainstModel(t: PrefixTree, model: Model, rand: () => number, round: number): void {
  const leaves = [...model.values()];
  const root = t.root();
  expect(root).toEqual(rootFromLeaves(leaves));
  expect(t.size).toBe(model.size);
  for (const l of leaves) {
    expect(t.get(l.label)).toEqual(l);
    const p = t.prove(l.label);
    expect(p.kind).toBe('member');
    verifyMembership(root, l, p);
    expect(errorCode(() => verifyAbsence(root, l.label, p))).toBe('bad_proof');
  }
  const absent: Uint8Array[] = [];
  for (let i = 0; i < 20; i++) absent.push(bytes32(`absent ${round}`, i));
  for (const l of leaves.slice(0, 40))
    absent.push(flipBit(l.label, 255), flipBit(l.label, 128 + Math.floor(rand() * 128)));
  for (const q of absent) {
    if (model.has(toHex(q))) continue;
    expect(t.get(q)).toBeUndefined();
    const p = t.prove(q);
    expect(p.kind).toBe('absent');
    verifyAbsence(root, q, p);
    expect(decodeMapProof(encodeMapProof(p))).toEqual(p);
    if (p.kind === 'absent' && p.terminal)
      expect(throwsMap(() => verifyMembership(root, leafOf(q), { kind: 'member', path: p.path }))).toBe(true);
  }
}

describe('map property test', () => {
  for (const seed of [1, 2, 3]) {
    it(`random batches of inserts and version bumps (seed ${seed})`, () => {
      const rand = prng(seed);
      const model: Model = new Map();
      const t = seed % 2 ? new PrefixTree() : PrefixTree.fromLeaves([]);
      let n = 0;
      for (let round = 0; round < 20; round++) {
        const batch = new Map<string, MapLeaf>();
        const size = 1 + Math.floor(rand() * (round < 4 ? 4 : 60));
        for (let i = 0; i < size; i++) {
          const existing = [...model.values()];
          if (existing.length > 0 && rand() < 0.35) {
            const old = existing[Math.floor(rand() * existing.length)];
            batch.set(toHex(old.label), leafOf(old.label, old.version + 1));
          } else {
            const label = newLabel(model, rand, seed * 1e6 + n++);
            batch.set(toHex(label), leafOf(label));
          }
        }
        const updates = [...batch.values()];
        const returned = t.applyBatch(updates);
        for (const u of updates) model.set(toHex(u.label), u);
        expect(returned).toEqual(t.root());
        checkAgainstModel(t, model, rand, round);
      }
      expect(PrefixTree.fromLeaves([...model.values()]).root()).toEqual(t.root());
    });
  }

  it('proves a 256-step path (labels diverging from one label at every bit)', () => {
    const base = bytes32('chain', 0);
    const leaves = [leafOf(base), ...Array.from({ length: 256 }, (_, d) => leafOf(flipBit(base, d)))];
    const t = new PrefixTree();
    for (const batch of [leaves.slice(0, 100), leaves.slice(100, 200), leaves.slice(200)]) t.applyBatch(batch);
    expect(t.root()).toEqual(rootFromLeaves(leaves));
    expect(PrefixTree.fromLeaves(shuffled(leaves, prng(9))).root()).toEqual(t.root());
    const p = t.prove(base);
    expect(p.path.map((s) => s.depth)).toEqual(Array.from({ length: 256 }, (_, i) => 255 - i));
    const bytes = encodeMapProof(p);
    expect([...bytes.slice(0, 3)]).toEqual([0, 1, 0]);
    expect(bytes.length).toBe(3 + 33 * 256);
    verifyMembership(t.root(), leaves[0], decodeMapProof(bytes));
    const q = flipBit(flipBit(base, 254), 255); // shares bits 0..253 with base; its leaf is base ^ bit 254
    const a = t.prove(q);
    expect(a.kind === 'absent' && a.terminal?.label).toEqual(flipBit(base, 254));
    verifyAbsence(t.root(), q, decodeMapProof(encodeMapProof(a)));
  });
});

// ---- cost of a batch ----

/** The distinct internal nodes on the paths of `labels` in `t`, named by (depth, prefix before depth). */
function pathNodes(t: PrefixTree, labels: Uint8Array[]): Set<string> {
  const nodes = new Set<string>();
  for (const l of labels) {
    for (const { depth } of t.prove(l).path) {
      let prefix = '';
      for (let i = 0; i < depth; i++) prefix += labelBit(l, i);
      nodes.add(`${depth}:${prefix}`);
    }
  }
  return nodes;
}

describe('map batch cost', () => {
  it('hashes each changed leaf and each changed internal node exactly once per batch', () => {
    const rand = prng(5);
    const leaves = Array.from({ length: 20_000 }, (_, i) => leafOf(bytes32('cost', i)));
    const t = PrefixTree.fromLeaves(leaves);
    expect(t.hashesComputed).toBe(2 * leaves.length - 1);
    for (const B of [1, 100, 2000]) {
      const bumps = shuffled(leaves, rand)
        .slice(0, B)
        .map((l) => leafOf(l.label, 2 + B));
      let before = t.hashesComputed;
      t.applyBatch(bumps);
      expect(t.hashesComputed - before).toBe(
        B +
          pathNodes(
            t,
            bumps.map((l) => l.label),
          ).size,
      );
      const inserts = Array.from({ length: B }, (_, i) => leafOf(bytes32(`cost new ${B}`, i)));
      before = t.hashesComputed;
      t.applyBatch(inserts);
      // New nodes lie on their new leaf's path, so the count is again leaves + distinct path nodes.
      expect(t.hashesComputed - before).toBe(
        B +
          pathNodes(
            t,
            inserts.map((l) => l.label),
          ).size,
      );
    }
    // A lookup or proof after the batch hashes nothing more.
    const before = t.hashesComputed;
    t.root();
    t.prove(leaves[0].label);
    expect(t.hashesComputed).toBe(before);
  });
});

// ---- tampering ----

/** Every mutation of a proof path: sibling bit flips, depth ±1, swapped, dropped and added steps. */
function mutatedPaths(path: MapProofStep[]): MapProofStep[][] {
  const out: MapProofStep[][] = [];
  const copy = (): MapProofStep[] => path.map((s) => ({ depth: s.depth, sibling: s.sibling.slice() }));
  path.forEach((step, i) => {
    for (let b = 0; b < 256; b++) {
      const p = copy();
      p[i].sibling = flipBit(step.sibling, b);
      out.push(p);
    }
    for (const delta of [1, -1]) {
      const p = copy();
      p[i].depth = step.depth + delta;
      out.push(p);
    }
    for (let j = i + 1; j < path.length; j++) {
      const p = copy();
      [p[i], p[j]] = [p[j], p[i]];
      out.push(p);
    }
    out.push(path.filter((_, k) => k !== i));
  });
  const extra = bytes32('extra step', 0);
  for (let at = 0; at <= path.length; at++) {
    const deeper = at === 0 ? 256 : path[at - 1].depth;
    const higher = at === path.length ? -1 : path[at].depth;
    if (deeper - higher < 2) continue; // no depth fits strictly between the neighbours
    out.push([...path.slice(0, at), { depth: Math.floor((deeper + higher) / 2), sibling: extra }, ...path.slice(at)]);
  }
  return out;
}

/** Every single-bit flip of an encoded proof must fail to decode or fail to verify. */
function expectEncodedFlipsRejected(proof: MapProof, verify: (p: MapProof) => void): void {
  const bytes = encodeMapProof(proof);
  for (let bit = 0; bit < 8 * bytes.length; bit++) {
    const b = bytes.slice();
    b[bit >>> 3] ^= 0x80 >>> (bit & 7);
    expect(
      throwsMap(() => verify(decodeMapProof(b))),
      `bit ${bit}`,
    ).toBe(true);
  }
}

describe('map proof tampering', () => {
  const rand = prng(7);
  const model: Model = new Map();
  for (let i = 0; i < 400; i++) {
    const l = leafOf(newLabel(model, rand, i), 1 + (i % 5));
    if (!model.has(toHex(l.label))) model.set(toHex(l.label), l);
  }
  const leaves = [...model.values()];
  const t = PrefixTree.fromLeaves(leaves);
  const root = t.root();
  const otherRoot = PrefixTree.fromLeaves([...leaves, leafOf(bytes32('other', 0))]).root();
  // The member with the longest proof, and an absent label next to it (sharing all but the last bit).
  const member = leaves.reduce((a, b) => (t.prove(b.label).path.length > t.prove(a.label).path.length ? b : a));
  const memberProof = t.prove(member.label);
  let absentLabel = flipBit(member.label, 255);
  if (model.has(toHex(absentLabel))) absentLabel = flipBit(member.label, 254);
  const absentProof = t.prove(absentLabel);

  it('starts from valid proofs', () => {
    expect(memberProof.path.length).toBeGreaterThanOrEqual(8);
    expect(absentProof.kind).toBe('absent');
    expect(absentProof.path.length).toBeGreaterThanOrEqual(8);
    verifyMembership(root, member, memberProof);
    verifyAbsence(root, absentLabel, absentProof);
  });

  it('rejects every mutation of a membership proof and of the leaf', () => {
    for (const path of mutatedPaths(memberProof.path))
      expect(throwsMap(() => verifyMembership(root, member, { kind: 'member', path }))).toBe(true);
    const leaves: MapLeaf[] = [
      { ...member, version: member.version + 1 },
      { ...member, version: member.version - 1 },
    ];
    for (let b = 0; b < 256; b++)
      leaves.push(
        { ...member, historyHash: flipBit(member.historyHash, b) },
        { ...member, label: flipBit(member.label, b) },
      );
    for (const l of leaves) expect(throwsMap(() => verifyMembership(root, l, memberProof))).toBe(true);
    expect(errorCode(() => verifyMembership(otherRoot, member, memberProof))).toBe('not_member');
    for (let b = 0; b < 256; b += 17)
      expect(errorCode(() => verifyMembership(flipBit(root, b), member, memberProof))).toBe('not_member');
    expect(errorCode(() => verifyMembership(root, member, { ...absentProof }))).toBe('bad_proof');
    expect(errorCode(() => verifyMembership(root.slice(1), member, memberProof))).toBe('bad_root');
    expectEncodedFlipsRejected(memberProof, (p) => verifyMembership(root, member, p));
  });

  it('rejects every mutation of an absence proof and of its terminal leaf', () => {
    if (absentProof.kind !== 'absent' || !absentProof.terminal) throw new Error('expected a terminal');
    const terminal = absentProof.terminal;
    const withTerminal = (x: MapLeaf | null): MapProof => ({ kind: 'absent', path: absentProof.path, terminal: x });
    for (const path of mutatedPaths(absentProof.path)) {
      expect(throwsMap(() => verifyAbsence(root, absentLabel, { kind: 'absent', path, terminal }))).toBe(true);
    }
    const terminals: (MapLeaf | null)[] = [
      null,
      { ...terminal, version: terminal.version + 1 },
      { ...terminal, label: absentLabel },
    ];
    for (let b = 0; b < 256; b++)
      terminals.push(
        { ...terminal, historyHash: flipBit(terminal.historyHash, b) },
        { ...terminal, label: flipBit(terminal.label, b) },
      );
    for (const x of terminals) expect(throwsMap(() => verifyAbsence(root, absentLabel, withTerminal(x)))).toBe(true);
    // The terminal must not be the looked-up label, even as a well-formed leaf.
    expect(errorCode(() => verifyAbsence(root, member.label, t.prove(absentLabel)))).toBe('bad_proof');
    expect(errorCode(() => verifyAbsence(otherRoot, absentLabel, absentProof))).toBe('not_absent');
    expect(errorCode(() => verifyAbsence(root, absentLabel, memberProof))).toBe('bad_proof');
    expect(errorCode(() => verifyAbsence(root, absentLabel, { ...memberProof, kind: 'absent', terminal: null }))).toBe(
      'bad_proof',
    );
    expectEncodedFlipsRejected(absentProof, (p) => verifyAbsence(root, absentLabel, p));
  });

  it('rejects proofs that hash correctly against a root no canonical tree has', () => {
    // Depths must strictly decrease going up: root = node(5, node(3, leaf(a), leaf(b)), s).
    const a = leafOf(new Uint8Array(32));
    const b = leafOf(flipBit(a.label, 3));
    const s = bytes32('sibling', 0);
    const ab = mapNodeHash(
      3,
      mapLeafHash(a.label, a.version, a.historyHash),
      mapLeafHash(b.label, b.version, b.historyHash),
    );
    const badOrder = mapNodeHash(5, ab, s);
    const path = [
      { depth: 3, sibling: mapLeafHash(b.label, b.version, b.historyHash) },
      { depth: 5, sibling: s },
    ];
    expect(errorCode(() => verifyMembership(badOrder, a, { kind: 'member', path }))).toBe('bad_proof');
    // The terminal must sit where the label would: root = node(0, leaf(x), s) with x's bit 0 set.
    const x = leafOf(flipBit(new Uint8Array(32), 0));
    const misplaced = mapNodeHash(0, mapLeafHash(x.label, x.version, x.historyHash), s);
    const q = new Uint8Array(32).fill(0x01); // bit 0 is 0: the verifier follows the left branch, to x
    const proof: MapProof = { kind: 'absent', path: [{ depth: 0, sibling: s }], terminal: x };
    expect(errorCode(() => verifyAbsence(misplaced, q, proof))).toBe('bad_proof');
    // Depth 256 and beyond, or a repeated depth, are refused before any hashing.
    expect(errorCode(() => verifyMembership(badOrder, a, { kind: 'member', path: [{ depth: 256, sibling: s }] }))).toBe(
      'bad_proof',
    );
    expect(
      errorCode(() =>
        verifyMembership(badOrder, a, {
          kind: 'member',
          path: [
            { depth: 4, sibling: s },
            { depth: 4, sibling: s },
          ],
        }),
      ),
    ).toBe('bad_proof');
  });

  it("rejects a random absent label's proof used for a present label", () => {
    const q = bytes32('random absent', 1);
    const p = t.prove(q);
    verifyAbsence(root, q, p);
    if (p.kind !== 'absent' || !p.terminal) throw new Error('expected a terminal');
    expect(throwsMap(() => verifyAbsence(root, p.terminal!.label, p))).toBe(true);
  });
});

// ---- encoding ----

describe('map proof encoding', () => {
  const leaves = Array.from({ length: 50 }, (_, i) => leafOf(bytes32('enc', i), i));
  const t = PrefixTree.fromLeaves(leaves);
  const member = t.prove(leaves[7].label);
  const absent = t.prove(bytes32('enc absent', 0));

  it('round-trips with the documented sizes', () => {
    const steps = member.path.length;
    expect(encodeMapProof(member).length).toBe(3 + 33 * steps);
    expect(encodeMapProof(absent).length).toBe(76 + 33 * absent.path.length);
    const empty: MapProof = { kind: 'absent', path: [], terminal: null };
    expect([...encodeMapProof(empty)]).toEqual([1, 0, 0, 0]);
    for (const p of [member, absent, empty]) {
      const b = encodeMapProof(p);
      expect(decodeMapProof(b)).toEqual(p);
      expect(encodeMapProof(decodeMapProof(b))).toEqual(b);
    }
    const top = encodeMapProof(absent);
    expect(top[0]).toBe(1);
    expect((top[1] << 8) | top[2]).toBe(absent.path.length);
    expect(top[3]).toBe(absent.path[0].depth);
  });

  it('refuses malformed encodings', () => {
    const m = encodeMapProof(member);
    const a = encodeMapProof(absent);
    const bad: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array([0, 0]),
      new Uint8Array([2, 0, 0]),
      new Uint8Array([255, 0, 0]),
      new Uint8Array([1, 0, 0, 2]),
      new Uint8Array([1, 0, 0]),
      new Uint8Array([0, 0, 0, 0]),
      new Uint8Array([...m, 0]),
      new Uint8Array([...a, 0]),
      new Uint8Array([0, 1, 1, ...new Uint8Array(33 * 257)]), // 257 steps
      new Uint8Array([1, ...a.slice(1, 3 + 33 * absent.path.length), 0]), // no terminal on a non-empty path
    ];
    for (let n = 0; n < m.length; n++) bad.push(m.slice(0, n));
    for (let n = 0; n < a.length; n++) bad.push(a.slice(0, n));
    // Depths out of order: swap the first two steps.
    const swapped = m.slice();
    swapped.set(m.slice(36, 69), 3);
    swapped.set(m.slice(3, 36), 36);
    bad.push(swapped);
    // A terminal version beyond 2^53 - 1.
    const big = a.slice();
    big.set(u64be(2n ** 53n), a.length - 40);
    bad.push(big);
    for (const b of bad)
      expect(
        errorCode(() => decodeMapProof(b)),
        toHex(b.slice(0, 8)),
      ).toBe('bad_proof');
    const ok = a.slice();
    ok.set(u64be(2n ** 53n - 1n), a.length - 40);
    expect(decodeMapProof(ok).kind).toBe('absent');
  });

  it('refuses to encode malformed proofs', () => {
    const sib = new Uint8Array(32);
    const bad: MapProof[] = [
      {
        kind: 'member',
        path: [
          { depth: 3, sibling: sib },
          { depth: 5, sibling: sib },
        ],
      },
      { kind: 'member', path: [{ depth: 256, sibling: sib }] },
      { kind: 'member', path: [{ depth: 3, sibling: new Uint8Array(31) }] },
      { kind: 'absent', path: [{ depth: 3, sibling: sib }], terminal: null },
      { kind: 'absent', path: [], terminal: { label: sib, version: -1, historyHash: sib } },
      { kind: 'other', path: [] } as unknown as MapProof,
    ];
    for (const p of bad) expect(throwsMap(() => encodeMapProof(p))).toBe(true);
  });
});

// ---- scale ----

describe('map at scale', () => {
  it('builds 100,000 leaves, applies a batch of 3,000 and proves in about log2(n) steps', () => {
    const n = 100_000;
    const leaves = Array.from({ length: n }, (_, i) => leafOf(bytes32('scale', i)));
    const t = PrefixTree.fromLeaves(leaves);
    expect(t.root()).toEqual(rootFromLeaves(leaves));
    const batch = [
      ...Array.from({ length: 1500 }, (_, i) => leafOf(leaves[i * 61].label, 2)),
      ...Array.from({ length: 1500 }, (_, i) => leafOf(bytes32('scale new', i))),
    ];
    const before = t.hashesComputed;
    const root = t.applyBatch(batch);
    const hashes = t.hashesComputed - before;
    const current = new Map(leaves.map((l) => [toHex(l.label), l]));
    for (const u of batch) current.set(toHex(u.label), u);
    expect(root).toEqual(rootFromLeaves([...current.values()]));
    // About B·(log2 n − log2 B) + 2B hashes, far below B·log2 n.
    const B = batch.length;
    const log2n = Math.log2(t.size);
    expect(hashes).toBeLessThan(B * (log2n - Math.log2(B)) + 3 * B);
    expect(hashes).toBeLessThan(0.5 * B * log2n);
    let total = 0;
    let longest = 0;
    for (let i = 0; i < 2000; i++) {
      const l = i % 2 ? batch[i % B] : leaves[i * 37];
      const leaf = current.get(toHex(l.label))!;
      const p = t.prove(l.label);
      verifyMembership(root, leaf, p);
      total += p.path.length;
      longest = Math.max(longest, p.path.length);
      const q = bytes32('scale absent', i);
      verifyAbsence(root, q, t.prove(q));
    }
    expect(total / 2000).toBeGreaterThan(log2n - 1);
    expect(total / 2000).toBeLessThan(log2n + 1.5);
    expect(longest).toBeLessThan(2 * log2n);
  });
});
