/**
 * Stored map rows decoded, by the row's bytes (map-nodes.ts): a cache hands out the same bytes until the
 * row changes, so that a row read again is not decoded again; a planned batch (map-batch.ts) notes the
 * root row it encoded. Only the nodes branching above DECODED_DEPTH are kept so (at
 * most 4,095 of them): every path passes through them. A deeper node lies on few paths, and its decoded
 * form (about 1 KB of objects beside its ~100 bytes) would multiply a full cache's memory by five; it is
 * decoded again when read. What is handed out is shared: nobody modifies it.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { decodeMapNode, decodeMapRoot, type MapNode, type MapRef } from './map-nodes.js';

const decodedRows = new WeakMap<Uint8Array, MapNode>();
const DECODED_DEPTH = 12;
/** Root rows decoded, the same way (null: the empty map). */
const decodedRoots = new WeakMap<Uint8Array, MapRef | null>();

/**
 * The node row `value` stored under `key` decodes to (strictly, as decodeMapNode), kept for the next read
 * if `remember` (a WeakMap's set costs about three decodes: worth it for a row read again, as the upper
 * levels are by every lookup, and not for one read once).
 */
export function decodedNode(key: Uint8Array, value: Uint8Array, remember: boolean): MapNode {
  if (key[0] >= DECODED_DEPTH) return decodeMapNode(key, value); // never kept: no WeakMap lookup
  let node = decodedRows.get(value);
  if (node && !equalBytes(node.key, key)) node = undefined; // the same bytes under another key: decoded anew
  if (!node) {
    node = decodeMapNode(key, value);
    if (remember) decodedRows.set(value, node); // its depth is key[0], below DECODED_DEPTH
  }
  return node;
}

/** The root row `value` decodes to (strictly, as decodeMapRoot). */
export function decodedRoot(value: Uint8Array): MapRef | null {
  let top = decodedRoots.get(value);
  if (top === undefined) {
    top = decodeMapRoot(value);
    decodedRoots.set(value, top);
  }
  return top;
}

/** Notes that `value` is the encoding of the root reference `top`. */
export function noteEncodedRoot(value: Uint8Array, top: MapRef | null): void {
  decodedRoots.set(value, top);
}
