/**
 * The TLS presentation language (RFC 8446 section 3) as draft-ietf-keytrans-protocol-05 uses it (its section
 * "Presentation Language"), read strictly and written exactly: big-endian integers of 1, 2, 4 and 8 bytes; fixed
 * byte strings; variable-length vectors whose length prefix is 1, 2 or 4 bytes; `optional<T>` as a presence
 * octet, 0 or 1 and nothing else, then T if present. A vector's length counts its elements, not its bytes (so for
 * `opaque` the two agree): draft-05 only cites RFC 8446, where it counts bytes, but the draft's editor's
 * implementation and its vectors count elements, and the drafts after -05 say so ("Variable-Length Vectors").
 * A reader refuses a value past the end, a uint64 above 2^53 - 1 (JavaScript numbers are exact up to there; the
 * protocol's sizes, positions and millisecond timestamps stay far below) and, at `end()`, any trailing byte. Enumerations are read by
 * the structures' codecs (structures.ts), which refuse values they do not name.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';

export type TlsErrorCode = 'tls_truncated' | 'tls_trailing_bytes' | 'tls_bad_value' | 'tls_too_long';

/** A TLS encoding that is malformed, or a value that cannot be encoded. */
export class TlsError extends CodedError<TlsErrorCode> {
  override readonly name = 'TlsError';
}

/** The width in bytes of a vector's length prefix: <0..2^8-1>, <0..2^16-1>, <0..2^32-1>. */
export type LengthWidth = 1 | 2 | 4;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Reads one encoded message, front to back. */
export class TlsReader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  /** The `n` next bytes (a view), or TlsError if fewer remain. */
  bytesFixed(n: number, what: string): Uint8Array {
    if (this.offset + n > this.bytes.length)
      throw new TlsError('tls_truncated', `${what}: ${n} bytes needed, ${this.bytes.length - this.offset} left`);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  private uint(width: 1 | 2 | 4, what: string): number {
    const b = this.bytesFixed(width, what);
    let n = 0;
    for (const x of b) n = n * 256 + x;
    return n;
  }

  u8(what: string): number {
    return this.uint(1, what);
  }
  u16(what: string): number {
    return this.uint(2, what);
  }
  u32(what: string): number {
    return this.uint(4, what);
  }

  /** A uint64, refused above 2^53 - 1 (see the file comment). */
  u64(what: string): number {
    const b = this.bytesFixed(8, what);
    let n = 0n;
    for (const x of b) n = (n << 8n) | BigInt(x);
    if (n > MAX_SAFE) throw new TlsError('tls_bad_value', `${what}: ${n} is above 2^53 - 1`);
    return Number(n);
  }

  /** `opaque x<0..2^(8·width)-1>`: the length, then that many bytes. */
  vector(width: LengthWidth, what: string): Uint8Array {
    return this.bytesFixed(this.uint(width, `${what} length`), what);
  }

  /** A vector of items: their number (see the file comment), then each item as `item` reads it. */
  list<T>(width: LengthWidth, what: string, item: (r: TlsReader) => T): T[] {
    const count = this.uint(width, `${what} count`);
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(item(this));
    return items;
  }

  /** `optional<T>`: the presence octet (0 or 1, else TlsError), then T if present. */
  optional<T>(what: string, value: (r: TlsReader) => T): T | null {
    const present = this.u8(`${what} presence`);
    if (present > 1) throw new TlsError('tls_bad_value', `${what}: presence octet ${present} is neither 0 nor 1`);
    return present === 1 ? value(this) : null;
  }

  done(): boolean {
    return this.offset === this.bytes.length;
  }

  /** Refuses trailing bytes: a message is exactly its encoding. */
  end(what: string): void {
    if (!this.done())
      throw new TlsError('tls_trailing_bytes', `${what}: ${this.bytes.length - this.offset} bytes after the end`);
  }
}

/** Decodes one whole message with `read`, refusing trailing bytes. */
export function decodeWhole<T>(bytes: Uint8Array, what: string, read: (r: TlsReader) => T): T {
  const r = new TlsReader(bytes);
  const value = read(r);
  r.end(what);
  return value;
}

/** Writes one message; `finish` returns its bytes. */
export class TlsWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  bytesFixed(b: Uint8Array, n: number, what: string): this {
    if (b.length !== n) throw new TlsError('tls_bad_value', `${what}: ${b.length} bytes, not ${n}`);
    this.chunks.push(b);
    this.length += b.length;
    return this;
  }

  private uint(width: 1 | 2 | 4, n: number, what: string): this {
    if (!Number.isInteger(n) || n < 0 || n >= 2 ** (8 * width))
      throw new TlsError('tls_bad_value', `${what}: ${n} does not fit in ${width} bytes`);
    const b = new Uint8Array(width);
    for (let i = width - 1, v = n; i >= 0; i--, v = Math.floor(v / 256)) b[i] = v % 256;
    return this.bytesFixed(b, width, what);
  }

  u8(n: number, what: string): this {
    return this.uint(1, n, what);
  }
  u16(n: number, what: string): this {
    return this.uint(2, n, what);
  }
  u32(n: number, what: string): this {
    return this.uint(4, n, what);
  }

  u64(n: number, what: string): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new TlsError('tls_bad_value', `${what}: ${n} is not a uint64 here`);
    return this.uint(4, Math.floor(n / 2 ** 32), what).uint(4, n % 2 ** 32, what);
  }

  vector(width: LengthWidth, b: Uint8Array, what: string): this {
    if (b.length >= 2 ** (8 * width)) throw new TlsError('tls_too_long', `${what}: ${b.length} bytes is too long`);
    return this.uint(width, b.length, `${what} length`).bytesFixed(b, b.length, what);
  }

  list<T>(width: LengthWidth, items: readonly T[], what: string, item: (w: TlsWriter, x: T) => void): this {
    if (items.length >= 2 ** (8 * width))
      throw new TlsError('tls_too_long', `${what}: ${items.length} items is too many`);
    this.uint(width, items.length, `${what} count`);
    for (const x of items) item(this, x);
    return this;
  }

  optional<T>(value: T | null, what: string, write: (w: TlsWriter, x: T) => void): this {
    if (value === null) return this.u8(0, what);
    this.u8(1, what);
    write(this, value);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** Encodes one message with `write`. */
export function encodeWith<T>(value: T, write: (w: TlsWriter, x: T) => void): Uint8Array {
  const w = new TlsWriter();
  write(w, value);
  return w.finish();
}
