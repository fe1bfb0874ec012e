/**
 * The exact error of every tampered KEYTRANS response (verifier/keytrans/search.ts, monitor.ts, owner.ts): each
 * tampered response of the five scenarios of test/vectors/keytrans fails with the class and code of the check that
 * first sees it; then a search, a contact monitoring and an owner's monitoring over a deployment in memory, in
 * contactMonitoring mode and re-signed for thirdPartyAuditing (a log key and an auditor's key of this file's own,
 * the auditor's tree head at the client's size), each accepted as given, have a bit flipped in every byte string
 * and every number raised by one (each field of the decoded response, sent again through its TLS encoding), and
 * each field swapped for that of another valid response: every change fails with the code pinned here.
 */
import { describe, expect, it } from 'vitest';
import { CombinedProofError } from '../../../verifier/keytrans/combined-proof.js';
import { KeyTransError } from '../../../verifier/keytrans/errors.js';
import { logLeafHash, logRoot } from '../../../verifier/keytrans/log-tree.js';
import { decodeMessage, encodeMessage, type MessageType } from '../../../verifier/keytrans/messages.js';
import { type RetainedVersion, verifyContactMonitor } from '../../../verifier/keytrans/monitor.js';
import { checkOwnerProgress, verifyOwnerInit, verifyOwnerMonitor } from '../../../verifier/keytrans/owner.js';
import { verifySearch } from '../../../verifier/keytrans/search.js';
import { encodeAuditorTreeHeadTbs, encodeTreeHeadTbs } from '../../../verifier/keytrans/signed-structures.js';
import { cipherSuite } from '../../../verifier/keytrans/suites.js';
import { TlsError } from '../../../verifier/keytrans/tls.js';
import type { Configuration, FullTreeHead } from '../../../verifier/keytrans/types.js';
import { ViewError } from '../../../verifier/keytrans/view.js';
import { fromHex } from '../../../wasm-free-crypto/bytes.js';
import { publicKeyFor, signSync } from '../../../wasm-free-crypto/signatures.js';
import { configOf, globalStateOf } from '../../helpers/keytrans-fields.js';
import { monitor, ownerInit, ownerMonitor, retainedFrom, search, startAt } from '../../helpers/keytrans-round-trips.js';
import { MemoryDeployment } from '../../helpers/memory-deployment.js';
import { vectorJson } from '../../helpers/vectors.js';

const CLASSES = { KeyTransError, CombinedProofError, ViewError, TlsError };
/** `Class:code` of the error `f` throws, checked with instanceof; 'accepted' if it returns. */
function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    const name = Object.entries(CLASSES).find(([, c]) => e instanceof c)?.[0];
    return name ? `${name}:${(e as KeyTransError).code}` : `uncoded: ${String(e)}`;
  }
  return 'accepted';
}
const kt = (code: string) => `KeyTransError:kt_${code}`;
const [SIG, PROOF, VRF, TREE_HEAD] = ['bad_signature', 'bad_proof', 'vrf_failed', 'bad_tree_head'].map(kt);
const GREATEST = kt('greatest_version');
const [SHORT, LONG, INCONSISTENT] = ['short', 'long', 'inconsistent'].map((c) => `CombinedProofError:kt_proof_${c}`);
const BEHIND = 'ViewError:kt_clock_behind';

const retainedOf = (label: any): Map<number, RetainedVersion> =>
  new Map(
    (label?.retained_versions ?? []).map((r: any) => [
      r.version,
      { vrfOutput: fromHex(r.vrf_output), commitment: r.commitment ? fromHex(r.commitment) : null },
    ]),
  );
const ownerOf = (label: any) => ({ starting: label.owner.starting, versionAtStarting: label.owner.ver_at_starting });

/** The messages of each operation of the vectors: `${TYPES[operation]}Request` and `...Response`. */
const TYPES: Record<string, string> = {
  search_greatest_version: 'Search',
  search_fixed_version: 'Search',
  contact_monitor: 'ContactMonitor',
  owner_init: 'OwnerInit',
  owner_monitor: 'OwnerMonitor',
};

/** A vector query's verification of a response (hex) at a clock, from the client state before it. */
function verifierOf(config: Configuration, q: any): (hex: string, now: number) => unknown {
  const suite = cipherSuite(config.ciphersuite);
  const ctx = { suite: config.ciphersuite, mode: config.mode, requestHasVersion: q.operation.includes('fixed') };
  const [requestType, responseType] = [
    `${TYPES[q.operation]}Request`,
    `${TYPES[q.operation]}Response`,
  ] as MessageType[];
  const request: any = decodeMessage(requestType, fromHex(q.request.encoding), ctx);
  const { label, global } = q.client_state_before;
  const state = globalStateOf(global);
  return (hex, now) => {
    const r: any = decodeMessage(responseType, fromHex(hex), ctx);
    if (q.operation === 'contact_monitor')
      return verifyContactMonitor(suite, config, state!, retainedOf(label), request, r, now);
    if (q.operation === 'owner_init') return verifyOwnerInit(suite, config, state, request, r, now);
    if (q.operation === 'owner_monitor')
      return verifyOwnerMonitor(suite, config, state!, ownerOf(label), retainedOf(label), request, r, now);
    return verifySearch(suite, config, state, request, r, now);
  };
}

/**
 * The code of each kind of tamper of the vectors: the first check that sees it. A change of what the log tree's
 * root is computed from (a timestamp, a prefix proof or root, an inclusion element, and through the prefix proofs
 * a commitment, opening or value) fails the tree head's signature; the exceptions below are seen earlier: a head
 * of type `same` compares the root with the retained one (kt_bad_proof), a log entry the client retained compares
 * its prefix root (kt_proof_inconsistent), a retained full subtree its head (kt_bad_proof). A tree size one less
 * reads another view of the tree (the proof is too short, too long or inconsistent with it, or computes another
 * root), or is no newer than the client's (kt_bad_tree_head).
 */
const VECTOR_CODES = inverted({
  [SIG]: `tree_head_signature timestamp prefix_proof_element prefix_root inclusion_element ladder_commitment value
    opening update_signature auditor_signature`,
  [PROOF]: 'prefix_result_depth inclusion_extra ladder_step_dropped version_plus_one version_minus_one',
  [VRF]: 'vrf_proof greatest_versions',
  [TREE_HEAD]: 'auditor_timestamp_ahead',
  [LONG]: 'tree_size',
  [SHORT]: 'drop_prefix_proof',
  [BEHIND]: 'stale_clock',
  'TlsError:tls_trailing_bytes': 'trailing_byte',
  'TlsError:tls_truncated': 'truncated',
});
const VECTOR_EXCEPTIONS = exceptions({
  [PROOF]: `q05 tree_size; q08 prefix_root inclusion_element; q10 tree_size; q11 tree_size ladder_commitment;
    q15 tree_size; q16 tree_size timestamp prefix_root inclusion_element; q17 timestamp prefix_root inclusion_element;
    q18 timestamp inclusion_element; q21 timestamp prefix_root inclusion_element; q23 greatest_versions;
    auditing/q01 value; auditing/q03 inclusion_element`,
  [INCONSISTENT]: `q06 prefix_proof_element ladder_commitment value opening; q10 prefix_proof_element ladder_commitment;
    q11 prefix_proof_element; q14 tree_size; q15 prefix_proof_element; q16 prefix_proof_element;
    q18 prefix_proof_element ladder_commitment value opening; q23 prefix_proof_element ladder_commitment;
    auditing/q04 prefix_proof_element value`,
  [TREE_HEAD]: 'q07 tree_size',
  [VRF]: 'q07 version_plus_one; q09 version_plus_one; q14 version_minus_one', // another ladder's VRF inputs
  [SHORT]: 'q08 timestamp; q09 tree_size; q19 tree_size; q20 tree_size; q21 tree_size; q22 tree_size',
  [LONG]: 'q12 drop_prefix_proof; q15 drop_prefix_proof', // an owner's walk stops there, timestamps left over
});

/** `{ code: 'key key...' }` inverted: the code of each key. */
function inverted(byCode: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(byCode).flatMap(([code, keys]) => keys.split(/\s+/).map((k) => [k, code])));
}
/** `{ code: 'query tamper...; query tamper...' }` (a query of main by its number alone) by `query tamper`. */
function exceptions(byCode: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [code, text] of Object.entries(byCode))
    for (const [q, ...kinds] of text.split(';').map((part) => part.trim().split(/\s+/)))
      for (const kind of kinds) out[`${q.includes('/') ? q : `main/${q}`} ${kind}`] = code;
  return out;
}

describe('the tampered responses of the KEYTRANS vectors', () => {
  it('each fails with the class and code of the first check that sees it', () => {
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    for (const name of ['main', 'worked-example', 'auditing', 'management', 'expiry']) {
      const scenario = vectorJson(`keytrans/scenarios/${name}.json`);
      const config = configOf(scenario.config.fields);
      for (const q of scenario.queries.filter((q: any) => q.response)) {
        const verify = verifierOf(config, q);
        for (const t of q.tampered ?? []) {
          const id = `${q.id} ${t.tamper}`;
          got[id] = codeOf(() => verify(t.response_hex, t.now_ms ?? q.now_ms));
          want[id] = VECTOR_EXCEPTIONS[id] ?? VECTOR_CODES[t.tamper];
        }
      }
    }
    expect(Object.keys(got).length).toBe(390); // every tampered response of the vectors
    expect(got).toEqual(want);
  });
});

/** Twenty epochs of labels a, b and c (a dash: an epoch that only advances the tree). */
const EPOCHS = 'a b - ac - a b - ac bb b a - c a - bc a - b'.split(' ').map((e) => [...e.replace('-', '')]);
const d = new MemoryDeployment({ mode: 'contactMonitoring', epochs: EPOCHS });
const [LOG_KEY, AUDITOR_KEY] = [new Uint8Array(32).fill(7), new Uint8Array(32).fill(8)];
const AUDITED: Configuration = {
  ...d.config,
  mode: 'thirdPartyAuditing',
  signaturePublicKey: publicKeyFor('ed25519', LOG_KEY),
  auditorPublicKey: publicKeyFor('ed25519', AUDITOR_KEY),
  maxAuditorLag: 60_000,
  auditorStartPos: 0,
};
/**
 * The head of `size` entries re-signed for AUDITED, with an auditor's head of `auditor` entries: the client's
 * retained size (whose full subtrees it retained) or `size`, so the response's inclusion proof computes its root.
 */
function auditedHead(size: number, auditor: number): FullTreeHead {
  const leaves = Array.from({ length: size }, (_, p) => logLeafHash(d.suite, d.view(size).entry(p)));
  const root = (n: number) => logRoot(d.suite, leaves.slice(0, n));
  const timestamp = d.timestamp(auditor - 1);
  const auditorTbs = encodeAuditorTreeHeadTbs(AUDITED, timestamp, auditor, root(auditor));
  return {
    headType: 'updated',
    treeHead: { treeSize: size, signature: signSync('ed25519', LOG_KEY, encodeTreeHeadTbs(AUDITED, size, root(size))) },
    auditorTreeHead: { timestamp, treeSize: auditor, signature: signSync('ed25519', AUDITOR_KEY, auditorTbs) },
  };
}

/** A response, and its verification under a configuration by the client that asked for it. */
type Answer = { response: any; verify: (config: Configuration, response: any) => unknown };
/**
 * A response to tamper with, another valid one (another label, another size) to swap fields from, and the
 * client's tree size (the auditor's in thirdPartyAuditing mode).
 */
type Case = { type: MessageType; retained: number; main: Answer; other: Answer };

function cases(): Record<string, Case> {
  const s9 = search(d, null, 9, 'a', null).result.state;
  const searched = (label: string, n: number): Answer => {
    const { request, response } = search(d, s9, n, label, null);
    return { response, verify: (config, r) => verifySearch(d.suite, config, s9, request, r, d.now(n)) };
  };
  /** A contact monitoring of `label` from its greatest version and version 1, searched at 9, answered at `n`. */
  const watched = (label: string, n: number): Answer => {
    const greatest = search(d, null, 9, label, null);
    const fixed = search(d, greatest.result.state, 9, label, 1);
    const kept = retainedFrom(d, fixed.request, fixed.response, retainedFrom(d, greatest.request, greatest.response));
    const top = { position: greatest.result.terminal, version: greatest.result.version };
    const map = top.version > 1 ? [{ position: fixed.result.terminal, version: 1 }, top] : [top];
    const { request, response } = monitor(d, fixed.result.state, kept, n, label, map);
    return {
      response,
      verify: (config, r) => verifyContactMonitor(d.suite, config, fixed.result.state, kept, request, r, d.now(n)),
    };
  };
  /** An owner's monitoring of `label`, initialized at 12 from the state at 10, answered at `n`, and its progress. */
  const s10 = search(d, null, 10, 'a', null).result.state;
  const owned = (label: string, n: number): Answer => {
    const { state, owner, retained } = ownerInit(d, s10, 12, label, startAt(d, 12)!).result;
    const { request, response } = ownerMonitor(d, state, owner, retained, n, label);
    const verify = (config: Configuration, r: any) =>
      checkOwnerProgress(owner, verifyOwnerMonitor(d.suite, config, state, owner, retained, request, r, d.now(n)));
    return { response, verify };
  };
  const of = (type: MessageType, retained: number, main: Answer, other: Answer) => ({ type, retained, main, other });
  return {
    search: of('SearchResponse', 9, searched('a', 17), searched('c', 13)),
    'contact monitoring': of('ContactMonitorResponse', 9, watched('a', 11), watched('c', 13)),
    'owner monitoring': of('OwnerMonitorResponse', 12, owned('b', 20), owned('a', 17)),
  };
}

/** Every byte string and number of `v`, by path (`a.b[2].c`). */
function leaves(v: any, path = ''): string[] {
  if (v instanceof Uint8Array || typeof v === 'number' || (typeof v === 'string' && !path.endsWith('headType')))
    return [path];
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, `${path}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => leaves(x, path ? `${path}.${k}` : k));
  return [];
}
const keysOf = (path: string) => path.replace(/\[(\d+)\]/g, '.$1').split('.');
const get = (v: any, path: string) => keysOf(path).reduce((o, k) => o[k], v);
/** `v` with the value at `path` replaced by `f` of it. */
function changed(v: any, path: string, f: (x: any) => any): any {
  const copy = structuredClone(v);
  const keys = keysOf(path);
  const parent = keys.slice(0, -1).reduce((o, k) => o[k], copy);
  parent[keys.at(-1)!] = f(parent[keys.at(-1)!]);
  return copy;
}
/** A bit of the middle byte flipped, a number raised by one, a prefix search result of another type. */
function flip(x: any): any {
  if (x instanceof Uint8Array) return x.map((b, i) => (i === x.length >> 1 ? b ^ 0x10 : b));
  return typeof x === 'number' ? x + 1 : x === 'inclusion' ? 'nonInclusionParent' : 'inclusion';
}

/** Paths with indices as `*`, each with its code, or its codes in order where they differ. */
function table(rows: [string, string][]): Record<string, string | string[]> {
  const out: Record<string, string[]> = {};
  for (const [path, code] of rows) (out[path.replace(/\[\d+\]/g, '[*]')] ??= []).push(code);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, new Set(v).size === 1 ? v[0] : v]));
}

/** What each field flipped and each field swapped gives (the combined proof's fields under `proof.`). */
function outcomes(c: Case, audited: boolean) {
  const config = audited ? AUDITED : d.config;
  const ctx = { suite: config.ciphersuite, mode: config.mode, requestHasVersion: false };
  const prepare = (r: any, auditor: number | null) => {
    const size = r.fullTreeHead.treeHead.treeSize;
    return audited ? { ...r, fullTreeHead: auditedHead(size, auditor ?? size) } : r;
  };
  // The other's auditor head is of its own size: a head of another size than this response's.
  const [response, other] = [prepare(c.main.response, c.retained), prepare(c.other.response, null)];
  const sent =
    (r: any, verify = c.main.verify) =>
    () =>
      verify(config, decodeMessage(c.type, encodeMessage(c.type, r, ctx), ctx));
  expect([codeOf(sent(response)), codeOf(sent(other, c.other.verify))]).toEqual(['accepted', 'accepted']);
  const proof = Object.keys(response).find((k) => response[k]?.prefixRoots)!;
  const named = (path: string) => path.replace(`${proof}.`, 'proof.');
  const flips = leaves(response).map((p): [string, string] => [named(p), codeOf(sent(changed(response, p, flip)))]);
  const fields = [
    ...Object.keys(response).filter((k) => k !== proof && k !== 'fullTreeHead'),
    ...['treeHead', 'auditorTreeHead'].filter((k) => k in response.fullTreeHead).map((k) => `fullTreeHead.${k}`),
    ...Object.keys(response[proof]).map((k) => `${proof}.${k}`),
  ];
  const swaps = fields.map((f): [string, string] => [
    named(f),
    codeOf(sent(changed(response, f, () => get(other, f)))),
  ]);
  return { flips: table(flips), swaps: table(swaps) };
}

/**
 * The code of each field flipped, as in the vectors: whatever the log tree's root is computed from fails the log's
 * signature, and the auditor's head its own signature (its tree size names another root); a prefix search result
 * of another type or depth is a malformed prefix proof; a version, another binary ladder.
 */
const FLIPPED: Record<string, string | string[]> = inverted({
  [SIG]: `fullTreeHead.treeHead.signature fullTreeHead.auditorTreeHead.timestamp fullTreeHead.auditorTreeHead.treeSize
    fullTreeHead.auditorTreeHead.signature proof.timestamps[*] proof.prefixProofs[*].results[*].leaf.vrfOutput
    proof.prefixProofs[*].results[*].leaf.commitment proof.prefixProofs[*].elements[*] proof.prefixRoots[*]
    proof.inclusion.elements[*] opening value.value binaryLadder[*].commitment`,
  [PROOF]: 'proof.prefixProofs[*].results[*].resultType proof.prefixProofs[*].results[*].depth version',
  [VRF]: 'binaryLadder[*].proof',
});
const LADDER = [PROOF, PROOF, PROOF, GREATEST, GREATEST, PROOF];
/** Per response, the flips that differ from FLIPPED. A tree size one more: a tree the proofs do not fit. */
const FLIPPED_HERE: Record<string, Record<string, string | string[]>> = {
  search: { 'fullTreeHead.treeHead.treeSize': PROOF },
  'contact monitoring': { 'fullTreeHead.treeHead.treeSize': SHORT },
  'owner monitoring': {
    'fullTreeHead.treeHead.treeSize': SHORT,
    // The first timestamp moves which log entries are distinguished: the walk asks for fewer proofs.
    'proof.timestamps[*]': [LONG, SIG, SIG, SIG],
    // Two full ladders for version 4 (0, 1, 3, 7, 5, 4): a lookup of 7 or 5 shown included claims a greatest
    // version above the owner's, one it did not make: the owner's alert.
    'proof.prefixProofs[*].results[*].resultType': [...LADDER, ...LADDER],
  },
};
/** Per response, the code of each field swapped for the other response's. */
const SWAPPED: Record<string, Record<string, string>> = {
  search: inverted({
    [PROOF]: 'version binaryLadder proof.prefixProofs proof.inclusion fullTreeHead.auditorTreeHead',
    [SIG]: 'opening value',
    [LONG]: 'fullTreeHead.treeHead proof.prefixRoots',
    [SHORT]: 'proof.timestamps',
  }),
  'contact monitoring': inverted({
    [SHORT]: 'fullTreeHead.treeHead',
    [TREE_HEAD]: 'fullTreeHead.auditorTreeHead', // of 13 entries, past this log's 11
    [LONG]: 'proof.timestamps proof.prefixRoots',
    [PROOF]: 'proof.prefixProofs proof.inclusion',
  }),
  'owner monitoring': inverted({
    [LONG]: 'fullTreeHead.treeHead proof.timestamps',
    [PROOF]: 'proof.prefixProofs proof.inclusion',
    [SIG]: 'proof.prefixRoots',
    // Legitimately accepted: a's auditor head is of 17 entries, signed over the log's true root at 17 (which the
    // proof computes too) and within max_auditor_lag of this log's last entry: as true of b's response as of a's.
    accepted: 'fullTreeHead.auditorTreeHead',
  }),
};

describe('KEYTRANS responses of a deployment in memory, each field flipped and swapped', () => {
  const all = cases();
  const expected = (got: object, code: (k: string) => unknown) =>
    Object.fromEntries(Object.keys(got).map((k) => [k, code(k)]));
  for (const [name, c] of Object.entries(all))
    for (const audited of [false, true])
      it(`${name}${audited ? ', thirdPartyAuditing' : ''}: every change fails with its code`, () => {
        const { flips, swaps } = outcomes(c, audited);
        expect(flips).toEqual(expected(flips, (k) => FLIPPED_HERE[name][k] ?? FLIPPED[k]));
        expect(swaps).toEqual(expected(swaps, (k) => SWAPPED[name][k]));
      });
});
