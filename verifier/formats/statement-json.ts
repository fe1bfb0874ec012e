/**
 * The strict JSON form of a binding statement: exact field names (unknown fields refused at every level,
 * `continuity` omitted rather than null), byte strings as canonical base64, safe integers, keys and
 * capabilities in canonical order. Every rule of statement.ts applies, so an accepted value is exactly the
 * JSON form of what it returns. Errors are statement.ts's StatementErrors.
 */
import { fromBase64, toBase64 } from '../../wasm-free-crypto/bytes.js';
import {
  checkCanonicalStatement,
  checkPublicKeys,
  CONTINUITY_FIELDS,
  KEY_ALGORITHMS,
  KEY_FIELDS,
  MAX_CAPABILITIES,
  MAX_KEYS,
  MAX_SIGNATURE_BYTES,
  sortedKeys,
  STATEMENT_FIELDS,
  statementFail as fail,
  statementRecord as fields,
  validateStatement,
  type KeyAlgorithm,
  type Statement,
  type StatementErrorCode,
  type StatementKey,
  type StatementStatus,
} from './statement.js';

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
  checkCanonicalStatement(s);
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
