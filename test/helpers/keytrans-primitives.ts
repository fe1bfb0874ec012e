/**
 * Test helper for the KEYTRANS primitive vectors (test/vectors/keytrans/primitives/): the vectors' `fields` (draft
 * names in snake_case, hex byte strings) as the values of verifier/keytrans/types.ts, a reader of the PrefixProof
 * encodings the invalid vectors give (katie's: the results and elements vectors prefixed with their item counts, 1
 * and 2 bytes), and the assertion that a call throws KeyTransError with a given code.
 */
import { expect } from 'vitest';
import { fromHex } from '../../wasm-free-crypto/bytes.js';
import { KeyTransError, type KeyTransErrorCode } from '../../verifier/keytrans/errors.js';
import { TlsReader, decodeWhole } from '../../verifier/keytrans/tls.js';
import type {
  CipherSuiteId,
  Configuration,
  DeploymentMode,
  PrefixProof,
  PrefixSearchResult,
} from '../../verifier/keytrans/types.js';

const MODES: DeploymentMode[] = ['contactMonitoring', 'thirdPartyManagement', 'thirdPartyAuditing'];
const RESULT_TYPES = ['inclusion', 'nonInclusionLeaf', 'nonInclusionParent'] as const;

/** A Configuration from a vector's `fields`. */
export function configurationFromFields(f: Record<string, any>): Configuration {
  const c: Configuration = {
    ciphersuite: f.ciphersuite as CipherSuiteId,
    mode: MODES[f.mode - 1],
    signaturePublicKey: fromHex(f.signature_public_key),
    vrfPublicKey: fromHex(f.vrf_public_key),
    maxAhead: f.max_ahead,
    maxBehind: f.max_behind,
    reasonableMonitoringWindow: f.reasonable_monitoring_window,
    maximumLifetime: f.maximum_lifetime,
  };
  if (f.leaf_public_key !== undefined) c.leafPublicKey = fromHex(f.leaf_public_key);
  if (f.max_auditor_lag !== undefined) c.maxAuditorLag = f.max_auditor_lag;
  if (f.auditor_start_pos !== undefined) c.auditorStartPos = f.auditor_start_pos;
  if (f.auditor_public_key !== undefined) c.auditorPublicKey = fromHex(f.auditor_public_key);
  return c;
}

/** A PrefixProof from a vector's `proof` fields. */
export function prefixProofFromFields(f: { results: any[]; elements: string[] }): PrefixProof {
  const results = f.results.map((r): PrefixSearchResult => {
    if (r.result_type === 'nonInclusionLeaf')
      return {
        resultType: 'nonInclusionLeaf',
        depth: r.depth,
        leaf: { vrfOutput: fromHex(r.leaf.vrf_output), commitment: fromHex(r.leaf.commitment) },
      };
    return { resultType: r.result_type, depth: r.depth };
  });
  return { results, elements: f.elements.map(fromHex) };
}

function readResult(r: TlsReader): PrefixSearchResult {
  const type = RESULT_TYPES[r.u8('result_type') - 1];
  if (type === undefined) throw new Error('unknown result_type');
  if (type !== 'nonInclusionLeaf') return { resultType: type, depth: r.u8('depth') };
  const leaf = { vrfOutput: r.bytesFixed(32, 'vrf_output'), commitment: r.bytesFixed(32, 'commitment') };
  return { resultType: type, leaf, depth: r.u8('depth') };
}

/** A PrefixProof from its encoding as katie writes it (item counts, not byte lengths, before both vectors). */
export function decodePrefixProof(hex: string): PrefixProof {
  return decodeWhole(fromHex(hex), 'PrefixProof', (r) => {
    const count = r.u8('results count');
    const results = Array.from({ length: count }, () => readResult(r));
    const elements = Array.from({ length: r.u16('elements count') }, () => r.bytesFixed(32, 'element'));
    return { results, elements };
  });
}

/** Expects `f` to throw a KeyTransError with `code`. */
export function expectKtError(f: () => unknown, code: KeyTransErrorCode): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(KeyTransError);
  expect((caught as KeyTransError).code).toBe(code);
}
