/**
 * SHA-256 (FIPS 180-4) with the API of sha256.ts, from @noble/hashes: smaller than sha256.ts, slower on
 * the 65-byte node hashes a server or an auditor computes by the million. The client package's browser
 * builds use it in place of sha256.ts (the `browser` field of packages/client/package.json), because a web
 * client hashes a few hundred times per lookup and pays for every byte it downloads; Node and the server
 * keep sha256.ts. Equal on every input (test/wasm-free-crypto/sha256.test.ts).
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return nobleSha256(parts[0]);
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}
