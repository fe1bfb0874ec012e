/**
 * What the KEYTRANS client keeps of a label after a search (verifier/keytrans/label-state.ts, from search.ts's
 * `retained`), against the scenarios of test/vectors/keytrans: after every accepted search the map and retained
 * keys are katie's (`client_state_after.label`), and the keys a search hands over are recomputed here from the
 * response's ladder alone (each VRF proof verified, the target's commitment from its opening); a label state whose
 * retained keys were altered (a bit flipped, two outputs swapped, a needed version missing) is refused against the
 * search, and the map moves an entry up its right direct path only below a greater version.
 */
import { describe, expect, it } from 'vitest';
import { binaryLadder } from '../../../verifier/keytrans/binary-ladder.js';
import { computeCommitment } from '../../../verifier/keytrans/commitment.js';
import { KeyTransError } from '../../../verifier/keytrans/errors.js';
import {
  contactAfterSearch,
  labelAfterSearch,
  type LabelState,
  retainedFor,
} from '../../../verifier/keytrans/label-state.js';
import { decodeMessage, type MessageContext } from '../../../verifier/keytrans/messages.js';
import type { RetainedVersion } from '../../../verifier/keytrans/monitor.js';
import { verifySearch } from '../../../verifier/keytrans/search.js';
import { rightDirectPath } from '../../../verifier/keytrans/search-tree.js';
import { encodeVrfInput } from '../../../verifier/keytrans/signed-structures.js';
import { cipherSuite } from '../../../verifier/keytrans/suites.js';
import { fromHex, toHex } from '../../../wasm-free-crypto/bytes.js';
import { configOf, globalStateOf } from '../../helpers/keytrans-fields.js';
import { vectorJson } from '../../helpers/vectors.js';

const SCENARIOS = ['main', 'worked-example', 'auditing', 'management', 'expiry'];

/** katie's label state (the vectors' `client_state_*.label`) as the client's. */
function labelOf(label: any): LabelState | undefined {
  if (!label) return undefined;
  const retained = new Map<number, RetainedVersion>(
    label.retained_versions.map((r: any) => [
      r.version,
      { vrfOutput: fromHex(r.vrf_output), commitment: r.commitment ? fromHex(r.commitment) : null },
    ]),
  );
  const owner = label.owner && { starting: label.owner.starting, versionAtStarting: label.owner.ver_at_starting };
  return { contact: label.contact, owner, retained };
}

const retainedHex = (m: ReadonlyMap<number, RetainedVersion>) =>
  [...m].sort(([a], [b]) => a - b).map(([v, r]) => [v, toHex(r.vrfOutput), r.commitment && toHex(r.commitment)]);
const labelHex = (l: LabelState | undefined) => l && { ...l, retained: retainedHex(l.retained) };

/** Every accepted search of the scenarios, verified from the state before it. */
function acceptedSearches() {
  return SCENARIOS.flatMap((name) => {
    const scenario = vectorJson(`keytrans/scenarios/${name}.json`);
    const config = configOf(scenario.config.fields);
    const suite = cipherSuite(config.ciphersuite);
    return scenario.queries
      .filter((q: any) => q.operation.startsWith('search_') && q.expected.outcome === 'accept')
      .map((q: any) => {
        const ctx: MessageContext = {
          suite: config.ciphersuite,
          mode: config.mode,
          requestHasVersion: q.operation === 'search_fixed_version',
        };
        const request = decodeMessage('SearchRequest', fromHex(q.request.encoding), ctx);
        const response = decodeMessage('SearchResponse', fromHex(q.response.encoding), ctx);
        const state = globalStateOf(q.client_state_before.global);
        const result = verifySearch(suite, config, state, request, response, q.now_ms);
        return { q, config, suite, request, response, result };
      });
  });
}

/** The keys of versions 0..target of the response's ladder, recomputed from its VRF proofs and its opening. */
function recomputed({ suite, config, request, response, result }: ReturnType<typeof acceptedSearches>[number]) {
  const out = new Map<number, RetainedVersion>();
  binaryLadder(result.version).forEach((v, i) => {
    if (v > result.version) return;
    const input = encodeVrfInput({ label: request.label, version: v });
    const vrfOutput = suite.vrfVerify(config.vrfPublicKey, input, response.binaryLadder[i].proof);
    const opening = { opening: response.opening, label: request.label, version: v, update: response.value };
    const commitment = v === result.version ? computeCommitment(suite, opening) : response.binaryLadder[i].commitment;
    out.set(v, { vrfOutput, commitment });
  });
  return out;
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof KeyTransError ? e.code : String(e);
  }
  return undefined;
}

describe('what the KEYTRANS client keeps of a label after a search', () => {
  it("keeps katie's map and retained keys after every accepted search, from keys recomputed independently", () => {
    const searches = acceptedSearches();
    let monitored = 0;
    for (const s of searches) {
      const { q, result } = s;
      const kept = labelAfterSearch(labelOf(q.client_state_before.label), result);
      expect(labelHex(kept), q.id).toEqual(labelHex(labelOf(q.client_state_after.label)));
      if (!result.mustMonitor) expect(result.retained.size, q.id).toBe(0);
      else {
        monitored++;
        expect(retainedHex(result.retained), q.id).toEqual(retainedHex(recomputed(s)));
        expect(kept!.contact.some((e) => e.version === result.version)).toBe(true);
      }
    }
    expect(monitored).toBe(5); // main/q01, q05, q06, q11, q14
  });

  it('refuses a search that shows a retained version with other keys, and a needed version never shown', () => {
    const { q, result } = acceptedSearches().find(({ q }) => q.id === 'main/q11')!;
    const held = labelOf(q.client_state_before.label)!;
    const flipped = new Map(held.retained);
    const zero = held.retained.get(0)!;
    const commitment = zero.commitment!.slice();
    commitment[5] ^= 0x10;
    flipped.set(0, { ...zero, commitment });
    expect(codeOf(() => labelAfterSearch({ ...held, retained: flipped }, result))).toBe('kt_bad_proof');
    const swapped = new Map(held.retained);
    swapped.set(0, { ...zero, vrfOutput: held.retained.get(1)!.vrfOutput });
    swapped.set(1, { ...held.retained.get(1)!, vrfOutput: zero.vrfOutput });
    expect(codeOf(() => labelAfterSearch({ ...held, retained: swapped }, result))).toBe('kt_bad_proof');
    const other = { ...held, contact: [...held.contact, { position: 1, version: 7 }] };
    expect(codeOf(() => labelAfterSearch(other, result))).toBe('kt_bad_input');
    expect(codeOf(() => retainedFor([{ position: 3, version: 3 }], null, [held.retained]))).toBe('kt_bad_input');
    expect(labelAfterSearch(held, { ...result, mustMonitor: false })).toBe(held);
  });

  it('moves an entry up its right direct path, where a greater version covers it, and keeps each version once', () => {
    const n = 16;
    const x = 4;
    const up = rightDirectPath(x, n);
    expect(up.length).toBeGreaterThan(1);
    expect(contactAfterSearch([], x, 2, n)).toEqual([{ position: up.at(-1)!, version: 2 }]);
    const covering = [{ position: up[1], version: 5 }];
    expect(contactAfterSearch(covering, x, 2, n)).toEqual(covering);
    expect(contactAfterSearch([{ position: 1, version: 5 }], x, 2, n)).toEqual([
      { position: 1, version: 5 },
      { position: up.at(-1)!, version: 2 },
    ]);
    expect(contactAfterSearch([{ position: up[0], version: 5 }], x, 2, n)).toEqual([{ position: up[0], version: 5 }]);
    expect(contactAfterSearch([{ position: 1, version: 2 }], x, 2, n)).toEqual([{ position: up.at(-1)!, version: 2 }]);
  });
});
