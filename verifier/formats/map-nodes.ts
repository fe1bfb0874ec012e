/**
 * The stored map's rows (docs/PROTOCOL.md section 21): the prefix tree of map-proof.ts kept as one row per
 * internal node, so that a writer, a reader process or an auditor reads only the nodes on the paths it
 * follows. A node is named by where it is, which never changes (labels are never removed, so a node once
 * made stays with the same depth and prefix; an insertion puts a new node above it): the key of the internal
 * node branching on bit d, whose labels share the prefix p of d bits, is `u8 d || p` packed in ceil(d/8)
 * bytes with the bits from d on zero. The root row has the empty key. A node's value is its two children,
 * left (label bit 0) then right, each a reference:
 * - `0x01 || child key || hash(32)`: an internal node, with its hash;
 * - `0x02 || label(32) || u64 version || historyHash(32)`: a leaf, whose hash is recomputed from it;
 * and the root row's value is one reference, or the single byte `0x00` for the empty map. Every hash is
 * map-proof.ts's. Decoding is strict: exact lengths, known tags, a child key that extends its parent's
 * prefix on the parent's side below the parent's depth, zero padding bits, a leaf whose label has the
 * prefix its place implies. A row that breaks a rule is a `MapError` 'bad_node'.
 */
import { readSafeU64be } from '../../wasm-free-crypto/bytes.js';
import { labelBit, MapError, mapLeafHash, type MapLeaf } from './map-proof.js';

/** A child as a node row holds it: an internal node by key (with its hash once known), or a leaf. */
export type MapRef =
  | { kind: 'node'; key: Uint8Array; depth: number; hash: Uint8Array | null }
  | ({ kind: 'leaf' } & MapLeaf);

/** A leaf as a reference holds it. */
export type LeafRef = MapRef & { kind: 'leaf' };

/** A leaf's reference, with copies of its byte strings. */
export function leafRef(leaf: MapLeaf): LeafRef {
  return { kind: 'leaf', label: leaf.label.slice(), version: leaf.version, historyHash: leaf.historyHash.slice() };
}

/** The leaf a reference holds, with copies of its byte strings (what a reader hands out). */
export function leafOfRef(ref: LeafRef): MapLeaf {
  return { label: ref.label.slice(), version: ref.version, historyHash: ref.historyHash.slice() };
}

/** An internal node as stored: where it is and its children (left = label bit 0). */
export interface MapNode {
  key: Uint8Array;
  depth: number;
  children: [MapRef, MapRef];
}

/** A row to write: a node's or the root's key and value. */
export interface MapNodeRow {
  key: Uint8Array;
  value: Uint8Array;
}

/** The root row's key (empty). */
export const MAP_ROOT_KEY: Uint8Array = new Uint8Array(0);

const TAG_EMPTY = 0x00;
const TAG_NODE = 0x01;
const TAG_LEAF = 0x02;
const LEAF_REF_SIZE = 1 + 32 + 8 + 32;

function bad(message: string): MapError {
  return new MapError('bad_node', `stored map row: ${message}`);
}

/** The key of the node branching on bit `depth` over labels that share `label`'s first `depth` bits. */
export function mapNodeKey(label: Uint8Array, depth: number): Uint8Array {
  const n = Math.ceil(depth / 8);
  const key = new Uint8Array(1 + n);
  key[0] = depth;
  key.set(label.subarray(0, n), 1);
  if (depth % 8 !== 0) key[n] &= 0xff << (8 - (depth % 8));
  return key;
}

/**
 * The keys of the nodes a walk from the node `key` (of depth d) would meet if every prefix below it followed
 * `label`: the key's own d bits, then `label`'s, for depths d .. d + count - 1 (at most 255; from depth 0 for the
 * root row's empty key). What a reader that
 * fetches rows ahead of its walk asks for: most of them name no node, but the walk's next rows are among them.
 */
export function keysAlong(key: Uint8Array, label: Uint8Array, count: number): Uint8Array[] {
  const depth = key.length === 0 ? 0 : key[0]; // the root row's (empty) key: from depth 0
  const pseudo = label.slice();
  const prefix = key.subarray(1);
  pseudo.set(prefix.subarray(0, depth >>> 3));
  if (depth % 8 !== 0) {
    const i = depth >>> 3;
    const mask = 0xff << (8 - (depth % 8));
    pseudo[i] = (prefix[i] & mask) | (label[i] & ~mask & 0xff);
  }
  const keys = [];
  for (let d = depth; d < Math.min(256, depth + count); d++) keys.push(mapNodeKey(pseudo, d));
  return keys;
}

/** Whether `label` (or a longer key's prefix, as bytes) agrees with `key`'s prefix on its first key[0] bits. */
function keyCovers(key: Uint8Array, label: Uint8Array): boolean {
  const depth = key[0];
  for (let i = 0; i < depth >>> 3; i++) if (key[1 + i] !== label[i]) return false;
  const rest = depth & 7;
  return rest === 0 || ((key[1 + (depth >>> 3)] ^ label[depth >>> 3]) & (0xff << (8 - rest)) & 0xff) === 0;
}

/** The first bit where two labels differ (bit 0 = the first byte's most significant), or 256 if equal. */
export function firstDifferingBit(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const x = a[i] ^ b[i];
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 256;
}

/**
 * A key as a string of its bytes (latin1): a cheap exact Map key. A node key of up to 6 bytes (depth below
 * 41, most of a map's nodes) is made by a direct call, which is about twice as fast as one through `apply`.
 */
export function mapKeyString(k: Uint8Array): string {
  const c = String.fromCharCode;
  switch (k.length) {
    case 0:
      return '';
    case 1:
      return c(k[0]);
    case 2:
      return c(k[0], k[1]);
    case 3:
      return c(k[0], k[1], k[2]);
    case 4:
      return c(k[0], k[1], k[2], k[3]);
    case 5:
      return c(k[0], k[1], k[2], k[3], k[4]);
    case 6:
      return c(k[0], k[1], k[2], k[3], k[4], k[5]);
    default:
      return c.apply(null, k as unknown as number[]);
  }
}

/**
 * A key as an exact Map key: a number for a key of up to 6 bytes (depth below 41, most of a map's nodes,
 * and the root's empty key), its bytes big-endian times 8 plus its length (below 2^51, so exact), else
 * its string (`mapKeyString`). A Map finds a number in a large table two to three times faster than a
 * new string, which it must hash first. A number and a string are never equal as Map keys.
 */
export function mapKeyId(k: Uint8Array): number | string {
  const n = k.length;
  if (n > 6) return mapKeyString(k);
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + k[i];
  return v * 8 + n;
}

/** The hash of a reference (a leaf's is computed); a dirty node reference has none yet. */
export function refHash(ref: MapRef): Uint8Array {
  if (ref.kind === 'leaf') return mapLeafHash(ref.label, ref.version, ref.historyHash);
  if (!ref.hash) throw new Error('map node reference without its hash');
  return ref.hash;
}

function refSize(ref: MapRef): number {
  return ref.kind === 'leaf' ? LEAF_REF_SIZE : 1 + ref.key.length + 32;
}

/** Writes a safe integer as 8 bytes big-endian (as u64be, without allocating). */
function writeU64(out: Uint8Array, at: number, n: number): void {
  const hi = Math.floor(n / 2 ** 32);
  const lo = n >>> 0;
  for (let k = 0; k < 4; k++) {
    out[at + k] = hi >>> (24 - 8 * k);
    out[at + 4 + k] = lo >>> (24 - 8 * k);
  }
}

function writeRef(out: Uint8Array, at: number, ref: MapRef): number {
  if (ref.kind === 'leaf') {
    out[at] = TAG_LEAF;
    out.set(ref.label, at + 1);
    writeU64(out, at + 33, ref.version);
    out.set(ref.historyHash, at + 41);
    return at + LEAF_REF_SIZE;
  }
  out[at] = TAG_NODE;
  out.set(ref.key, at + 1);
  out.set(refHash(ref), at + 1 + ref.key.length);
  return at + 1 + ref.key.length + 32;
}

/**
 * Bytes for the rows of a batch, handed out as views of larger chunks. V8 allocates a Uint8Array of more
 * than 64 bytes (a node row is 70 to 146) outside its heap, at about 0.5 µs and a finalizer each, where a
 * view of a chunk costs about 20 ns; up to 64 bytes it allocates in its heap, as cheaply, so those are
 * not views. A view keeps its whole chunk alive: whoever keeps a row long after its batch while the rest
 * of the batch goes, as a cache does, keeps a copy (`ownRowBytes`).
 */
export class RowSlab {
  private chunk = new Uint8Array(0);
  private used = 0;

  /** `n` zero bytes of their own, not shared with any other row. */
  take(n: number): Uint8Array {
    if (n <= ON_HEAP_BYTES || n > SLAB_CHUNK) return new Uint8Array(n);
    if (this.used + n > this.chunk.length) {
      this.chunk = new Uint8Array(SLAB_CHUNK);
      this.used = 0;
    }
    const out = this.chunk.subarray(this.used, this.used + n);
    this.used += n;
    return out;
  }
}

/** The largest Uint8Array V8 allocates in its heap, and the size of a RowSlab's chunks. */
const ON_HEAP_BYTES = 64;
const SLAB_CHUNK = 8192;

/** `value` itself if it is all of its buffer, else a copy (a RowSlab's views are over 64 bytes). */
export function ownRowBytes(value: Uint8Array): Uint8Array {
  // Only past 64 bytes: reading `buffer` moves an array V8 holds in its heap out of it.
  return value.byteLength > ON_HEAP_BYTES && value.buffer.byteLength !== value.byteLength ? value.slice() : value;
}

/** A node row's value: its left then right reference, in bytes of `slab` if one is given. */
export function encodeMapNode(node: MapNode, slab?: RowSlab): Uint8Array {
  const [l, r] = node.children;
  const size = refSize(l) + refSize(r);
  const out = slab ? slab.take(size) : new Uint8Array(size);
  writeRef(out, writeRef(out, 0, l), r);
  return out;
}

/** The root row's value: the top reference, or 0x00 for the empty map. */
export function encodeMapRoot(top: MapRef | null): Uint8Array {
  if (top === null) return Uint8Array.of(TAG_EMPTY);
  const out = new Uint8Array(refSize(top));
  writeRef(out, 0, top);
  return out;
}

/**
 * Reads the reference at `at`, which must sit below `parent` (a key; the empty key for the root) on
 * `side`: an internal child branches deeper and extends the parent's prefix with the side bit; a leaf's
 * label has that prefix. Returns the reference and where the next one starts. Its byte strings are views of
 * `b`, not copies (a copy by `slice` was half of a lookup's walk): like the row, they are never modified, and
 * whoever hands them out copies them (stored-map.ts).
 */
function readRef(b: Uint8Array, at: number, parent: Uint8Array, side: number): [MapRef, number] {
  const parentDepth = parent.length === 0 ? -1 : parent[0];
  if (b[at] === TAG_LEAF) {
    if (at + LEAF_REF_SIZE > b.length) throw bad('a leaf reference is cut short');
    // The label and the history hash are 32 bytes by construction: the version is what can be malformed.
    const leaf: LeafRef = {
      kind: 'leaf',
      label: b.subarray(at + 1, at + 33),
      version: readVersion(b, at + 33),
      historyHash: b.subarray(at + 41, at + 73),
    };
    if (leaf.version < 0) throw bad('a leaf reference is malformed (its version is past 2^53 - 1)');
    if (parentDepth >= 0 && (!keyCovers(parent, leaf.label) || labelBit(leaf.label, parentDepth) !== side))
      throw bad('a leaf is not under its parent');
    return [leaf, at + LEAF_REF_SIZE];
  }
  if (b[at] !== TAG_NODE) throw bad(`unknown reference tag ${b[at]}`);
  const depth = b[at + 1];
  const end = at + 2 + Math.ceil(depth / 8) + 32;
  if (depth === undefined || end > b.length) throw bad('a node reference is cut short');
  const key = b.subarray(at + 1, end - 32);
  if (depth % 8 !== 0 && (key[key.length - 1] & (0xff >>> (depth % 8))) !== 0)
    throw bad('a node key has bits set past its depth');
  if (depth <= parentDepth) throw bad('a child node does not branch below its parent');
  // The child's prefix is longer than its parent's: it must start with the parent's, then the side's bit.
  if (parentDepth >= 0 && (!keyCovers(parent, key.subarray(1)) || prefixBit(key, parentDepth) !== side))
    throw bad('a child node is not under its parent');
  return [{ kind: 'node', key, depth, hash: b.subarray(end - 32, end) }, end];
}

/** The u64 at `at` as a number; one above 2^53 - 1 reads as -1, which readRef refuses. */
function readVersion(b: Uint8Array, at: number): number {
  try {
    return readSafeU64be(b, at);
  } catch {
    return -1; // above 2^53 - 1: refused by readRef
  }
}

/** Bit `depth` of a key's prefix (below the key's own depth). */
function prefixBit(key: Uint8Array, depth: number): number {
  return (key[1 + (depth >>> 3)] >>> (7 - (depth & 7))) & 1;
}

/** Decodes the node row stored under `key` (strictly, see the file comment). */
export function decodeMapNode(key: Uint8Array, value: Uint8Array): MapNode {
  if (key.length < 1 || key.length !== 1 + Math.ceil(key[0] / 8)) throw bad('a node key has the wrong length');
  const [left, mid] = readRef(value, 0, key, 0);
  const [right, end] = readRef(value, mid, key, 1);
  if (end !== value.length) throw bad('trailing bytes after a node');
  return { key, depth: key[0], children: [left, right] };
}

/** Decodes the root row (absent: the empty map). */
export function decodeMapRoot(value: Uint8Array | undefined): MapRef | null {
  if (value === undefined || (value.length === 1 && value[0] === TAG_EMPTY)) return null;
  const [top, end] = readRef(value, 0, MAP_ROOT_KEY, 0);
  if (end !== value.length) throw bad('trailing bytes after the root');
  return top;
}
