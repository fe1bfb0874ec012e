/**
 * Byte helpers shared by every module: strict hex and base64 codecs that reject non-canonical input,
 * a constant-time comparison for anything that may be secret or attacker-influenced, UTF-8 helpers and
 * big-endian integer encodings. Pure JavaScript on `Uint8Array`; no `Buffer`, no platform crypto.
 */
import { CodedError } from './errors.js';

export type EncodingErrorCode =
  | 'bad_base64'
  | 'bad_hex'
  | 'bad_integer'
  | 'bad_key'
  | 'bad_utf8'
  | 'truncated'
  | 'unsafe_integer';

/** A typed error with a stable code, thrown by every parser in wasm-free-crypto/. */
export class EncodingError extends CodedError<EncodingErrorCode> {
  override readonly name = 'EncodingError';
}

/** Concatenates byte arrays into a new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Compares two byte arrays in time that depends only on their lengths, never on their contents.
 * Arrays of different lengths compare unequal (lengths are not secret here).
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

const HEX = '0123456789abcdef';

/** Lower-case hex encoding. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
  return s;
}

/** Decodes lower-case hex; rejects upper case, odd lengths and any other character. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new EncodingError('bad_hex', 'hex string has odd length');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = HEX.indexOf(hex[2 * i]);
    const lo = HEX.indexOf(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) throw new EncodingError('bad_hex', 'hex string has a non lower-case hex character');
    out[i] = (hi << 4) | lo;
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/**
 * Standard base64 (RFC 4648 section 4) with padding. Longer inputs go through the platform's `btoa`
 * (Node 16+, browsers, Workers), which is many times faster; the result is the same (tested).
 */
export function toBase64(bytes: Uint8Array): string {
  if (bytes.length >= 48 && typeof btoa === 'function') return btoaBytes(bytes);
  return toBase64Js(bytes);
}

function btoaBytes(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x2000)
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x2000) as unknown as number[]);
  return btoa(binary);
}

const B64_CODES = Uint8Array.from(B64, (c) => c.charCodeAt(0));

/** The length of the standard, padded base64 encoding of `n` bytes. */
export function base64Length(n: number): number {
  return 4 * Math.ceil(n / 3);
}

/**
 * Writes the standard, padded base64 encoding of `bytes` as ASCII into `out` at `at`, and returns the
 * offset after it; `out` must have `base64Length(bytes.length)` bytes of room. For building byte
 * responses without intermediate strings; the same encoding as `toBase64` (tested).
 */
export function writeBase64(out: Uint8Array, at: number, bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[at] = B64_CODES[v >>> 18];
    out[at + 1] = B64_CODES[(v >>> 12) & 63];
    out[at + 2] = B64_CODES[(v >>> 6) & 63];
    out[at + 3] = B64_CODES[v & 63];
    at += 4;
  }
  if (i < n) {
    const two = i + 1 < n;
    const v = (bytes[i] << 16) | (two ? bytes[i + 1] << 8 : 0);
    out[at] = B64_CODES[v >>> 18];
    out[at + 1] = B64_CODES[(v >>> 12) & 63];
    out[at + 2] = two ? B64_CODES[(v >>> 6) & 63] : 0x3d;
    out[at + 3] = 0x3d;
    at += 4;
  }
  return at;
}

/** The pure-JavaScript encoder (exported for the equality test). */
export function toBase64Js(bytes: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    s += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    s += B64[n >> 18] + B64[(n >> 12) & 63] + '==';
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    s += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + '=';
  }
  return s;
}

function b64Value(s: string, i: number): number {
  const c = s.charCodeAt(i);
  const v = c < 128 ? B64_INDEX[c] : -1;
  if (v < 0) throw new EncodingError('bad_base64', `invalid base64 character at offset ${i}`);
  return v;
}

/**
 * Decodes standard padded base64, accepting only the canonical encoding: length a multiple of 4,
 * correct padding, no whitespace, and zero bits in the unused low bits of the last character.
 */
export function fromBase64(s: string): Uint8Array {
  if (s.length % 4 !== 0) throw new EncodingError('bad_base64', 'base64 length is not a multiple of 4');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length;
    const quadPad = last ? pad : 0;
    const a = b64Value(s, i);
    const b = b64Value(s, i + 1);
    const c = quadPad === 2 ? 0 : b64Value(s, i + 2);
    const d = quadPad >= 1 ? 0 : b64Value(s, i + 3);
    if (quadPad === 2 && (b & 15) !== 0) throw new EncodingError('bad_base64', 'non-canonical base64 padding bits');
    if (quadPad === 1 && (c & 3) !== 0) throw new EncodingError('bad_base64', 'non-canonical base64 padding bits');
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    if (quadPad < 2) out[o++] = (n >> 8) & 255;
    if (quadPad < 1) out[o++] = n & 255;
  }
  return out;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 encoding of a string. */
export function utf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/** Strict UTF-8 decoding: invalid sequences throw instead of becoming U+FFFD. */
export function fromUtf8(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new EncodingError('bad_utf8', 'invalid UTF-8');
  }
}

/** Big-endian uint64 from a non-negative safe integer or bigint. */
export function u64be(n: number | bigint): Uint8Array {
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) {
    // Without BigInt: hashes and entries encode many of these.
    const out = new Uint8Array(8);
    const hi = Math.floor(n / 0x100000000);
    const lo = n >>> 0;
    out[0] = hi >>> 24;
    out[1] = (hi >>> 16) & 255;
    out[2] = (hi >>> 8) & 255;
    out[3] = hi & 255;
    out[4] = lo >>> 24;
    out[5] = (lo >>> 16) & 255;
    out[6] = (lo >>> 8) & 255;
    out[7] = lo & 255;
    return out;
  }
  const v = BigInt(n);
  if (v < 0n || v > 0xffffffffffffffffn) throw new EncodingError('bad_integer', 'uint64 out of range');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, false);
  return out;
}

/** Big-endian uint32. */
export function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new EncodingError('bad_integer', 'uint32 out of range');
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/** Reads a big-endian uint64 at `offset` as a bigint. */
export function readU64be(bytes: Uint8Array, offset = 0): bigint {
  if (offset + 8 > bytes.length) throw new EncodingError('truncated', 'truncated uint64');
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset, false);
}

/** Reads a big-endian uint64 at `offset` as a number; throws above 2^53 - 1 (`unsafe_integer`). */
export function readSafeU64be(bytes: Uint8Array, offset = 0): number {
  if (offset + 8 > bytes.length) throw new EncodingError('truncated', 'truncated uint64');
  const hi = ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
  const lo =
    ((bytes[offset + 4] << 24) | (bytes[offset + 5] << 16) | (bytes[offset + 6] << 8) | bytes[offset + 7]) >>> 0;
  if (hi > 0x1fffff) throw new EncodingError('unsafe_integer', 'integer above 2^53 - 1');
  return hi * 0x100000000 + lo;
}

/** Reads a big-endian uint32 at `offset`. */
export function readU32be(bytes: Uint8Array, offset = 0): number {
  if (offset + 4 > bytes.length) throw new EncodingError('truncated', 'truncated uint32');
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, false);
}

/**
 * Parses a decimal ASCII integer with no sign, no leading zeros (except "0" itself) and no other
 * characters, as C2SP formats require. Returns a safe integer or throws.
 */
export function parseDecimal(s: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^(0|[1-9][0-9]*)$/.test(s) || s.length > 16)
    throw new EncodingError('bad_integer', `not a canonical decimal: ${JSON.stringify(s.slice(0, 32))}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n > max) throw new EncodingError('bad_integer', `integer out of range: ${s}`);
  return n;
}
