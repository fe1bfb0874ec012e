/**
 * Epochs on the Worker. The Node server closes epochs from a `setInterval` timer (`Directory.start`); a
 * Durable Object uses its alarm instead, which also wakes an evicted object. Queuing work (a statement, an
 * enrolment, a revocation) asks for an epoch `epochIntervalMs` from now unless the alarm is already due
 * sooner (`requestEpoch`); the alarm closes an epoch when work is queued or the heartbeat is due
 * (`heartbeatMs` after the last epoch's time, as on Node), then re-arms: soon if work is still queued, else
 * for the next heartbeat. So an idle directory still publishes a heartbeat epoch every `heartbeatMs`.
 *
 * As on Node, a statement answered 202 with a receipt is in the store's durable queue (`dir_queue`, in the
 * object's SQLite storage) before the answer leaves: if the object is reset before the alarm (a deployment,
 * a crash, an eviction), the reopened directory replays the queue, and since the alarm is stored with the
 * object it still fires (or `armAlarm` arms it soon, the queue being non-empty). Enrolments answered 202 stay
 * in memory only (no receipt promises them): after a reset the operator enrols again.
 */
import type { Directory } from '../../log/directory/directory.js';
import { errorFields } from '../app/logger.js';
import type { Settings } from '../wiring/settings.js';
import { workerLogger } from './worker-log.js';

/** The alarm part of `DurableObjectStorage`. */
export interface EpochAlarm {
  getAlarm(): Promise<number | null>;
  setAlarm(scheduledTime: number): Promise<void>;
}

type Timing = Pick<Settings, 'epochIntervalMs' | 'heartbeatMs'>;

/** When the alarm should next fire: soon while work is queued, else at the next heartbeat (never in the past). */
export function nextAlarmTime(s: Timing & { now: number; queueDepth: number; lastEpochTime: number }): number {
  const soon = s.now + s.epochIntervalMs;
  return s.queueDepth > 0 ? soon : Math.max(soon, s.lastEpochTime + s.heartbeatMs);
}

/** Asks for an epoch `epochIntervalMs` from now, unless the alarm is already set to fire sooner. */
export async function requestEpoch(alarm: EpochAlarm, epochIntervalMs: number, now = Date.now()): Promise<void> {
  const at = now + epochIntervalMs;
  const current = await alarm.getAlarm();
  if (current === null || current > at) await alarm.setAlarm(at);
}

/** The time of the directory's last epoch (its epoch head's time). */
async function lastEpochTime(directory: Directory): Promise<number> {
  return (await directory.snapshot()).snap.head.time;
}

/** The alarm time for the directory's state now. */
async function nextFor(directory: Directory, timing: Timing, now: number): Promise<number> {
  return nextAlarmTime({
    now,
    queueDepth: directory.queueDepth,
    lastEpochTime: await lastEpochTime(directory),
    ...timing,
  });
}

/**
 * Arms the alarm of a freshly opened directory: the heartbeat, unless an alarm is already set; but when it
 * opened with a replayed queue (receipted statements, which must commit by their deadlines), an epoch one
 * interval from now, unless the alarm is already due sooner (the object may have stopped after storing a
 * statement and before asking for its epoch).
 */
export async function armAlarm(
  directory: Directory,
  timing: Timing,
  alarm: EpochAlarm,
  now = Date.now(),
): Promise<void> {
  const current = await alarm.getAlarm();
  const next = await nextFor(directory, timing, now);
  if (current === null || (directory.queueDepth > 0 && current > next)) await alarm.setAlarm(next);
}

/**
 * The alarm: closes an epoch if work is queued or the heartbeat is due, then re-arms. A failed epoch is
 * logged, not thrown (its submitters got `epoch_failed`; a throwing alarm would only be retried).
 */
export async function runEpochAlarm(
  directory: Directory,
  timing: Timing,
  alarm: EpochAlarm,
  now: () => number = Date.now,
): Promise<void> {
  const heartbeatDue = now() - (await lastEpochTime(directory)) >= timing.heartbeatMs;
  try {
    await directory.closeEpoch(heartbeatDue);
  } catch (e) {
    workerLogger.error('epoch_failed', errorFields(e));
  }
  await alarm.setAlarm(await nextFor(directory, timing, now()));
}
