/**
 * The map (DESIGN.md "The map"): the in-memory binary Merkle prefix tree over 256-bit labels, compressed
 * so that a subtree holding one leaf is that leaf, and canonical (a set of leaves has exactly one tree:
 * each internal node branches on the first bit where its labels differ and has two non-empty children).
 * Hashes, proofs and verification live in verifier/formats/map-proof.ts. The tree is stored
 * as a structure of typed arrays, not one object per node, so that a million leaves take about 150 MB
 * (104 bytes per leaf, 48 per internal node): leaf i has its label, history hash and leaf hash at byte
 * 32i of three slabs and its version at i of a Float64Array; internal node j has its hash at byte 32j
 * and its two child references, depth and dirty flag at 4j of an Int32Array. A child reference r >= 0 is
 * internal node r, r < 0 is leaf ~r. Nodes are never removed (labels are never
 * deleted; a deleted account is a new version). Updates hash the leaf at once and mark the internal
 * nodes on its path dirty; `root()` rehashes each dirty node once, so a batch of B updates costs about
 * B·(depth − log2 B) + 2B hashes. The tests check it against a root computed straight from the
 * definition (test/helpers/map-definition.ts).
 */
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import {
  MAP_EMPTY_ROOT,
  MAP_NODE_DOMAIN,
  MapError,
  checkLabel,
  checkMapLeaf,
  mapLeafHash,
  type MapLeaf,
  type MapProof,
  type MapProofStep,
} from './map-proof.js';

const LABEL_BITS = 256;

/** Bit `depth` of a label (labelBit of map-proof.ts, kept local: it is on every hot path). */
function bit(label: Uint8Array, depth: number): number {
  return (label[depth >>> 3] >>> (7 - (depth & 7))) & 1;
}

// ---- label helpers over slabs ----

/** The first bit where the labels at a[ao..] and b[bo..] differ, or 256 if they are equal. */
function firstDiffBit(a: Uint8Array, ao: number, b: Uint8Array, bo: number): number {
  for (let i = 0; i < 32; i++) {
    const x = a[ao + i] ^ b[bo + i];
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return LABEL_BITS;
}

/** Compares the labels at byte offsets a and b of `labels`. */
function compareAt(labels: Uint8Array, a: number, b: number): number {
  for (let i = 0; i < 32; i++) {
    const x = labels[a + i] - labels[b + i];
    if (x !== 0) return x;
  }
  return 0;
}

/**
 * The indexes 0..n-1 of the labels packed in `labels` (32 bytes each), in ascending label order; throws
 * 'duplicate_label' if a label appears twice. Sorting on the first four bytes first keeps most
 * comparisons to one number comparison.
 */
function sortedOrder(labels: Uint8Array, n: number): Uint32Array {
  const keys = new Uint32Array(n);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const o = 32 * i;
    keys[i] = ((labels[o] << 24) | (labels[o + 1] << 16) | (labels[o + 2] << 8) | labels[o + 3]) >>> 0;
    order[i] = i;
  }
  order.sort((a, b) => keys[a] - keys[b] || compareAt(labels, 32 * a, 32 * b));
  for (let i = 1; i < n; i++) {
    const o = 32 * order[i];
    if (compareAt(labels, 32 * order[i - 1], o) === 0)
      throw new MapError('duplicate_label', `label ${toHex(labels.subarray(o, o + 32))} appears twice`);
  }
  return order;
}

/** Copies 32 bytes from src[so..] to dst[d..]: for 32 bytes a loop beats TypedArray.prototype.set. */
function copy32(src: Uint8Array, so: number, dst: Uint8Array, d: number): void {
  for (let k = 0; k < 32; k++) dst[d + k] = src[so + k];
}

/** A copy of `a` with room for `length` elements. */
function grown<T extends Uint8Array | Int32Array | Float64Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

// Scratch input of an internal node hash: D("kt/v1/map-node") || depth || left || right (80 bytes).
const NODE_INPUT = new Uint8Array(MAP_NODE_DOMAIN.length + 1 + 64);
NODE_INPUT.set(MAP_NODE_DOMAIN);
const DEPTH_AT = MAP_NODE_DOMAIN.length;
// Fields of internal node j at 4j of PrefixTree.nodes; LEFT + bit is the child a label bit selects.
const [LEFT, RIGHT, DEPTH, DIRTY] = [0, 1, 2, 3];

/** The in-memory map. Mutable; `root()` is cached and recomputed lazily along changed paths only. */
export class PrefixTree {
  // Leaves: label, history hash and leaf hash at 32i; version at i.
  private leafLabels = new Uint8Array(0);
  private leafHistory = new Uint8Array(0);
  private leafHashes = new Uint8Array(0);
  private leafVersions = new Float64Array(0);
  private leafCount = 0;
  // Internal nodes: hash at 32j; left and right child references, depth, dirty flag at 4j..4j+3.
  private nodeHashes = new Uint8Array(0);
  private nodes = new Int32Array(0);
  private nodeCount = 0;
  /** Reference of the root node, null for the empty tree. */
  private top: number | null = null;
  /** Internal nodes visited by the last `descend`, root first. */
  private readonly path = new Int32Array(LABEL_BITS);
  private pathLength = 0;
  private hashes = 0;

  /**
   * Builds the tree of `leaves` bottom-up over their label order: one hash per leaf and per internal node.
   * Refuses malformed leaves and repeated labels. Leaves are copied.
   */
  static fromLeaves(leaves: MapLeaf[]): PrefixTree {
    leaves.forEach(checkMapLeaf);
    const t = new PrefixTree();
    t.reserve(leaves.length, Math.max(0, leaves.length - 1));
    for (const leaf of leaves) t.addLeaf(leaf); // in input order: reading the leaves sorted is much slower
    const order = sortedOrder(t.leafLabels, leaves.length);
    if (leaves.length > 0) t.top = t.build(order, 0, leaves.length);
    return t;
  }

  /** The number of labels in the map. */
  get size(): number {
    return this.leafCount;
  }

  /** How many SHA-256 hashes (leaf and node) this tree has computed so far: for benchmarks and tests. */
  get hashesComputed(): number {
    return this.hashes;
  }

  /** Bytes held by the tree's arrays, spare capacity included (for benchmarks). */
  get byteLength(): number {
    const arrays = [this.leafLabels, this.leafHistory, this.leafHashes, this.leafVersions, this.nodeHashes, this.nodes];
    return arrays.reduce((sum, a) => sum + a.byteLength, 0);
  }

  /** The map root (a fresh copy). Rehashes the nodes made dirty since the last call, each once. */
  root(): Uint8Array {
    const top = this.top;
    if (top === null) return MAP_EMPTY_ROOT.slice();
    if (top < 0) return this.leafHashes.slice(32 * ~top, 32 * ~top + 32);
    this.rehash(top);
    return this.nodeHashes.slice(32 * top, 32 * top + 32);
  }

  /** Every leaf (copies), in insertion order: with `fromLeaves`, a way to save and restore the map. */
  leaves(): MapLeaf[] {
    return Array.from({ length: this.leafCount }, (_, i) => this.leafAt(i));
  }

  /** The leaf of `label` (copies), or undefined if the label is not in the map. */
  get(label: Uint8Array): MapLeaf | undefined {
    checkLabel(label);
    if (this.top === null) return undefined;
    const leaf = this.descend(label);
    return firstDiffBit(label, 0, this.leafLabels, 32 * leaf) === LABEL_BITS ? this.leafAt(leaf) : undefined;
  }

  /**
   * Inserts new labels and replaces the version and history hash of existing ones, then returns the new
   * root. The batch is checked whole before anything changes: a malformed leaf or a label given twice
   * refuses the batch and leaves the tree as it was.
   */
  applyBatch(updates: MapLeaf[]): Uint8Array {
    updates.forEach(checkMapLeaf);
    const labels = new Uint8Array(32 * updates.length);
    updates.forEach((u, i) => copy32(u.label, 0, labels, 32 * i));
    sortedOrder(labels, updates.length); // refuses repeated labels before anything changes
    this.reserve(updates.length, updates.length);
    for (const u of updates) this.upsert(u);
    return this.root();
  }

  /** A membership proof if `label` is present, else an absence proof; siblings are copies. */
  prove(label: Uint8Array): MapProof {
    checkLabel(label);
    this.root();
    if (this.top === null) return { kind: 'absent', path: [], terminal: null };
    const leaf = this.descend(label);
    const path: MapProofStep[] = [];
    for (let k = this.pathLength - 1; k >= 0; k--) {
      const j = this.path[k];
      const depth = this.nodes[4 * j + DEPTH];
      const sibling = this.nodes[4 * j + RIGHT - bit(label, depth)];
      path.push({ depth, sibling: this.hashOf(sibling) });
    }
    if (firstDiffBit(label, 0, this.leafLabels, 32 * leaf) === LABEL_BITS) return { kind: 'member', path };
    return { kind: 'absent', path, terminal: this.leafAt(leaf) };
  }

  // ---- storage ----

  /** Makes room for `leaves` more leaves and `nodes` more internal nodes (growing by at least 1.5x). */
  private reserve(leaves: number, nodes: number): void {
    const needL = this.leafCount + leaves;
    if (needL > this.leafVersions.length) {
      const cap = Math.max(needL, Math.ceil(this.leafVersions.length * 1.5));
      this.leafLabels = grown(this.leafLabels, 32 * cap);
      this.leafHistory = grown(this.leafHistory, 32 * cap);
      this.leafHashes = grown(this.leafHashes, 32 * cap);
      this.leafVersions = grown(this.leafVersions, cap);
    }
    const needN = this.nodeCount + nodes;
    if (needN > this.nodes.length / 4) {
      const cap = Math.max(needN, Math.ceil((this.nodes.length / 4) * 1.5));
      this.nodeHashes = grown(this.nodeHashes, 32 * cap);
      this.nodes = grown(this.nodes, 4 * cap);
    }
  }

  /** Appends a leaf (space reserved) and returns its index. */
  private addLeaf(leaf: MapLeaf): number {
    const i = this.leafCount++;
    copy32(leaf.label, 0, this.leafLabels, 32 * i);
    this.setLeaf(i, leaf);
    return i;
  }

  /** Stores leaf i's version and history hash and hashes it. */
  private setLeaf(i: number, leaf: MapLeaf): void {
    this.leafVersions[i] = leaf.version;
    copy32(leaf.historyHash, 0, this.leafHistory, 32 * i);
    copy32(mapLeafHash(leaf.label, leaf.version, leaf.historyHash), 0, this.leafHashes, 32 * i);
    this.hashes++;
  }

  /** Appends an internal node (space reserved), not yet hashed, and returns its index. */
  private addNode(depth: number, left: number, right: number): number {
    const j = this.nodeCount++;
    this.nodes[4 * j + LEFT] = left;
    this.nodes[4 * j + RIGHT] = right;
    this.nodes[4 * j + DEPTH] = depth;
    return j;
  }

  private leafAt(i: number): MapLeaf {
    const o = 32 * i;
    return {
      label: this.leafLabels.slice(o, o + 32),
      version: this.leafVersions[i],
      historyHash: this.leafHistory.slice(o, o + 32),
    };
  }

  /** A copy of the hash of the node or leaf `ref`. */
  private hashOf(ref: number): Uint8Array {
    const o = 32 * (ref >= 0 ? ref : ~ref);
    return (ref >= 0 ? this.nodeHashes : this.leafHashes).slice(o, o + 32);
  }

  // ---- hashing ----

  /** Copies the hash of `ref` into NODE_INPUT at `at`. */
  private loadChild(ref: number, at: number): void {
    if (ref >= 0) copy32(this.nodeHashes, 32 * ref, NODE_INPUT, at);
    else copy32(this.leafHashes, 32 * ~ref, NODE_INPUT, at);
  }

  /** Hashes internal node j from its children's stored hashes (mapNodeHash, without allocating inputs). */
  private hashNode(j: number): void {
    NODE_INPUT[DEPTH_AT] = this.nodes[4 * j + DEPTH];
    this.loadChild(this.nodes[4 * j + LEFT], DEPTH_AT + 1);
    this.loadChild(this.nodes[4 * j + RIGHT], DEPTH_AT + 33);
    copy32(sha256(NODE_INPUT), 0, this.nodeHashes, 32 * j);
    this.nodes[4 * j + DIRTY] = 0;
    this.hashes++;
  }

  /** Rehashes the dirty nodes of the subtree at internal node j, children first, each once. */
  private rehash(j: number): void {
    if (this.nodes[4 * j + DIRTY] === 0) return;
    const [l, r] = [this.nodes[4 * j + LEFT], this.nodes[4 * j + RIGHT]];
    if (l >= 0) this.rehash(l);
    if (r >= 0) this.rehash(r);
    this.hashNode(j);
  }

  // ---- structure ----

  /**
   * Follows `label`'s bits from the root (tree not empty) to a leaf, recording the internal nodes passed
   * in `path`; returns the leaf's index. That leaf is `label`'s if the label is present.
   */
  private descend(label: Uint8Array): number {
    let ref = this.top as number;
    let n = 0;
    while (ref >= 0) {
      this.path[n++] = ref;
      ref = this.nodes[4 * ref + LEFT + bit(label, this.nodes[4 * ref + DEPTH])];
    }
    this.pathLength = n;
    return ~ref;
  }

  /** Marks the first `n` nodes of `path` dirty. */
  private markDirty(n: number): void {
    for (let k = 0; k < n; k++) this.nodes[4 * this.path[k] + DIRTY] = 1;
  }

  /**
   * Inserts or replaces one leaf (space reserved). A new label whose first difference from the leaf its
   * bits lead to is bit d gets a new node branching on d, put in place of the first node on its path that
   * branches below d (or of that leaf): every leaf under that node agrees with the new label before d.
   */
  private upsert(u: MapLeaf): void {
    if (this.top === null) {
      this.top = ~this.addLeaf(u);
      return;
    }
    const leaf = this.descend(u.label);
    const n = this.pathLength;
    const d = firstDiffBit(u.label, 0, this.leafLabels, 32 * leaf);
    if (d === LABEL_BITS) {
      this.setLeaf(leaf, u);
      this.markDirty(n);
      return;
    }
    let k = 0;
    while (k < n && this.nodes[4 * this.path[k] + DEPTH] < d) k++;
    this.markDirty(k);
    const old = k < n ? this.path[k] : ~leaf;
    const fresh = ~this.addLeaf(u);
    const node = bit(u.label, d) === 0 ? this.addNode(d, fresh, old) : this.addNode(d, old, fresh);
    this.nodes[4 * node + DIRTY] = 1;
    if (k === 0) this.top = node;
    else {
      const parent = 4 * this.path[k - 1];
      this.nodes[parent + LEFT + bit(u.label, this.nodes[parent + DEPTH])] = node;
    }
  }

  /**
   * Builds and hashes the subtree of the leaves order[lo..hi) (sorted by label): it branches on the first
   * bit where the first and last labels differ; a binary search finds where that bit turns to 1.
   */
  private build(order: Uint32Array, lo: number, hi: number): number {
    if (hi - lo === 1) return ~order[lo];
    const labels = this.leafLabels;
    const d = firstDiffBit(labels, 32 * order[lo], labels, 32 * order[hi - 1]);
    const [byte, shift] = [d >>> 3, 7 - (d & 7)];
    let [zero, one] = [lo, hi - 1]; // bit d is 0 at order[zero] and 1 at order[one]
    while (one - zero > 1) {
      const mid = (zero + one) >>> 1;
      if ((labels[32 * order[mid] + byte] >>> shift) & 1) one = mid;
      else zero = mid;
    }
    const left = this.build(order, lo, one);
    const right = this.build(order, one, hi);
    const j = this.addNode(d, left, right);
    this.hashNode(j);
    return j;
  }
}
