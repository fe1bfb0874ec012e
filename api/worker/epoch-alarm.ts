/**
 * Epochs on the Worker. The Node server closes epochs from a `setInterval` timer (`Directory.start`); a
 * Durable Object uses its alarm instead, which also wakes an evicted object. Queuing work (a statement, an
 * enrolment, a revocation) asks for an epoch `epochIntervalMs` from now unless the alarm is already due
 * sooner (`requestEpoch`); the alarm closes an epoch when work is queued or the heartbeat is due
 * (`heartbeatMs` after the last epoch's time, as on Node), then re-arms: soon if work is still queued, else
 * for the next heartbeat. So an idle directory still publishes a heartbeat epoch every `heartbeatMs`.
 *
 * Like the Node server's, the queue is in memory: a submission answered 202 (not `?wait=1`) whose epoch has
 * not closed is lost if the object is reset first (a deployment, a crash, an eviction within
 * `epochIntervalMs` of the submission); its submitter retries with the same statement.
 */
import type { Directory } from '../../log/directory/directory.js';
import type { Settings } from '../wiring/settings.js';

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

/** Sets the heartbeat alarm of a freshly opened directory, unless an alarm is already set. */
export async function armAlarm(
  directory: Directory,
  timing: Timing,
  alarm: EpochAlarm,
  now = Date.now(),
): Promise<void> {
  if ((await alarm.getAlarm()) !== null) return;
  await alarm.setAlarm(await nextFor(directory, timing, now));
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
    console.error(`LogSequencer: the epoch failed: ${(e as Error).name}: ${(e as Error).message}`);
  }
  await alarm.setAlarm(await nextFor(directory, timing, now()));
}
