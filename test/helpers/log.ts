/**
 * Shared fixtures for log tests: a log signer, the `record <i>` entries of the tiles-300 vectors, and
 * independent recomputation of what a log of given entries must serve.
 */
import { utf8 } from '../../wasm-free-crypto/bytes.js';
import { generateSignerKey, parseSignerKey, type Ed25519NoteSigner } from '../../wasm-free-crypto/note.js';
import {
  LogError,
  recordHash,
  rootFromLeafHashes,
  storedHashes,
  type Hash,
  type HashReader,
} from '../../verifier/formats/tlog.js';

export const ORIGIN = 'example.com/kt-test-log';

/** A fresh log signer whose key name is the origin. */
export function logSigner(origin = ORIGIN): Ed25519NoteSigner {
  return parseSignerKey(generateSignerKey(origin).signerKey);
}

/** Entries `record <first>` .. `record <first+count-1>`, as in vectors/tiles-300. */
export function records(first: number, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => utf8(`record ${first + i}`));
}

/** MTH of the given entries, computed from scratch. */
export function rootOf(entries: Uint8Array[]): Hash {
  return rootFromLeafHashes(entries.map(recordHash));
}

/** A deterministic pseudo-random generator for reproducible splits. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** An in-memory store of stored hashes (verifier/formats/tlog.ts numbering), filled by `storedHashes`. */
export class MemoryHashStore implements HashReader {
  hashes: Hash[] = [];
  readHashes(indexes: number[]): Hash[] {
    return indexes.map((i) => {
      const h = this.hashes[i];
      if (h === undefined) throw new LogError('bad_index', `no stored hash ${i}`);
      return h;
    });
  }
  /** Number of records appended. */
  records = 0;
  /** Appends one record, storing the hashes it completes. */
  append(data: Uint8Array): void {
    this.hashes.push(...storedHashes(this.records, data, this));
    this.records++;
  }
}
