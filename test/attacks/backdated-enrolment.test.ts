/**
 * An enrolment's time is the operator's word (docs/PROTOCOL.md section 14): the chain must validate at the
 * entry's time and at the time of the epoch head that commits it. Here an operator enrols a certificate that
 * has expired (whose key may have leaked since) by dating the entry inside the certificate's validity: the
 * chain passes at the entry's time, and only the head's time, which never goes back and by which clients judge
 * freshness, gives it away (`bad_enrolment`). The honest directory refuses to log an enrolment whose chain
 * expired while it waited in the queue (`cert_expired`), and what it logs passes the audit.
 */
import { describe, expect, it } from 'vitest';
import { checkEnrolment } from '../../verifier/enrolment/enrolment-check.js';
import { decodeEntry, encodeEntry, type EnrolmentEntry } from '../../verifier/formats/entries.js';
import { enrolProvider, identityKey, openTestDirectory, statementFor } from '../helpers/directory.js';
import { makeLeaf, makeRoot } from '../helpers/pki.js';
import { entriesOf, fakeLog, parties, serverOf } from './malicious.js';

const DAY = 86_400_000;
const NOW = Math.floor(Date.now() / 1000) * 1000; // X.509 times have whole seconds

/** A test directory at `at` with a provider whose leaf is valid from 100 days before NOW to `notAfter`. */
async function directoryWithLeaf(at: number, notAfter: number) {
  const root = await makeRoot({ notBefore: NOW - 1000 * DAY, notAfter: NOW + 1000 * DAY });
  const t = await openTestDirectory({ root, clock: { now: at } });
  const leaf = await makeLeaf(root, { dnsNames: ['chat.example'], notBefore: NOW - 100 * DAY, notAfter });
  return { t, root, leaf };
}

/** The code of the error `p` rejects with, 'no error', or 'untyped'. */
async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code ?? 'untyped';
  }
}

/** `entries` with every epoch head from entry `from` on dated `time` (the heads' order kept). */
function headsRedated(entries: Uint8Array[], from: number, time: number): Uint8Array[] {
  return entries.map((bytes, i) => {
    const e = decodeEntry(bytes);
    return i >= from && e.type === 'epoch' ? encodeEntry({ ...e, time }) : bytes;
  });
}

describe('an enrolment dated inside an expired certificate’s validity', () => {
  it('passes at its own time, and the auditor refuses it at the committing head’s time', async () => {
    // The operator's log: the enrolment dated 10 days ago, when the leaf (expired 5 days ago) was valid; its
    // epoch head dated now. The map and credential set are the honest ones, the checkpoint signed by the log key.
    const { t, root, leaf } = await directoryWithLeaf(NOW - 10 * DAY, NOW - 5 * DAY);
    const { committed } = await t.dir.enrol([leaf.der]);
    await t.dir.closeEpoch();
    await committed;
    const honest = await entriesOf(t);
    const at = honest.findIndex((e) => decodeEntry(e).type === 'enrol');
    const entry = decodeEntry(honest[at]) as EnrolmentEntry;
    expect(entry.time).toBe(NOW - 10 * DAY);
    const forged = headsRedated(honest, at, NOW);
    const audit = (entries: Uint8Array[]) =>
      parties.auditor(fakeLog(entries), { enrolment: { trustedRoots: [root.der] } }).audit();
    // The chain validates at the entry's time: the check of that time alone (the rule before) passed it.
    await checkEnrolment(entry, [root.der], entry.time);
    expect(await errorCode(audit(forged))).toBe('bad_enrolment');
    await expect(audit(forged)).rejects.toThrow(`committed at ${new Date(NOW).toISOString()}`);
    // The same log with its true head times passes: the enrolment was valid when it was committed.
    expect((await audit(honest)).enrolments).toMatchObject({ checked: true, read: 1 });
    // And unchecked, the audit says so rather than passing it as checked.
    expect((await parties.auditor(fakeLog(forged)).audit()).enrolments).toMatchObject({ checked: false, read: 1 });
  });

  it("the caller's own check is given the committing head's time", async () => {
    const { t, leaf } = await directoryWithLeaf(NOW, NOW + 100 * DAY);
    const { committed } = await t.dir.enrol([leaf.der]);
    t.clock.now = NOW + 7_000;
    await t.dir.closeEpoch();
    const { logIndex } = await committed;
    const seen: [string, number, number][] = [];
    const check = async (e: EnrolmentEntry, index: number, committedAt: number) => {
      seen.push([e.providerId, index, committedAt]);
    };
    await parties.auditor(serverOf(t), { enrolment: { check } }).audit();
    expect(seen).toEqual([['chat.example', logIndex, NOW + 7_000]]);
  });
});

describe('the honest directory', () => {
  it('refuses an enrolment whose certificate expired while it was queued, and logs the rest of the epoch', async () => {
    const { t, root, leaf } = await directoryWithLeaf(NOW, NOW + 2_000);
    const talk = await enrolProvider(t, 'talk.example');
    const before = t.log.head.size;
    const { committed } = await t.dir.enrol([leaf.der]);
    const signed = talk.sign(statementFor(talk, 'ann@talk.example', 1, [identityKey()], NOW));
    const accepted = await t.dir.submit(signed.statement, signed.signature);
    t.clock.now = NOW + 3_000; // the epoch closes after the leaf's notAfter
    await t.dir.closeEpoch();
    expect(await errorCode(committed)).toBe('cert_expired');
    await expect(committed).rejects.toThrow(`chat.example's chain has expired at the epoch's time`);
    await accepted.committed;
    const logged = (await entriesOf(t)).slice(before).map((e) => decodeEntry(e).type);
    expect(logged).toEqual(['update', 'epoch']);
    expect(t.dir.credentials.all().map((c) => c.entry.providerId)).toEqual(['talk.example']);
    // What it logged passes the audit, and the certificate can no longer be enrolled.
    const audit = await parties.auditor(serverOf(t), { enrolment: { trustedRoots: [root.der] } }).audit();
    expect(audit.enrolments).toMatchObject({ checked: true, read: 1 });
    expect(await errorCode(t.dir.enrol([leaf.der]))).toBe('cert_expired');
  });

  it('logs the enrolment when the epoch closes at the last millisecond of the chain’s validity', async () => {
    const { t, root, leaf } = await directoryWithLeaf(NOW, NOW + 2_000);
    const { committed } = await t.dir.enrol([leaf.der]);
    t.clock.now = NOW + 2_000; // inclusive (RFC 5280 section 4.1.2.5)
    await t.dir.closeEpoch();
    expect((await committed).logIndex).toBeGreaterThan(0);
    const audit = await parties.auditor(serverOf(t), { enrolment: { trustedRoots: [root.der] } }).audit();
    expect(audit.enrolments).toMatchObject({ checked: true, read: 1 });
  });
});
