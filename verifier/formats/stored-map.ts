/**
 * The map read from and written to storage (docs/PROTOCOL.md section 21): the same prefix tree, hashes and
 * proofs as the in-memory PrefixTree (prefix-tree.ts), over the node rows of map-nodes.ts read through a
 * one-method source, so that whoever builds a proof reads only the nodes on its label's path: the writer
 * through a bounded cache (map-cache.ts), a reader process or an auditor from its own storage. Reads are
 * synchronous, as SQLite on Node and a Durable Object's SQL are. A batch of updates is planned, not
 * applied: `plan` reads the nodes it changes, rehashes each changed node once and returns the new root and
 * the rows to write, and the source is unchanged until the caller writes those rows in its own transaction
 * (the directory writes them in the epoch's, so the stored nodes and the signed map root cannot disagree
 * after a crash). A batch of B updates reads and rewrites about B·(depth − log2 B) + B nodes.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import {
  checkLabel,
  checkMapLeaf,
  labelBit,
  MAP_EMPTY_ROOT,
  MapError,
  mapNodeHash,
  type MapLeaf,
  type MapProof,
  type MapProofStep,
} from './map-proof.js';
import {
  decodeMapNode,
  decodeMapRoot,
  encodeMapNode,
  encodeMapRoot,
  firstDifferingBit,
  MAP_ROOT_KEY,
  mapKeyString,
  mapNodeKey,
  refHash,
  type MapNode,
  type MapNodeRow,
  type MapRef,
} from './map-nodes.js';

/** Reads a stored map row by key (the root row's key is empty); undefined if there is none. */
export interface MapNodeSource {
  mapNode(key: Uint8Array): Uint8Array | undefined;
}

/**
 * A source that also takes the rows of a committed batch (an auditor's replay writes to one). A store may
 * keep the row values it is given rather than copies: nobody modifies a row once planned.
 */
export interface MapNodeStore extends MapNodeSource {
  writeMapRows(rows: MapNodeRow[]): void;
}

/** The stored map's rows in memory: for small maps, tests and users without storage of their own. */
export class MemoryMapStore implements MapNodeStore {
  private readonly rows = new Map<string, Uint8Array>();

  mapNode(key: Uint8Array): Uint8Array | undefined {
    return this.rows.get(mapKeyString(key));
  }

  writeMapRows(rows: MapNodeRow[]): void {
    for (const r of rows) this.rows.set(mapKeyString(r.key), r.value); // kept, not copied (MapNodeStore)
  }

  /** Removes the rows of `keys` (an undo of rows that did not exist). */
  forget(keys: Uint8Array[]): void {
    for (const k of keys) this.rows.delete(mapKeyString(k));
  }
}

/** A planned batch: the map root after it and every row it writes (changed nodes, then the root row). */
export interface MapBatch {
  root: Uint8Array;
  rows: MapNodeRow[];
}

type LeafRef = MapRef & { kind: 'leaf' };

function leafRef(leaf: MapLeaf): LeafRef {
  return { kind: 'leaf', label: leaf.label.slice(), version: leaf.version, historyHash: leaf.historyHash.slice() };
}

function asLeaf(ref: LeafRef): MapLeaf {
  return { label: ref.label.slice(), version: ref.version, historyHash: ref.historyHash.slice() };
}

/**
 * Rows decoded, by the row's bytes: a cache hands out the same bytes until the row changes, and a planned
 * batch registers the nodes it encoded, so that the rows an epoch writes are not decoded again. Only the
 * nodes branching above DECODED_DEPTH are kept so (at most 4,095 of them): every path passes through
 * them. A deeper node lies on few paths, and its decoded form (about 1 KB of objects beside its ~100 bytes)
 * would multiply a full cache's memory by five; it is decoded again when read.
 */
const decodedRows = new WeakMap<Uint8Array, MapNode>();
const DECODED_DEPTH = 12;
/** Root rows decoded, the same way (null: the empty map). */
const decodedRoots = new WeakMap<Uint8Array, MapRef | null>();

/** The map as its stored rows give it; stateless: every read goes to the source. */
export class StoredMap {
  constructor(readonly source: MapNodeSource) {}

  /** The root row's reference (shared: never modify it), null for the empty map. */
  top(): MapRef | null {
    const value = this.source.mapNode(MAP_ROOT_KEY);
    if (value === undefined) return null;
    let top = decodedRoots.get(value);
    if (top === undefined) {
      top = decodeMapRoot(value);
      decodedRoots.set(value, top);
    }
    return top;
  }

  /**
   * The internal node a reference names (shared: never modify it); a missing row is a MapError 'bad_node'.
   * A row of the upper levels that a cache hands out again is decoded once.
   */
  node(ref: MapRef & { kind: 'node' }): MapNode {
    const value = this.source.mapNode(ref.key);
    if (value === undefined) throw new MapError('bad_node', `stored map: the node at depth ${ref.depth} is missing`);
    let node = decodedRows.get(value);
    if (!node) {
      node = decodeMapNode(ref.key, value);
      if (ref.depth < DECODED_DEPTH) decodedRows.set(value, node);
    }
    return node;
  }

  /**
   * Whether the top node's hash, as the root row holds it, is the hash of its children: with the root, the
   * check an opener of stored rows makes, whose cost does not depend on the map's size.
   */
  topIsSound(): boolean {
    const top = this.top();
    if (top?.kind !== 'node') return true;
    const [left, right] = this.node(top).children;
    return equalBytes(refHash(top), mapNodeHash(top.depth, refHash(left), refHash(right)));
  }

  /** The map root. */
  root(): Uint8Array {
    const top = this.top();
    return top === null ? MAP_EMPTY_ROOT.slice() : refHash(top).slice();
  }

  /** The leaf of `label`, or undefined if the label is not in the map. */
  get(label: Uint8Array): MapLeaf | undefined {
    checkLabel(label);
    let ref = this.top();
    while (ref?.kind === 'node') {
      const n = this.node(ref);
      ref = n.children[labelBit(label, n.depth)];
    }
    return ref && equalBytes(ref.label, label) ? asLeaf(ref) : undefined;
  }

  /**
   * The leaf of each label (undefined if it is not in the map), in the order given: one walk down the
   * union of their paths, which reads each node on it once (a batch's labels share the upper levels).
   */
  getMany(labels: Uint8Array[]): (MapLeaf | undefined)[] {
    for (const label of labels) checkLabel(label);
    const found: (MapLeaf | undefined)[] = labels.map(() => undefined);
    const walk = (ref: MapRef | null, at: number[]): void => {
      if (ref === null || at.length === 0) return;
      if (ref.kind === 'leaf') {
        for (const i of at) if (equalBytes(ref.label, labels[i])) found[i] = asLeaf(ref);
        return;
      }
      const n = this.node(ref);
      const right = at.filter((i) => labelBit(labels[i], n.depth) === 1);
      walk(n.children[0], right.length === 0 ? at : at.filter((i) => labelBit(labels[i], n.depth) === 0));
      walk(n.children[1], right);
    };
    walk(
      this.top(),
      labels.map((_, i) => i),
    );
    return found;
  }

  /** A membership proof if `label` is present, else an absence proof (the same as PrefixTree.prove). */
  prove(label: Uint8Array): MapProof {
    return this.lookup(label).proof;
  }

  /** The proof of `label` and its leaf if it is present, in one walk down its path. */
  lookup(label: Uint8Array): { proof: MapProof; leaf: MapLeaf | undefined } {
    checkLabel(label);
    let ref = this.top();
    if (ref === null) return { proof: { kind: 'absent', path: [], terminal: null }, leaf: undefined };
    const path: MapProofStep[] = [];
    while (ref.kind === 'node') {
      const n = this.node(ref);
      const b = labelBit(label, n.depth);
      path.push({ depth: n.depth, sibling: refHash(n.children[1 - b]).slice() });
      ref = n.children[b];
    }
    path.reverse();
    if (equalBytes(ref.label, label)) return { proof: { kind: 'member', path }, leaf: asLeaf(ref) };
    return { proof: { kind: 'absent', path, terminal: asLeaf(ref) }, leaf: undefined };
  }

  /**
   * Plans inserting new labels and replacing the version and history hash of existing ones: returns the
   * new root and the rows to write. The batch is checked whole first: a malformed leaf or a label given
   * twice refuses it. Nothing is written.
   */
  plan(updates: MapLeaf[]): MapBatch {
    updates.forEach(checkMapLeaf);
    const leaves = updates.map(leafRef).sort((a, b) => compareLabels(a.label, b.label));
    for (let i = 1; i < leaves.length; i++)
      if (compareLabels(leaves[i - 1].label, leaves[i].label) === 0)
        throw new MapError('duplicate_label', 'a label appears twice in the batch');
    const batch = new BatchPlan(this, leaves);
    const old = this.top();
    const top =
      leaves.length === 0
        ? old
        : old === null
          ? batch.build(leaves, 0, leaves.length)
          : batch.merge(old, 0, leaves.length);
    const rootValue = encodeMapRoot(top);
    decodedRoots.set(rootValue, top);
    batch.rows.push({ key: MAP_ROOT_KEY, value: rootValue });
    return { root: top === null ? MAP_EMPTY_ROOT.slice() : refHash(top).slice(), rows: batch.rows };
  }
}

/** Ascending label order, the order of the map's leaves from left to right. */
function compareLabels(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** The first bit before the node's depth where `label` leaves the prefix in the node's `key`, else the depth. */
function leavesPrefixAt(key: Uint8Array, label: Uint8Array): number {
  const depth = key[0];
  for (let i = 0; i < key.length - 1; i++) {
    const x = key[1 + i] ^ label[i];
    if (x !== 0) return Math.min(depth, i * 8 + Math.clz32(x) - 24); // a padding bit differs past the depth
  }
  return depth;
}

/**
 * A batch planned in one pass down the map: the updates, in label order, are put into each subtree as a
 * range, so that every node the batch changes is read once, rebuilt once (never modified: the nodes read
 * are shared) and hashed once, children first, and nodes it does not change are not read at all. In label
 * order, the labels of a range under a node share the prefix up to its parent's branching bit; they all
 * stay under the node if the range's first and last do (each label between agrees with both on every bit
 * where those two agree), and a range splits on a bit where its labels share the prefix before it at the
 * first label whose bit is 1.
 */
class BatchPlan {
  /** The rows of the changed nodes, each after the rows below it. */
  readonly rows: MapNodeRow[] = [];

  constructor(
    private readonly map: StoredMap,
    private readonly leaves: LeafRef[],
  ) {}

  /** The subtree of `ref` with leaves[lo, hi) put in (their labels share the prefix above `ref`). */
  merge(ref: MapRef, lo: number, hi: number): MapRef {
    if (lo === hi) return ref;
    if (ref.kind === 'leaf') return this.mergeLeaf(ref, lo, hi);
    const leaves = this.leaves;
    const d = Math.min(leavesPrefixAt(ref.key, leaves[lo].label), leavesPrefixAt(ref.key, leaves[hi - 1].label));
    const mid = firstWithBit(leaves, lo, hi, d);
    if (d === ref.depth) {
      const [left, right] = this.map.node(ref).children;
      return this.write(ref.key, d, this.merge(left, lo, mid), this.merge(right, mid, hi));
    }
    // Some labels leave the node's prefix at bit d: a new node branching on d goes above it, the labels
    // on its side are put in below it, and the others make a subtree of their own.
    const key = mapNodeKey(ref.key.subarray(1), d);
    return (ref.key[1 + (d >>> 3)] >>> (7 - (d & 7))) & 1 // the node's side
      ? this.write(key, d, this.build(leaves, lo, mid), this.merge(ref, mid, hi))
      : this.write(key, d, this.merge(ref, lo, mid), this.build(leaves, mid, hi));
  }

  /** The leaf `leaf` with leaves[lo, hi) put in: it is replaced if its label is among them. */
  private mergeLeaf(leaf: LeafRef, lo: number, hi: number): MapRef {
    let at = lo;
    while (at < hi && compareLabels(this.leaves[at].label, leaf.label) < 0) at++;
    if (at < hi && compareLabels(this.leaves[at].label, leaf.label) === 0) return this.build(this.leaves, lo, hi);
    const all = this.leaves.slice(lo, at);
    all.push(leaf, ...this.leaves.slice(at, hi));
    return this.build(all, 0, all.length);
  }

  /** The subtree of leaves[lo, hi) (at least one, in label order) alone. */
  build(leaves: LeafRef[], lo: number, hi: number): MapRef {
    if (hi - lo === 1) return leaves[lo];
    const d = firstDifferingBit(leaves[lo].label, leaves[hi - 1].label);
    const mid = firstWithBit(leaves, lo, hi, d);
    return this.write(mapNodeKey(leaves[lo].label, d), d, this.build(leaves, lo, mid), this.build(leaves, mid, hi));
  }

  /** Writes the node's row and returns the reference to it, with its hash. */
  private write(key: Uint8Array, depth: number, left: MapRef, right: MapRef): MapRef {
    const node: MapNode = { key, depth, children: [left, right] };
    const value = encodeMapNode(node);
    if (depth < DECODED_DEPTH) decodedRows.set(value, node); // the cache hands out this row once committed
    this.rows.push({ key, value });
    return { kind: 'node', key, depth, hash: mapNodeHash(depth, refHash(left), refHash(right)) };
  }
}

/** The first of leaves[lo, hi) whose bit `d` is 1 (they share the bits before d, so the 0s come first). */
function firstWithBit(leaves: LeafRef[], lo: number, hi: number, d: number): number {
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (labelBit(leaves[m].label, d) === 1) hi = m;
    else lo = m + 1;
  }
  return lo;
}
