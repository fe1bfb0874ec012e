/**
 * Random bytes from the platform's cryptographically secure generator (WebCrypto `getRandomValues`, which
 * Node 20, browsers and Workers all have): keys, VRF secrets, commitment openings, tokens.
 */

/** Random bytes from the platform CSPRNG (WebCrypto, available in Node 20, browsers and Workers). */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  globalThis.crypto.getRandomValues(out);
  return out;
}
