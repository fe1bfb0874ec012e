/**
 * An epoch's index writes (`EpochWrites`), and its KEYTRANS rows (d1-keytrans.ts), as JSON text, for the Worker's
 * outbox of writes to replicate to D1 (api/worker/d1-replica.ts): the same structure, with every byte string as `{"$b": "<base64>"}`. Decoding is
 * the exact inverse and refuses anything else in place of bytes.
 */
import { fromBase64, toBase64 } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import type { EpochWrites } from '../../log/directory/store.js';

export class EpochWritesJsonError extends CodedError<'bad_epoch_writes'> {
  override readonly name = 'EpochWritesJsonError';
}

export function encodeEpochWrites(w: EpochWrites): string {
  return encodeBytesJson(w);
}

export function decodeEpochWrites(text: string): EpochWrites {
  return decodeBytesJson<EpochWrites>(text);
}

/** `value` as JSON, each byte string as `{"$b": "<base64>"}`. */
export function encodeBytesJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? { $b: toBase64(v) } : v));
}

/** The inverse of `encodeBytesJson`; anything else in place of bytes is refused. */
export function decodeBytesJson<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || !('$b' in v)) return v;
    const keys = Object.keys(v);
    const b64 = (v as { $b: unknown }).$b;
    if (keys.length !== 1 || typeof b64 !== 'string')
      throw new EpochWritesJsonError('bad_epoch_writes', 'a byte string must be {"$b": base64}');
    return fromBase64(b64);
  }) as T;
}
