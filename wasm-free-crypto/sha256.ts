/**
 * SHA-256 and SHA-512 (FIPS 180-4) from @noble/hashes, pure JavaScript. `sha256` hashes the
 * concatenation of its arguments without copying them into one buffer, which is how every
 * domain-separated hash in the project is written: `sha256(DOMAIN, part1, part2, ...)`.
 */
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return nobleSha256(parts[0]);
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/** SHA-512 of the concatenation of `parts`. */
export function sha512(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return nobleSha512(parts[0]);
  const h = nobleSha512.create();
  for (const p of parts) h.update(p);
  return h.digest();
}
