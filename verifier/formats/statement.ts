/**
 * Binding statements, what a provider signs about one account: provider id, canonical account, version,
 * issue time, status (active or deleted), the account's keys `{id, algorithm, publicKey, protocol,
 * capabilities}` and an optional owner continuity signature by a key of the previous version. One
 * canonical binary encoding (format 0x01, big-endian, length-prefixed, keys sorted by id and capabilities
 * sorted, both strictly) and one strict JSON form for the HTTP API. Encoding sorts a copy of the keys and
 * capabilities; decoding (binary and JSON) refuses anything not already canonical, so every accepted
 * byte string or JSON value re-encodes to itself. Each key's public key must be a valid key of the algorithm it
 * declares (verifier/formats/statement-keys.ts). Errors are StatementErrors with stable codes.
 */
import {
  concatBytes,
  equalBytes,
  fromBase64,
  fromUtf8,
  readU64be,
  toBase64,
  utf8,
} from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { AccountError, assertCanonicalAccount, providerIdValid } from './account.js';
import { publicKeyProblem } from './statement-keys.js';

export type StatementErrorCode =
  | 'statement_bad_account'
  | 'statement_bad_continuity'
  | 'statement_bad_key'
  | 'statement_bad_provider'
  | 'statement_bad_public_key'
  | 'statement_bad_status'
  | 'statement_bad_version'
  | 'statement_duplicate_key'
  | 'statement_malformed'
  | 'statement_not_canonical'
  | 'statement_too_large'
  | 'statement_too_many_keys'
  | 'statement_trailing_bytes'
  | 'statement_unknown_field';

/** A binding statement that is not valid, or not in its one canonical encoding. */
export class StatementError extends CodedError<StatementErrorCode> {
  override readonly name = 'StatementError';
}

export type KeyAlgorithm = 'ed25519' | 'x25519' | 'p256' | 'ml-kem-768' | 'ml-dsa-65';
export type StatementStatus = 'active' | 'deleted';
export interface StatementKey {
  id: string;
  algorithm: KeyAlgorithm;
  publicKey: Uint8Array;
  protocol: string;
  capabilities: string[];
}
/** Owner continuity signature over `continuityMessage(s)` by key `keyId` of the previous version. */
export interface Continuity {
  keyId: string;
  signature: Uint8Array;
}
export interface Statement {
  provider: string;
  account: string;
  version: number;
  issuedAt: number;
  status: StatementStatus;
  keys: StatementKey[];
  continuity?: Continuity;
}
/** The JSON form: byte strings as canonical base64; `continuity` absent (never null) when there is none. */
export interface StatementKeyJson {
  id: string;
  algorithm: KeyAlgorithm;
  publicKey: string;
  protocol: string;
  capabilities: string[];
}
export interface StatementJson {
  provider: string;
  account: string;
  version: number;
  issuedAt: number;
  status: StatementStatus;
  keys: StatementKeyJson[];
  continuity?: { keyId: string; signature: string };
}

/** Wire id and exact public key length of each algorithm (p256: SEC1 compressed). */
export const KEY_ALGORITHMS: Readonly<Record<KeyAlgorithm, { id: number; publicKeyLength: number }>> = {
  ed25519: { id: 0x01, publicKeyLength: 32 },
  x25519: { id: 0x02, publicKeyLength: 32 },
  p256: { id: 0x03, publicKeyLength: 33 },
  'ml-kem-768': { id: 0x04, publicKeyLength: 1184 },
  'ml-dsa-65': { id: 0x05, publicKeyLength: 1952 },
};
export const STATEMENT_FORMAT = 0x01;
export const MAX_KEYS = 16;
export const MAX_CAPABILITIES = 16;
export const MAX_SIGNATURE_BYTES = 4096;
export const MAX_STATEMENT_BYTES = 64 * 1024;

const STATUS_BYTES: Record<StatementStatus, number> = { active: 0x01, deleted: 0x02 };
const ALGORITHM_BY_ID = new Map(Object.entries(KEY_ALGORITHMS).map(([name, a]) => [a.id, name as KeyAlgorithm]));
const ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const TOKEN_RE = /^[\x21-\x7e]{1,64}$/;
const STATEMENT_FIELDS = ['provider', 'account', 'version', 'issuedAt', 'status', 'keys', 'continuity'];
const KEY_FIELDS = ['id', 'algorithm', 'publicKey', 'protocol', 'capabilities'];
const CONTINUITY_FIELDS = ['keyId', 'signature'];
const CONTINUITY_DOMAIN = utf8('kt/v1/continuity\u0000');
const STATEMENT_DOMAIN = utf8('kt/v1/statement\u0000');

function fail(code: StatementErrorCode, message: string): never {
  throw new StatementError(code, message);
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const isU53 = (n: unknown): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && !Object.is(n, -0);

/** `v` as a plain record whose own fields are all in `allowed` and include every field not in `optional`. */
function fields(v: unknown, allowed: string[], optional: string[], where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    fail('statement_malformed', `${where} must be an object`);
  const r = v as Record<string, unknown>;
  for (const f of Object.keys(r)) {
    if (!allowed.includes(f)) fail('statement_unknown_field', `unknown field ${JSON.stringify(f)} in ${where}`);
  }
  for (const f of allowed) {
    if (!optional.includes(f) && !Object.hasOwn(r, f))
      fail('statement_malformed', `missing field ${JSON.stringify(f)} in ${where}`);
  }
  return r;
}

function strictlyAscending(xs: string[]): boolean {
  for (let i = 1; i < xs.length; i++) if (!(xs[i - 1] < xs[i])) return false;
  return true;
}

function validateKey(k: StatementKey, where: string): void {
  fields(k, KEY_FIELDS, [], where);
  if (typeof k.id !== 'string' || !ID_RE.test(k.id))
    fail('statement_bad_key', `${where}: id must be 1..64 of [A-Za-z0-9._:-]`);
  if (typeof k.algorithm !== 'string' || !Object.hasOwn(KEY_ALGORITHMS, k.algorithm))
    fail('statement_bad_key', `${where}: unknown algorithm`);
  const expected = KEY_ALGORITHMS[k.algorithm].publicKeyLength;
  if (!(k.publicKey instanceof Uint8Array) || k.publicKey.length !== expected) {
    fail('statement_bad_key', `${where}: an ${k.algorithm} public key is ${expected} bytes`);
  }
  if (k.algorithm === 'p256' && k.publicKey[0] !== 0x02 && k.publicKey[0] !== 0x03)
    fail('statement_bad_key', `${where}: p256 key must be SEC1 compressed (02 or 03)`);
  if (typeof k.protocol !== 'string' || !TOKEN_RE.test(k.protocol))
    fail('statement_bad_key', `${where}: protocol must be 1..64 printable ASCII characters`);
  const caps = k.capabilities;
  if (!Array.isArray(caps) || caps.length > MAX_CAPABILITIES)
    fail('statement_bad_key', `${where}: capabilities must be a list of at most ${MAX_CAPABILITIES}`);
  for (const c of caps) {
    if (typeof c !== 'string' || !TOKEN_RE.test(c))
      fail('statement_bad_key', `${where}: a capability must be 1..64 printable ASCII characters`);
  }
  if (!strictlyAscending([...caps].sort(byString))) fail('statement_bad_key', `${where}: duplicate capability`);
}

function validateContinuity(c: Continuity, version: number): void {
  fields(c, CONTINUITY_FIELDS, [], 'continuity');
  if (version === 1) fail('statement_bad_continuity', 'version 1 has no previous version to sign continuity');
  if (typeof c.keyId !== 'string' || !ID_RE.test(c.keyId))
    fail('statement_bad_continuity', 'continuity keyId must be 1..64 of [A-Za-z0-9._:-]');
  if (!(c.signature instanceof Uint8Array) || c.signature.length < 1 || c.signature.length > MAX_SIGNATURE_BYTES) {
    fail('statement_bad_continuity', `continuity signature must be 1..${MAX_SIGNATURE_BYTES} bytes`);
  }
}

/** Refuses a public key that is not a valid key of its declared algorithm (verifier/formats/statement-keys.ts). */
function checkPublicKey(k: StatementKey, where: string): void {
  const problem = publicKeyProblem(k.algorithm, k.publicKey);
  if (problem !== undefined) fail('statement_bad_public_key', `${where} (${k.algorithm}): ${problem}`);
}

/**
 * Checks each key's public key for its declared algorithm (`statement_bad_public_key`): what `validateStatement`
 * and `decodeStatement` check last, for a statement decoded with `checkPublicKeys: false`. The keys must already
 * have their algorithm's length (a decoded or validated statement's do).
 */
export function checkPublicKeys(s: Statement): void {
  for (let i = 0; i < s.keys.length; i++) checkPublicKey(s.keys[i], `keys[${i}]`);
}

/**
 * Checks every rule of a statement except the order of keys and capabilities (encoding sorts them), including
 * that each public key is a valid key of its algorithm. Unknown fields are refused on in-memory objects too;
 * `continuity: undefined` means no continuity.
 */
export function validateStatement(s: Statement): void {
  validateFields(s);
  checkPublicKeys(s);
}

/** validateStatement but the check of the public keys' contents (the costly part: a point decoding per key). */
function validateFields(s: Statement): void {
  fields(s, STATEMENT_FIELDS, ['continuity'], 'statement');
  if (typeof s.provider !== 'string' || !providerIdValid(s.provider))
    fail('statement_bad_provider', 'provider must be a lower-case DNS name of at least two labels');
  try {
    assertCanonicalAccount(s.account);
  } catch (e) {
    if (e instanceof AccountError) fail('statement_bad_account', `${e.code}: ${e.message}`);
    throw e;
  }
  if (!isU53(s.version) || s.version < 1) fail('statement_bad_version', 'version must be an integer 1..2^53-1');
  if (!isU53(s.issuedAt))
    fail('statement_malformed', 'issuedAt must be an integer 0..2^53-1 (ms since the Unix epoch)');
  if (s.status !== 'active' && s.status !== 'deleted')
    fail('statement_bad_status', 'status must be "active" or "deleted"');
  if (!Array.isArray(s.keys)) fail('statement_malformed', 'keys must be a list');
  if (s.keys.length > MAX_KEYS) fail('statement_too_many_keys', `at most ${MAX_KEYS} keys per statement`);
  if (s.status === 'active' && s.keys.length === 0)
    fail('statement_bad_status', 'an active statement has at least one key');
  if (s.status === 'deleted' && s.keys.length > 0) fail('statement_bad_status', 'a deleted statement has no keys');
  for (let i = 0; i < s.keys.length; i++) validateKey(s.keys[i], `keys[${i}]`); // also visits holes
  if (!strictlyAscending(s.keys.map((k) => k.id).sort(byString)))
    fail('statement_duplicate_key', 'two keys have the same id');
  if (s.continuity !== undefined) validateContinuity(s.continuity, s.version);
}

/** Refuses keys or capabilities not in strictly ascending order (wire forms must be canonical). */
function checkCanonicalOrder(s: Statement): void {
  if (!strictlyAscending(s.keys.map((k) => k.id))) fail('statement_not_canonical', 'keys are not sorted by id');
  for (const k of s.keys) {
    if (!strictlyAscending(k.capabilities))
      fail('statement_not_canonical', `capabilities of key ${k.id} are not sorted`);
  }
}

/** A copy with keys sorted by id and capabilities sorted: the order every wire form uses. */
function sortedKeys(keys: StatementKey[]): StatementKey[] {
  return keys
    .map((k) => ({ ...k, capabilities: [...k.capabilities].sort(byString) }))
    .sort((a, b) => byString(a.id, b.id));
}

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
  validateFields(s);
  checkCanonicalOrder(s);
  if (!equalBytes(encodeCanonical(s), b))
    fail('statement_not_canonical', 'statement does not re-encode to the same bytes');
  if (options.checkPublicKeys !== false) checkPublicKeys(s);
  return s;
}

function base64Field(v: unknown, maxBytes: number, code: StatementErrorCode, what: string): Uint8Array {
  if (typeof v !== 'string' || v.length > 4 * Math.ceil(maxBytes / 3))
    fail(code, `${what} must be base64 of at most ${maxBytes} bytes`);
  try {
    return fromBase64(v);
  } catch (e) {
    fail(code, `${what}: ${(e as Error).message}`);
  }
}

function keyFromJson(v: unknown, i: number): StatementKey {
  const where = `keys[${i}]`;
  const k = fields(v, KEY_FIELDS, [], where);
  const caps =
    Array.isArray(k.capabilities) && k.capabilities.length <= MAX_CAPABILITIES ? [...k.capabilities] : k.capabilities;
  const publicKey = base64Field(
    k.publicKey,
    KEY_ALGORITHMS['ml-dsa-65'].publicKeyLength,
    'statement_bad_key',
    `${where} publicKey`,
  );
  return { id: k.id, algorithm: k.algorithm, publicKey, protocol: k.protocol, capabilities: caps } as StatementKey;
}

/**
 * Parses the strict JSON form: exact field names (unknown fields refused at every level, `continuity`
 * omitted rather than null), canonical base64 byte strings, safe integers, keys and capabilities in
 * canonical order. Every rule of validateStatement applies.
 */
export function statementFromJson(v: unknown): Statement {
  const o = fields(v, STATEMENT_FIELDS, ['continuity'], 'statement');
  if (!Array.isArray(o.keys)) fail('statement_malformed', 'keys must be a list');
  if (o.keys.length > MAX_KEYS) fail('statement_too_many_keys', `at most ${MAX_KEYS} keys per statement`);
  const s = {
    provider: o.provider,
    account: o.account,
    version: o.version,
    issuedAt: o.issuedAt,
    status: o.status,
    keys: o.keys.map(keyFromJson),
  } as Statement;
  if (Object.hasOwn(o, 'continuity')) {
    const c = fields(o.continuity, CONTINUITY_FIELDS, [], 'continuity');
    s.continuity = {
      keyId: c.keyId as string,
      signature: base64Field(c.signature, MAX_SIGNATURE_BYTES, 'statement_bad_continuity', 'continuity signature'),
    };
  }
  validateFields(s);
  checkCanonicalOrder(s);
  checkPublicKeys(s);
  return s;
}

/** The JSON form of a valid statement, keys and capabilities in canonical order. */
export function statementToJson(s: Statement): StatementJson {
  validateStatement(s);
  const keys = sortedKeys(s.keys).map((k) => ({
    id: k.id,
    algorithm: k.algorithm,
    publicKey: toBase64(k.publicKey),
    protocol: k.protocol,
    capabilities: k.capabilities,
  }));
  const out: StatementJson = {
    provider: s.provider,
    account: s.account,
    version: s.version,
    issuedAt: s.issuedAt,
    status: s.status,
    keys,
  };
  if (s.continuity !== undefined)
    out.continuity = { keyId: s.continuity.keyId, signature: toBase64(s.continuity.signature) };
  return out;
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
