/**
 * The one way a server is wired, on Node (api/node/server.ts) and in the Worker's Durable Object
 * (api/worker/sequencer-state.ts): from its storages, keys and settings, `openServer` opens the log's
 * single writer and reader, the witnesses' cosigning, the directory over the log (unless it serves a plain
 * log) and the Hono app serving them; `serverApp` builds the app for a log and an open directory (the tests
 * use it over directories of their own). Each platform adds only what differs: Node starts the directory's
 * epoch timer and listens; the Worker closes epochs from its alarm (`afterQueued` asks for one). Pure: no
 * Node or Workers imports.
 */
import type { Hono } from 'hono';
import { toBase64, toHex } from '../../wasm-free-crypto/bytes.js';
import type { Ed25519NoteSigner } from '../../wasm-free-crypto/note.js';
import { Directory } from '../../log/directory/directory.js';
import {
  proveDiscovery,
  proveHistory,
  proveLookup,
  proveMonitorCheck,
  type ProofSource,
} from '../../log/directory/proof-builder.js';
import { DirectoryError } from '../../log/directory/errors.js';
import type { DirectoryStore } from '../../log/directory/store.js';
import type { VrfProver } from '../../log/directory/vrf-prover.js';
import type { DeploymentStores } from '../../log/keytrans/deployment-store.js';
import { KeyTransDeployments } from '../../log/keytrans/deployments.js';
import type { KeyTransDeploymentReads } from '../app/keytrans-routes.js';
import { operatorKeys } from '../../log/keytrans/operator-keys.js';
import { LogAppender } from '../../log/merkle/appender.js';
import { LogReader } from '../../log/merkle/reader.js';
import type { LogStorage } from '../../log/merkle/storage.js';
import { Witnessing } from '../../log/merkle/witnessing.js';
import { createApp, type AppConfig, type AppMetrics } from '../app/app.js';
import type { ExplorerAssets } from '../app/explorer-routes.js';
import type { DirectoryRouteOptions, DirectoryService } from '../app/directory-routes.js';
import { EpochDurations } from '../app/epoch-metrics.js';
import { consoleLogger, errorFields, type Logger } from '../app/logger.js';
import type { TokenBuckets } from '../app/middleware.js';
import type { LookupLimiter } from '../app/rate-limit-lookups.js';
import { RequestMetrics } from '../app/request-metrics.js';
import { rateLimits } from './rate-limits.js';
import type { Settings } from './settings.js';

/** The directory's own storage and keys. */
export interface DirectoryParts {
  store: DirectoryStore;
  /** The 32-byte VRF secret key (RFC 9381 suite 0x03). */
  vrfSecretKey: Uint8Array;
  /** DER certificates of the roots provider chains must lead to. */
  trustedRoots: Uint8Array[];
  /** The operator's bearer token for enrolment and revocation. */
  operatorToken: string;
  /** Who computes VRF proofs (Node: its thread pool, api/node/vrf-pool.ts); default: inline (the Worker). */
  vrfProver?: VrfProver;
  /** Where the providers' KEYTRANS deployments are kept (Node: the same SQLite file); none: no KEYTRANS. */
  keytrans?: DeploymentStores;
}

/** What differs between the platforms, as hooks of the app. */
export interface ServerHooks {
  /** Called after a submission, enrolment or revocation leaves work queued (the Worker asks for an epoch). */
  afterQueued?: () => Promise<void>;
  /** The structured log (api/app/logger.ts) of internal errors and witness failures (default: console.error). */
  logger?: Logger;
  /** The explorer page's files (api/app/explorer-routes.ts), served at `/` with a directory. */
  explorer?: ExplorerAssets;
}

export interface ServerParts extends ServerHooks {
  logStorage: LogStorage;
  /** The log's note signer; its key name is the log's origin. */
  signer: Ed25519NoteSigner;
  /** The directory's parts, or none for a plain C2SP log of arbitrary entries. */
  directory?: DirectoryParts;
  settings: Settings;
}

export interface OpenServer {
  appender: LogAppender;
  reader: LogReader;
  directory: Directory | null;
  app: Hono;
  /** The app's request counts, to which the Worker adds the requests it answers itself. */
  requests: RequestMetrics;
  /** The per-client lookup limit of the directory's routes (the Worker's own lookup path shares it). */
  lookupLimit: TokenBuckets | null;
}

/** Opens the log, and the directory over it, from their storages, and the app serving them. */
export async function openServer(parts: ServerParts): Promise<OpenServer> {
  const { logStorage, signer, settings } = parts;
  const appender = await LogAppender.open({ storage: logStorage, signer, origin: signer.name });
  let directory: Directory | null = null;
  const epochDurations = new EpochDurations();
  // The checkpoint served is the directory's epoch checkpoint, which carries the witnesses' cosignatures
  // (while a new epoch is being cosigned, the previous one); the tiles of the committed head stay readable.
  const reader = new LogReader(
    logStorage,
    () => appender.head,
    () => directory?.servedSnapshot.checkpoint ?? appender.head.checkpoint,
  );
  const witnessing =
    parts.directory && settings.witnesses.length > 0
      ? new Witnessing({
          witnesses: settings.witnesses,
          readTile: (t) => reader.tile(t),
          onFailure: (witness, e) =>
            (parts.logger ?? consoleLogger).warn('witness_failed', { witness, ...errorFields(e) }),
          onStateLost: (witness, held, cosigned) =>
            (parts.logger ?? consoleLogger).warn('witness_state_lost', { witness, held, cosigned }),
        })
      : null;
  const d = parts.directory;
  const keytrans = d?.keytrans
    ? new KeyTransDeployments(
        d.keytrans,
        (p) => operatorKeys(d.vrfSecretKey, p, d.vrfProver),
        () => directory?.credentials.all() ?? [],
      )
    : null;
  if (parts.directory) {
    directory = await Directory.open({
      log: appender,
      reader,
      store: parts.directory.store,
      vrfSecretKey: parts.directory.vrfSecretKey,
      trustedRoots: parts.directory.trustedRoots,
      vrfProver: parts.directory.vrfProver,
      receiptDeadlineMs: settings.receiptDeadlineMs,
      mapCacheRows: settings.mapCacheRows,
      cosign: witnessing ? (note) => witnessing.cosign(note) : undefined,
      onEpochCommitted: (ms) => epochDurations.observe(ms / 1000),
      onAfterCommitError: (step, e) =>
        (parts.logger ?? consoleLogger).error('epoch_after_commit', { step, ...errorFields(e) }),
      keytrans: keytrans ?? undefined,
    });
  }
  const operatorToken = parts.directory?.operatorToken;
  const { app, requests, lookupLimit } = serverApp({
    ...parts,
    reader,
    directory,
    operatorToken,
    witnessing,
    epochDurations,
    keytrans,
  });
  return { appender, reader, directory, app, requests, lookupLimit };
}

/** The app for a log and, if given, the directory on it: the routes, config, metrics, rate limit and CORS. */
export function serverApp(
  o: ServerHooks & {
    reader: LogReader;
    signer: Ed25519NoteSigner;
    directory: Directory | null;
    operatorToken?: string;
    settings: Settings;
    witnessing?: Witnessing | null;
    /** The durations of the directory's epochs, if they are observed (openServer's are). */
    epochDurations?: EpochDurations;
    /** The providers' KEYTRANS deployments the directory's epochs drive, if any. */
    keytrans?: KeyTransDeployments | null;
  },
): { app: Hono; requests: RequestMetrics; lookupLimit: TokenBuckets | null } {
  const requests = new RequestMetrics();
  const config: AppConfig = { origin: o.signer.name, logKey: o.signer.verifierKey };
  let routes: DirectoryRouteOptions | undefined;
  let metrics: AppMetrics | undefined;
  let lookupLimit: TokenBuckets | null = null;
  if (o.directory) {
    const dir = o.directory;
    Object.assign(config, directoryConfig(dir, o.settings));
    const limits = rateLimits(o.settings, requests);
    lookupLimit = limits.lookup;
    routes = {
      service: queueingService(directoryService(dir), dir, o.afterQueued),
      receiptSigner: o.signer,
      operatorToken: o.operatorToken,
      lookupRateLimit: lookupLimit,
      publishLimits: limits.publish,
      operatorAuthFailures: limits.operatorAuthFailures,
    };
    metrics = {
      queueDepth: () => dir.queueDepth,
      epoch: () => dir.epoch,
      lastEpochSeconds: () => dir.lastEpochMs / 1000,
      epochDurations: o.epochDurations,
      checkpointAgeSeconds: () => {
        const ms = dir.servedEpochAgeMs();
        return ms === undefined ? undefined : ms / 1000;
      },
    };
  }
  const cors = { lookupOrigins: o.settings.lookupOrigins };
  const health = o.directory ? healthCheck(o.directory, o.settings, o.witnessing ?? null) : undefined;
  if (metrics && o.witnessing) metrics.witnessFailures = () => o.witnessing!.failures;
  const dirForServed = o.directory;
  const keytrans =
    dirForServed && o.keytrans
      ? {
          deployments: o.keytrans,
          lookupRateLimit: lookupLimit!,
          served: async () => servedOf(await dirForServed.snapshot()),
        }
      : undefined;
  const app = createApp({
    reader: o.reader,
    config,
    directory: routes,
    keytrans,
    metrics,
    requests,
    logger: o.logger,
    accessLog: o.settings.accessLog,
    cors,
    health,
    explorer: o.explorer,
  });
  return { app, requests, lookupLimit };
}

/** The routes' service over a directory: proofs from log/directory/proof-builder.ts, the rest queued. */
function directoryService(dir: Directory): DirectoryService {
  return {
    ...proofService(dir),
    submit: (s, sig, credential, keytrans) => dir.submit(s, sig, credential, keytrans ?? null),
    enrol: (chain) => dir.enrol(chain),
    revoke: async (p, fp, reason) => dir.revoke(p, fp, reason),
  };
}

/** The proofs of a service, from the sequencer or a reader of its store. */
function proofService(source: ProofSource): Pick<DirectoryService, 'lookup' | 'history' | 'monitor' | 'discover'> {
  return {
    lookup: (p, a, charge) => proveLookup(source, p, a, charge),
    history: (p, a, since, charge) => proveHistory(source, p, a, since, charge),
    monitor: (p, a, version, charge) => proveMonitorCheck(source, p, a, version, charge),
    discover: (a, charge) => proveDiscovery(source, a, charge),
  };
}

/**
 * The app of a reader (api/node/reader-process.ts; on the Worker, an isolate: api/worker/isolate-reads.ts): the
 * same routes, their proofs from a reader of the sequencer's store (log/directory/directory-reader.ts, or the D1
 * replica: api/worker/d1-reader.ts), the lookup rate limit its own (the Node server hands each client to one
 * reader, api/node/readers.ts) or `lookupLimit` (the Worker's limiter objects). It takes no write: the reader
 * forwards writes, /metrics and /healthz to the sequencer before this app sees them, and the service refuses
 * them should one arrive.
 */
export function readerApp(o: {
  reader: LogReader;
  signer: Ed25519NoteSigner;
  directory: ProofSource;
  vrfPublicKey: Uint8Array;
  settings: Settings;
  /** The lookup limit, if not the app's own buckets (the Worker's limiter objects). */
  lookupLimit?: LookupLimiter;
  /** Where the app counts its requests and refusals (a reader process hands them to the sequencer). */
  requests?: RequestMetrics;
  logger?: Logger;
  explorer?: ExplorerAssets;
  /** The providers' KEYTRANS deployments, read from the sequencer's store or D1 (none: no KEYTRANS routes). */
  keytrans?: KeyTransDeploymentReads;
}): Hono {
  const requests = o.requests ?? new RequestMetrics();
  const config: AppConfig = { origin: o.signer.name, logKey: o.signer.verifierKey };
  const dir = o.directory;
  Object.assign(
    config,
    directoryConfig({ vrfPublicKey: o.vrfPublicKey, credentials: { all: () => dir.credentials.all() } }, o.settings),
  );
  const limits = rateLimits(o.settings, requests);
  const lookupRateLimit = o.lookupLimit ?? limits.lookup;
  const refused = async (): Promise<never> => {
    throw new DirectoryError('internal', 'a reader process takes no writes');
  };
  return createApp({
    reader: o.reader,
    config,
    directory: {
      service: { ...proofService(o.directory), submit: refused, enrol: refused, revoke: refused },
      receiptSigner: o.signer,
      lookupRateLimit,
      publishLimits: limits.publish,
      operatorAuthFailures: limits.operatorAuthFailures,
    },
    keytrans: o.keytrans
      ? { deployments: o.keytrans, lookupRateLimit, served: async () => servedOf(await dir.snapshot()) }
      : undefined,
    requests,
    logger: o.logger,
    accessLog: o.settings.accessLog,
    cors: { lookupOrigins: o.settings.lookupOrigins },
    explorer: o.explorer,
  });
}

/** The served epoch's number and checkpoint, for the KEYTRANS routes. */
function servedOf({ snap }: { snap: { epoch: number; checkpoint: string } }) {
  return { epoch: snap.epoch, checkpoint: snap.checkpoint };
}

/** The service, calling `afterQueued` whenever a call leaves work queued. */
function queueingService(
  service: DirectoryService,
  dir: Directory,
  afterQueued?: () => Promise<void>,
): DirectoryService {
  if (!afterQueued) return service;
  const kick = async () => {
    if (dir.queueDepth > 0) await afterQueued();
  };
  return {
    ...service,
    async submit(statement, signature, credential, keytrans) {
      const accepted = await service.submit(statement, signature, credential, keytrans);
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

/** The directory's fields of /v1/config: its VRF key, witness policy, epoch timing and providers. */
function directoryConfig(
  dir: { vrfPublicKey: Uint8Array; credentials: Pick<Directory['credentials'], 'all'> },
  settings: Settings,
): Partial<AppConfig> {
  return {
    vrfKey: toBase64(dir.vrfPublicKey),
    witnesses: settings.witnesses.map((w) => w.key),
    witnessQuorum: settings.witnessQuorum,
    epochIntervalMs: settings.epochIntervalMs,
    heartbeatMs: settings.heartbeatMs,
    providers: () =>
      dir.credentials.all().map((c) => ({
        providerId: c.entry.providerId,
        fingerprint: toHex(c.fingerprint),
        algorithm: c.entry.algorithm,
        notBefore: c.entry.notBefore,
        notAfter: c.entry.notAfter,
        revoked: c.revokedIndex !== null,
        logIndex: c.logIndex,
        revokedIndex: c.revokedIndex,
      })),
  };
}

/**
 * What /healthz reports as degrading the directory: epochs that stall (the served checkpoint's epoch older
 * than two heartbeats), a served checkpoint with fewer witness cosignatures than the advised quorum, and
 * writes refused (a restored backup not yet known to hold the newest checkpoint: api/node/restore-check.ts).
 */
function healthCheck(dir: Directory, settings: Settings, witnessing: Witnessing | null): () => string[] {
  return () => {
    const reasons: string[] = [];
    if (dir.readOnlyReason) reasons.push(dir.readOnlyReason); // a restored backup not yet known to be the newest
    const age = dir.servedEpochAgeMs();
    if (age !== undefined && age > 2 * settings.heartbeatMs)
      reasons.push(
        `epochs stall: the served checkpoint's epoch is ${Math.round(age / 1000)} s old (heartbeat every ${settings.heartbeatMs / 1000} s)`,
      );
    const cosigned = witnessing?.lastCosigned;
    if (cosigned !== undefined && cosigned < settings.witnessQuorum)
      reasons.push(
        `the last checkpoint has ${cosigned} witness cosignature(s), fewer than the advised quorum of ${settings.witnessQuorum}`,
      );
    return reasons;
  };
}
