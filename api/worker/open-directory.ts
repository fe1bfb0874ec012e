/**
 * The directory as the Worker's Durable Object runs it (kept out of the main module, api/worker/worker.ts, which
 * may export only handlers and classes): its settings from Worker secrets and vars, the `Directory` over
 * the log's appender and a `DoDirectoryStore` in the same Durable Object SQLite database, and the Hono
 * app with the directory's dependencies built exactly as the Node server builds them (api/wiring/directory-deps.ts).
 *
 * Epochs. The Node server closes epochs from a `setInterval` timer (`Directory.start()`); a Durable Object
 * uses its alarm instead, which also wakes an evicted object. Queuing work (a statement, an enrolment, a
 * revocation) asks for an epoch `epochIntervalMs` from now unless the alarm is already due sooner; the
 * alarm closes an epoch when work is queued or the heartbeat is due (`heartbeatMs` after the last epoch's
 * time, as on Node), then re-arms: soon if work is still queued, else for the next heartbeat. So an idle
 * directory still publishes a heartbeat epoch every `heartbeatMs`, as on Node.
 *
 * Like the Node server's, the queue is in memory: a submission answered 202 (not `?wait=1`) whose epoch has
 * not closed is lost if the object is reset first (a deployment, a crash, an eviction within
 * `epochIntervalMs` of the submission); its submitter retries with the same statement.
 *
 * Settings (secrets unless noted; see wrangler.toml):
 * - `VRF_SECRET_KEY`: the VRF secret key, 64 lower-case hex digits (as `vrf.key` on Node).
 * - `TRUSTED_ROOTS_PEM` (var or secret): the PEM certificates of the roots provider chains must lead to.
 * - `OPERATOR_TOKEN`: the operator's bearer token for enrolment and revocation (16 or more characters,
 *   no whitespace).
 * - vars `EPOCH_INTERVAL_MS` (default 1000), `HEARTBEAT_MS` (default 60000), `LOOKUP_BURST` (60) and
 *   `LOOKUP_RATE_PER_SECOND` (10), with the Node config's bounds;
 * - vars `WITNESSES` (a JSON list of {"key", "url"}) and `WITNESS_QUORUM`: the witnesses each epoch's
 *   checkpoint is sent to before it is served with their cosignatures, as on Node (log/merkle/witnessing.ts).
 * Every problem is a `ConfigError` naming the setting, never its value.
 */
import { fromHex } from '../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import { LogReader } from '../../log/merkle/reader.js';
import { parseWitnessEndpoints, Witnessing, type WitnessEndpoint } from '../../log/merkle/witnessing.js';
import { Directory } from '../../log/directory/directory.js';
import { DoDirectoryStore } from './do-directory-store.js';
import { encodeEpochWrites } from './outbox-json.js';
import type { DoSqlStorage } from './do-log-storage.js';
import { parsePemCertificates } from '../../log/providers/certificate.js';
import { createApp } from '../app/app.js';
import { directoryDeps } from '../wiring/directory-deps.js';
import type { DirectoryService } from '../app/directory-routes.js';
import type { Context } from 'hono';
import type { TokenBuckets } from '../app/middleware.js';
import { RequestMetrics } from '../app/request-metrics.js';
import { ConfigError, openAppender, type LogEnv, type OpenLog } from './open-log.js';

/** The key of the app's environment that marks a lookup whose token the Worker already took (api/worker/worker.ts). */
export const LOOKUP_ADMITTED = 'ktLookupAdmitted';

/** The Worker secrets and vars the directory reads (besides the log's). */
export interface DirectoryEnv extends LogEnv {
  VRF_SECRET_KEY?: string;
  TRUSTED_ROOTS_PEM?: string;
  OPERATOR_TOKEN?: string;
  EPOCH_INTERVAL_MS?: string | number;
  HEARTBEAT_MS?: string | number;
  LOOKUP_BURST?: string | number;
  LOOKUP_RATE_PER_SECOND?: string | number;
  /** JSON list of the witnesses each checkpoint is sent to: [{"key": cosigner key, "url": submission prefix}]. */
  WITNESSES?: string;
  WITNESS_QUORUM?: string | number;
}

export interface DirectorySettings {
  vrfSecretKey: Uint8Array;
  trustedRoots: Uint8Array[];
  operatorToken: string;
  epochIntervalMs: number;
  heartbeatMs: number;
  lookupBurst: number;
  lookupRatePerSecond: number;
  witnesses: WitnessEndpoint[];
  witnessQuorum: number;
}

/** The alarm part of `DurableObjectStorage`. */
export interface EpochAlarm {
  getAlarm(): Promise<number | null>;
  setAlarm(scheduledTime: number): Promise<void>;
}

export interface OpenDirectory extends OpenLog {
  directory: Directory;
  settings: DirectorySettings;
  /** The per-client lookup limit, shared by the app's routes and the Worker's own lookup path. */
  lookupLimit: TokenBuckets;
}

/** The witnesses (WITNESSES, a JSON list of {"key", "url"}) and the quorum advertised (WITNESS_QUORUM). */
function witnessSettings(env: DirectoryEnv): { witnesses: WitnessEndpoint[]; witnessQuorum: number } {
  let witnesses: WitnessEndpoint[] = [];
  if (env.WITNESSES?.trim()) {
    try {
      witnesses = parseWitnessEndpoints(JSON.parse(env.WITNESSES));
    } catch (e) {
      throw new ConfigError(
        `WITNESSES ${e instanceof SyntaxError ? 'must be a JSON list of {"key", "url"}' : (e as Error).message}`,
      );
    }
  }
  const witnessQuorum = integerSetting(env, 'WITNESS_QUORUM', 0, 0);
  if (witnessQuorum > witnesses.length) throw new ConfigError('WITNESS_QUORUM is above the number of witnesses');
  return { witnesses, witnessQuorum };
}

function integerSetting(
  env: DirectoryEnv,
  name: 'EPOCH_INTERVAL_MS' | 'HEARTBEAT_MS' | 'LOOKUP_BURST' | 'LOOKUP_RATE_PER_SECOND' | 'WITNESS_QUORUM',
  fallback: number,
  min: number,
): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const text = String(v).trim();
  const n = Number(text);
  if (!/^[0-9]{1,15}$/.test(text) || n < min) throw new ConfigError(`${name} must be an integer >= ${min}`);
  return n;
}

/** Reads and checks the directory's settings; the messages never include a secret. */
export function directorySettings(env: DirectoryEnv): DirectorySettings {
  const vrfHex = env.VRF_SECRET_KEY?.trim();
  if (!vrfHex) throw new ConfigError('VRF_SECRET_KEY is not set');
  if (!/^[0-9a-f]{64}$/.test(vrfHex)) throw new ConfigError('VRF_SECRET_KEY must be 64 lower-case hex digits');
  if (!env.TRUSTED_ROOTS_PEM?.trim()) throw new ConfigError('TRUSTED_ROOTS_PEM is not set');
  let trustedRoots: Uint8Array[];
  try {
    trustedRoots = parsePemCertificates(env.TRUSTED_ROOTS_PEM);
  } catch (e) {
    throw new ConfigError(`TRUSTED_ROOTS_PEM is not PEM certificates (${(e as Error).message})`);
  }
  if (trustedRoots.length === 0) throw new ConfigError('TRUSTED_ROOTS_PEM holds no certificate');
  const operatorToken = env.OPERATOR_TOKEN?.trim();
  if (!operatorToken) throw new ConfigError('OPERATOR_TOKEN is not set');
  if (!/^\S{16,}$/.test(operatorToken))
    throw new ConfigError('OPERATOR_TOKEN must be 16 or more characters without whitespace');
  return {
    vrfSecretKey: fromHex(vrfHex),
    trustedRoots,
    operatorToken,
    epochIntervalMs: integerSetting(env, 'EPOCH_INTERVAL_MS', 1000, 10),
    heartbeatMs: integerSetting(env, 'HEARTBEAT_MS', 60_000, 10),
    lookupBurst: integerSetting(env, 'LOOKUP_BURST', 60, 1),
    lookupRatePerSecond: integerSetting(env, 'LOOKUP_RATE_PER_SECOND', 10, 1),
    ...witnessSettings(env),
  };
}

/** When the alarm should next fire: soon while work is queued, else at the next heartbeat (never in the past). */
export function nextAlarmTime(s: {
  now: number;
  queueDepth: number;
  lastEpochTime: number;
  epochIntervalMs: number;
  heartbeatMs: number;
}): number {
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

/** Sets the heartbeat alarm of a freshly opened directory, unless an alarm is already set. */
export async function armAlarm(d: OpenDirectory, alarm: EpochAlarm, now = Date.now()): Promise<void> {
  if ((await alarm.getAlarm()) !== null) return;
  await alarm.setAlarm(
    nextAlarmTime({
      now,
      queueDepth: d.directory.queueDepth,
      lastEpochTime: await lastEpochTime(d.directory),
      ...d.settings,
    }),
  );
}

/**
 * The alarm: closes an epoch if work is queued or the heartbeat is due, then re-arms. A failed epoch is
 * logged, not thrown (its submitters got `epoch_failed`; a throwing alarm would only be retried).
 */
export async function runEpochAlarm(d: OpenDirectory, alarm: EpochAlarm, now: () => number = Date.now): Promise<void> {
  const { directory, settings } = d;
  const heartbeatDue = now() - (await lastEpochTime(directory)) >= settings.heartbeatMs;
  try {
    await directory.closeEpoch(heartbeatDue);
  } catch (e) {
    console.error(`LogSequencer: the epoch failed: ${(e as Error).name}: ${(e as Error).message}`);
  }
  await alarm.setAlarm(
    nextAlarmTime({
      now: now(),
      queueDepth: directory.queueDepth,
      lastEpochTime: await lastEpochTime(directory),
      ...settings,
    }),
  );
}

/** The route service, asking for an epoch whenever a call leaves work queued. */
function withEpochRequests(
  service: DirectoryService,
  directory: Directory,
  request: () => Promise<void>,
): DirectoryService {
  const kick = async () => {
    if (directory.queueDepth > 0) await request();
  };
  return {
    ...service,
    async submit(statement, signature) {
      const accepted = await service.submit(statement, signature);
      await kick();
      return accepted;
    },
    async enrol(chain) {
      const enrolled = await service.enrol(chain);
      await kick();
      return enrolled;
    },
    async revoke(providerId, fingerprint, reason) {
      // Queued by the call itself; the promise settles only once an epoch commits it.
      const committed = service.revoke(providerId, fingerprint, reason);
      committed.catch(() => undefined);
      await kick();
      return committed;
    },
  };
}

/**
 * Opens the log and the directory in a Durable Object's storage (a new log gets epoch 0) and the app
 * serving both, with the directory's dependencies as on Node. Settings are checked before storage is
 * touched. With `outbox`, every epoch's index writes are also recorded for replication to D1
 * (api/worker/d1-replica.ts).
 */
export async function openDirectory(
  storage: DoSqlStorage,
  alarm: EpochAlarm,
  env: DirectoryEnv,
  opts: { outbox?: boolean } = {},
): Promise<OpenDirectory> {
  const settings = directorySettings(env);
  const { appender, storage: logStorage, reader: headReader, signer, origin } = await openAppender(storage, env);
  const store = new DoDirectoryStore(storage, opts.outbox ? { outbox: { encodeWrites: encodeEpochWrites } } : {});
  // Witnesses cosign each epoch's checkpoint before it is served (log/merkle/witnessing.ts); the reader serves the
  // directory's epoch checkpoint, with their cosignatures, and the committed head's tiles.
  const witnessing =
    settings.witnesses.length > 0
      ? new Witnessing({ witnesses: settings.witnesses, readTile: (t) => headReader.tile(t) })
      : null;
  let directory: Directory | undefined;
  const reader = new LogReader(
    logStorage,
    () => appender.head,
    () => directory?.servedSnapshot.checkpoint ?? appender.head.checkpoint,
  );
  directory = await Directory.open({
    log: appender,
    reader,
    store,
    vrfSecretKey: settings.vrfSecretKey,
    trustedRoots: settings.trustedRoots,
    cosign: witnessing ? (note) => witnessing.cosign(note) : undefined,
  });
  // A lookup the Worker's D1 path forwards after taking the client's token comes through the object's
  // `fetchAdmitted` RPC, which says so in the app's environment: nothing in a request can.
  const lookupAdmitted = (c: Context) => (c.env as Record<string, unknown> | undefined)?.[LOOKUP_ADMITTED] === true;
  const extra = directoryDeps(directory, { signer, ...settings, lookupAdmitted });
  const service = withEpochRequests(extra.directory!.service, directory, () =>
    requestEpoch(alarm, settings.epochIntervalMs),
  );
  const config = { origin, logKey: signer.verifierKey, ...extra.config };
  const lookupLimit = extra.directory!.lookupRateLimit as TokenBuckets;
  const requests = new RequestMetrics();
  const app = createApp({
    reader,
    config,
    directory: { ...extra.directory!, service },
    metrics: extra.metrics,
    requests,
  });
  return {
    appender,
    reader,
    app,
    origin,
    verifier: parseVerifierKey(signer.verifierKey),
    directory,
    settings,
    lookupLimit,
    requests,
  };
}
