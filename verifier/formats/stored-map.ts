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

/** A source that also takes the rows of a committed batch (an auditor's replay writes to one). */
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
    for (const r of rows) this.rows.set(mapKeyString(r.key), r.value.slice());
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

function leafRef(leaf: MapLeaf): MapRef {
  return { kind: 'leaf', label: leaf.label.slice(), version: leaf.version, historyHash: leaf.historyHash.slice() };
}

function asLeaf(ref: MapRef & { kind: 'leaf' }): MapLeaf {
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
    const seen = new Set(updates.map((u) => mapKeyString(u.label)));
    if (seen.size !== updates.length) throw new MapError('duplicate_label', 'a label appears twice in the batch');
    const overlay = new BatchOverlay(this);
    for (const u of updates) overlay.upsert(u);
    return overlay.finish();
  }
}

/**
 * The nodes a batch changes, kept apart from the source until it is written. A changed node's reference
 * in its parent (or the root's) has no hash until `finish` rehashes it, children first, each once.
 */
class BatchOverlay {
  private readonly changed = new Map<string, MapNode>();
  private top: MapRef | null;

  constructor(private readonly map: StoredMap) {
    this.top = map.top();
  }

  private node(ref: MapRef & { kind: 'node' }): MapNode {
    return this.changed.get(mapKeyString(ref.key)) ?? this.map.node(ref);
  }

  /**
   * Inserts or replaces one leaf. A new label whose first difference from the leaf its bits lead to is bit
   * d gets a new node branching on d, put in place of the first node on its path that branches below d (or
   * of that leaf): every label under that node agrees with the new one before d.
   */
  upsert(u: MapLeaf): void {
    if (this.top === null) {
      this.top = leafRef(u);
      return;
    }
    const path: MapNode[] = [];
    let ref = this.top;
    while (ref.kind === 'node') {
      const n = this.node(ref);
      path.push(n);
      ref = n.children[labelBit(u.label, n.depth)];
    }
    const d = firstDifferingBit(u.label, ref.label);
    if (d === 256) {
      this.markChanged(path, path.length, u.label);
      this.setChild(path, path.length, u.label, leafRef(u));
      return;
    }
    let k = 0;
    while (k < path.length && path[k].depth < d) k++;
    this.markChanged(path, k, u.label);
    const below = k < path.length ? this.childRef(path, k, u.label) : ref;
    const fresh: MapNode = {
      key: mapNodeKey(u.label, d),
      depth: d,
      children: labelBit(u.label, d) === 0 ? [leafRef(u), below] : [below, leafRef(u)],
    };
    this.changed.set(mapKeyString(fresh.key), fresh);
    this.setChild(path, k, u.label, { kind: 'node', key: fresh.key, depth: d, hash: null });
  }

  /** The reference to path[k] as its parent (or the root row) holds it. */
  private childRef(path: MapNode[], k: number, label: Uint8Array): MapRef {
    return k === 0 ? (this.top as MapRef) : path[k - 1].children[labelBit(label, path[k - 1].depth)];
  }

  /** Puts `ref` where path[k] is referenced from (its parent on `label`'s side, or the root). */
  private setChild(path: MapNode[], k: number, label: Uint8Array, ref: MapRef): void {
    if (k === 0) this.top = ref;
    else path[k - 1].children[labelBit(label, path[k - 1].depth)] = ref;
  }

  /**
   * Records path[0..n) as changed (a copy of each, on first change: the nodes read are shared) and clears
   * the hashes of the references to them.
   */
  private markChanged(path: MapNode[], n: number, label: Uint8Array): void {
    for (let i = 0; i < n; i++) {
      const k = mapKeyString(path[i].key);
      let node = this.changed.get(k);
      if (!node) {
        const [left, right] = path[i].children;
        node = { key: path[i].key, depth: path[i].depth, children: [left, right] };
        this.changed.set(k, node);
      }
      path[i] = node;
      const ref = this.childRef(path, i, label);
      this.setChild(path, i, label, { ...(ref as MapRef & { kind: 'node' }), hash: null });
    }
  }

  /** The hash of `ref`, rehashing the changed nodes below it first. */
  private rehash(ref: MapRef): Uint8Array {
    if (ref.kind === 'leaf' || ref.hash) return refHash(ref);
    const n = this.changed.get(mapKeyString(ref.key)) as MapNode;
    ref.hash = mapNodeHash(n.depth, this.rehash(n.children[0]), this.rehash(n.children[1]));
    return ref.hash;
  }

  finish(): MapBatch {
    const root = this.top === null ? MAP_EMPTY_ROOT.slice() : this.rehash(this.top).slice();
    // Every changed node is rehashed now and no longer changes: it is what its row decodes to.
    const rows = [...this.changed.values()].map((n) => {
      const value = encodeMapNode(n);
      if (n.depth < DECODED_DEPTH) decodedRows.set(value, n);
      return { key: n.key, value };
    });
    const rootValue = encodeMapRoot(this.top);
    decodedRoots.set(rootValue, this.top);
    rows.push({ key: MAP_ROOT_KEY, value: rootValue });
    return { root, rows };
  }
}
