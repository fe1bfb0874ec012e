/**
 * A value of a `kt` file or flag that must be canonical base64 of a fixed number of bytes (a history hash, a
 * label, a witnessed root hash): its bytes, or undefined for anything else (not a string, not canonical base64,
 * another length), which each caller refuses with its own message.
 */
import { fromBase64 } from '../wasm-free-crypto/bytes.js';

/** The bytes of `v` if it is canonical base64 of exactly `length` bytes, else undefined. */
export function base64Of(v: unknown, length: number): Uint8Array | undefined {
  try {
    const bytes = typeof v === 'string' ? fromBase64(v) : undefined;
    return bytes?.length === length ? bytes : undefined;
  } catch {
    return undefined;
  }
}
