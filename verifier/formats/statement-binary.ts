/**
 * The one canonical binary encoding of a binding statement (docs/PROTOCOL.md, format 0x01: big-endian,
 * length-prefixed, keys sorted by id and capabilities sorted, both strictly) and the messages signed over
 * it: the provider's signature and the owner's continuity signature, each under its own domain. Encoding
 * validates and sorts a copy of the keys and capabilities; decoding refuses anything not already canonical
 * and re-encodes to compare, so every accepted byte string is exactly the encoding of what it returns. The
 * rules are statement.ts's; errors are its StatementErrors.
 */
import { concatBytes, equalBytes, fromUtf8, readU64be, utf8 } from '../../wasm-free-crypto/bytes.js';
import {
  checkCanonicalStatement,
  checkPublicKeys,
  KEY_ALGORITHMS,
  MAX_CAPABILITIES,
  MAX_KEYS,
  MAX_STATEMENT_BYTES,
  sortedKeys,
  STATEMENT_FORMAT,
  statementFail as fail,
  validateStatement,
  type KeyAlgorithm,
  type Statement,
  type StatementErrorCode,
  type StatementKey,
  type StatementStatus,
} from './statement.js';

const STATUS_BYTES: Record<StatementStatus, number> = { active: 0x01, deleted: 0x02 };
const ALGORITHM_BY_ID = new Map(Object.entries(KEY_ALGORITHMS).map(([name, a]) => [a.id, name as KeyAlgorithm]));
const CONTINUITY_DOMAIN = utf8('kt/v1/continuity\u0000');
const STATEMENT_DOMAIN = utf8('kt/v1/statement\u0000');

// Encoding is synchronous and never re-entered, so one scratch buffer serves every call; a valid
// statement is at most ~54 KB, and the writer refuses to pass the 64 KiB limit.
const scratch = new Uint8Array(MAX_STATEMENT_BYTES);
const scratchView = new DataView(scratch.buffer);
const utf8Encoder = new TextEncoder();

/** Appends to the scratch buffer: integers, length-prefixed ASCII or UTF-8 strings and byte strings. */
class Writer {
  offset = 0;
  private room(n: number): void {
    if (this.offset + n > MAX_STATEMENT_BYTES)
      fail('statement_too_large', `statement is more than ${MAX_STATEMENT_BYTES} bytes`);
  }
  /** A byte; a count or length that does not fit is refused, never wrapped (validated fields always fit). */
  u8(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > 0xff) fail('statement_malformed', `${n} does not fit in one byte`);
    this.room(1);
    scratch[this.offset++] = n;
  }
  u16(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > 0xffff) fail('statement_malformed', `${n} does not fit in two bytes`);
    this.room(2);
    scratchView.setUint16(this.offset, n);
    this.offset += 2;
  }
  u64(n: number): void {
    this.room(8);
    scratchView.setUint32(this.offset, Math.floor(n / 2 ** 32));
    scratchView.setUint32(this.offset + 4, n >>> 0);
    this.offset += 8;
  }
  /** u8 length || ASCII string (validated fields only). */
  ascii8(s: string): void {
    this.u8(s.length);
    this.room(s.length);
    for (let i = 0; i < s.length; i++) scratch[this.offset++] = s.charCodeAt(i);
  }
  /** u16 length || UTF-8 string. */
  utf8x16(s: string): void {
    this.room(2 + 3 * s.length);
    const { written } = utf8Encoder.encodeInto(s, scratch.subarray(this.offset + 2));
    this.u16(written);
    this.offset += written;
  }
  /** u16 length || bytes. */
  bytes16(b: Uint8Array): void {
    this.u16(b.length);
    this.room(b.length);
    scratch.set(b, this.offset);
    this.offset += b.length;
  }
}

/** The encoding of an already validated statement whose keys and capabilities are in canonical order. */
function encodeCanonical(s: Statement): Uint8Array {
  const w = new Writer();
  w.u8(STATEMENT_FORMAT);
  w.ascii8(s.provider);
  w.utf8x16(s.account);
  w.u64(s.version);
  w.u64(s.issuedAt);
  w.u8(STATUS_BYTES[s.status]);
  w.u8(s.keys.length);
  for (const k of s.keys) {
    w.ascii8(k.id);
    w.u8(KEY_ALGORITHMS[k.algorithm].id);
    w.bytes16(k.publicKey);
    w.ascii8(k.protocol);
    w.u8(k.capabilities.length);
    for (const c of k.capabilities) w.ascii8(c);
  }
  w.u8(s.continuity === undefined ? 0 : 1);
  if (s.continuity !== undefined) {
    w.ascii8(s.continuity.keyId);
    w.bytes16(s.continuity.signature);
  }
  return scratch.slice(0, w.offset);
}

/** The canonical binary encoding; validates first and sorts a copy of keys and capabilities. */
export function encodeStatement(s: Statement): Uint8Array {
  validateStatement(s);
  return encodeCanonical({ ...s, keys: sortedKeys(s.keys) });
}

/** A bounds-checked cursor over the encoding; running out of bytes is `statement_malformed`. */
class Reader {
  private offset = 0;
  constructor(private readonly b: Uint8Array) {}
  get remaining(): number {
    return this.b.length - this.offset;
  }
  /** The next n bytes, as a view (no copy). */
  view(n: number): Uint8Array {
    if (n > this.remaining) fail('statement_malformed', `truncated statement at offset ${this.offset}`);
    this.offset += n;
    return this.b.subarray(this.offset - n, this.offset);
  }
  /** The next n bytes, copied so that the result does not alias the input. */
  bytes(n: number): Uint8Array {
    return this.view(n).slice();
  }
  u8(): number {
    return this.view(1)[0];
  }
  u16(): number {
    const b = this.view(2);
    return (b[0] << 8) | b[1];
  }
  u53(code: StatementErrorCode, what: string): number {
    const v = readU64be(this.view(8));
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(code, `${what} exceeds 2^53-1`);
    return Number(v);
  }
  /** Length-prefixed text, strict UTF-8; content rules are validateStatement's. */
  text(length: number, code: StatementErrorCode, what: string): string {
    const b = this.view(length);
    let s = '';
    for (let i = 0; i < b.length; i++) {
      if (b[i] >= 0x80) {
        try {
          return fromUtf8(b);
        } catch {
          fail(code, `${what} is not valid UTF-8`);
        }
      }
      s += String.fromCharCode(b[i]);
    }
    return s;
  }
}

function readKey(r: Reader, i: number): StatementKey {
  const where = `keys[${i}]`;
  const id = r.text(r.u8(), 'statement_bad_key', `${where} id`);
  const algorithm = ALGORITHM_BY_ID.get(r.u8()) ?? fail('statement_bad_key', `${where}: unknown algorithm id`);
  const publicKey = r.bytes(r.u16());
  const protocol = r.text(r.u8(), 'statement_bad_key', `${where} protocol`);
  const capCount = r.u8();
  if (capCount > MAX_CAPABILITIES) fail('statement_bad_key', `${where}: more than ${MAX_CAPABILITIES} capabilities`);
  const capabilities: string[] = [];
  for (let j = 0; j < capCount; j++) capabilities.push(r.text(r.u8(), 'statement_bad_key', `${where} capability`));
  return { id, algorithm, publicKey, protocol, capabilities };
}

/** Options of `decodeStatement`. */
export interface DecodeStatementOptions {
  /**
   * Whether each public key is checked for its algorithm (default true). Off only where the check comes later
   * (the directory checks the provider's signature first, the cheaper refusal) or where a statement published
   * before the check existed is read for another purpose (the previous version whose key signs a continuity).
   */
  checkPublicKeys?: boolean;
}

/**
 * Decodes the canonical binary encoding strictly: truncation, trailing bytes, unknown format, status or
 * algorithm ids, out-of-range integers, invalid fields, unsorted keys or capabilities and public keys that are
 * not valid for their algorithm are refused, and the result is re-encoded and compared, so an accepted `b` is
 * exactly `encodeStatement(result)`.
 */
export function decodeStatement(b: Uint8Array, options: DecodeStatementOptions = {}): Statement {
  if (!(b instanceof Uint8Array)) fail('statement_malformed', 'statement must be bytes');
  if (b.length > MAX_STATEMENT_BYTES)
    fail('statement_too_large', `statement is ${b.length} bytes, more than ${MAX_STATEMENT_BYTES}`);
  const r = new Reader(b);
  if (r.u8() !== STATEMENT_FORMAT) fail('statement_malformed', 'unknown statement format');
  const provider = r.text(r.u8(), 'statement_bad_provider', 'provider');
  const account = r.text(r.u16(), 'statement_bad_account', 'account');
  const version = r.u53('statement_bad_version', 'version');
  const issuedAt = r.u53('statement_malformed', 'issuedAt');
  const statusByte = r.u8();
  const status =
    statusByte === 0x01
      ? 'active'
      : statusByte === 0x02
        ? 'deleted'
        : fail('statement_bad_status', 'unknown status byte');
  const keyCount = r.u8();
  if (keyCount > MAX_KEYS) fail('statement_too_many_keys', `at most ${MAX_KEYS} keys per statement`);
  const keys: StatementKey[] = [];
  for (let i = 0; i < keyCount; i++) keys.push(readKey(r, i));
  const s: Statement = { provider, account, version, issuedAt, status, keys };
  const hasContinuity = r.u8();
  if (hasContinuity === 1)
    s.continuity = {
      keyId: r.text(r.u8(), 'statement_bad_continuity', 'continuity keyId'),
      signature: r.bytes(r.u16()),
    };
  else if (hasContinuity !== 0) fail('statement_bad_continuity', 'continuity flag must be 0 or 1');
  if (r.remaining !== 0) fail('statement_trailing_bytes', `${r.remaining} bytes after the statement`);
  checkCanonicalStatement(s);
  if (!equalBytes(encodeCanonical(s), b))
    fail('statement_not_canonical', 'statement does not re-encode to the same bytes');
  if (options.checkPublicKeys !== false) checkPublicKeys(s);
  return s;
}

/**
 * What the owner's continuity signature signs: D("kt/v1/continuity") || encodeStatement(s without
 * continuity). Refused for version 1, which has no previous version.
 */
export function continuityMessage(s: Statement): Uint8Array {
  validateStatement(s);
  if (s.version === 1) fail('statement_bad_continuity', 'version 1 has no previous version to sign continuity');
  const bare: Statement = {
    provider: s.provider,
    account: s.account,
    version: s.version,
    issuedAt: s.issuedAt,
    status: s.status,
    keys: sortedKeys(s.keys),
  };
  return concatBytes(CONTINUITY_DOMAIN, encodeCanonical(bare)); // s, hence bare, is validated above
}

/** What the provider signs: D("kt/v1/statement") || statementBytes (pass `encodeStatement`'s output). */
export function providerSignedMessage(statementBytes: Uint8Array): Uint8Array {
  return concatBytes(STATEMENT_DOMAIN, statementBytes);
}
