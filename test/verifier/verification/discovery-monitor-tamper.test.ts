/**
 * Tampering with a discovery proof (`verifyDiscovery`) and with the owner's daily check (`verifyUnchanged`, and
 * `LookupClient.monitor` / `history` around it), each refusal asserted with its exact code: one bit of every byte
 * of every byte string, every character of every string and every number moved by one, in the credential set, in
 * each lookup of a discovery, in the epoch and map proof of a daily check and in the leaf the owner remembers;
 * then whole fields swapped with those of other valid proofs (another epoch, another account, another provider,
 * a provider too many or too few). Accepted, as they may be: its lookups in another order, and a whole older
 * discovery or daily check (valid for its epoch; the client's kept checkpoint refuses it as a rollback).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { proveDiscovery, proveHistory, proveLookup, proveMonitorCheck } from '../../../log/directory/proof-builder.js';
import { decodeEntry, type EnrolmentEntry } from '../../../verifier/formats/entries.js';
import type { MapLeaf, MapProof } from '../../../verifier/formats/map-proof.js';
import { historyToJson, monitorToJson } from '../../../verifier/formats/proof-json.js';
import type { DiscoveryProof, EpochProof, LookupProof, MonitorProof } from '../../../verifier/formats/proofs.js';
import { decodeStatement } from '../../../verifier/formats/statement-binary.js';
import { LookupClient } from '../../../verifier/lookup-client/lookup-client.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import {
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  publish,
  statementFor,
  type TestDirectory,
} from '../../helpers/directory.js';
import { errorCode } from '../../helpers/error-code.js';
import { mutants, type Mutant } from '../../helpers/mutants.js';
import { ORIGIN } from '../../helpers/log.js';

type Unchanged = { epoch: EpochProof; map: MapProof };

/** The epoch proof's codes, in the order the verifier checks (signature, last entry, inclusion). */
const EPOCH_RULES: [RegExp, string][] = [
  [/\.epoch\.checkpoint@/, 'bad_checkpoint'],
  [/\.epoch\.headIndex[+-]1$/, 'epoch_not_last'],
  [/\.epoch\.head(Entry|Proof)/, 'bad_epoch_inclusion'],
];

/** Expected codes of a discovery's mutants, first match wins (statement bytes: `statementCode`). */
const DISCOVERY_RULES: [RegExp, string][] = [
  [/\.account@/, 'bad_discovery'], // the proof's account and each lookup's must agree
  [/^\.credentials|^\.lookups (dropped|extended)|\.provider@/, 'bad_discovery'],
  [/^\.lookups\[1\]\.epoch\.(checkpoint|headIndex)/, 'bad_discovery'], // compared with the first lookup's epoch
  [/\.vrfProof\[/, 'bad_vrf'],
  ...EPOCH_RULES,
  [/\.map\.|\.(opening|previousHistory)\[/, 'bad_map_proof'],
  [/\.present\.version-1$/, 'bad_history'], // version 1 must follow the zero history hash
  [/\.present\.version\+1$/, 'bad_statement'],
  [/\.signature\[/, 'bad_provider_signature'],
  [/\.enrolment\./, 'bad_enrolment'],
];

/** Expected codes of a daily check's mutants (`{ unchanged, leaf }`). */
const MONITOR_RULES: [RegExp, string][] = [...EPOCH_RULES, [/^\.unchanged\.map\.|^\.leaf\./, 'bad_map_proof']];

function ruleCode(rules: [RegExp, string][], path: string): string {
  return rules.find(([re]) => re.test(path))?.[1] ?? `no rule for ${path}`;
}

/** A tampered statement's code, in the verifier's order: decoding and naming, the credential's validity, the signature. */
function statementCode(bytes: Uint8Array, version: number, enrol: EnrolmentEntry): string {
  let s;
  try {
    s = decodeStatement(bytes);
  } catch {
    return 'bad_statement';
  }
  if (s.provider !== 'chat.example' || s.account !== ACCOUNT || s.version !== version) return 'bad_statement';
  const valid = s.issuedAt >= enrol.notBefore && s.issuedAt <= enrol.notAfter;
  return valid ? 'bad_provider_signature' : 'credential_not_valid';
}

/** Runs every mutant and lists those whose code is not the expected one (an accepted one shows as 'no error'). */
function mismatches(ms: Mutant[], expected: (m: Mutant) => string, verify: (v: any) => unknown) {
  return ms
    .map((m) => ({ path: m.path, want: expected(m), got: errorCode(() => verify(m.value)) }))
    .filter((r) => r.want !== r.got);
}

const ACCOUNT = 'tel:+15550100000';
const OTHERS = [1, 2, 3, 4, 5, 6].map((i) => `tel:+1555010010${i}`);

/**
 * chat.example and talk.example enrolled; ACCOUNT at chat.example in versions 1 and 2, absent at talk.example;
 * then six other accounts at chat.example (so that map proofs have steps), one epoch each.
 */
async function build() {
  const t = await openTestDirectory();
  const chat = await enrolProvider(t, 'chat.example');
  const chatOnly = await proveDiscovery(t.dir, ACCOUNT); // the credential set of one provider
  await enrolProvider(t, 'talk.example');
  const put = (account: string, v: number) =>
    publish(t, chat.sign(statementFor(chat, account, v, [identityKey()], t.clock.now)));
  await put(ACCOUNT, 1);
  const v1 = t.verifier.verifyLookup(await proveLookup(t.dir, 'chat.example', ACCOUNT), 'chat.example', ACCOUNT);
  await put(ACCOUNT, 2);
  const earlier = await proveDiscovery(t.dir, ACCOUNT); // the same credential set, an older epoch
  const oldMonitor = await proveMonitorCheck(t.dir, 'chat.example', ACCOUNT, 2);
  for (const a of OTHERS) await put(a, 1);
  const now = t.verifier.verifyLookup(await proveLookup(t.dir, 'chat.example', ACCOUNT), 'chat.example', ACCOUNT);
  return {
    t,
    chatOnly,
    earlier,
    oldMonitor,
    discovery: await proveDiscovery(t.dir, ACCOUNT),
    otherDiscovery: await proveDiscovery(t.dir, OTHERS[0]),
    notEnrolled: await proveLookup(t.dir, 'other.example', ACCOUNT),
    monitor: await proveMonitorCheck(t.dir, 'chat.example', ACCOUNT, 2),
    otherMonitor: await proveMonitorCheck(t.dir, 'chat.example', OTHERS[0], 1),
    leaf1: { label: v1.label, version: 1, historyHash: v1.historyHash! },
    leaf: { label: now.label, version: 2, historyHash: now.historyHash! },
  };
}

let w: Awaited<ReturnType<typeof build>>;
beforeAll(async () => {
  w = await build();
}, 120_000);

const unchangedOf = (m: MonitorProof) => ('unchanged' in m ? m.unchanged : expect.fail('not an unchanged proof'));

describe('a discovery proof', () => {
  const verify = (d: DiscoveryProof) => w.t.verifier.verifyDiscovery(d, ACCOUNT);

  it('is refused with the exact code for every bit, character and number tampered', () => {
    const d = w.discovery;
    expect(d.lookups.map((l) => [l.provider, Object.keys(l).includes('present')])).toEqual([
      ['chat.example', true],
      ['talk.example', false],
    ]);
    expect(d.lookups.every((l) => l.map.path.length > 0)).toBe(true);
    const chat = d.lookups[0].present!;
    const enrol = decodeEntry(chat.enrolment!.entry) as EnrolmentEntry;
    const expected = ({ path, value }: Mutant) =>
      /^\.lookups\[0\]\.present\.statement\[/.test(path)
        ? statementCode((value as DiscoveryProof).lookups[0].present!.statement!, chat.version, enrol)
        : ruleCode(DISCOVERY_RULES, path);
    const ms = mutants(d);
    expect(mismatches(ms, expected, verify)).toEqual([]);
    const codes = new Set(ms.map(expected));
    expect(codes).toEqual(new Set([...DISCOVERY_RULES.map(([, c]) => c), 'credential_not_valid']));
  }, 120_000);

  it('is refused when lookups or credentials come from another epoch, account or provider set', () => {
    const d = w.discovery;
    const [chat, talk] = d.lookups;
    const [old, L] = [w.earlier.lookups, (...lookups: LookupProof[]) => ({ ...d, lookups })];
    const C = (credentials: Uint8Array[]) => ({ ...d, credentials });
    const cases: [string, DiscoveryProof, string][] = [
      ['no lookup', L(), 'bad_discovery'],
      ['a provider left out', L(talk), 'bad_discovery'],
      ['a provider not in the set added', L(chat, talk, w.notEnrolled), 'bad_discovery'],
      ['a provider twice', L(chat, talk, talk), 'bad_discovery'],
      ['the second lookup of an older epoch', L(chat, old[1]), 'bad_discovery'],
      ['the first lookup of an older epoch', L(old[0], talk), 'bad_discovery'],
      ["an older epoch's proof", L(chat, { ...talk, epoch: old[0].epoch }), 'bad_discovery'],
      ["an older set's lookups", L(...w.chatOnly.lookups), 'bad_discovery'],
      ['an older, smaller set', C(w.chatOnly.credentials), 'bad_discovery'],
      ['the set reordered', C([...d.credentials].reverse()), 'bad_discovery'],
      ['an entry twice', C([...d.credentials, d.credentials[0]]), 'bad_discovery'],
      ["another account's discovery", w.otherDiscovery, 'wrong_account'],
      ["another account's lookups under this account's name", L(...w.otherDiscovery.lookups), 'bad_discovery'],
      ["talk's lookup named chat's", L({ ...talk, provider: 'chat.example' }, talk), 'bad_vrf'],
      ['the VRF proofs swapped', L({ ...chat, vrfProof: talk.vrfProof }, talk), 'bad_vrf'],
      ['the map proofs swapped', L({ ...chat, map: talk.map }, talk), 'bad_map_proof'],
      ["talk's absence for chat", L({ ...chat, present: undefined, absent: talk.absent }, talk), 'bad_enrolment'],
      ["chat's statement for talk", L(chat, { ...talk, absent: undefined, present: chat.present }), 'bad_statement'],
    ];
    expect(cases.map(([what, p]) => [what, errorCode(() => verify(p))])).toEqual(cases.map(([what, , c]) => [what, c]));
  });

  it('accepts its lookups in another order, or an older epoch with the same set (freshness is the client’s)', () => {
    // The verifier keys the lookups by provider, so their order carries nothing.
    const reordered = verify({ ...w.discovery, lookups: [...w.discovery.lookups].reverse() });
    expect([...reordered].map(([p, r]) => [p, r.status]).sort()).toEqual([
      ['chat.example', 'present'],
      ['talk.example', 'absent'],
    ]);
    // A whole older discovery is valid for its own epoch; a client refuses it by the checkpoint it kept.
    const older = verify({ ...w.earlier, credentials: w.discovery.credentials });
    expect(older.get('chat.example')!.epoch).toBeLessThan(verify(w.discovery).get('chat.example')!.epoch);
  });
});

describe("the owner's daily check", () => {
  const verify = (v: { unchanged: Unchanged; leaf: MapLeaf }) => w.t.verifier.verifyUnchanged(v.unchanged, v.leaf);

  it('is refused with the exact code for every bit, character and number tampered, and for the leaf remembered', () => {
    const unchanged = unchangedOf(w.monitor);
    expect(verify({ unchanged, leaf: w.leaf }).epoch).toBeGreaterThan(0);
    expect(unchanged.map.path.length).toBeGreaterThan(0);
    const ms = mutants({ unchanged, leaf: w.leaf });
    expect(mismatches(ms, (m) => ruleCode(MONITOR_RULES, m.path), verify)).toEqual([]);
    expect(new Set(ms.map((m) => ruleCode(MONITOR_RULES, m.path)))).toEqual(new Set(MONITOR_RULES.map(([, c]) => c)));
  });

  it('is refused with parts of another epoch or another account, and accepts a whole older one', () => {
    const u = unchangedOf(w.monitor);
    const old = unchangedOf(w.oldMonitor);
    const other = unchangedOf(w.otherMonitor);
    const cases: [string, Unchanged, MapLeaf, string][] = [
      ["another account's proof", other, w.leaf, 'bad_map_proof'],
      ["another account's map", { ...u, map: other.map }, w.leaf, 'bad_map_proof'],
      ['an older epoch with the current map', { ...u, epoch: old.epoch }, w.leaf, 'bad_map_proof'],
      ['the current epoch with an older map', { ...u, map: old.map }, w.leaf, 'bad_map_proof'],
      ['the path reversed', { ...u, map: { ...u.map, path: [...u.map.path].reverse() } }, w.leaf, 'bad_map_proof'],
      ['an absence claimed', { ...u, map: { ...u.map, kind: 'absent', terminal: null } }, w.leaf, 'bad_map_proof'],
      ["another account's leaf label", u, { ...w.leaf, label: w.leaf1.label.map((b) => b ^ 0xff) }, 'bad_map_proof'],
      ['the previous version remembered', u, w.leaf1, 'bad_map_proof'],
      // A whole older check is valid for its epoch: the client refuses it as a rollback (owner-monitor.test.ts).
      ['a whole older check', old, w.leaf, 'no error'],
    ];
    const got = cases.map(([what, unchanged, leaf]) => [what, errorCode(() => verify({ unchanged, leaf }))]);
    expect(got).toEqual(cases.map(([what, , , c]) => [what, c]));
  });
});

/** A client whose directory answers every request with `json`. */
function clientAnswering(t: TestDirectory, json: unknown) {
  return new LookupClient({
    baseUrl: 'http://kt.test',
    pins: { origin: ORIGIN, logKey: parseVerifierKey(logSignerForTests.verifierKey), vrfKey: t.dir.vrfPublicKey },
    fetch: async () => Response.json(json),
  });
}

/** The code of the error a promise rejects with, or 'no error'. */
async function codeOfAsync(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'no error',
    (e: { code?: string }) => e.code ?? 'untyped',
  );
}

describe('the lookup client', () => {
  const monitorCode = (m: MonitorProof, leaf: MapLeaf) =>
    codeOfAsync(clientAnswering(w.t, monitorToJson(m)).monitor('chat.example', ACCOUNT, leaf));

  it('relays the daily check’s codes for a tampered unchanged answer', async () => {
    const u = unchangedOf(w.monitor);
    const flip = (b: Uint8Array) => b.map((x, i) => (i === 3 ? x ^ 4 : x));
    // The same head entry with another head proof: encoded as it is, not from the JSON cached for the genuine one.
    const epoch = (e: Partial<EpochProof>) => ({ unchanged: { ...u, epoch: { ...u.epoch, ...e } } });
    const path = u.map.path.map((p) => ({ ...p, sibling: flip(p.sibling) }));
    const tampered: [MonitorProof, string][] = [
      [epoch({ checkpoint: u.epoch.checkpoint.replace(/\d/, 'x') }), 'bad_checkpoint'],
      [epoch({ headEntry: flip(u.epoch.headEntry) }), 'bad_epoch_inclusion'],
      [epoch({ headProof: u.epoch.headProof.map(flip) }), 'bad_epoch_inclusion'],
      [{ unchanged: { ...u, map: { ...u.map, path } } }, 'bad_map_proof'],
      [w.otherMonitor, 'bad_map_proof'],
      [w.monitor, 'no error'],
    ];
    for (const [m, code] of tampered) expect(await monitorCode(m, w.leaf)).toBe(code);
  });

  it('refuses a history answer that starts elsewhere (wrong_history) or is of another label (wrong_account)', async () => {
    const history = await proveHistory(w.t.dir, 'chat.example', ACCOUNT, 1);
    const other = await proveHistory(w.t.dir, 'chat.example', OTHERS[0], 0);
    const flipped = { ...w.leaf1, label: w.leaf1.label.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    expect(await monitorCode({ history }, w.leaf1)).toBe('no error');
    expect(await monitorCode({ history: { ...history, since: 0 } }, w.leaf1)).toBe('wrong_history');
    expect(await monitorCode({ history: { ...history, since: 2 } }, w.leaf1)).toBe('wrong_history');
    expect(await monitorCode({ history }, flipped)).toBe('wrong_account');
    expect(await monitorCode({ history: other }, { ...w.leaf1, version: 0 })).toBe('wrong_account');
    const ask = (h: typeof history) =>
      codeOfAsync(clientAnswering(w.t, historyToJson(h)).history('chat.example', ACCOUNT, 1, w.leaf1.historyHash));
    expect(await ask(history)).toBe('no error');
    expect(await ask({ ...history, since: 0 })).toBe('wrong_history');
    expect(await ask({ ...other, since: 1 })).toBe('wrong_account');
  });
});
