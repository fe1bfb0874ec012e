/**
 * Evidence files (`kt-evidence/v1`, docs/PROTOCOL.md section 19) as the explorer offers them for download,
 * in the same form `kt lookup` and `kt monitor` write them, so that `kt verify-evidence` checks them: a
 * rollback or a fork the lookup client reported, and an owner's alarm (a key the owner did not make, an
 * erased version) with the proof that showed it. Only these are evidence: an answer that merely fails to
 * verify could have been altered by anyone on the way and proves nothing about the operator.
 */
import { toBase64 } from '../../wasm-free-crypto/bytes.js';
import type { CheckpointEvidence } from '../../verifier/lookup-client/lookup-client.js';
import type { Alarm, MonitorState } from '../../verifier/owner-monitor/owner-monitor.js';
import type { PinsJson } from '../../verifier/client/pins.js';

function header(kind: string, pins: PinsJson, server: string, now: number) {
  return {
    type: 'kt-evidence/v1',
    kind,
    origin: pins.origin,
    logKey: pins.logKey,
    vrfKey: pins.vrfKey,
    server,
    observedAt: new Date(now).toISOString(),
  };
}

/** The evidence file of a rollback or a fork: the two signed checkpoints, and for a fork of a larger tree its proof. */
export function checkpointEvidence(e: CheckpointEvidence, pins: PinsJson, server: string, now: number) {
  const extra = e.prefixRoot && e.proof ? { prefixRoot: toBase64(e.prefixRoot), proof: e.proof.map(toBase64) } : {};
  return { ...header(e.kind, pins, server, now), accepted: e.accepted, offered: e.offered, ...extra };
}

/** The evidence file of an owner's alarm: the monitor proof that showed it, from the state checked since. */
export function alarmEvidence(
  a: Alarm,
  owner: { provider: string; account: string; ownerKeys: string[]; since: MonitorState; proof: unknown },
  pins: PinsJson,
  server: string,
  now: number,
) {
  return {
    ...header(a.kind, pins, server, now),
    provider: owner.provider,
    account: owner.account,
    version: a.version,
    message: a.message,
    ownerKeys: owner.ownerKeys,
    since: { version: owner.since.version, historyHash: toBase64(owner.since.historyHash) },
    proof: owner.proof,
  };
}

/** A file name for an evidence file: its kind and the time, safe on every file system. */
export function evidenceFileName(kind: string, now: number): string {
  return `kt-evidence-${kind}-${new Date(now).toISOString().replace(/[:.]/g, '-')}.json`;
}
