/**
 * SHA-512 (FIPS 180-4) over the concatenation of its arguments, as `sha256` takes them: the hash that
 * Ed25519 (RFC 8032) and the VRF (RFC 9381) are built on, from @noble/hashes, pure JavaScript.
 */
import { sha512 as nobleSha512 } from '@noble/hashes/sha2.js';

/** SHA-512 of the concatenation of `parts`. */
export function sha512(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return nobleSha512(parts[0]);
  const h = nobleSha512.create();
  for (const p of parts) h.update(p);
  return h.digest();
}
