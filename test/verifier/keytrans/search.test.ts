/**
 * KEYTRANS searches (verifier/keytrans/search.ts) against the five scenarios of test/vectors/keytrans: every
 * greatest-version and fixed-version search is verified from the client state before it, at its clock; accepted
 * ones give the oracle's version and value and leave the oracle's state (tree head, full subtrees, frontier); the
 * negative results, and every tampered response, are refused.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, type MessageContext } from '../../../verifier/keytrans/messages.js';
import type { GlobalState } from '../../../verifier/keytrans/head.js';
import { verifySearch } from '../../../verifier/keytrans/search.js';
import { cipherSuite } from '../../../verifier/keytrans/suites.js';
import { fromHex, toHex } from '../../../wasm-free-crypto/bytes.js';
import { configOf, globalStateOf } from '../../helpers/keytrans-fields.js';
import { vectorJson } from '../../helpers/vectors.js';

const SCENARIOS = ['main', 'worked-example', 'auditing', 'management', 'expiry'];

const stateHex = (s: GlobalState | null) =>
  s && {
    treeSize: s.treeHead.treeSize,
    signature: toHex(s.treeHead.signature),
    fullSubtrees: s.fullSubtrees.map(toHex),
    frontier: s.frontier.map((e) => `${e.position}@${e.timestamp}:${toHex(e.prefixTree)}`),
  };

function searchesOf(name: string) {
  const scenario = vectorJson(`keytrans/scenarios/${name}.json`);
  const config = configOf(scenario.config.fields);
  const suite = cipherSuite(config.ciphersuite);
  const queries = scenario.queries.filter((q: any) => q.operation.startsWith('search_'));
  return queries.map((q: any) => {
    const ctx: MessageContext = {
      suite: config.ciphersuite,
      mode: config.mode,
      requestHasVersion: q.operation === 'search_fixed_version',
    };
    const request = decodeMessage('SearchRequest', fromHex(q.request.encoding), ctx);
    const state = globalStateOf(q.client_state_before.global);
    const verify = (responseHex: string, now = q.now_ms) =>
      verifySearch(suite, config, state, request, decodeMessage('SearchResponse', fromHex(responseHex), ctx), now);
    return { q, verify };
  });
}

describe('KEYTRANS searches, against the scenarios', () => {
  for (const name of SCENARIOS)
    it(`${name}: accepts what the oracle accepts, with its version, value and state, and refuses the rest`, () => {
      const searches = searchesOf(name);
      expect(searches.length).toBeGreaterThan(0);
      for (const { q, verify } of searches) {
        if (!q.response) continue; // expiry/q02: the log refused, nothing to verify
        if (q.expected.outcome === 'accept') {
          const result = verify(q.response.encoding);
          expect([result.version, toHex(result.value.value)], q.id).toEqual([q.expected.version, q.expected.value_hex]);
          expect(stateHex(result.state), q.id).toEqual(stateHex(globalStateOf(q.client_state_after.global)));
        } else expect(() => verify(q.response.encoding), q.id).toThrow();
        for (const t of q.tampered ?? [])
          expect(() => verify(t.response_hex, t.now_ms ?? q.now_ms), `${q.id} tampered ${t.tamper}`).toThrow();
      }
    });

  it("accepts the retained head of the auditor's size resent (the oracle's form), but only with its value", () => {
    const { q, verify } = searchesOf('auditing').find(({ q }: any) => q.id === 'auditing/q03')!;
    const response = decodeMessage('SearchResponse', fromHex(q.response.encoding), {
      suite: 2,
      mode: 'thirdPartyAuditing',
      requestHasVersion: false,
    });
    // Its first element is the client's retained head of [0, 4), a full subtree of the auditor's 7 entries too.
    expect(toHex(response.search.inclusion.elements[0])).toBe(q.client_state_before.global.full_subtrees[0]);
    expect(verify(q.response.encoding).version).toBe(q.expected.version);
    const altered = q.response.encoding.replace(q.client_state_before.global.full_subtrees[0], 'ff'.repeat(32));
    expect(() => verify(altered)).toThrow(/resent head of the retained \[0, 4\) differs/);
  });
});
