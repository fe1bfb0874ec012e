/**
 * The stored map's rows read ahead of an epoch's plan by another thread (docs/ARCHITECTURE.md, "The map in
 * storage"). An epoch's plan walks the path of every label it updates, and below the cached upper levels each
 * node is a read of the store: about 15 per label at 10M accounts, most of an epoch's reads. A platform with
 * a second connection to the same store (the Node server: api/node/map-path-reader.ts) reads those paths on
 * another thread as each statement is queued, while the sequencer is still accepting others, and the plan
 * then finds them here.
 *
 * The rows a read returns are those of one committed state of the store (the reader reads each request in
 * one transaction), so they are taken only if no epoch committed or failed between the request and the
 * answer (`generation`), and every row held is forgotten when one does (`invalidate`): this layer never
 * answers with a row the store has since replaced. A request answered too late is asked again once. A read
 * that fails costs nothing but the time: the plan reads the store itself, as without a reader. At most
 * MAX_PREFETCHED_ROWS rows are held and MAX_LABELS_IN_FLIGHT labels read at once, and a plan waits only for the
 * reads of its own labels.
 */
import { MAP_ROOT_KEY, mapKeyString, type MapNodeRow } from '../../verifier/formats/map-nodes.js';
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { MapError } from '../../verifier/formats/map-proof.js';
import { StoredMap, type MapNodeSource } from '../../verifier/formats/stored-map.js';

/** Reads the stored rows on labels' paths from one committed state of the store, off the caller's thread. */
export interface MapPathReader {
  readPaths(labels: Uint8Array[]): Promise<MapNodeRow[]>;
}

/** Rows held at most (about 0.2 KB each): the paths of more than 10,000 labels at 10M accounts. */
export const MAX_PREFETCHED_ROWS = 200_000;
/** Labels being read at most (an epoch's 20,000 updates): beyond them, nothing more is asked until answers come. */
const MAX_LABELS_IN_FLIGHT = 20_000;
/** The nodes branching above this depth are not read ahead: every path passes them, so the cache holds them. */
const PREFETCH_MIN_DEPTH = 10;
/** How long a plan waits for the reads asked for before it, in ms, at most: then it reads the store itself. */
const SETTLE_LIMIT_MS = 1_000;

/**
 * The rows on the paths of `labels` read from `source`, those of the upper `minDepth` levels left out (the
 * sequencer's cache holds them), each once. A label whose path holds a malformed row is left out too: the plan
 * reads that row itself and reports it.
 */
export function pathRows(source: MapNodeSource, labels: Uint8Array[], minDepth = PREFETCH_MIN_DEPTH): MapNodeRow[] {
  const rows = new Map<string, MapNodeRow>();
  const recording: MapNodeSource = {
    mapNode(key) {
      const value = source.mapNode(key);
      if (value !== undefined && key.length > 0 && key[0] >= minDepth) rows.set(mapKeyString(key), { key, value });
      return value;
    },
  };
  const map = new StoredMap(recording);
  for (const label of labels)
    try {
      map.get(label);
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
    }
  return [...rows.values()];
}

/** The levels a path reader keeps between requests: the nodes branching above it, at most 16,383. */
const MEMO_DEPTH = 14;

/**
 * For a path reader: the rows of the upper MEMO_DEPTH levels, which every path passes, kept while the map's
 * root row is the same. The root row holds the top node's hash, which commits to every row below it: while
 * it is unchanged, so is every row, and when an epoch changes any row it changes the root row too.
 */
export class UpperLevelMemo {
  private root: Uint8Array | undefined;
  private readonly rows = new Map<string, Uint8Array | undefined>();

  constructor(private readonly source: MapNodeSource) {}

  /** A source over the store's state now: call within the transaction that reads through it. */
  current(): MapNodeSource {
    const root = this.source.mapNode(MAP_ROOT_KEY);
    if (root === undefined || this.root === undefined || !equalBytes(root, this.root)) this.rows.clear();
    this.root = root;
    return {
      mapNode: (key) => {
        if (key.length === 0) return root;
        if (key[0] >= MEMO_DEPTH) return this.source.mapNode(key);
        const k = mapKeyString(key);
        if (this.rows.has(k)) return this.rows.get(k);
        const value = this.source.mapNode(key);
        this.rows.set(k, value);
        return value;
      },
    };
  }
}

/** Rows packed into one buffer (to move between threads): per row, u8 key length, key, u16 value length, value. */
export function packRows(rows: MapNodeRow[]): Uint8Array {
  let size = 0;
  for (const r of rows) size += 3 + r.key.length + r.value.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const r of rows) {
    if (r.key.length > 0xff || r.value.length > 0xffff) throw new RangeError('a map row too large to pack');
    out[at++] = r.key.length;
    out.set(r.key, at);
    at += r.key.length;
    out[at++] = r.value.length >>> 8;
    out[at++] = r.value.length & 0xff;
    out.set(r.value, at);
    at += r.value.length;
  }
  return out;
}

/** The rows of `packRows`, as views into `packed`; a truncated buffer is a RangeError. */
export function unpackRows(packed: Uint8Array): MapNodeRow[] {
  const rows: MapNodeRow[] = [];
  let at = 0;
  while (at < packed.length) {
    const keyEnd = at + 1 + packed[at];
    if (keyEnd + 2 > packed.length) throw new RangeError('packed map rows: truncated');
    const valueEnd = keyEnd + 2 + ((packed[keyEnd] << 8) | packed[keyEnd + 1]);
    if (valueEnd > packed.length) throw new RangeError('packed map rows: truncated');
    rows.push({ key: packed.subarray(at + 1, keyEnd), value: packed.subarray(keyEnd + 2, valueEnd) });
    at = valueEnd;
  }
  return rows;
}

/** A source that answers from the rows read ahead for the current committed state, and else from `source`. */
export class MapPrefetch implements MapNodeSource {
  private readonly rows = new Map<string, Uint8Array>();
  /** Counts commits and failures: rows read before one are not taken after it. */
  private generation = 0;
  private asked: Uint8Array[] = [];
  private flushing: ReturnType<typeof setTimeout> | null = null;
  /** The newest read of each label asked for and not yet answered, and how many labels are being read. */
  private readonly reading = new Map<string, Promise<void>>();
  private labelsInFlight = 0;
  /** Rows asked for ahead and taken, rows read too late, and reads answered from what was taken. */
  readonly stats = { taken: 0, stale: 0, hits: 0 };

  constructor(
    private readonly source: MapNodeSource,
    private readonly reader: MapPathReader,
  ) {}

  mapNode(key: Uint8Array): Uint8Array | undefined {
    const value = this.rows.get(mapKeyString(key));
    if (value === undefined) return this.source.mapNode(key);
    this.stats.hits++;
    return value;
  }

  /**
   * Asks for `label`'s path; the labels asked for in one turn of the event loop are read together. Nothing is
   * asked once MAX_PREFETCHED_ROWS rows are held or MAX_LABELS_IN_FLIGHT labels are being read.
   */
  request(label: Uint8Array): void {
    if (this.rows.size >= MAX_PREFETCHED_ROWS || this.labelsInFlight + this.asked.length >= MAX_LABELS_IN_FLIGHT)
      return;
    this.asked.push(label);
    this.flushing ??= setTimeout(() => this.flush(), 0);
  }

  /** Waits until the reads of `labels` (those of the epoch about to be planned) are answered, SETTLE_LIMIT_MS at most. */
  async settled(labels: Uint8Array[]): Promise<void> {
    this.flush();
    const reads = new Set<Promise<void>>();
    for (const label of labels) {
      const read = this.reading.get(mapKeyString(label));
      if (read) reads.add(read);
    }
    if (reads.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_LIMIT_MS)));
    await Promise.race([Promise.all(reads), limit]); // the reads never reject
    clearTimeout(timer);
  }

  /** After an epoch committed or failed: the store may have changed, so every row read before is forgotten. */
  invalidate(): void {
    this.generation++;
    this.rows.clear();
  }

  private flush(retry = true, labels = this.asked): void {
    if (labels === this.asked) {
      if (this.flushing) clearTimeout(this.flushing);
      this.flushing = null;
      this.asked = [];
    }
    if (labels.length === 0) return;
    const at = this.generation;
    const keys = labels.map(mapKeyString);
    this.labelsInFlight += labels.length;
    const read: Promise<void> = this.reader
      .readPaths(labels)
      .then((rows) => this.take(at, rows, () => retry && this.flush(false, labels)))
      .catch(() => undefined) // the plan reads the store itself
      .finally(() => {
        this.labelsInFlight -= labels.length;
        for (const k of keys) if (this.reading.get(k) === read) this.reading.delete(k);
      });
    for (const k of keys) this.reading.set(k, read);
  }

  private take(at: number, rows: MapNodeRow[], again: () => void): void {
    if (at !== this.generation) {
      this.stats.stale += rows.length;
      again();
      return;
    }
    for (const r of rows) {
      if (this.rows.size >= MAX_PREFETCHED_ROWS) return;
      // A copy: a view would keep the whole answer's buffer alive for as long as the cache keeps the row.
      this.rows.set(mapKeyString(r.key), r.value.slice());
      this.stats.taken++;
    }
  }
}
