/**
 * The KEYTRANS client's stored state (verifier/keytrans/state.ts): every state of the scenarios (global and label)
 * survives encoding and decoding unchanged; a missing state is a new client's; a damaged one (bad JSON, a field
 * missing or unknown, a wrong type, a hex string of the wrong length, a number out of range, full subtrees or a
 * frontier that do not fit the tree size, a version twice) is refused whole with `kt_bad_state`.
 */
import { describe, expect, it } from 'vitest';
import { KeyTransError } from '../../../verifier/keytrans/errors.js';
import { decodeState, encodeState, type ClientState } from '../../../verifier/keytrans/state.js';
import { fromHex } from '../../../wasm-free-crypto/bytes.js';
import { globalStateOf } from '../../helpers/keytrans-fields.js';
import { vectorJson } from '../../helpers/vectors.js';

function statesOfScenarios(): ClientState[] {
  const out: ClientState[] = [];
  for (const name of ['main', 'worked-example', 'auditing', 'management', 'expiry'])
    for (const q of vectorJson(`keytrans/scenarios/${name}.json`).queries) {
      const s = q.client_state_after;
      if (!s) continue; // expiry/q02: the log refused, no state after
      const label = s.label;
      const labels = new Map();
      if (label)
        labels.set(q.label.hex, {
          contact: label.contact ?? [],
          owner: label.owner && { starting: label.owner.starting, versionAtStarting: label.owner.ver_at_starting },
          retained: new Map(
            (label.retained_versions ?? []).map((r: any) => [
              r.version,
              { vrfOutput: fromHex(r.vrf_output), commitment: r.commitment ? fromHex(r.commitment) : null },
            ]),
          ),
        });
      out.push({ global: globalStateOf(s.global), labels });
    }
  return out;
}

const refused = (text: string, why: RegExp) => {
  let error: unknown;
  try {
    decodeState(text);
  } catch (e) {
    error = e;
  }
  expect(error, text.slice(0, 80)).toBeInstanceOf(KeyTransError);
  expect((error as KeyTransError).code).toBe('kt_bad_state');
  expect((error as KeyTransError).message).toMatch(why);
};

describe("the KEYTRANS client's stored state", () => {
  it('keeps every state of the scenarios unchanged through its text', () => {
    const states = statesOfScenarios();
    expect(states.length).toBe(34);
    for (const s of states) expect(decodeState(encodeState(s))).toEqual(s);
    expect(decodeState(undefined)).toEqual({ global: null, labels: new Map() });
  });

  it('refuses a damaged state whole', () => {
    const full = statesOfScenarios().find((s) => s.global && s.labels.size > 0 && s.global.fullSubtrees.length > 1)!;
    const good = JSON.parse(encodeState(full));
    const label = Object.keys(good.labels)[0];
    const damaged = (f: (j: any) => void) => {
      const j = structuredClone(good);
      f(j);
      return JSON.stringify(j);
    };
    refused('{', /not JSON/);
    refused(
      damaged((j) => (j.format = 2)),
      /format 2/,
    );
    refused(
      damaged((j) => (j.extra = 1)),
      /fields/,
    );
    refused(
      damaged((j) => delete j.global.frontier),
      /fields/,
    );
    refused(
      damaged((j) => (j.global.treeHead.treeSize = -1)),
      /treeHead.treeSize is not an integer/,
    );
    refused(
      damaged((j) => (j.global.treeHead.treeSize = 1.5)),
      /treeHead.treeSize/,
    );
    refused(
      damaged((j) => (j.global.treeHead.treeSize += 1)),
      /do not fit the tree size/,
    );
    refused(
      damaged((j) => j.global.fullSubtrees.pop()),
      /fullSubtrees do not fit/,
    );
    refused(
      damaged((j) => (j.global.fullSubtrees[0] = j.global.fullSubtrees[0].slice(2))),
      /31 bytes, not 32/,
    );
    refused(
      damaged((j) => (j.global.fullSubtrees[0] = j.global.fullSubtrees[0].toUpperCase())),
      /lowercase hex/,
    );
    refused(
      damaged((j) => j.global.frontier.pop()),
      /frontier does not fit/,
    );
    refused(
      damaged((j) => (j.labels[label].contact = [{ position: 1, version: 2 ** 32 }])),
      /version is not an integer/,
    );
    refused(
      damaged((j) => j.labels[label].retained.push(j.labels[label].retained[0])),
      /twice/,
    );
    refused(
      damaged((j) => (j.labels.zz = j.labels[label])),
      /a label is not lowercase hex/,
    );
    refused(
      damaged((j) => (j.labels[label].owner = { starting: 1 })),
      /owner has fields/,
    );
  });
});
