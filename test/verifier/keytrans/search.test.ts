/**
 * KEYTRANS searches (verifier/keytrans/search.ts) against the five scenarios of test/vectors/keytrans: every
 * greatest-version and fixed-version search is verified from the client state before it, at its clock; accepted
 * ones give the oracle's version and value and leave the oracle's state (tree head, full subtrees, frontier); the
 * negative results, and every tampered response, are refused. Then the commitments of versions above the target
 * of fixed-version searches over a deployment in memory: one of a version shown included, flipped or removed, is
 * refused; one added for a version that does not exist is refused where the rightmost log entry shows it absent,
 * and elsewhere accepted, unchecked, with the same result as the honest response (draft-05 "Search").
 */
import { describe, expect, it } from 'vitest';
import { binaryLadder } from '../../../verifier/keytrans/binary-ladder.js';
import { decodeMessage, type MessageContext } from '../../../verifier/keytrans/messages.js';
import type { GlobalState } from '../../../verifier/keytrans/head.js';
import { verifySearch } from '../../../verifier/keytrans/search.js';
import { cipherSuite } from '../../../verifier/keytrans/suites.js';
import { fromHex, toHex } from '../../../wasm-free-crypto/bytes.js';
import { configOf, globalStateOf } from '../../helpers/keytrans-fields.js';
import { greatestAt, search } from '../../helpers/keytrans-round-trips.js';
import { MemoryDeployment } from '../../helpers/memory-deployment.js';
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

describe('KEYTRANS fixed-version searches: the commitments of versions above the target', () => {
  const EPOCHS = [['a'], ['b'], [], ['a'], [], ['a'], ['b'], [], ['a'], ['b', 'b'], ['b'], ['a'], [], [], ['a'], []];
  const d = new MemoryDeployment({ mode: 'contactMonitoring', epochs: EPOCHS, seed: 5 });
  /** Each fixed-version search at each size, each step above its target, and the search with that step altered. */
  const steps = [...Array(d.size).keys()].flatMap((i) =>
    ['a', 'b'].flatMap((label) =>
      Array.from({ length: (greatestAt(d, label, i + 1) ?? -1) + 1 }, (_, t) => {
        const { request, response, result } = search(d, null, i + 1, label, t);
        return binaryLadder(t).flatMap((v, at) => {
          if (v <= t) return [];
          const given = response.binaryLadder[at].commitment;
          const verify = (commitment: Uint8Array | null) => {
            const ladder = response.binaryLadder.map((s, k) => (k === at ? { ...s, commitment } : s));
            return verifySearch(d.suite, d.config, null, request, { ...response, binaryLadder: ladder }, d.now(i + 1));
          };
          return [{ id: `${label} v${t} at ${i + 1}, step ${v}`, v, given, result, verify }];
        });
      }).flat(),
    ),
  );
  const flipped = (c: Uint8Array) => c.map((b, k) => (k === 9 ? b ^ 0x04 : b));

  it('refuses a commitment flipped or removed where a ladder showed the version included', () => {
    const shown = steps.filter((s) => s.given !== null);
    expect(shown.length).toBeGreaterThan(5);
    for (const { id, given, verify } of shown) {
      expect(() => verify(flipped(given!)), id).toThrow();
      expect(() => verify(null), id).toThrow(/shown included, but the response has no commitment/);
    }
  });

  it('refuses one for a version the rightmost log entry shows absent, and accepts the rest unchecked, unchanged', () => {
    const outcomes = { refused: 0, accepted: 0 };
    for (const { id, result, verify } of steps.filter((s) => s.given === null)) {
      let accepted;
      try {
        accepted = verify(new Uint8Array(32).fill(7));
      } catch (e) {
        expect((e as Error).message, id).toMatch(/which the rightmost log entry shows does not exist/);
        outcomes.refused++;
        continue;
      }
      expect(accepted, id).toEqual(result); // used for nothing: not retained, no other result
      outcomes.accepted++;
    }
    expect(outcomes.refused).toBeGreaterThan(3);
    expect(outcomes.accepted).toBeGreaterThan(3);
  });
});
