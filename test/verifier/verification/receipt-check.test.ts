/**
 * Receipts as a client checks them (verifier/verification/receipt-check.ts) and the `broken_receipt`
 * evidence (verifier/verification/evidence.ts): receipts issued by the HTTP app over a test directory, a
 * directory made to break its promise by losing its durable queue (what the queue exists to prevent), and
 * evidence files with bits flipped and fields swapped.
 */
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { ed25519NoteSigner, parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { proveHistory, proveLookup } from '../../../log/directory/proof-builder.js';
import { historyToJson, lookupToJson } from '../../../verifier/formats/proof-json.js';
import { openReceipt, parseReceipt, receiptStatementHash, signReceipt } from '../../../verifier/formats/receipt.js';
import { verifyEvidence } from '../../../verifier/verification/evidence.js';
import { brokenReceiptEvidence, checkReceipt } from '../../../verifier/verification/receipt-check.js';
import { ORIGIN } from '../../helpers/log.js';
import {
  appOver,
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  statementFor,
  type TestDirectory,
  type TestProvider,
} from '../../helpers/directory.js';

const ACCOUNT = 'r@chat.example';
const logKey = parseVerifierKey(logSignerForTests.verifierKey);

function pinsOf(t: TestDirectory) {
  return { origin: ORIGIN, logKey, vrfKey: t.dir.vrfPublicKey };
}

/** Posts one statement without wait through the app; returns its receipt note. */
async function receiptFor(t: TestDirectory, s: { statement: Uint8Array; signature: Uint8Array }): Promise<string> {
  const res = await appOver(t).request('/v1/bindings', {
    method: 'POST',
    body: JSON.stringify({ statements: [{ statement: toBase64(s.statement), signature: toBase64(s.signature) }] }),
    headers: { 'Content-Type': 'application/json' },
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { results: { receipt: string }[] }).results[0].receipt;
}

/** A directory that receipted `promised` for version 1, then lost its queue (a store without the queue). */
async function brokenPromise(): Promise<{
  t: TestDirectory;
  chat: TestProvider;
  receipt: string;
  promised: Uint8Array;
}> {
  const first = await openTestDirectory();
  const chat = await enrolProvider(first, 'chat.example');
  const s = chat.sign(statementFor(chat, ACCOUNT, 1, [identityKey()], first.clock.now));
  const receipt = await receiptFor(first, s);
  first.db.prepare('DELETE FROM dir_queue').run();
  return { t: await first.reopen(), chat, receipt, promised: s.statement };
}

function evidenceOf(t: TestDirectory, receipt: string, proof: Parameters<typeof brokenReceiptEvidence>[0]['proof']) {
  return brokenReceiptEvidence({
    origin: ORIGIN,
    logKey: logSignerForTests.verifierKey,
    server: 'http://test',
    provider: 'chat.example',
    account: ACCOUNT,
    receipt,
    proof,
  });
}

function invalid(e: unknown, t: TestDirectory): string {
  try {
    verifyEvidence(e, pinsOf(t));
    return 'no error';
  } catch (err) {
    return (err as { code?: string }).code ?? 'untyped';
  }
}

describe('publication receipts', () => {
  it('names the exact statement, the acceptance time and a deadline, signed by the log key', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const s = chat.sign(statementFor(chat, ACCOUNT, 1, [identityKey()], t.clock.now));
    const receipt = await receiptFor(t, s);
    const r = openReceipt(receipt, logKey);
    expect(r.version).toBe(1);
    expect(r.statementHash).toEqual(receiptStatementHash(s.statement));
    expect(r.acceptedAt).toBe(t.clock.now);
    expect(r.deadline).toBe(t.clock.now + 300_000);
    // The same statement again answers the same receipt, byte for byte.
    expect(await receiptFor(t, s)).toBe(receipt);
    expect(
      checkReceipt(
        receipt,
        { lookup: await proveLookup(t.dir, 'chat.example', ACCOUNT) },
        'chat.example',
        ACCOUNT,
        pinsOf(t),
      ).status,
    ).toBe('pending');
    await t.dir.closeEpoch(false);
    const lookup = await proveLookup(t.dir, 'chat.example', ACCOUNT);
    expect(checkReceipt(receipt, { lookup }, 'chat.example', ACCOUNT, pinsOf(t)).status).toBe('honoured');
    // A receipt by another key, and malformed texts, are refused.
    const other = signReceipt(r, ed25519NoteSigner(ORIGIN, new Uint8Array(32).fill(7)));
    expect(() => openReceipt(other, logKey)).toThrow(/not signed by the log key/);
    const text = `kt/v2/receipt\n${toBase64(r.label)}\n1\n${toBase64(r.statementHash)}\n${r.acceptedAt}\n${r.deadline}\n`;
    expect(parseReceipt(text)).toEqual(r);
    for (const bad of [
      text.replace('kt/v2', 'kt/v1'),
      text.replace('\n1\n', '\n01\n'),
      text.replace('\n1\n', '\n0\n'),
      text.replace(`\n${r.deadline}\n`, `\n${r.acceptedAt}\n`),
      text.slice(0, -1),
      `${text}extra\n`,
    ])
      expect(() => parseReceipt(bad), bad).toThrow();
  });

  it('proves broken_receipt when another statement holds the receipted version, at any time', async () => {
    const { t, chat, receipt } = await brokenPromise();
    const other = chat.sign(statementFor(chat, ACCOUNT, 1, [identityKey()], t.clock.now));
    await t.dir.submit(other.statement, other.signature);
    await t.dir.closeEpoch(false);
    const lookup = await proveLookup(t.dir, 'chat.example', ACCOUNT);
    expect(checkReceipt(receipt, { lookup }, 'chat.example', ACCOUNT, pinsOf(t)).status).toBe('broken');
    const evidence = evidenceOf(t, receipt, { lookup });
    expect(verifyEvidence(JSON.parse(JSON.stringify(evidence)), pinsOf(t))).toMatchObject({
      kind: 'broken_receipt',
      proven: true,
    });
    // The same, from a history proof.
    const history = await proveHistory(t.dir, 'chat.example', ACCOUNT, 0);
    expect(verifyEvidence(evidenceOf(t, receipt, { history }), pinsOf(t)).proven).toBe(true);
    // Another account's proof, a flipped receipt signature, a receipt by another key, both proofs, none.
    const elsewhere = await proveLookup(t.dir, 'chat.example', 'elsewhere@chat.example');
    expect(invalid({ ...evidence, lookup: lookupToJson(elsewhere), account: 'elsewhere@chat.example' }, t)).toBe(
      'evidence_invalid',
    );
    // A bit of the signature (past its key id) flipped, and the text changed under the same signature.
    const at = receipt.lastIndexOf(' ') + 30;
    const flipped = receipt.slice(0, at) + (receipt[at] === 'A' ? 'B' : 'A') + receipt.slice(at + 1);
    expect(invalid({ ...evidence, receipt: flipped }, t)).toBe('evidence_invalid');
    const r = openReceipt(receipt, logKey);
    const moved = receipt.replace(`\n${r.deadline}\n`, `\n${r.deadline + 1}\n`);
    expect(moved).not.toBe(receipt);
    expect(invalid({ ...evidence, receipt: moved }, t)).toBe('evidence_invalid');
    const forged = signReceipt(openReceipt(receipt, logKey), ed25519NoteSigner(ORIGIN, new Uint8Array(32).fill(9)));
    expect(invalid({ ...evidence, receipt: forged }, t)).toBe('evidence_invalid');
    expect(invalid({ ...evidence, history: historyToJson(history) }, t)).toBe('evidence_invalid');
    expect(invalid({ ...evidence, lookup: undefined }, t)).toBe('evidence_invalid');
    // A proof with a bit flipped does not verify.
    const json = lookupToJson(lookup) as { vrfProof: string };
    const vrf = json.vrfProof;
    const tampered = { ...json, vrfProof: (vrf[0] === 'A' ? 'B' : 'A') + vrf.slice(1) };
    expect(invalid({ ...evidence, lookup: tampered }, t)).not.toBe('no error');
  });

  it('proves broken_receipt when the version is still missing after the deadline, not before', async () => {
    const { t, receipt } = await brokenPromise();
    const deadline = openReceipt(receipt, logKey).deadline;
    await t.dir.closeEpoch(true);
    const before = await proveLookup(t.dir, 'chat.example', ACCOUNT);
    expect(checkReceipt(receipt, { lookup: before }, 'chat.example', ACCOUNT, pinsOf(t)).status).toBe('pending');
    expect(invalid(evidenceOf(t, receipt, { lookup: before }), t)).toBe('evidence_invalid');
    t.clock.now = deadline + 1;
    await t.dir.closeEpoch(true);
    const after = await proveLookup(t.dir, 'chat.example', ACCOUNT);
    expect(checkReceipt(receipt, { lookup: after }, 'chat.example', ACCOUNT, pinsOf(t)).status).toBe('broken');
    expect(verifyEvidence(evidenceOf(t, receipt, { lookup: after }), pinsOf(t)).proven).toBe(true);
  });

  it('refuses broken_receipt evidence of an honoured receipt', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const s = chat.sign(statementFor(chat, ACCOUNT, 1, [identityKey()], t.clock.now));
    const receipt = await receiptFor(t, s);
    await t.dir.closeEpoch(false);
    t.clock.now += 3_600_000;
    await t.dir.closeEpoch(true);
    const lookup = await proveLookup(t.dir, 'chat.example', ACCOUNT);
    expect(invalid(evidenceOf(t, receipt, { lookup }), t)).toBe('evidence_invalid');
    // Version 2 published later: a lookup no longer shows version 1 (undetermined), the history does.
    const v2 = chat.sign(statementFor(chat, ACCOUNT, 2, [identityKey()], t.clock.now));
    await t.dir.submit(v2.statement, v2.signature);
    await t.dir.closeEpoch(false);
    const later = await proveLookup(t.dir, 'chat.example', ACCOUNT);
    expect(checkReceipt(receipt, { lookup: later }, 'chat.example', ACCOUNT, pinsOf(t)).status).toBe('undetermined');
    const history = await proveHistory(t.dir, 'chat.example', ACCOUNT, 0);
    expect(checkReceipt(receipt, { history }, 'chat.example', ACCOUNT, pinsOf(t)).status).toBe('honoured');
    expect(invalid(evidenceOf(t, receipt, { history }), t)).toBe('evidence_invalid');
  });
});
