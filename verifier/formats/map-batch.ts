/**
 * A batch of map updates planned in one pass down the stored map (stored-map.ts, rows of map-nodes.ts): the
 * batch's labels, in label order, are put into each subtree as a range, so that every node the batch
 * changes is read once, rebuilt once (never modified: the nodes read are shared) and hashed once, children
 * first, and the nodes it does not change are not read at all. In label order, the labels of a range under
 * a node share the prefix up to its parent's branching bit; they all stay under the node if the range's
 * first and last do (each label between agrees with both on every bit where those two agree), and a range
 * whose labels share the bits before d splits on bit d at the first label whose bit is 1. A label's new
 * leaf is asked for when the walk reaches its place, with the leaf found there before the batch, so that a
 * caller whose new leaves depend on the old (an auditor's replay) needs no walk of its own.
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
} from './map-proof.js';
import { noteEncodedRoot } from './map-decoded.js';
import {
  encodeMapNode,
  encodeMapRoot,
  firstDifferingBit,
  leafOfRef,
  leafRef,
  MAP_ROOT_KEY,
  mapNodeKey,
  refHash,
  type LeafRef,
  type MapNode,
  type MapNodeRow,
  RowSlab,
  type MapRef,
} from './map-nodes.js';

/** What a plan reads: the node a reference names (StoredMap.node). */
export interface MapNodeReader {
  node(ref: MapRef & { kind: 'node' }, remember: boolean): MapNode;
}

/** The new leaf of the batch's label `i`, given that label's leaf before the batch (undefined if none). */
export type NextLeaf = (i: number, previous: MapLeaf | undefined) => MapLeaf;

/** A planned batch: the map root after it and every row it writes (changed nodes, then the root row). */
export interface MapBatch {
  root: Uint8Array;
  rows: MapNodeRow[];
}

/** Ascending label order, the order of the map's leaves from left to right. */
function compareLabels(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * Plans the batch of `labels` (each given once) over the map whose root reference is `top`: the new root
 * and the rows to write; nothing is written. `next` gives each label's new leaf, once, in label order.
 */
export function planBatch(map: MapNodeReader, top: MapRef | null, labels: Uint8Array[], next: NextLeaf): MapBatch {
  for (const label of labels) checkLabel(label);
  const order = labels.map((_, i) => i).sort((a, b) => compareLabels(labels[a], labels[b]));
  const sorted = order.map((i) => labels[i]);
  for (let i = 1; i < sorted.length; i++)
    if (compareLabels(sorted[i - 1], sorted[i]) === 0)
      throw new MapError('duplicate_label', 'a label appears twice in the batch');
  const plan = new BatchPlan(map, sorted, order, next);
  const n = sorted.length;
  const after = n === 0 ? top : top === null ? plan.fresh(0, n) : plan.merge(top, 0, n);
  const rootValue = encodeMapRoot(after);
  noteEncodedRoot(rootValue, after);
  plan.rows.push({ key: MAP_ROOT_KEY, value: rootValue });
  return { root: after === null ? MAP_EMPTY_ROOT.slice() : refHash(after).slice(), rows: plan.rows };
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

/** The first of labels[lo, hi) whose bit `d` is 1 (they share the bits before d, so the 0s come first). */
function firstWithBit(labels: Uint8Array[], lo: number, hi: number, d: number): number {
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (labelBit(labels[m], d) === 1) hi = m;
    else lo = m + 1;
  }
  return lo;
}

class BatchPlan {
  /** The rows of the changed nodes, each after the rows below it. */
  readonly rows: MapNodeRow[] = [];
  /** The rows' bytes. */
  private readonly slab = new RowSlab();
  /** The new leaf at each place of the sorted labels, once asked for. */
  private readonly leaves: LeafRef[] = [];

  constructor(
    private readonly map: MapNodeReader,
    private readonly labels: Uint8Array[],
    private readonly order: number[],
    private readonly next: NextLeaf,
  ) {}

  /** The subtree of `ref` with labels[lo, hi) put in (they share the prefix above `ref`). */
  merge(ref: MapRef, lo: number, hi: number): MapRef {
    if (lo === hi) return ref;
    if (ref.kind === 'leaf') return this.mergeLeaf(ref, lo, hi);
    const labels = this.labels;
    const d = Math.min(leavesPrefixAt(ref.key, labels[lo]), leavesPrefixAt(ref.key, labels[hi - 1]));
    const mid = firstWithBit(labels, lo, hi, d);
    if (d === ref.depth) {
      const [left, right] = this.map.node(ref, false).children; // read once
      return this.write(ref.key, d, this.merge(left, lo, mid), this.merge(right, mid, hi));
    }
    // Some labels leave the node's prefix at bit d: a new node branching on d goes above it, the labels
    // on its side are put in below it, and the others make a subtree of their own.
    const key = mapNodeKey(ref.key.subarray(1), d);
    return (ref.key[1 + (d >>> 3)] >>> (7 - (d & 7))) & 1 // the node's side
      ? this.write(key, d, this.fresh(lo, mid), this.merge(ref, mid, hi))
      : this.write(key, d, this.merge(ref, lo, mid), this.fresh(mid, hi));
  }

  /** The subtree of labels[lo, hi), none of which is in the map yet, alone. */
  fresh(lo: number, hi: number): MapRef {
    for (let i = lo; i < hi; i++) this.ask(i, undefined);
    return this.build(this.leaves, this.labels, lo, hi);
  }

  /** The leaf `leaf` with labels[lo, hi) put in: it is the previous leaf of its label if that is among them. */
  private mergeLeaf(leaf: LeafRef, lo: number, hi: number): MapRef {
    let at = lo;
    while (at < hi && compareLabels(this.labels[at], leaf.label) < 0) at++;
    if (at < hi && compareLabels(this.labels[at], leaf.label) === 0) {
      for (let i = lo; i < hi; i++) this.ask(i, i === at ? leafOfRef(leaf) : undefined);
      return this.build(this.leaves, this.labels, lo, hi);
    }
    for (let i = lo; i < hi; i++) this.ask(i, undefined);
    const leaves = [...this.leaves.slice(lo, at), leaf, ...this.leaves.slice(at, hi)];
    return this.build(
      leaves,
      leaves.map((l) => l.label),
      0,
      leaves.length,
    );
  }

  /** Asks for the new leaf at place i (its label's leaf before the batch being `previous`). */
  private ask(i: number, previous: MapLeaf | undefined): void {
    const leaf = this.next(this.order[i], previous);
    checkMapLeaf(leaf);
    if (!equalBytes(leaf.label, this.labels[i]))
      throw new MapError('bad_label', 'a new leaf does not have the label it was asked for');
    this.leaves[i] = leafRef(leaf);
  }

  /** The subtree of leaves[lo, hi) (at least one, in label order, their labels in `labels`). */
  private build(leaves: LeafRef[], labels: Uint8Array[], lo: number, hi: number): MapRef {
    if (hi - lo === 1) return leaves[lo];
    const d = firstDifferingBit(labels[lo], labels[hi - 1]);
    const mid = firstWithBit(labels, lo, hi, d);
    const key = mapNodeKey(labels[lo], d);
    return this.write(key, d, this.build(leaves, labels, lo, mid), this.build(leaves, labels, mid, hi));
  }

  /** Writes the node's row and returns the reference to it, with its hash. */
  private write(key: Uint8Array, depth: number, left: MapRef, right: MapRef): MapRef {
    const node: MapNode = { key, depth, children: [left, right] };
    const value = encodeMapNode(node, this.slab);
    this.rows.push({ key, value });
    return { kind: 'node', key, depth, hash: mapNodeHash(depth, refHash(left), refHash(right)) };
  }
}
