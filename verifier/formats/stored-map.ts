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
import {
  leafOfRef,
  MAP_ROOT_KEY,
  mapKeyId,
  refHash,
  RowSlab,
  type MapNode,
  type MapNodeRow,
  type MapRef,
} from './map-nodes.js';

/** Reads a stored map row by key (the root row's key is empty); undefined if there is none. */
export interface MapNodeSource {
  mapNode(key: Uint8Array): Uint8Array | undefined;
}

/**
 * A source that also takes the rows of a committed batch (an auditor's replay writes to one). Nobody
 * modifies a row once planned, but a plan's rows are views of chunks they share (map-nodes.ts, RowSlab): a
 * store that keeps rows in memory keeps copies, or it keeps whole chunks alive for a few rows.
 */
export interface MapNodeStore extends MapNodeSource {
  writeMapRows(rows: MapNodeRow[]): void;
}

/**
 * The stored map's rows in memory: for small maps, tests and users without storage of their own. Each row
 * is copied into chunks of the store's own (RowSlab): a Uint8Array per row costs about 0.5 µs (map-nodes.ts),
 * and keeping a batch's own views would keep its whole chunks alive for a few rows that outlive the rest
 * (about eight times the bytes of the rows kept, measured). When the chunks written since the last
 * compaction hold more than twice the bytes of the rows kept, the kept rows are copied into new chunks and
 * the old ones are left to the collector (views handed out before keep theirs until they go), so the
 * store holds about two to three times its rows' bytes at most, for one more copy per byte written.
 */
export class MemoryMapStore implements MapNodeStore {
  private readonly rows = new Map<number | string, Uint8Array>();
  private chunks = new RowSlab();
  /** Bytes of the rows kept, and bytes copied into the chunks since the last compaction. */
  private keptBytes = 0;
  private copiedBytes = 0;

  mapNode(key: Uint8Array): Uint8Array | undefined {
    return this.rows.get(mapKeyId(key));
  }

  writeMapRows(rows: MapNodeRow[]): void {
    for (const r of rows) {
      const k = mapKeyId(r.key);
      this.keptBytes += r.value.length - (this.rows.get(k)?.length ?? 0);
      this.rows.set(k, this.copy(r.value));
    }
    if (this.copiedBytes > 2 * this.keptBytes + COMPACTION_SLACK) this.compact();
  }

  /** Removes the rows of `keys` (an undo of rows that did not exist). */
  forget(keys: Uint8Array[]): void {
    for (const key of keys) {
      const k = mapKeyId(key);
      this.keptBytes -= this.rows.get(k)?.length ?? 0;
      this.rows.delete(k);
    }
  }

  /** Bytes of the rows kept, and bytes in the chunks written since the last compaction (for tests). */
  get bytes(): { kept: number; copied: number } {
    return { kept: this.keptBytes, copied: this.copiedBytes };
  }

  private copy(value: Uint8Array): Uint8Array {
    const out = this.chunks.take(value.length);
    out.set(value);
    this.copiedBytes += value.length;
    return out;
  }

  /** Copies every kept row into new chunks (a Map's values may be replaced while it is iterated). */
  private compact(): void {
    this.chunks = new RowSlab();
    this.copiedBytes = 0;
    for (const [k, v] of this.rows) this.rows.set(k, this.copy(v));
  }
}

/** Bytes copied past twice the kept rows' before a store in memory compacts (so that a small one never does). */
const COMPACTION_SLACK = 1 << 20;

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
