/**
 * SHA-512 and SHA-384 (FIPS 180-4) over the concatenation of their arguments, as `sha256` takes them:
 * SHA-512 is the hash that Ed25519 (RFC 8032) and the VRF (RFC 9381) are built on, SHA-384 one that
 * certificates are signed with; from @noble/hashes, pure JavaScript. The browser builds use
 * sha512-compact.ts in its place.
 */
import { sha384 as nobleSha384, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';

type Hash = typeof nobleSha512;

function hashParts(hash: Hash, parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return hash(parts[0]);
  const h = hash.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/** SHA-512 of the concatenation of `parts`. */
export function sha512(...parts: Uint8Array[]): Uint8Array {
  return hashParts(nobleSha512, parts);
}

/** SHA-384 of the concatenation of `parts`. */
export function sha384(...parts: Uint8Array[]): Uint8Array {
  return hashParts(nobleSha384, parts);
}
