/**
 * The checks the verifier made, one line each, in the order it makes them (verifier/verification/
 * lookup-verifier.ts, then the lookup client's consistency check): the checkpoint's signature, the witness
 * policy, the epoch head, the VRF label, the statement with its provider's signature and enrolment, the map
 * proof, the history chain, and the consistency with the checkpoint this browser kept. When verification
 * fails, the error's code names the failing check: the checks before it passed, those after it were not
 * made. Pure: built from what the verifier returned or threw.
 */
import type { VerifiedCosignature } from '../../verifier/formats/checkpoint.js';
import type { LookupResult } from '../../verifier/verification/lookup-verifier.js';
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { age, count, isoTime } from './format.js';

export type CheckId =
  | 'answer'
  | 'checkpoint'
  | 'witnesses'
  | 'epoch'
  | 'vrf'
  | 'provider'
  | 'map'
  | 'history'
  | 'consistency';
export type CheckState = 'passed' | 'failed' | 'warning' | 'not_checked';

export interface CheckLine {
  id: CheckId;
  state: CheckState;
  text: string;
  /** Sub-lines: one per witness. */
  details?: string[];
}

const ORDER: CheckId[] = [
  'answer',
  'checkpoint',
  'witnesses',
  'epoch',
  'vrf',
  'provider',
  'map',
  'history',
  'consistency',
];

const TITLES: Record<CheckId, string> = {
  answer: 'The answer is a proof for the account asked',
  checkpoint: 'The checkpoint is signed by the pinned log key',
  witnesses: "The checkpoint is cosigned under this browser's witness policy",
  epoch: "The epoch head is the checkpoint's last entry (inclusion proof)",
  vrf: 'The VRF label is proven for this account under the pinned VRF key',
  provider: "The statement is signed by the provider's enrolled credential",
  map: "The map proof leads to the epoch's map root",
  history: 'The history chains every version to the current one',
  consistency: 'The tree extends the checkpoint this browser saw before',
};

/** The check each verifier error code reports a failure of. */
const FAILED_CHECK: Record<string, CheckId> = {
  bad_account: 'answer',
  wrong_account: 'answer',
  bad_proof_json: 'answer',
  bad_checkpoint: 'checkpoint',
  bad_policy: 'witnesses',
  witness_quorum: 'witnesses',
  stale_checkpoint: 'witnesses',
  epoch_not_last: 'epoch',
  bad_epoch_inclusion: 'epoch',
  bad_epoch_head: 'epoch',
  bad_vrf: 'vrf',
  bad_statement: 'provider',
  bad_provider_signature: 'provider',
  credential_not_valid: 'provider',
  bad_enrolment: 'provider',
  bad_not_enrolled: 'provider',
  bad_discovery: 'provider',
  bad_map_proof: 'map',
  bad_history: 'history',
  wrong_history: 'answer', // the answer is not for the versions asked: refused before any check
  rollback: 'consistency',
  inconsistent_checkpoint: 'consistency',
  bad_tile: 'consistency',
  tile_unavailable: 'consistency',
};

/** What a verified answer showed, for its check lines. */
export interface VerifiedAnswer {
  result: LookupResult;
  /** The cosignatures that counted, and the witness policy's quorum and witness names. */
  cosignatures: VerifiedCosignature[];
  policy: { quorum: number; witnesses: string[]; maxAgeSeconds?: number };
  /** The provider's credential the statement was checked with (present accounts). */
  credential?: { fingerprint: string; position: number };
  /** The size of the tree this browser had kept before (undefined: none). */
  keptSize?: number;
  /** The number of versions whose chain was checked (histories only). */
  historyVersions?: number;
  now: number;
}

function witnessLines(a: VerifiedAnswer): CheckLine {
  const byName = new Map(a.cosignatures.map((c) => [c.name, c]));
  const details = a.policy.witnesses.map((name) => {
    const c = byName.get(name);
    if (!c) return `${name}: no cosignature on this checkpoint`;
    const ms = Number(c.timestamp) * 1000;
    return `${name}: cosigned at ${isoTime(ms)} (${age(ms, a.now)})`;
  });
  if (a.policy.quorum === 0)
    return {
      id: 'witnesses',
      state: 'warning',
      text: 'No witness policy in the pins: nothing shows that others saw the same tree (a split view is not excluded)',
      details,
    };
  const fresh = a.policy.maxAgeSeconds ? `, ${a.policy.quorum} of them at most ${a.policy.maxAgeSeconds} s old` : '';
  return {
    id: 'witnesses',
    state: 'passed',
    text: `${TITLES.witnesses}: ${a.cosignatures.length} of ${a.policy.witnesses.length} witnesses cosigned, ${a.policy.quorum} required${fresh}`,
    details,
  };
}

function providerLine(a: VerifiedAnswer): CheckLine {
  const r = a.result;
  if (r.status === 'not_enrolled')
    return {
      id: 'provider',
      state: 'passed',
      text: `The provider is not in the epoch's credential set of ${r.head.credentialCount} enrolments (the whole set was checked against the epoch head)`,
    };
  if (r.status === 'absent')
    return { id: 'provider', state: 'passed', text: "The provider's enrolment is in the epoch's credential set" };
  const c = a.credential;
  return {
    id: 'provider',
    state: 'passed',
    text: `${TITLES.provider}${c ? ` (credential ${c.fingerprint.slice(0, 16)}…, enrolment ${c.position + 1} of ${r.head.credentialCount})` : ''}`,
  };
}

function consistencyLine(a: VerifiedAnswer): CheckLine {
  const size = a.result.checkpoint.size;
  if (a.keptSize === undefined)
    return {
      id: 'consistency',
      state: 'passed',
      text: `First checkpoint this browser keeps for this log (tree of ${count(size)} entries)`,
    };
  if (a.keptSize === size)
    return {
      id: 'consistency',
      state: 'passed',
      text: `The same tree this browser saw before (${count(size)} entries)`,
    };
  return {
    id: 'consistency',
    state: 'passed',
    text: `${TITLES.consistency}: ${count(a.keptSize)} → ${count(size)} entries, consistency proven from the log's tiles`,
  };
}

/** The check lines of a verified lookup or history. */
export function passedChecks(a: VerifiedAnswer): CheckLine[] {
  const r = a.result;
  const map =
    r.status === 'present' || r.status === 'deleted'
      ? `${TITLES.map}: the account's leaf is version ${r.statement?.version} (membership)`
      : `${TITLES.map}: no leaf for this label (absence)`;
  const lines: CheckLine[] = [
    { id: 'answer', state: 'passed', text: TITLES.answer },
    {
      id: 'checkpoint',
      state: 'passed',
      text: `${TITLES.checkpoint}: ${r.checkpoint.origin}, tree of ${count(r.checkpoint.size)} entries`,
    },
    witnessLines(a),
    {
      id: 'epoch',
      state: 'passed',
      text: `${TITLES.epoch}: epoch ${r.epoch} of ${isoTime(r.head.time)} (${age(r.head.time, a.now)})`,
    },
    { id: 'vrf', state: 'passed', text: `${TITLES.vrf}: label ${toHex(r.label).slice(0, 16)}…` },
    providerLine(a),
    { id: 'map', state: 'passed', text: map },
  ];
  if (a.historyVersions !== undefined)
    lines.push({ id: 'history', state: 'passed', text: `${TITLES.history}: ${a.historyVersions} version(s)` });
  lines.push(consistencyLine(a));
  return lines;
}

/** The check lines of an answer that failed verification with `code`: the failing check in words. */
export function failedChecks(code: string, message: string, withHistory: boolean): CheckLine[] {
  const failed = FAILED_CHECK[code] ?? 'answer';
  const ids = ORDER.filter((id) => id !== 'history' || withHistory);
  const at = ids.indexOf(failed);
  return ids.map((id, i) => ({
    id,
    state: i < at ? 'passed' : i === at ? 'failed' : 'not_checked',
    text: i === at ? `${TITLES[id]}: FAILED (${code}): ${message}` : TITLES[id],
  }));
}
