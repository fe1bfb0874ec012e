/**
 * A strict DER reader (ITU-T X.690 section 10, with the basic rules of section 8 it restricts) for the
 * X.509 certificates of provider enrolment: single-byte tags, definite lengths in their minimal form, every
 * value exactly filling its container, minimal INTEGERs (8.3.2), BOOLEANs of 0x00 or 0xFF (11.1), BIT
 * STRINGs with zero padding bits (11.2.1) and named bit lists without trailing zero bits (11.2.2), and
 * OBJECT IDENTIFIERs with minimal sub-identifiers (8.19.2). It reads in place (offsets into the caller's
 * bytes) and never allocates more than the values it returns. Every refusal is a ProviderError
 * `cert_parse` whose message says what was malformed.
 */
import { ProviderError } from './errors.js';

/** One tag-length-value: offsets into the DER it was read from. */
export interface Tlv {
  tag: number;
  start: number; // first byte of the TLV
  body: number; // first byte of the contents
  end: number; // one past the last byte
}

/** Universal and context-specific tags used by X.509 (X.690 section 8, X.680 section 8.6). */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

export function fail(message: string): never {
  throw new ProviderError('cert_parse', message);
}

/**
 * Reads one TLV at `offset` that must end by `limit` (X.690 sections 8.1.2-8.1.3, 10.1): a single-byte tag
 * (every tag of X.509 is below 31), a definite length in the short form below 128 and in the fewest long-form
 * bytes otherwise (at most four: nothing here comes near 4 GiB).
 */
export function readTlv(der: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) fail('truncated DER');
  const tag = der[offset];
  if ((tag & 0x1f) === 0x1f) fail('multi-byte DER tag');
  let length = der[offset + 1];
  let body = offset + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) fail('indefinite or oversized DER length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[body + i];
    body += n;
    if (der[offset + 2] === 0 || length < 0x80) fail('non-minimal DER length');
  }
  if (body + length > limit) fail('DER length past the end of its container');
  return { tag, start: offset, body, end: body + length };
}

/** Reads the whole of `der` as exactly one TLV of tag `tag`, with nothing after it. */
export function readWhole(der: Uint8Array, tag: number, what: string): Tlv {
  const t = readTlv(der, 0, der.length);
  if (t.tag !== tag || t.end !== der.length) fail(`${what} is not one DER value of tag 0x${tag.toString(16)}`);
  return t;
}

/** Reads every TLV of a constructed value's contents; they must fill it exactly. */
export function readChildren(der: Uint8Array, parent: Tlv): Tlv[] {
  if ((parent.tag & 0x20) === 0) fail('a primitive DER value where a constructed one was expected');
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end; at = out[out.length - 1].end) out.push(readTlv(der, at, parent.end));
  return out;
}

/** Throws unless `t` is present and has tag `tag`. */
export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (t === undefined || t.tag !== tag) fail(`${what}: expected DER tag 0x${tag.toString(16)}`);
  return t;
}

/** The contents of `t` (a view, not a copy). */
export function contents(der: Uint8Array, t: Tlv): Uint8Array {
  return der.subarray(t.body, t.end);
}

/** The whole encoding of `t`, tag and length included (a copy). */
export function encoding(der: Uint8Array, t: Tlv): Uint8Array {
  return der.slice(t.start, t.end);
}

/** X.690 section 8.3: a two's complement INTEGER in its fewest bytes (8.3.2). */
export function readInteger(der: Uint8Array, t: Tlv | undefined, what: string): bigint {
  const v = contents(der, expectTag(t, TAG.integer, what));
  if (v.length === 0) fail(`${what}: empty INTEGER`);
  if (v.length > 1 && ((v[0] === 0 && v[1] < 0x80) || (v[0] === 0xff && v[1] >= 0x80)))
    fail(`${what}: non-minimal INTEGER`);
  let n = 0n;
  for (const b of v) n = (n << 8n) | BigInt(b);
  return v[0] & 0x80 ? n - (1n << BigInt(8 * v.length)) : n;
}

/** An INTEGER that must be at least 1 (RSA moduli and exponents, ECDSA r and s). */
export function readPositive(der: Uint8Array, t: Tlv | undefined, what: string): bigint {
  const n = readInteger(der, t, what);
  if (n < 1n) fail(`${what}: INTEGER not positive`);
  return n;
}

/** X.690 section 11.1: a BOOLEAN is one byte, 0x00 (FALSE) or 0xFF (TRUE). */
export function readBoolean(der: Uint8Array, t: Tlv | undefined, what: string): boolean {
  const v = contents(der, expectTag(t, TAG.boolean, what));
  if (v.length !== 1 || (v[0] !== 0 && v[0] !== 0xff)) fail(`${what}: a BOOLEAN must be 0x00 or 0xFF`);
  return v[0] === 0xff;
}

/**
 * X.690 sections 8.6.2 and 11.2.1: a BIT STRING's first byte counts the unused bits of its last byte (0 to 7,
 * and 0 when there is no other byte), and those bits are zero. Returns the unused count and the bytes after it.
 */
export function readBitString(
  der: Uint8Array,
  t: Tlv | undefined,
  what: string,
): { unused: number; bytes: Uint8Array } {
  const v = contents(der, expectTag(t, TAG.bitString, what));
  if (v.length === 0 || v[0] > 7 || (v.length === 1 && v[0] !== 0)) fail(`${what}: malformed BIT STRING`);
  const unused = v[0];
  if (unused > 0 && (v[v.length - 1] & ((1 << unused) - 1)) !== 0) fail(`${what}: BIT STRING padding bits not zero`);
  return { unused, bytes: v.subarray(1) };
}

/**
 * A named bit list (X.690 section 11.2.2: no trailing zero bits) as flags, bit `i` of the list (counted from
 * the first byte's most significant bit, X.690 8.6.2.3) at `1 << i`; at most 32 bits.
 */
export function readNamedBits(der: Uint8Array, t: Tlv | undefined, what: string): number {
  const { unused, bytes } = readBitString(der, t, what);
  if (bytes.length > 4) fail(`${what}: more than 32 named bits`);
  if (bytes.length > 0 && (bytes[bytes.length - 1] & (1 << unused)) === 0)
    fail(`${what}: named bit list with trailing zero bits`);
  let flags = 0;
  for (let i = 0; i < bytes.length * 8 - unused; i++) if (bytes[i >> 3] & (0x80 >> (i & 7))) flags |= 1 << i;
  return flags >>> 0;
}

/**
 * X.690 section 8.19: an OBJECT IDENTIFIER in dotted form. Each sub-identifier is base 128, big-endian, with
 * the high bit on every byte but its last and no leading 0x80 byte (8.19.2); the first one holds the first
 * two arcs (8.19.4).
 */
export function readOid(der: Uint8Array, t: Tlv | undefined, what: string): string {
  const v = contents(der, expectTag(t, TAG.oid, what));
  if (v.length === 0 || v[v.length - 1] & 0x80) fail(`${what}: truncated OBJECT IDENTIFIER`);
  const arcs: number[] = [];
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (n === 0 && v[i] === 0x80) fail(`${what}: non-minimal OBJECT IDENTIFIER`);
    if (n > 2 ** 45) fail(`${what}: OBJECT IDENTIFIER arc too large`);
    n = n * 128 + (v[i] & 0x7f);
    if ((v[i] & 0x80) === 0) {
      arcs.push(n);
      n = 0;
    }
  }
  const first = arcs[0] < 80 ? [Math.floor(arcs[0] / 40), arcs[0] % 40] : [2, arcs[0] - 80];
  return [...first, ...arcs.slice(1)].join('.');
}
