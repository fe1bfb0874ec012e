/**
 * "Watch my account": the owner's daily check (verifier/owner-monitor/owner-monitor.ts) run by the
 * explorer for accounts an owner lists with the keys they made, the monitor's state and any alarm kept in
 * this browser's localStorage (one list per log). Each new version binding a key outside the owner's list
 * (`unexpected_key`) or erased (`unverifiable_version`) raises an alarm that stays until the owner
 * dismisses it, with its evidence file (explorer/app/evidence.ts). A check is due once a day; the owner
 * can run one at any time.
 */
import { fromBase64, toBase64 } from '../../wasm-free-crypto/bytes.js';
import type { WebStorage } from '../../verifier/client/checkpoint-store.js';
import {
  monitorAccount,
  monitorProofJson,
  MONITOR_START,
  type MonitorState,
} from '../../verifier/owner-monitor/owner-monitor.js';
import { alarmEvidence, checkpointEvidence } from './evidence.js';
import type { Session } from './session.js';
import type { CheckpointEvidence } from '../../verifier/lookup-client/lookup-client.js';

export const DAY_MS = 24 * 3600 * 1000;

export interface StoredAlarm {
  kind: string;
  version?: number;
  message: string;
  at: number;
  /** The evidence file, when the alarm is one of the evidence kinds. */
  evidence?: unknown;
}

export interface WatchedAccount {
  provider: string;
  account: string;
  /** The public keys the owner made, base64. */
  ownerKeys: string[];
  state: { version: number; historyHash: string; label?: string; epoch?: number };
  lastCheck?: number;
  /** The status the last check saw ('present', 'unchanged', ...), or the error it failed with. */
  lastResult?: string;
  alarms: StoredAlarm[];
}

const key = (origin: string) => `kt-explorer/watch/${origin}`;

export function loadWatched(storage: WebStorage, origin: string): WatchedAccount[] {
  const text = storage.getItem(key(origin));
  return text === null ? [] : (JSON.parse(text) as WatchedAccount[]);
}

export function saveWatched(storage: WebStorage, origin: string, list: WatchedAccount[]): void {
  storage.setItem(key(origin), JSON.stringify(list));
}

/** A new watched account: the owner's keys checked to be base64 (the monitor compares bytes). */
export function newWatched(provider: string, account: string, keysText: string): WatchedAccount {
  const ownerKeys = keysText.split(/[\s,]+/).filter((k) => k !== '');
  for (const k of ownerKeys) fromBase64(k);
  return { provider, account, ownerKeys, state: stateToJson(MONITOR_START), alarms: [] };
}

function stateToJson(s: MonitorState): WatchedAccount['state'] {
  return {
    version: s.version,
    historyHash: toBase64(s.historyHash),
    ...(s.label ? { label: toBase64(s.label) } : {}),
    ...(s.epoch !== undefined ? { epoch: s.epoch } : {}),
  };
}

function stateFromJson(s: WatchedAccount['state']): MonitorState {
  return {
    version: s.version,
    historyHash: fromBase64(s.historyHash),
    ...(s.label ? { label: fromBase64(s.label) } : {}),
    ...(s.epoch !== undefined ? { epoch: s.epoch } : {}),
  };
}

export function isDue(w: WatchedAccount, now: number): boolean {
  return w.lastCheck === undefined || now - w.lastCheck >= DAY_MS;
}

/** Runs the daily check of `w` now; returns the updated record (alarms added, state advanced). */
export async function checkWatched(session: Session, w: WatchedAccount, now = Date.now()): Promise<WatchedAccount> {
  const since = stateFromJson(w.state);
  session.evidence = undefined;
  try {
    const { report, proof } = await session.kt.withLookupClient(async (c) => {
      const r = await monitorAccount(c, w.provider, w.account, w.ownerKeys.map(fromBase64), since);
      return { report: r, proof: monitorProofJson(c.lastProofJson) };
    });
    const { pins } = session.kept;
    const alarms = report.alarms.map((a) => ({
      kind: a.kind,
      version: a.version,
      message: a.message,
      at: now,
      evidence: alarmEvidence(a, { ...w, since, proof }, pins, session.server, now),
    }));
    return {
      ...w,
      state: stateToJson(report.state),
      lastCheck: now,
      lastResult: report.status,
      alarms: [...w.alarms, ...alarms],
    };
  } catch (e) {
    const err = e as Error & { code?: string };
    const found = session.evidence as CheckpointEvidence | undefined;
    const alarm: StoredAlarm = {
      kind: found?.kind ?? err.code ?? 'error',
      message: `${err.name} [${err.code ?? 'error'}]: ${err.message}`,
      at: now,
      ...(found ? { evidence: checkpointEvidence(found, session.kept.pins, session.server, now) } : {}),
    };
    const isVerification = err.name === 'VerifyError';
    return {
      ...w,
      lastCheck: now,
      lastResult: `${err.name} [${err.code ?? 'error'}]`,
      alarms: isVerification ? [...w.alarms, alarm] : w.alarms,
    };
  }
}
