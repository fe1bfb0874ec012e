/**
 * The KEYTRANS vectors' `fields` (test/vectors/keytrans/README.md: the draft's field names in snake_case, byte
 * strings in lowercase hex, absent optionals null) as the values of verifier/keytrans/types.ts: names in
 * camelCase, byte strings as Uint8Array; enumerations stay the strings the draft names them by.
 */
import { fromHex } from '../../wasm-free-crypto/bytes.js';

/** Keys whose string values are enumeration names, not hex. */
const ENUM_KEYS = new Set(['head_type', 'result_type']);

const camel = (key: string) => key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** `fields` of a vector as a value of the types in verifier/keytrans/types.ts. */
export function fromFields(value: unknown, key = ''): any {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return ENUM_KEYS.has(key) ? value : fromHex(value);
  if (Array.isArray(value)) return value.map((v) => fromFields(v, key));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[camel(k)] = fromFields(v, k);
  return out;
}

/** The deployment mode's name from its number in a Configuration's fields, or its name. */
export function modeName(mode: number | string): 'contactMonitoring' | 'thirdPartyManagement' | 'thirdPartyAuditing' {
  if (typeof mode === 'string') return mode as ReturnType<typeof modeName>;
  const names = { 1: 'contactMonitoring', 2: 'thirdPartyManagement', 3: 'thirdPartyAuditing' } as const;
  return names[mode as 1 | 2 | 3];
}

/** The cipher suite's number from its name in a vector's context. */
export function suiteId(suite: string | number): 0x0001 | 0x0002 {
  if (typeof suite === 'number') return suite as 0x0001 | 0x0002;
  return suite === 'KT_128_SHA256_P256' ? 0x0001 : 0x0002;
}
