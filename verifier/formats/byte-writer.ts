/**
 * The growable buffer that the lookup encoders of the server's hot path write into (proof-json-bytes.ts,
 * proof-binary.ts). A writer over a `ScratchSpace` reuses one buffer for every lookup it encodes (encoders
 * run synchronously, one at a time, so two never write into it at once); a writer without one has a buffer
 * of its own (for a part cached across lookups, written while a lookup's writer is in use). `done` copies out
 * what was written.
 */

/** A buffer reused by every writer over it, replaced by a larger one when a writer outgrows it. */
export interface ScratchSpace {
  buf: Uint8Array;
}

export class ByteWriter {
  protected buf: Uint8Array;
  protected at = 0;

  constructor(private readonly scratch?: ScratchSpace) {
    this.buf = scratch?.buf ?? new Uint8Array(256);
  }

  /** Makes room for `n` more bytes. */
  protected room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(2 * this.buf.length, this.at + n));
    grown.set(this.buf.subarray(0, this.at));
    this.buf = grown;
    if (this.scratch) this.scratch.buf = grown;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
    return this;
  }

  u8(n: number): this {
    this.room(1);
    this.buf[this.at++] = n;
    return this;
  }

  /** The bytes written, copied out. */
  done(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.at);
  }
}
