/**
 * Binding statements, what a provider signs about one account: provider id, canonical account, version,
 * issue time, status (active or deleted), the account's keys `{id, algorithm, publicKey, protocol,
 * capabilities}` and an optional owner continuity signature by a key of the previous version; their rules
 * and limits, and the canonical order of keys (by id) and capabilities, both strict. Each key's public key
 * must be a valid key of the algorithm it declares (verifier/formats/statement-keys.ts). The one canonical
 * binary encoding and the messages signed over it are statement-binary.ts; the strict JSON form is
 * statement-json.ts; both wire forms refuse anything not already canonical, so every accepted byte string or
 * JSON value re-encodes to itself. Errors are StatementErrors with stable codes.
 */
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

const ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const TOKEN_RE = /^[\x21-\x7e]{1,64}$/;
/** The fields of a statement, in every form. */
export const STATEMENT_FIELDS: readonly string[] = Object.freeze([
  'provider',
  'account',
  'version',
  'issuedAt',
  'status',
  'keys',
  'continuity',
]);
/** The fields of a key, in every form. */
export const KEY_FIELDS: readonly string[] = Object.freeze([
  'id',
  'algorithm',
  'publicKey',
  'protocol',
  'capabilities',
]);
/** The fields of a continuity, in every form. */
export const CONTINUITY_FIELDS: readonly string[] = Object.freeze(['keyId', 'signature']);

/** Throws the StatementError of `code` (for statement-binary.ts and statement-json.ts). */
export function statementFail(code: StatementErrorCode, message: string): never {
  throw new StatementError(code, message);
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const isU53 = (n: unknown): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && !Object.is(n, -0);

/**
 * `v` as a plain record whose own fields are all in `allowed` and include every field not in `optional`
 * (`statement_unknown_field`, `statement_malformed`): the rule of every form, in-memory objects included.
 */
export function statementRecord(
  v: unknown,
  allowed: readonly string[],
  optional: readonly string[],
  where: string,
): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    statementFail('statement_malformed', `${where} must be an object`);
  const r = v as Record<string, unknown>;
  for (const f of Object.keys(r)) {
    if (!allowed.includes(f))
      statementFail('statement_unknown_field', `unknown field ${JSON.stringify(f)} in ${where}`);
  }
  for (const f of allowed) {
    if (!optional.includes(f) && !Object.hasOwn(r, f))
      statementFail('statement_malformed', `missing field ${JSON.stringify(f)} in ${where}`);
  }
  return r;
}

function strictlyAscending(xs: string[]): boolean {
  for (let i = 1; i < xs.length; i++) if (!(xs[i - 1] < xs[i])) return false;
  return true;
}

function validateKey(k: StatementKey, where: string): void {
  statementRecord(k, KEY_FIELDS, [], where);
  if (typeof k.id !== 'string' || !ID_RE.test(k.id))
    statementFail('statement_bad_key', `${where}: id must be 1..64 of [A-Za-z0-9._:-]`);
  if (typeof k.algorithm !== 'string' || !Object.hasOwn(KEY_ALGORITHMS, k.algorithm))
    statementFail('statement_bad_key', `${where}: unknown algorithm`);
  const expected = KEY_ALGORITHMS[k.algorithm].publicKeyLength;
  if (!(k.publicKey instanceof Uint8Array) || k.publicKey.length !== expected) {
    statementFail('statement_bad_key', `${where}: an ${k.algorithm} public key is ${expected} bytes`);
  }
  if (k.algorithm === 'p256' && k.publicKey[0] !== 0x02 && k.publicKey[0] !== 0x03)
    statementFail('statement_bad_key', `${where}: p256 key must be SEC1 compressed (02 or 03)`);
  if (typeof k.protocol !== 'string' || !TOKEN_RE.test(k.protocol))
    statementFail('statement_bad_key', `${where}: protocol must be 1..64 printable ASCII characters`);
  const caps = k.capabilities;
  if (!Array.isArray(caps) || caps.length > MAX_CAPABILITIES)
    statementFail('statement_bad_key', `${where}: capabilities must be a list of at most ${MAX_CAPABILITIES}`);
  for (const c of caps) {
    if (typeof c !== 'string' || !TOKEN_RE.test(c))
      statementFail('statement_bad_key', `${where}: a capability must be 1..64 printable ASCII characters`);
  }
  if (!strictlyAscending([...caps].sort(byString)))
    statementFail('statement_bad_key', `${where}: duplicate capability`);
}

function validateContinuity(c: Continuity, version: number): void {
  statementRecord(c, CONTINUITY_FIELDS, [], 'continuity');
  if (version === 1) statementFail('statement_bad_continuity', 'version 1 has no previous version to sign continuity');
  if (typeof c.keyId !== 'string' || !ID_RE.test(c.keyId))
    statementFail('statement_bad_continuity', 'continuity keyId must be 1..64 of [A-Za-z0-9._:-]');
  if (!(c.signature instanceof Uint8Array) || c.signature.length < 1 || c.signature.length > MAX_SIGNATURE_BYTES) {
    statementFail('statement_bad_continuity', `continuity signature must be 1..${MAX_SIGNATURE_BYTES} bytes`);
  }
}

/** Refuses a public key that is not a valid key of its declared algorithm (verifier/formats/statement-keys.ts). */
function checkPublicKey(k: StatementKey, where: string): void {
  const problem = publicKeyProblem(k.algorithm, k.publicKey);
  if (problem !== undefined) statementFail('statement_bad_public_key', `${where} (${k.algorithm}): ${problem}`);
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
  statementRecord(s, STATEMENT_FIELDS, ['continuity'], 'statement');
  if (typeof s.provider !== 'string' || !providerIdValid(s.provider))
    statementFail('statement_bad_provider', 'provider must be a lower-case DNS name of at least two labels');
  try {
    assertCanonicalAccount(s.account);
  } catch (e) {
    if (e instanceof AccountError) statementFail('statement_bad_account', `${e.code}: ${e.message}`);
    throw e;
  }
  if (!isU53(s.version) || s.version < 1)
    statementFail('statement_bad_version', 'version must be an integer 1..2^53-1');
  if (!isU53(s.issuedAt))
    statementFail('statement_malformed', 'issuedAt must be an integer 0..2^53-1 (ms since the Unix epoch)');
  if (s.status !== 'active' && s.status !== 'deleted')
    statementFail('statement_bad_status', 'status must be "active" or "deleted"');
  if (!Array.isArray(s.keys)) statementFail('statement_malformed', 'keys must be a list');
  if (s.keys.length > MAX_KEYS) statementFail('statement_too_many_keys', `at most ${MAX_KEYS} keys per statement`);
  if (s.status === 'active' && s.keys.length === 0)
    statementFail('statement_bad_status', 'an active statement has at least one key');
  if (s.status === 'deleted' && s.keys.length > 0)
    statementFail('statement_bad_status', 'a deleted statement has no keys');
  for (let i = 0; i < s.keys.length; i++) validateKey(s.keys[i], `keys[${i}]`); // also visits holes
  if (!strictlyAscending(s.keys.map((k) => k.id).sort(byString)))
    statementFail('statement_duplicate_key', 'two keys have the same id');
  if (s.continuity !== undefined) validateContinuity(s.continuity, s.version);
}

/** Refuses keys or capabilities not in strictly ascending order (wire forms must be canonical). */
function checkCanonicalOrder(s: Statement): void {
  if (!strictlyAscending(s.keys.map((k) => k.id)))
    statementFail('statement_not_canonical', 'keys are not sorted by id');
  for (const k of s.keys) {
    if (!strictlyAscending(k.capabilities))
      statementFail('statement_not_canonical', `capabilities of key ${k.id} are not sorted`);
  }
}

/** A copy with keys sorted by id and capabilities sorted: the order every wire form uses. */
export function sortedKeys(keys: StatementKey[]): StatementKey[] {
  return keys
    .map((k) => ({ ...k, capabilities: [...k.capabilities].sort(byString) }))
    .sort((a, b) => byString(a.id, b.id));
}

/**
 * What a decoder of a wire form checks before the public keys' contents: every rule of validateStatement but
 * that one, and keys and capabilities already in canonical order (`statement_not_canonical`).
 */
export function checkCanonicalStatement(s: Statement): void {
  validateFields(s);
  checkCanonicalOrder(s);
}
