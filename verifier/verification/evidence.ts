/**
 * Evidence files (`kt-evidence/v1`): what a client, monitor or auditor wrote when the log or directory
 * misbehaved, checked again by anyone with the pins, offline. Verdicts:
 * - `fork`, proven: two checkpoints signed by the log key whose trees cannot both be honest, either of
 *   the same size with different roots, or a larger tree (`offered`) with the root of the accepted size
 *   inside it (`prefixRoot`) and a consistency proof from that root to the larger tree's signed root,
 *   where `prefixRoot` differs from the accepted checkpoint's root;
 * - `rollback`, shown but not proven: two valid checkpoints, the later answer the older one (a log may
 *   serve an old checkpoint, as a cache might; the file records when it happened);
 * - `unexpected_key`, proven as far as cryptography reaches: the verified proof shows, under the log's
 *   signature, a version whose statement the provider signed binding a key outside the key list the file
 *   states as the owner's (that the owner did not make it is the owner's word);
 * - `unverifiable_version`, shown: the verified proof shows a version whose statement was erased;
 * - `audit_failure`, shown: the signed checkpoint an auditor could not reconcile with the log's entries;
 *   re-running the audit from the recorded state reproduces it (the entries involved may be millions);
 * - `broken_receipt`, proven: a publication receipt signed by the log key, and a later lookup or history
 *   proof showing that the account's version is another statement, or still below the receipted version in
 *   an epoch after the receipt's deadline (verifier/verification/receipt-check.ts).
 * A file that does not establish its claim fails with `VerifyError('evidence_invalid')`; one whose proof is in a
 * format this verifier does not read, with `ProofJsonError('unsupported_format')`.
 */
import { fromBase64 } from '../../wasm-free-crypto/bytes.js';
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { openCheckpoint } from '../formats/checkpoint.js';
import { VerifyError } from './errors.js';
import { LookupVerifier, type Pins } from './lookup-verifier.js';
import { historyFromJson, lookupFromJson, monitorFromJson, ProofJsonError } from '../formats/proof-json.js';
import { ReceiptError } from '../formats/receipt.js';
import { checkReceipt, sinceHistoryOf, type ReceiptProof } from './receipt-check.js';
import type { MonitorProof } from '../formats/proofs.js';
import { verifyConsistency } from '../formats/tlog.js';

export interface EvidenceVerdict {
  kind: string;
  proven: boolean;
  summary: string;
}

const invalid = (m: string) => new VerifyError('evidence_invalid', m);

function field<T>(o: Record<string, unknown>, name: string, type: string): T {
  if (typeof o[name] !== type) throw invalid(`the evidence has no ${type} "${name}"`);
  return o[name] as T;
}

/** The checkpoint in field `name`, which must be signed by the pinned log key. */
function signedCheckpoint(e: Record<string, unknown>, name: string, pins: Pins) {
  try {
    return openCheckpoint(field<string>(e, name, 'string'), pins.origin, pins.logKey).checkpoint;
  } catch (err) {
    throw invalid(`the ${name} checkpoint is not signed by the pinned log key: ${(err as Error).message}`);
  }
}

function checkpoints(e: Record<string, unknown>, pins: Pins) {
  return { accepted: signedCheckpoint(e, 'accepted', pins), offered: signedCheckpoint(e, 'offered', pins) };
}

function fork(e: Record<string, unknown>, pins: Pins): EvidenceVerdict {
  const { accepted, offered } = checkpoints(e, pins);
  if (accepted.size === offered.size) {
    if (equalBytes(accepted.rootHash, offered.rootHash)) throw invalid('the two checkpoints are of the same tree');
    return { kind: 'fork', proven: true, summary: `the log signed two different trees of ${accepted.size} entries` };
  }
  const [small, large] = accepted.size < offered.size ? [accepted, offered] : [offered, accepted];
  let prefixRoot: Uint8Array, proof: Uint8Array[];
  try {
    prefixRoot = fromBase64(field<string>(e, 'prefixRoot', 'string'));
    proof = (e.proof as string[]).map(fromBase64);
  } catch (err) {
    throw invalid(`a fork of different sizes needs "prefixRoot" and "proof" in base64: ${(err as Error).message}`);
  }
  try {
    verifyConsistency(small.size, large.size, proof, prefixRoot, large.rootHash);
  } catch (err) {
    throw invalid(
      `the proof does not lead from prefixRoot to the larger tree's signed root: ${(err as Error).message}`,
    );
  }
  if (equalBytes(prefixRoot, small.rootHash)) throw invalid('the smaller tree is a prefix of the larger one: no fork');
  return {
    kind: 'fork',
    proven: true,
    summary: `the log's tree of ${large.size} entries does not extend its own tree of ${small.size} entries`,
  };
}

function rollback(e: Record<string, unknown>, pins: Pins): EvidenceVerdict {
  const { accepted, offered } = checkpoints(e, pins);
  if (offered.size >= accepted.size) throw invalid('the offered checkpoint is not older than the accepted one');
  return {
    kind: 'rollback',
    proven: false,
    summary: `at ${String(e.observedAt)} the directory answered from a tree of ${offered.size} entries after one of ${accepted.size} was seen (both signed by the log; staleness is shown, not proven misbehaviour)`,
  };
}

/**
 * The monitor proof of an evidence file. Files outlive releases: a proof stored before proof formats carried a
 * version reads as format 1; one in a format this verifier does not read is refused as such
 * (`unsupported_format`, not a verdict on the file; docs/PROTOCOL.md sections 17.3 and 19).
 */
function storedProof<T>(decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof ProofJsonError && err.code === 'unsupported_format') throw err;
    if (err instanceof VerifyError) throw err;
    throw invalid(`the proof does not decode: ${(err as Error).message}`);
  }
}

function storedMonitorProof(e: Record<string, unknown>): MonitorProof {
  return storedProof(() => monitorFromJson(e.proof, { stored: true }));
}

/**
 * The versions a file's monitor proof shows after its `since`, verified as of the proof's own checkpoint
 * (freshness is not the question, what the log published is): its history must start at `since`.
 */
function shownVersions(e: Record<string, unknown>, pins: Pins) {
  const provider = field<string>(e, 'provider', 'string');
  const account = field<string>(e, 'account', 'string');
  const since = e.since as { version?: unknown; historyHash?: unknown } | undefined;
  if (!since || typeof since.version !== 'number' || typeof since.historyHash !== 'string')
    throw invalid('the evidence lacks "since"');
  const proof = storedMonitorProof(e);
  if (!('history' in proof) || proof.history.since !== since.version)
    throw invalid(`the proof is not the history since version ${since.version}`);
  const verifier = new LookupVerifier({ origin: pins.origin, logKey: pins.logKey, vrfKey: pins.vrfKey });
  const h = verifier.verifyHistory(proof.history, provider, account, fromBase64(since.historyHash));
  const versions = h.statements.map((statement, i) => ({ version: (since.version as number) + 1 + i, statement }));
  return { provider, account, versions };
}

function unexpectedKey(e: Record<string, unknown>, pins: Pins): EvidenceVerdict {
  const ownerKeys = (e.ownerKeys as string[] | undefined)?.map(fromBase64);
  if (!ownerKeys) throw invalid('the evidence lacks "ownerKeys"');
  const { provider, account, versions } = shownVersions(e, pins);
  const foreign = versions.filter(({ statement: s }) =>
    s?.keys.some((k) => !ownerKeys.some((o) => equalBytes(o, k.publicKey))),
  );
  if (foreign.length === 0) throw invalid("every version in the proof binds only the owner's keys");
  return {
    kind: 'unexpected_key',
    proven: true,
    summary: `${provider} / ${account}: version(s) ${foreign.map((v) => v.version).join(', ')}, signed by the provider and published in the log, bind keys outside the owner's stated key list`,
  };
}

function unverifiableVersion(e: Record<string, unknown>, pins: Pins): EvidenceVerdict {
  const { provider, account, versions } = shownVersions(e, pins);
  const erased = versions.filter((v) => !v.statement).map((v) => v.version);
  if (erased.length === 0) throw invalid('no version in the proof is erased');
  return {
    kind: 'unverifiable_version',
    proven: false,
    summary: `${provider} / ${account}: version(s) ${erased.join(', ')} were erased by a later deletion, so what they bound cannot be checked`,
  };
}

function auditFailure(e: Record<string, unknown>, pins: Pins): EvidenceVerdict {
  const { size } = signedCheckpoint(e, 'checkpoint', pins);
  const code = field<string>(e, 'code', 'string');
  // The checkpoint an interrupted audit was reaching, when the failed one went on from it: signed too.
  const target = e.target === undefined ? undefined : signedCheckpoint(e, 'target', pins);
  const reaching = target ? ` (going on from an interrupted audit of the signed tree of ${target.size} entries)` : '';
  return {
    kind: 'audit_failure',
    proven: false,
    summary: `the log's signed tree of ${size} entries failed the audit with ${code}${reaching}; an audit from entry 0 reproduces it (kt audit)`,
  };
}

/** The lookup or history proof of a `broken_receipt` file, read as stored proofs are (section 17.3). */
function storedReceiptProof(e: Record<string, unknown>): ReceiptProof {
  if ((e.lookup === undefined) === (e.history === undefined)) throw invalid('give either "lookup" or "history"');
  return storedProof(() =>
    e.lookup !== undefined
      ? { lookup: lookupFromJson(e.lookup, { stored: true }) }
      : { history: historyFromJson(e.history, { stored: true }), sinceHistory: sinceHistoryOf(e.sinceHistory) },
  );
}

function brokenReceipt(e: Record<string, unknown>, pins: Pins): EvidenceVerdict {
  const provider = field<string>(e, 'provider', 'string');
  const account = field<string>(e, 'account', 'string');
  const receipt = field<string>(e, 'receipt', 'string');
  const proof = storedReceiptProof(e);
  let check;
  try {
    check = checkReceipt(receipt, proof, provider, account, pins);
  } catch (err) {
    if (err instanceof ReceiptError) throw invalid(`the receipt: ${err.message}`);
    throw err;
  }
  if (check.status !== 'broken') throw invalid(`the receipt is not shown broken (${check.status}: ${check.reason})`);
  return {
    kind: 'broken_receipt',
    proven: true,
    summary: `${provider} / ${account}: the log promised version ${check.receipt.version} by ${new Date(check.receipt.deadline).toISOString()}, and ${check.reason}`,
  };
}

const KINDS: Record<string, (e: Record<string, unknown>, pins: Pins) => EvidenceVerdict> = {
  fork,
  rollback,
  unexpected_key: unexpectedKey,
  unverifiable_version: unverifiableVersion,
  audit_failure: auditFailure,
  broken_receipt: brokenReceipt,
};

/** Checks an evidence file (parsed JSON) with the pins; throws VerifyError('evidence_invalid') if it proves nothing. */
export function verifyEvidence(e: unknown, pins: Pins): EvidenceVerdict {
  const o = e as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.type !== 'kt-evidence/v1') throw invalid('not a kt-evidence/v1 file');
  if (o.origin !== pins.origin)
    throw invalid(`the evidence is about the log ${String(o.origin)}, not the pinned ${pins.origin}`);
  const check = Object.hasOwn(KINDS, o.kind as string) ? KINDS[o.kind as string] : undefined;
  if (!check) throw invalid(`unknown evidence kind ${JSON.stringify(o.kind)}`);
  try {
    return check(o, pins);
  } catch (err) {
    // Whatever else stops the check (a proof that does not verify, a field that is not base64 or not a list)
    // is the file's failure to establish its claim, named by its own code in the message.
    if (err instanceof VerifyError && err.code === 'evidence_invalid') throw err;
    if (err instanceof ProofJsonError && err.code === 'unsupported_format') throw err;
    const code = (err as { code?: unknown }).code;
    throw invalid(
      `the evidence does not hold${typeof code === 'string' ? ` (${code})` : ''}: ${(err as Error).message}`,
    );
  }
}
