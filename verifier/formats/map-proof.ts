/**
 * The map's hashes and proofs: everything a client needs to check a lookup, without the tree itself
 * (verifier/formats/prefix-tree.ts holds the tree). The map is a binary Merkle prefix tree
 * over 256-bit labels in which a subtree holding one leaf is that leaf, so a proof is one (depth, sibling) step per
 * branching node above the leaf, about log2(n) steps. Three SHA-256 hashes with their own domains `D(x) = UTF-8(x) ||
 * 0x00`: leaf `H(D("kt/v1/map-leaf") || label || u64 version || historyHash)`, internal node `H(D("kt/v1/map-node")
 * || u8 depth || left || right)` where `depth` is the label bit the node branches on (bit 0 = most significant bit of
 * byte 0; left = bit 0), and the empty tree `H(D("kt/v1/map-empty"))`. Versions are JS numbers: non-negative safe
 * integers (< 2^53), encoded as uint64. Verification and the binary proof encoding are specified in docs/PROTOCOL.md
 * (the map section). Every failure is a `MapError` with a stable code.
 */
import { equalBytes, readU64be, u64be, utf8 } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';

/**
 * Codes: 'bad_label' (not 32 bytes), 'bad_hash' (a history hash or sibling not 32 bytes), 'bad_version'
 * (not a safe non-negative integer), 'bad_depth', 'bad_root' (not 32 bytes), 'duplicate_label' (a label
 * twice in one batch or bulk build), 'bad_node' (a stored map row that breaks its format, map-nodes.ts, or that
 * is missing), 'unsorted_leaves' (a bulk build's leaves not in ascending label order), 'bad_proof' (malformed proof, or one that cannot be about this
 * label), 'not_member' / 'not_absent' (a well-formed proof that does not lead to the root).
 */
export type MapErrorCode =
  | 'bad_label'
  | 'bad_hash'
  | 'bad_version'
  | 'bad_depth'
  | 'bad_root'
  | 'duplicate_label'
  | 'bad_proof'
  | 'not_member'
  | 'not_absent'
  | 'bad_node'
  | 'unsorted_leaves';

export class MapError extends CodedError<MapErrorCode> {
  override readonly name = 'MapError';
}

/** A leaf of the map: the label's current version and the head of its history hash chain. */
export interface MapLeaf {
  label: Uint8Array;
  version: number;
  historyHash: Uint8Array;
}

/** One branching node on a proof path: the bit it branches on and the hash of the other child. */
export interface MapProofStep {
  depth: number;
  sibling: Uint8Array;
}

/**
 * A lookup proof. `path` runs from the leaf up (deepest node first). An absence proof ends at the leaf
 * reached by following the label's bits (`terminal`), which is another label; it is null only for the
 * empty tree.
 */
export type MapProof =
  | { kind: 'member'; path: MapProofStep[] }
  | { kind: 'absent'; path: MapProofStep[]; terminal: MapLeaf | null };

export const LABEL_SIZE = 32;
/** Branching depths are 0..255, so a path has at most 256 steps. */
export const MAX_PATH = 256;

const LEAF_DOMAIN = utf8('kt/v1/map-leaf\u0000');
const NODE_DOMAIN = utf8('kt/v1/map-node\u0000');
const EMPTY_DOMAIN = utf8('kt/v1/map-empty\u0000');

/** The root of the empty map, SHA-256(D("kt/v1/map-empty")). Shared: never modify it. */
export const MAP_EMPTY_ROOT: Uint8Array = sha256(EMPTY_DOMAIN);

// ---- checks and bits ----

/** Checks that a label is 32 bytes ('bad_label'). */
export function checkLabel(label: Uint8Array, what = 'label'): void {
  if (!(label instanceof Uint8Array) || label.length !== LABEL_SIZE)
    throw new MapError('bad_label', `${what} must be ${LABEL_SIZE} bytes`);
}

function checkHash32(h: Uint8Array, code: MapErrorCode, what: string): void {
  if (!(h instanceof Uint8Array) || h.length !== 32) throw new MapError(code, `${what} must be 32 bytes`);
}

/** Checks the shape of a leaf: 32-byte label and history hash, version a safe non-negative integer. */
export function checkMapLeaf(leaf: MapLeaf): void {
  checkLabel(leaf.label);
  if (!Number.isSafeInteger(leaf.version) || leaf.version < 0)
    throw new MapError('bad_version', `version must be a non-negative safe integer, got ${String(leaf.version)}`);
  checkHash32(leaf.historyHash, 'bad_hash', 'history hash');
}

/** Bit `depth` of a label (0 = most significant bit of byte 0). */
export function labelBit(label: Uint8Array, depth: number): number {
  return (label[depth >>> 3] >>> (7 - (depth & 7))) & 1;
}

// ---- hashes ----

// Scratch input of a leaf hash, D("kt/v1/map-leaf") || label || u64 version || historyHash (87 bytes):
// one buffer written in place is about twice as fast as four parts with a BigInt-built u64.
const LEAF_INPUT = new Uint8Array(LEAF_DOMAIN.length + 72);
LEAF_INPUT.set(LEAF_DOMAIN);
const LABEL_AT = LEAF_DOMAIN.length;

/** SHA-256(D("kt/v1/map-leaf") || label || u64be(version) || historyHash). */
export function mapLeafHash(label: Uint8Array, version: number, historyHash: Uint8Array): Uint8Array {
  checkMapLeaf({ label, version, historyHash });
  const [hi, lo] = [Math.floor(version / 2 ** 32), version >>> 0]; // version < 2^53: hi < 2^21
  for (let k = 0; k < 32; k++) {
    LEAF_INPUT[LABEL_AT + k] = label[k];
    LEAF_INPUT[LABEL_AT + 40 + k] = historyHash[k];
  }
  for (let k = 0; k < 4; k++) {
    LEAF_INPUT[LABEL_AT + 32 + k] = hi >>> (24 - 8 * k);
    LEAF_INPUT[LABEL_AT + 36 + k] = lo >>> (24 - 8 * k);
  }
  return sha256(LEAF_INPUT);
}

// Scratch input of a node hash, D("kt/v1/map-node") || u8 depth || left || right (80 bytes), written in place
// as the leaf's is: a hash of every node a batch changes.
const NODE_INPUT = new Uint8Array(NODE_DOMAIN.length + 65);
NODE_INPUT.set(NODE_DOMAIN);
const DEPTH_AT = NODE_DOMAIN.length;

/** SHA-256(D("kt/v1/map-node") || u8(depth) || left || right); `depth` is the bit the node branches on. */
export function mapNodeHash(depth: number, left: Uint8Array, right: Uint8Array): Uint8Array {
  if (!Number.isInteger(depth) || depth < 0 || depth >= MAX_PATH)
    throw new MapError('bad_depth', `depth must be 0..255, got ${String(depth)}`);
  checkHash32(left, 'bad_hash', 'left child hash');
  checkHash32(right, 'bad_hash', 'right child hash');
  NODE_INPUT[DEPTH_AT] = depth;
  for (let k = 0; k < 32; k++) {
    NODE_INPUT[DEPTH_AT + 1 + k] = left[k];
    NODE_INPUT[DEPTH_AT + 33 + k] = right[k];
  }
  return sha256(NODE_INPUT);
}

/** The 15-byte node domain, for verifier/formats/prefix-tree.ts's allocation-free node hashing. */
export const MAP_NODE_DOMAIN: Uint8Array = NODE_DOMAIN.slice();

// ---- verification ----

/**
 * Checks the shape of a path: at most 256 steps, each depth an integer 0..255 and each sibling 32 bytes,
 * depths strictly decreasing from the leaf up (every node branches on a later bit than its parent).
 */
function checkPath(path: MapProofStep[]): void {
  if (!Array.isArray(path) || path.length > MAX_PATH)
    throw new MapError('bad_proof', 'proof path must be an array of at most 256 steps');
  let below = MAX_PATH;
  for (const step of path) {
    const d = step.depth;
    if (!Number.isInteger(d) || d < 0 || d >= below)
      throw new MapError('bad_proof', 'proof depths must strictly decrease from the leaf up, within 0..255');
    checkHash32(step.sibling, 'bad_proof', 'proof sibling');
    below = d;
  }
}

/** Folds a path over `hash`, placing it on the side `label`'s bit selects at each step's depth. */
function foldPath(hash: Uint8Array, label: Uint8Array, path: MapProofStep[]): Uint8Array {
  let h = hash;
  for (const { depth, sibling } of path)
    h = labelBit(label, depth) === 0 ? mapNodeHash(depth, h, sibling) : mapNodeHash(depth, sibling, h);
  return h;
}

/** Verifies that `leaf` (label, version, history hash) is in the map with root `root`; throws MapError. */
export function verifyMembership(root: Uint8Array, leaf: MapLeaf, proof: MapProof): void {
  checkHash32(root, 'bad_root', 'map root');
  checkMapLeaf(leaf);
  if (proof?.kind !== 'member') throw new MapError('bad_proof', 'not a membership proof');
  checkPath(proof.path);
  const h = foldPath(mapLeafHash(leaf.label, leaf.version, leaf.historyHash), leaf.label, proof.path);
  if (!equalBytes(h, root)) throw new MapError('not_member', 'membership proof does not lead to the map root');
}

/**
 * Verifies that `label` is not in the map with root `root`; throws MapError. With no terminal leaf the
 * path must be empty and the root the empty root. Otherwise the terminal's label must differ from
 * `label` and agree with it at every path depth (so the terminal sits where `label` would be), and
 * folding the path over the terminal's leaf hash, following `label`'s bits, must give the root.
 */
export function verifyAbsence(root: Uint8Array, label: Uint8Array, proof: MapProof): void {
  checkHash32(root, 'bad_root', 'map root');
  checkLabel(label);
  if (proof?.kind !== 'absent') throw new MapError('bad_proof', 'not an absence proof');
  checkPath(proof.path);
  const t = proof.terminal;
  if (t === null) {
    if (proof.path.length !== 0)
      throw new MapError('bad_proof', 'an absence proof without a terminal leaf must have an empty path');
    if (!equalBytes(root, MAP_EMPTY_ROOT)) throw new MapError('not_absent', 'the map is not empty');
    return;
  }
  checkMapLeaf(t);
  if (equalBytes(t.label, label)) throw new MapError('bad_proof', 'the terminal leaf is the label itself');
  for (const { depth } of proof.path) {
    if (labelBit(t.label, depth) !== labelBit(label, depth))
      throw new MapError('bad_proof', `the terminal leaf does not share bit ${depth} with the label`);
  }
  const h = foldPath(mapLeafHash(t.label, t.version, t.historyHash), label, proof.path);
  if (!equalBytes(h, root)) throw new MapError('not_absent', 'absence proof does not lead to the map root');
}

// ---- encoding ----

const KIND_MEMBER = 0;
const KIND_ABSENT = 1;

/**
 * Binary encoding: u8 kind (0 member, 1 absent), u16 step count (0..256: a path can have 256 steps, one
 * more than a u8 holds), then per step, deepest first, u8 depth || 32-byte sibling; an absence proof then
 * has u8 hasTerminal (0 or 1) and, if 1, the terminal leaf label(32) || u64 version || historyHash(32).
 * A member proof is 3 + 33·steps bytes, an absence proof 76 + 33·steps (4 for the empty map).
 */
export function encodeMapProof(p: MapProof): Uint8Array {
  if (p?.kind !== 'member' && p?.kind !== 'absent') throw new MapError('bad_proof', 'unknown map proof kind');
  checkPath(p.path);
  const terminal = p.kind === 'absent' ? p.terminal : null;
  if (terminal) checkMapLeaf(terminal);
  else if (p.kind === 'absent' && p.path.length > 0)
    throw new MapError('bad_proof', 'an absence proof without a terminal leaf must have an empty path');
  const out = new Uint8Array(3 + 33 * p.path.length + (p.kind === 'member' ? 0 : terminal ? 73 : 1));
  out.set([p.kind === 'member' ? KIND_MEMBER : KIND_ABSENT, p.path.length >>> 8, p.path.length & 0xff]);
  let o = 3;
  for (const step of p.path) {
    out[o] = step.depth;
    out.set(step.sibling, o + 1);
    o += 33;
  }
  if (p.kind === 'absent') out[o] = terminal ? 1 : 0;
  if (terminal) {
    out.set(terminal.label, o + 1);
    out.set(u64be(terminal.version), o + 33);
    out.set(terminal.historyHash, o + 41);
  }
  return out;
}

/** Reads `n` bytes at `o` (a copy), refusing truncation. */
function take(b: Uint8Array, o: number, n: number): Uint8Array {
  if (o + n > b.length) throw new MapError('bad_proof', 'truncated map proof');
  return b.slice(o, o + n);
}

/** Decodes the 72-byte terminal leaf at `o`; a version above 2^53 - 1 is refused. */
function decodeTerminal(b: Uint8Array, o: number): MapLeaf {
  const label = take(b, o, 32);
  const v = readU64be(take(b, o + 32, 8));
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MapError('bad_proof', 'terminal version beyond 2^53 - 1');
  return { label, version: Number(v), historyHash: take(b, o + 40, 32) };
}

/**
 * Decodes `encodeMapProof`'s format strictly, as 'bad_proof': unknown kind, more than 256 steps, depths
 * not strictly decreasing, a terminal flag other than 0 or 1, no terminal on a non-empty path,
 * truncation, trailing bytes. Whatever decodes re-encodes to the same bytes.
 */
export function decodeMapProof(b: Uint8Array): MapProof {
  if (!(b instanceof Uint8Array)) throw new MapError('bad_proof', 'map proof must be bytes');
  const head = take(b, 0, 3);
  if (head[0] !== KIND_MEMBER && head[0] !== KIND_ABSENT)
    throw new MapError('bad_proof', `unknown map proof kind ${head[0]}`);
  const count = (head[1] << 8) | head[2];
  if (count > MAX_PATH) throw new MapError('bad_proof', `map proof has ${count} steps, more than 256`);
  const path: MapProofStep[] = [];
  let o = 3;
  for (let i = 0; i < count; i++, o += 33) path.push({ depth: take(b, o, 1)[0], sibling: take(b, o + 1, 32) });
  checkPath(path);
  let proof: MapProof = { kind: 'member', path };
  if (head[0] === KIND_ABSENT) {
    const flag = take(b, o++, 1)[0];
    if (flag > 1) throw new MapError('bad_proof', 'terminal flag must be 0 or 1');
    if (flag === 0 && count > 0)
      throw new MapError('bad_proof', 'an absence proof without a terminal leaf must have an empty path');
    proof = { kind: 'absent', path, terminal: flag === 1 ? decodeTerminal(b, o) : null };
    if (flag === 1) o += 72;
  }
  if (o !== b.length) throw new MapError('bad_proof', 'trailing bytes after map proof');
  return proof;
}
