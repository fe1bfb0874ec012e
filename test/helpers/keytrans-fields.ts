/**
 * The KEYTRANS vectors' `fields` (test/vectors/keytrans/README.md: the draft's field names in snake_case, byte
 * strings in lowercase hex, absent optionals null) as the values of verifier/keytrans/types.ts: names in
 * camelCase, byte strings as Uint8Array; enumerations stay the strings the draft names them by.
 */
import type { GlobalState } from '../../verifier/keytrans/head.js';
import type { Configuration } from '../../verifier/keytrans/types.js';
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

/** A scenario's Configuration, from its fields. */
export function configOf(fields: Record<string, unknown>): Configuration {
  return { ...fromFields(fields), mode: modeName(fields.mode as number) } as Configuration;
}

/** katie's global client state (the vectors' `client_state_*.global`) as the client's. */
export function globalStateOf(global: any): GlobalState | null {
  if (!global) return null;
  return {
    treeHead: fromFields(global.tree_head),
    auditorTreeHead: global.auditor_tree_head && fromFields(global.auditor_tree_head),
    fullSubtrees: global.full_subtrees.map(fromHex),
    frontier: global.log_entries.map((e: any) => ({
      position: e.position,
      timestamp: e.timestamp,
      prefixTree: fromHex(e.prefix_tree),
    })),
  };
}
