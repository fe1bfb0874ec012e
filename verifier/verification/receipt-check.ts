/**
 * What a client holding a publication receipt (verifier/formats/receipt.ts) learns from a later lookup or
 * history proof of the same account (docs/PROTOCOL.md sections 7 and 19): `checkReceipt` verifies the
 * receipt under the pinned log key and the proof with the pins, as of the proof's own checkpoint (freshness
 * is not the question), and says whether the promise is
 * - `honoured`: version `v` of the account is the receipted statement;
 * - `broken`: version `v` is another statement, or the account is still below `v` in an epoch whose time is
 *   after the receipt's deadline (`brokenReceiptEvidence` then writes the `broken_receipt` evidence file);
 * - `pending`: the account is below `v`, and the proof's epoch is not after the deadline;
 * - `undetermined`: the proof does not show version `v` (a lookup of a later version: ask for the history;
 *   or `v` was erased by a later deletion).
 */
import { equalBytes, fromBase64, toBase64 } from '../../wasm-free-crypto/bytes.js';
import { HISTORY_ZERO } from '../formats/directory-hashes.js';
import { historyToJson, lookupToJson } from '../formats/proof-json.js';
import type { HistoryProof, LookupProof } from '../formats/proofs.js';
import { openReceipt, receiptStatementHash, type Receipt } from '../formats/receipt.js';
import { VerifyError } from './errors.js';
import { LookupVerifier, type LookupResult, type Pins } from './lookup-verifier.js';

export type ReceiptStatus = 'honoured' | 'broken' | 'pending' | 'undetermined';

/** A lookup proof, or a history proof with the history hash of its `since` version (zeros for since 0). */
export type ReceiptProof = { lookup: LookupProof } | { history: HistoryProof; sinceHistory?: Uint8Array };

export interface ReceiptCheck {
  status: ReceiptStatus;
  receipt: Receipt;
  /** The latest version the proof shows (0 if none), and its epoch's time (ms). */
  latestVersion: number;
  epochTime: number;
  reason: string;
}

/** The verified lookup and the statement bytes the proof shows for each version (undefined where erased). */
function verifiedVersions(
  proof: ReceiptProof,
  provider: string,
  account: string,
  pins: Pins,
): { lookup: LookupResult; from: number; statements: (Uint8Array | undefined)[] } {
  const verifier = new LookupVerifier({ origin: pins.origin, logKey: pins.logKey, vrfKey: pins.vrfKey });
  if ('lookup' in proof) {
    const lookup = verifier.verifyLookup(proof.lookup, provider, account);
    const latest = proof.lookup.present;
    return { lookup, from: latest?.version ?? 0, statements: latest ? [latest.statement] : [] };
  }
  const h = proof.history;
  const { lookup } = verifier.verifyHistory(h, provider, account, proof.sinceHistory ?? HISTORY_ZERO);
  const latest = h.lookup.present;
  const statements = [...h.versions.map((v) => v.statement), ...(latest ? [latest.statement] : [])];
  return { lookup, from: h.since + 1, statements };
}

/** Checks a receipt note against a proof of (provider, account); see the file comment. */
export function checkReceipt(
  receiptNote: string,
  proof: ReceiptProof,
  provider: string,
  account: string,
  pins: Pins,
): ReceiptCheck {
  const receipt = openReceipt(receiptNote, pins.logKey);
  const { lookup, from, statements } = verifiedVersions(proof, provider, account, pins);
  if (!equalBytes(lookup.label, receipt.label))
    throw new VerifyError('wrong_account', 'the receipt is for another account than the proof');
  const latestVersion = lookup.statement?.version ?? 0;
  const epochTime = lookup.head.time;
  const base = { receipt, latestVersion, epochTime };
  const v = receipt.version;
  if (latestVersion < v) {
    const late = epochTime > receipt.deadline;
    return {
      ...base,
      status: late ? 'broken' : 'pending',
      reason: `the account is at version ${latestVersion} in an epoch of ${new Date(epochTime).toISOString()}, ${late ? 'after' : 'not after'} the deadline ${new Date(receipt.deadline).toISOString()} for version ${v}`,
    };
  }
  const shown = v >= from && v < from + statements.length;
  const statement = shown ? statements[v - from] : undefined;
  if (!statement)
    return {
      ...base,
      status: 'undetermined',
      reason: shown
        ? `version ${v} was erased by a later deletion`
        : `the proof does not show version ${v}: ask for the history since version ${v - 1}`,
    };
  const same = equalBytes(receiptStatementHash(statement), receipt.statementHash);
  return {
    ...base,
    status: same ? 'honoured' : 'broken',
    reason: same
      ? `version ${v} is the receipted statement`
      : `version ${v} is another statement than the receipted one`,
  };
}

/** The `broken_receipt` evidence file (docs/PROTOCOL.md section 19) of a check that found the receipt broken. */
export function brokenReceiptEvidence(o: {
  origin: string;
  /** The pinned log key as its verifier key string. */
  logKey: string;
  server: string;
  provider: string;
  account: string;
  receipt: string;
  proof: ReceiptProof;
  observedAt?: Date;
}): Record<string, unknown> {
  const proofFields =
    'lookup' in o.proof
      ? { lookup: lookupToJson(o.proof.lookup) }
      : {
          history: historyToJson(o.proof.history),
          ...(o.proof.sinceHistory ? { sinceHistory: toBase64(o.proof.sinceHistory) } : {}),
        };
  return {
    type: 'kt-evidence/v1',
    kind: 'broken_receipt',
    origin: o.origin,
    logKey: o.logKey,
    server: o.server,
    observedAt: (o.observedAt ?? new Date()).toISOString(),
    provider: o.provider,
    account: o.account,
    receipt: o.receipt,
    ...proofFields,
  };
}

/** The base64 `sinceHistory` of an evidence file, if any. */
export function sinceHistoryOf(v: unknown): Uint8Array | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new VerifyError('evidence_invalid', 'sinceHistory must be base64');
  const bytes = fromBase64(v);
  if (bytes.length !== 32) throw new VerifyError('evidence_invalid', 'sinceHistory must be 32 bytes');
  return bytes;
}
