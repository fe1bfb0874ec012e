/**
 * The map read from and written to storage (docs/PROTOCOL.md section 21): the same prefix tree, hashes and
 * proofs as the in-memory PrefixTree (prefix-tree.ts), over the node rows of map-nodes.ts read through a
 * one-method source, so that whoever builds a proof reads only the nodes on its label's path: the writer
 * through a bounded cache (map-cache.ts), a reader process or an auditor from its own storage. Reads are
 * synchronous, as SQLite on Node and a Durable Object's SQL are. A batch of updates is planned, not
 * applied: `plan` (map-batch.ts) reads the nodes it changes, rehashes each changed node once and returns
 * the new root and the rows to write, and the source is unchanged until the caller writes those rows in its own transaction
 * (the directory writes them in the epoch's, so the stored nodes and the signed map root cannot disagree
 * after a crash). A batch of B updates reads and rewrites about B·(depth − log2 B) + B nodes.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { planBatch, type MapBatch, type NextLeaf } from './map-batch.js';
import { decodedNode, decodedRoot } from './map-decoded.js';
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
import { leafOfRef, MAP_ROOT_KEY, mapKeyId, refHash, type MapNode, type MapNodeRow, type MapRef } from './map-nodes.js';

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
  /** True if the rows are in memory, so that a read costs what a cache's would: a replay puts none in front. */
  readonly inMemory?: boolean;
}

/** The stored map's rows in memory: for small maps, tests and users without storage of their own. */
export class MemoryMapStore implements MapNodeStore {
  private readonly rows = new Map<number | string, Uint8Array>();
  readonly inMemory = true;

  mapNode(key: Uint8Array): Uint8Array | undefined {
    return this.rows.get(mapKeyId(key));
  }

  writeMapRows(rows: MapNodeRow[]): void {
    for (const r of rows) this.rows.set(mapKeyId(r.key), r.value); // kept, not copied (MapNodeStore)
  }

  /** Removes the rows of `keys` (an undo of rows that did not exist). */
  forget(keys: Uint8Array[]): void {
    for (const k of keys) this.rows.delete(mapKeyId(k));
  }
}

/** The map as its stored rows give it; stateless: every read goes to the source. */
export class StoredMap {
  constructor(readonly source: MapNodeSource) {}

  /** The root row's reference (shared: never modify it), null for the empty map. */
  top(): MapRef | null {
    const value = this.source.mapNode(MAP_ROOT_KEY);
    return value === undefined ? null : decodedRoot(value);
  }

  /**
   * The internal node a reference names (shared: never modify it); a missing row is a MapError 'bad_node'.
   * A row of the upper levels is decoded once while a cache hands it out (map-decoded.ts), unless
   * `remember` is false: a batch's plan reads a node once, and the rows it reads are replaced as it commits.
   */
  node(ref: MapRef & { kind: 'node' }, remember = true): MapNode {
    const value = this.source.mapNode(ref.key);
    if (value === undefined) throw new MapError('bad_node', `stored map: the node at depth ${ref.depth} is missing`);
    return decodedNode(ref.key, value, remember);
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
    return ref && equalBytes(ref.label, label) ? leafOfRef(ref) : undefined;
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
    if (equalBytes(ref.label, label)) return { proof: { kind: 'member', path }, leaf: leafOfRef(ref) };
    return { proof: { kind: 'absent', path, terminal: leafOfRef(ref) }, leaf: undefined };
  }

  /**
   * Plans inserting new labels and replacing the version and history hash of existing ones: returns the
   * new root and the rows to write. The batch is checked whole first: a malformed leaf or a label given
   * twice refuses it. Nothing is written.
   */
  plan(updates: MapLeaf[]): MapBatch {
    updates.forEach(checkMapLeaf);
    return planBatch(
      this,
      this.top(),
      updates.map((u) => u.label),
      (i) => updates[i],
    );
  }

  /**
   * Plans the batch of `labels` whose new leaves `next` gives, from each label's leaf before the batch
   * (undefined for a new label), found on the batch's one walk down the map: for a caller whose new leaves
   * depend on the old (an auditor's replay). `next` is called once per label, in label order.
   */
  planFrom(labels: Uint8Array[], next: NextLeaf): MapBatch {
    return planBatch(this, this.top(), labels, next);
  }
}
