/**
 * What the Worker's Durable Object opens in its storage (kept out of the Worker's main module,
 * api/worker/worker.ts, which may export only handlers and classes): the log's key and origin, the
 * directory's secrets and the settings, read from the Worker's secrets and vars and checked as the Node
 * server checks its files (api/wiring/settings.ts), then the log, the directory and the app wired as every
 * server is wired (api/wiring/open-server.ts) over the Durable Object's SQLite storage
 * (do-log-storage.ts, do-directory-store.ts). Everything is checked before storage is touched; every
 * problem is a `ConfigError` naming the secret or var, never its value.
 *
 * Secrets (see README's "Settings" and wrangler.toml): `LOG_SIGNER_KEY` (the log's C2SP signer key, whose
 * name must equal the var `LOG_ORIGIN`), `VRF_SECRET_KEY`, `OPERATOR_TOKEN` and `TRUSTED_ROOTS_PEM` (may
 * also be a var: certificates are not secret). `KT_LOG_ONLY` = "1" serves a plain C2SP log without the
 * directory, whose secrets are then not read.
 */
import {
  parseSignerKey,
  parseVerifierKey,
  type Ed25519NoteSigner,
  type NoteVerifier,
} from '../../wasm-free-crypto/note.js';
import { parsePemCertificates } from '../../log/providers/certificate.js';
import { openServer, type DirectoryParts, type OpenServer } from '../wiring/open-server.js';
import {
  ConfigError,
  parseOperatorToken,
  parseVrfSecretKey,
  settingsFromVars,
  type Settings,
  type SettingVars,
} from '../wiring/settings.js';
import { errorFields } from '../app/logger.js';
import type { IndexLayout } from './d1-layout.js';
import { DoDeploymentStores } from './do-deployment-store.js';
import { EdgeDeploymentStores } from './edge-deployment-store.js';
import { DoDirectoryStore } from './do-directory-store.js';
import type { TileBucket } from '../../log/merkle/tile-publication.js';
import { BucketBackedLogStorage } from './bucket-backed-log.js';
import { DoLogStorage, type DoSqlStorage } from './do-log-storage.js';
import { requestEpoch, type EpochAlarm } from './epoch-alarm.js';
import { encodeEpochWrites } from './outbox-json.js';
import { ReplicatedDirectoryStore } from './replicated-store.js';
import { workerLogger } from './worker-log.js';

/** The key of the app's environment that marks a lookup whose token the Worker already took (api/worker/worker.ts). */
/** The Worker secrets and vars the sequencer reads. */
/** The name of the one sequencer instance (the Durable Object that writes the log and the directory). */
export const SEQUENCER_NAME = 'log';

export interface SequencerVars extends SettingVars {
  LOG_SIGNER_KEY?: string;
  LOG_ORIGIN?: string;
  VRF_SECRET_KEY?: string;
  TRUSTED_ROOTS_PEM?: string;
  OPERATOR_TOKEN?: string;
  /** "1" serves the log only, without the directory. */
  KT_LOG_ONLY?: string;
  /** What the object keeps of what R2 and D1 hold: "full" (everything, the default) or "edge" (`objectKeepsAll`). */
  OBJECT_STORAGE?: string;
}

/**
 * Whether the object keeps its copies of what R2 and D1 hold (`OBJECT_STORAGE` "full", the default), or only
 * what the single writer needs ("edge": the log's right edge, bucket-backed-log.ts, and no account, version,
 * name or lower map rows, object-trim.ts), R2 and D1 then holding the only copies; anything else is not configured.
 */
export function objectKeepsAll(vars: SequencerVars): boolean {
  const v = vars.OBJECT_STORAGE ?? 'full';
  if (v !== 'full' && v !== 'edge') throw new ConfigError('OBJECT_STORAGE must be "full" or "edge"');
  return v === 'full';
}

/** What the sequencer serves from: the wired server, and what it publishes to R2 with. */
export interface SequencerState extends OpenServer {
  /** The directory's store reading its bulk through D1, when D1 is bound (it also replicates to D1). */
  replica?: ReplicatedDirectoryStore;
  /** The log's storage keeping full tiles in the R2 bucket once published, when the bucket is bound. */
  tiles?: BucketBackedLogStorage;
  origin: string;
  /** The log's own note verifier (checks the checkpoint found in the R2 bucket). */
  verifier: NoteVerifier;
  settings: Settings;
}

/** The log's signer from `LOG_SIGNER_KEY`, for the origin `LOG_ORIGIN`. */
export function logSigner(vars: SequencerVars): Ed25519NoteSigner {
  if (!vars.LOG_SIGNER_KEY) throw new ConfigError('LOG_SIGNER_KEY is not set');
  if (!vars.LOG_ORIGIN) throw new ConfigError('LOG_ORIGIN is not set');
  let signer: Ed25519NoteSigner;
  try {
    signer = parseSignerKey(vars.LOG_SIGNER_KEY.trim());
  } catch (e) {
    throw new ConfigError(`LOG_SIGNER_KEY is not a valid signer key (${(e as Error).message})`);
  }
  if (signer.name !== vars.LOG_ORIGIN) throw new ConfigError('LOG_ORIGIN does not match the name of LOG_SIGNER_KEY');
  return signer;
}

/** The directory's secrets: its VRF key, the trusted roots and the operator token. */
export function directorySecrets(vars: SequencerVars): Omit<DirectoryParts, 'store'> {
  const vrfSecretKey = parseVrfSecretKey(vars.VRF_SECRET_KEY, 'VRF_SECRET_KEY');
  if (!vars.TRUSTED_ROOTS_PEM?.trim()) throw new ConfigError('TRUSTED_ROOTS_PEM is not set');
  let trustedRoots: Uint8Array[];
  try {
    trustedRoots = parsePemCertificates(vars.TRUSTED_ROOTS_PEM);
  } catch (e) {
    throw new ConfigError(`TRUSTED_ROOTS_PEM is not PEM certificates (${(e as Error).message})`);
  }
  const operatorToken = parseOperatorToken(vars.OPERATOR_TOKEN, 'OPERATOR_TOKEN');
  return { vrfSecretKey, trustedRoots, operatorToken };
}

/**
 * Opens the log and, unless `KT_LOG_ONLY`, the directory in a Durable Object's storage (a new log gets
 * epoch 0), and the app serving them. Work queued through the app asks the alarm for an epoch. With a D1
 * `replica` layout, every epoch's index writes are also recorded for replication to D1 (d1-replica.ts), and
 * the directory reads its bulk through D1 once replicated (replicated-store.ts). With a `bucket`, the log's
 * full tiles are read back from it once the object no longer holds them (bucket-backed-log.ts).
 */
export async function openSequencerState(
  storage: DoSqlStorage,
  alarm: EpochAlarm,
  vars: SequencerVars,
  opts: { replica?: IndexLayout; bucket?: { bucket: TileBucket; prefix: string } } = {},
): Promise<SequencerState> {
  const signer = logSigner(vars);
  const settings = settingsFromVars(vars);
  const secrets = vars.KT_LOG_ONLY === '1' ? null : directorySecrets(vars);
  const replica = secrets && opts.replica ? replicatedStore(storage, opts.replica) : undefined;
  const own = new DoLogStorage(storage);
  const tiles = opts.bucket && new BucketBackedLogStorage(own, storage, opts.bucket.bucket, opts.bucket.prefix);
  const server = await openServer({
    logStorage: tiles ?? own,
    signer,
    directory: secrets
      ? {
          ...secrets,
          store: replica ?? new DoDirectoryStore(storage),
          // With D1, read in place of what the object trims (edge-deployment-store.ts; until then its own).
          keytrans: settings.keytrans ? keyTransStores(storage, opts.replica, replica) : undefined,
        }
      : undefined,
    settings,
    afterQueued: () => requestEpoch(alarm, settings.epochIntervalMs),
    logger: workerLogger,
  });
  return { ...server, replica, tiles, origin: signer.name, verifier: parseVerifierKey(signer.verifierKey), settings };
}

/** The object's KEYTRANS deployments: with a replica, read through D1 once the object trims (object-trim.ts). */
function keyTransStores(storage: DoSqlStorage, layout?: IndexLayout, replica?: ReplicatedDirectoryStore) {
  return layout && replica ? new EdgeDeploymentStores(storage, layout, replica) : new DoDeploymentStores(storage);
}

/** The object's store with its outbox, reading its bulk through `layout` (a failed read logged, then its own). */
function replicatedStore(storage: DoSqlStorage, layout: IndexLayout): ReplicatedDirectoryStore {
  const own = new DoDirectoryStore(storage, { outbox: { encodeWrites: encodeEpochWrites } });
  return new ReplicatedDirectoryStore(own, storage, layout, (e) =>
    workerLogger.warn('d1_store_read_failed', { answeredBy: 'sequencer', ...errorFields(e) }),
  );
}
