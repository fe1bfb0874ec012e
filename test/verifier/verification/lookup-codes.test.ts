/**
 * The exact code of every refusal of `verifyLookup` and `verifyHistory` (verifier/verification/lookup-verifier.ts),
 * where lookup-verifier.test.ts checks only that a VerifyError is thrown: one bit of every byte, every character
 * of every string and every number moved by one, in a present, an absent and a not-enrolled lookup and in a
 * history (with the hash the owner remembers, and one of a deleted account whose versions are erased), each
 * mapped by a table from the field to the code; then whole parts swapped: epoch proofs whose head is not the
 * checkpoint's last entry (`epoch_not_last`) or not an epoch head (`bad_epoch_head`, in trees signed by the log
 * key), statements re-signed outside their credential's validity (`credential_not_valid`), and histories with
 * another account's versions or lookup, another epoch's lookup, or a version erased without a later deletion.
 * Accepted, as it may be: a whole history with the lookup of an older epoch at the same version (valid for
 * its epoch; the client's kept checkpoint refuses it as a rollback).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { proveHistory, proveLookup } from '../../../log/directory/proof-builder.js';
import {
  commitment,
  HISTORY_ZERO,
  historyHash,
  signedStatementBytes,
} from '../../../verifier/formats/directory-hashes.js';
import { decodeEntry, type EnrolmentEntry } from '../../../verifier/formats/entries.js';
import { signCheckpoint } from '../../../verifier/formats/checkpoint.js';
import type { EpochProof, HistoryProof, LookupProof, VersionProof } from '../../../verifier/formats/proofs.js';
import { decodeStatement } from '../../../verifier/formats/statement-binary.js';
import { proveRecord } from '../../../verifier/formats/tlog.js';
import { utf8 } from '../../../wasm-free-crypto/bytes.js';
import { entriesOf } from '../../attacks/malicious.js';
import { enrolProvider, logSignerForTests, openTestDirectory, publishVersion } from '../../helpers/directory.js';
import { errorCode } from '../../helpers/error-code.js';
import { mutants, type Mutant } from '../../helpers/mutants.js';
import { MemoryHashStore, ORIGIN, rootOf } from '../../helpers/log.js';

/** A lookup's field -> code, first match wins, in the verifier's order (statement bytes: `statementCode`). */
const LOOKUP_RULES: [RegExp, string][] = [
  [/^\.(provider|account)@/, 'wrong_account'],
  [/^\.vrfProof\[/, 'bad_vrf'],
  [/^\.epoch\.checkpoint@/, 'bad_checkpoint'],
  [/^\.epoch\.headIndex[+-]1$/, 'epoch_not_last'],
  [/^\.epoch\.head(Entry|Proof)/, 'bad_epoch_inclusion'],
  [/^\.map\.|^\.present\.(opening|previousHistory)\[/, 'bad_map_proof'],
  [/^\.present\.version[+-]1$/, 'bad_statement'], // the statement names version 3 (not 1: no zero-hash rule)
  [/^\.present\.signature\[/, 'bad_provider_signature'],
  [/^\.(present|absent)\.enrolment\./, 'bad_enrolment'],
  [/^\.notEnrolled\.credentials/, 'bad_not_enrolled'],
];

/** A history's (`{ proof, sinceHistory }`) field -> code; `.proof.lookup` is the lookup's table. */
const HISTORY_RULES: [RegExp, string][] = [
  [/^\.sinceHistory\[|^\.proof\.since[+-]1$|^\.proof\.versions (dropped|extended)$/, 'bad_history'],
  [/^\.proof\.versions\[\d+\]\.(version[+-]1|opening\[|commitment\[)/, 'bad_history'],
  [/^\.proof\.versions\[\d+\]\.signature\[/, 'bad_provider_signature'],
  [/^\.proof\.versions\[\d+\]\.enrolment\./, 'bad_enrolment'],
];

function ruleCode(rules: [RegExp, string][], path: string): string {
  return rules.find(([re]) => re.test(path))?.[1] ?? `no rule for ${path}`;
}

const enrolOf = (v: VersionProof) => decodeEntry(v.enrolment!.entry) as EnrolmentEntry;

/** A version with tampered statement bytes: its code in the verifier's order (naming, validity, signature). */
function statementCode(v: VersionProof, account: string): string {
  const s = errorCode(() => decodeStatement(v.statement!)) === 'no error' ? decodeStatement(v.statement!) : null;
  if (s?.provider !== 'chat.example' || s.account !== account || s.version !== v.version) return 'bad_statement';
  const { notBefore, notAfter } = enrolOf(v);
  return s.issuedAt >= notBefore && s.issuedAt <= notAfter ? 'bad_provider_signature' : 'credential_not_valid';
}

/** The expected code of a lookup mutant (paths relative to the lookup). */
function lookupCode(path: string, mutated: LookupProof, account: string): string {
  const p = mutated.present;
  return p && /^\.present\.statement\[/.test(path) ? statementCode(p, account) : ruleCode(LOOKUP_RULES, path);
}

/** Runs every mutant and lists those whose code is not the expected one (an accepted one shows as 'no error'). */
function mismatches(ms: Mutant[], expected: (m: Mutant) => string, verify: (v: any) => unknown) {
  return ms
    .map((m) => ({ path: m.path, want: expected(m), got: errorCode(() => verify(m.value)) }))
    .filter((r) => r.want !== r.got);
}

const ALICE = 'alice@chat.example';
const BOB = 'bob@chat.example';
const DAVE = 'dave@chat.example'; // versions 1, 2 (a deletion, erasing 1) and 3
const GONE = 'gone@chat.example'; // versions 1 and 2 (a deletion, erasing 1)

/**
 * chat.example and talk.example enrolled; alice and bob at chat.example in versions 1..3, dave and gone as
 * above, six more accounts (so that map proofs have steps); lookups and histories kept along the way.
 */
async function build() {
  const t = await openTestDirectory();
  const chat = await enrolProvider(t, 'chat.example');
  await enrolProvider(t, 'talk.example');
  let at2: LookupProof | undefined; // an older epoch, alice at version 2
  for (let v = 1; v <= 3; v++) {
    for (const a of [ALICE, BOB]) await publishVersion(t, chat, a, v);
    if (v === 2) at2 = await proveLookup(t.dir, 'chat.example', ALICE);
  }
  const oldLookup = await proveLookup(t.dir, 'chat.example', ALICE); // an older epoch, alice at 3
  const oldHistory = await proveHistory(t.dir, 'chat.example', ALICE, 0);
  for (const v of [1, 2, 3]) await publishVersion(t, chat, DAVE, v, v === 2);
  for (const v of [1, 2]) await publishVersion(t, chat, GONE, v, v === 2);
  for (let i = 0; i < 6; i++) await publishVersion(t, chat, `u${i}@chat.example`, 1);
  const history = (a: string, since: number) => proveHistory(t.dir, 'chat.example', a, since);
  return {
    t,
    chat,
    at2: at2!,
    oldLookup,
    oldHistory,
    present: await proveLookup(t.dir, 'chat.example', ALICE),
    absent: await proveLookup(t.dir, 'chat.example', 'nobody@chat.example'),
    notEnrolled: await proveLookup(t.dir, 'chat.exmaple', ALICE),
    talkAbsent: await proveLookup(t.dir, 'talk.example', ALICE),
    alice0: await history(ALICE, 0),
    alice1: await history(ALICE, 1),
    bob0: await history(BOB, 0),
    dave0: await history(DAVE, 0),
    gone0: await history(GONE, 0),
    entries: await entriesOf(t),
  };
}

let w: Awaited<ReturnType<typeof build>>;
beforeAll(async () => {
  w = await build();
}, 120_000);

const lookupAs = (provider: string, account: string) => (p: LookupProof) =>
  w.t.verifier.verifyLookup(p, provider, account);
const historyOf = (account: string) => (h: { proof: HistoryProof; sinceHistory: Uint8Array }) =>
  w.t.verifier.verifyHistory(h.proof, 'chat.example', account, h.sinceHistory);

/** An epoch proof of a tree of the log's first `n` entries, plus `extra`, signed by the log key. */
function signedTree(n: number, extra: Uint8Array[] = []): EpochProof {
  const entries = [...w.entries.slice(0, n), ...extra];
  const store = new MemoryHashStore();
  for (const e of entries) store.append(e);
  const size = entries.length;
  return {
    checkpoint: signCheckpoint({ origin: ORIGIN, size, rootHash: rootOf(entries) }, logSignerForTests),
    headIndex: size - 1,
    headEntry: entries[size - 1],
    headProof: proveRecord(size, size - 1, store),
  };
}

describe('a lookup', () => {
  it('is refused with the exact code for every bit, character and number tampered', () => {
    const seen = new Set<string>();
    for (const [what, proof, provider, account, status] of [
      ['present', w.present, 'chat.example', ALICE, 'present'],
      ['absent', w.absent, 'chat.example', 'nobody@chat.example', 'absent'],
      ['not-enrolled', w.notEnrolled, 'chat.exmaple', ALICE, 'not_enrolled'],
    ] as const) {
      expect(lookupAs(provider, account)(proof).status, what).toBe(status);
      expect(proof.map.path.length, what).toBeGreaterThan(0);
      const expected = (m: Mutant) => lookupCode(m.path, m.value as LookupProof, account);
      const ms = mutants(proof);
      for (const m of ms) seen.add(expected(m));
      expect(mismatches(ms, expected, lookupAs(provider, account)), what).toEqual([]);
    }
    expect(seen).toEqual(new Set([...LOOKUP_RULES.map(([, c]) => c), 'credential_not_valid']));
  }, 240_000);

  it('is refused when its epoch head is not the last entry of the signed tree, or not an epoch head', () => {
    const p = w.present;
    const old = w.oldLookup.epoch;
    const at = (epoch: EpochProof) => errorCode(() => lookupAs('chat.example', ALICE)({ ...p, epoch }));
    const typeAt = (i: number) => decodeEntry(w.entries[i]).type;
    const update = w.entries.findIndex((_, i) => typeAt(i) === 'update');
    const enrol = w.entries.findIndex((_, i) => typeAt(i) === 'enrol');
    expect([update, enrol].every((i) => i > 0)).toBe(true);
    const cases: [string, EpochProof, string][] = [
      ['an older head in the newest checkpoint', { ...old, checkpoint: p.epoch.checkpoint }, 'epoch_not_last'],
      ['the newest head in an older checkpoint', { ...p.epoch, checkpoint: old.checkpoint }, 'epoch_not_last'],
      ["an older epoch's whole proof", old, 'bad_map_proof'],
      ['a signed tree ending in an update', signedTree(update + 1), 'bad_epoch_head'],
      ['a signed tree ending in an enrolment', signedTree(enrol + 1), 'bad_epoch_head'],
      ['a signed tree ending in bytes no entry decodes', signedTree(4, [utf8('no entry')]), 'bad_epoch_head'],
      ['a signed tree ending in an epoch head (the genuine)', signedTree(w.entries.length), 'no error'],
    ];
    expect(cases.map(([what, e]) => [what, at(e)])).toEqual(cases.map(([what, , c]) => [what, c]));
  });

  it("is refused when its statement is signed outside its credential's validity, or of another provider", () => {
    const p = w.present.present!;
    const enrol = enrolOf(p);
    const resigned = (issuedAt: number) => {
      const s = w.chat.sign({ ...decodeStatement(p.statement!), issuedAt });
      return { ...w.present, present: { ...p, ...s } };
    };
    const talk = w.talkAbsent.absent!.enrolment;
    const cases: [string, LookupProof, string][] = [
      ['issued after notAfter', resigned(enrol.notAfter + 1), 'credential_not_valid'],
      ['issued before notBefore', resigned(enrol.notBefore - 1), 'credential_not_valid'],
      ['issued within, re-signed (another commitment)', resigned(enrol.notBefore + 1), 'bad_map_proof'],
      ["another provider's enrolment", { ...w.present, present: { ...p, enrolment: talk } }, 'bad_enrolment'],
      ["another account's proof", w.absent, 'wrong_account'],
      ['the statement erased', { ...w.present, present: { ...p, statement: undefined } }, 'bad_statement'],
    ];
    const got = cases.map(([what, l]) => [what, errorCode(() => lookupAs('chat.example', ALICE)(l))]);
    expect(got).toEqual(cases.map(([what, , c]) => [what, c]));
  });
});

describe('a history', () => {
  const c = (v: VersionProof) => commitment(v.opening!, signedStatementBytes(v.statement!, v.signature!));
  const erased = (v: VersionProof): VersionProof => ({ version: v.version, commitment: c(v) });

  it('is refused with the exact code for every bit, character and number tampered', () => {
    // Since version 1, from the history hash the owner remembers for it: version 2, then the lookup of 3.
    const alice = { proof: w.alice1, sinceHistory: historyHash(HISTORY_ZERO, 1, c(w.alice0.versions[0])) };
    expect(alice.proof.versions).toHaveLength(1);
    const seen = new Set<string>();
    const dave = { proof: w.dave0, sinceHistory: HISTORY_ZERO };
    expect(historyOf(DAVE)(dave).statements.map((s) => s?.status)).toEqual([undefined, 'deleted', 'active']);
    for (const [h, account, only] of [
      [alice, ALICE, false],
      [dave, DAVE, true], // its erased version, and the deletion: the lookup's fields are the first's
    ] as const) {
      expect(() => historyOf(account)(h)).not.toThrow();
      const expected = ({ path, value }: Mutant) => {
        const m = (value as { proof: HistoryProof }).proof;
        const lookup = /^\.proof\.lookup(.*)$/.exec(path);
        if (lookup) return lookupCode(lookup[1], m.lookup, account);
        const i = /^\.proof\.versions\[(\d+)\]\.statement\[/.exec(path);
        return i ? statementCode(m.versions[Number(i[1])], account) : ruleCode(HISTORY_RULES, path);
      };
      const parts = only
        ? { proof: { since: h.proof.since, versions: h.proof.versions }, sinceHistory: h.sinceHistory }
        : h;
      const ms = mutants(parts).map(({ path, value }) => {
        const v = value as typeof parts;
        return { path, value: { proof: { ...h.proof, ...v.proof }, sinceHistory: v.sinceHistory } };
      });
      for (const m of ms) seen.add(expected(m));
      expect(mismatches(ms, expected, historyOf(account)), account).toEqual([]);
    }
    expect(seen).toEqual(
      new Set([...LOOKUP_RULES.slice(0, -1), ...HISTORY_RULES].map(([, c]) => c).concat('credential_not_valid')),
    );
  }, 240_000);

  it('is refused with parts of another account, another epoch, or a version erased without a deletion', () => {
    const [a, d, g] = [w.alice0, w.dave0, w.gone0];
    const tombstone = d.versions[1];
    const latestErased = (h: HistoryProof) => ({
      ...h,
      lookup: { ...h.lookup, present: { ...h.lookup.present!, statement: undefined } },
    });
    expect(historyOf(GONE)({ proof: g, sinceHistory: HISTORY_ZERO }).statements.map((s) => s?.status)).toEqual([
      undefined,
      'deleted',
    ]);
    const cases: [string, HistoryProof, string, string][] = [
      ["bob's versions", { ...a, versions: w.bob0.versions }, ALICE, 'bad_statement'],
      ["bob's lookup", { ...a, lookup: w.bob0.lookup }, ALICE, 'wrong_account'],
      ["bob's whole history", w.bob0, ALICE, 'wrong_account'],
      ['the lookup of an epoch at version 2', { ...a, lookup: w.at2 }, ALICE, 'bad_history'],
      ['since 1 from the zero hash', w.alice1, ALICE, 'bad_history'],
      ['the latest version erased', latestErased(a), ALICE, 'bad_statement'],
      [
        'version 2 erased, no deletion after',
        { ...a, versions: [a.versions[0], erased(a.versions[1])] },
        ALICE,
        'bad_history',
      ],
      ["dave's deletion erased", { ...d, versions: [d.versions[0], erased(tombstone)] }, DAVE, 'bad_history'],
      ["gone's erased version in dave's", { ...d, versions: [g.versions[0], tombstone] }, DAVE, 'bad_history'],
      ["gone's deletion (its latest) erased", latestErased(g), GONE, 'bad_statement'],
      // Valid for its own epoch, as a whole: the client refuses it by the checkpoint it kept (a rollback).
      ["an older epoch's lookup at the same version", { ...a, lookup: w.oldLookup }, ALICE, 'no error'],
      ["an older epoch's whole history", w.oldHistory, ALICE, 'no error'],
    ];
    const got = cases.map(([what, proof, account]) => [
      what,
      errorCode(() => historyOf(account)({ proof, sinceHistory: HISTORY_ZERO })),
    ]);
    expect(got).toEqual(cases.map(([what, , , code]) => [what, code]));
  });
});
