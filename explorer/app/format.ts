/**
 * How the explorer writes values for people: fingerprints (as `kt trust` prints them for keys, and of
 * public keys), times and ages, sizes. Pure functions.
 */
import { toHex, utf8 } from '../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';

/** A key string's fingerprint as `kt trust` prints it: the first 16 hex digits of its SHA-256. */
export function keyStringFingerprint(key: string): string {
  return toHex(sha256(utf8(key))).slice(0, 16);
}

/** A public key's fingerprint: SHA-256 of its bytes, hex, in groups of four, the first 128 bits. */
export function publicKeyFingerprint(key: Uint8Array): string {
  return (toHex(sha256(key)).slice(0, 32).match(/.{4}/g) ?? []).join(' ');
}

/** A time (ms since the epoch) as ISO 8601 in UTC, to the second. */
export function isoTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : 'unknown';
}

/** A duration in ms in words: "42 s", "5 min", "3 h", "2 days". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

/** "N ago" for a past time, "in N" for a future one. */
export function age(ms: number, now: number): string {
  return ms <= now ? `${duration(now - ms)} ago` : `in ${duration(ms - now)} (in the future)`;
}

/** A count with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}
