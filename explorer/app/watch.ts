/**
 * "Watch my account": the owner's daily check (verifier/owner-monitor/owner-monitor.ts) run by the
 * explorer for accounts an owner lists with the keys they made, the monitor's state and any alarm kept in
 * this browser's localStorage (one list per log: its origin and log key). Each new version binding a key outside the owner's list
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
import { exclusive, logStateKey, type Session } from './session.js';

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

type LogPins = { origin: string; logKey: string };

/** A stored record that has the fields the checks read (anything else is refused, not half used). */
function isWatched(w: unknown): w is WatchedAccount {
  const o = w as WatchedAccount;
  return (
    typeof o?.provider === 'string' &&
    typeof o.account === 'string' &&
    Array.isArray(o.ownerKeys) &&
    o.ownerKeys.every((k) => typeof k === 'string') &&
    Number.isSafeInteger(o.state?.version) &&
    typeof o.state.historyHash === 'string' &&
    Array.isArray(o.alarms)
  );
}

/** The watched accounts kept for the log of `pins`; a list that is not one is an error, never dropped silently. */
export function loadWatched(storage: WebStorage, pins: LogPins): WatchedAccount[] {
  const text = storage.getItem(logStateKey('watch', pins));
  if (text === null) return [];
  const list = JSON.parse(text) as unknown;
  if (!Array.isArray(list) || !list.every(isWatched))
    throw new Error('the watched accounts kept in this browser are not readable');
  return list;
}

export function saveWatched(storage: WebStorage, pins: LogPins, list: WatchedAccount[]): void {
  storage.setItem(logStateKey('watch', pins), JSON.stringify(list));
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

/**
 * Runs the daily check of `w` now; returns the updated record: alarms added and the state advanced, or,
 * when the check failed, the failure as its last result (an alarm only with its evidence: a rollback or
 * fork the client caught; an answer that merely failed to verify proves nothing).
 */
export async function checkWatched(session: Session, w: WatchedAccount, now = Date.now()): Promise<WatchedAccount> {
  const out = await exclusive(session, async () => {
    const since = stateFromJson(w.state);
    const { report, proof } = await session.kt.withLookupClient(async (c) => {
      const r = await monitorAccount(c, w.provider, w.account, w.ownerKeys.map(fromBase64), since);
      return { report: r, proof: monitorProofJson(c.lastProofJson) };
    });
    return { since, report, proof };
  });
  const { pins } = session.kept;
  if (out.ok) {
    const { since, report, proof } = out.value;
    const alarms = report.alarms.map((a) => ({
      kind: a.kind,
      version: a.version,
      message: a.message,
      at: now,
      evidence: alarmEvidence(a, { ...w, since, proof }, pins, session.server, now),
    }));
    const state = stateToJson(report.state);
    return { ...w, state, lastCheck: now, lastResult: report.status, alarms: [...w.alarms, ...alarms] };
  }
  const err = out.error as Error & { code?: string };
  const failed = `check failed: ${err.name} [${err.code ?? 'error'}]: ${err.message}`;
  const found = out.evidence;
  if (!found) return { ...w, lastCheck: now, lastResult: failed };
  const alarm = {
    kind: found.kind,
    message: failed,
    at: now,
    evidence: checkpointEvidence(found, pins, session.server, now),
  };
  return { ...w, lastCheck: now, lastResult: failed, alarms: [...w.alarms, alarm] };
}
