/**
 * What a directory is opened with (directory.ts, `Directory.open`): its log and store, its keys and trusted
 * roots, its bounds and clock, the witnesses' cosigning, the VRF prover, the map cache and the KEYTRANS
 * deployments; and what a submitter gets back for an accepted statement.
 */
import type { LogAppender } from '../merkle/appender.js';
import type { LogReader } from '../merkle/reader.js';
import type { KeyTransHook } from './keytrans-hook.js';
import type { DirectoryStore } from './store.js';
import type { Committed } from './submission.js';
import type { VrfProver } from './vrf-prover.js';

export interface DirectoryOptions {
  log: LogAppender;
  reader: LogReader;
  store: DirectoryStore;
  /** 32-byte VRF secret key (RFC 9381 suite 0x03). */
  vrfSecretKey: Uint8Array;
  /** DER certificates of the roots provider chains must lead to. */
  trustedRoots: Uint8Array[];
  /** Clock in ms since the Unix epoch (default Date.now). */
  now?: () => number;
  /** Queued submissions at most; beyond, `queue_full`. */
  maxQueue?: number;
  /** Updates per epoch at most (the rest waits for the next epoch, first in line). */
  maxEpochUpdates?: number;
  /** How long after acceptance a receipted statement is promised to commit, in ms (its receipt's deadline). */
  receiptDeadlineMs?: number;
  /**
   * Adds witness cosignatures to each new epoch's checkpoint (log/merkle/witnessing.ts) before the epoch is
   * served: lookups and committed answers then carry the cosigned checkpoint. Lookups wait meanwhile.
   */
  cosign?: (checkpoint: string) => Promise<string>;
  /** Told how long each committed epoch took to plan and commit, in ms (the servers' epoch-duration metric). */
  onEpochCommitted?: (ms: number) => void;
  /**
   * Told of a step that failed after an epoch committed (the epoch stands: its jobs are answered as committed):
   * the witnesses' cosigning (the epoch is then served with the log's own checkpoint), the store's purge of
   * erased bytes (tried again after the next epoch), or `onEpochCommitted`. The servers log it.
   */
  onAfterCommitError?: (step: AfterCommitStep, e: unknown) => void;
  /** Computes the VRF proofs of unknown names (log/directory/vrf-prover.ts); default: inline, on this thread. */
  vrfProver?: VrfProver;
  /** How many rows of the stored map to cache (log/directory/directory-map.ts); default 30,000. */
  mapCacheRows?: number;
  /** The KEYTRANS deployments the epochs drive (log/directory/keytrans-hook.ts); none by default. */
  keytrans?: KeyTransHook;
}

/** The steps after an epoch's commit whose failure does not undo it (`onAfterCommitError`). */
export type AfterCommitStep = 'cosign' | 'purge' | 'metrics';

/** The accepted submission's receipt data, and a promise for its commitment to the log. */
export interface Accepted {
  label: Uint8Array;
  version: number;
  committed: Promise<Committed>;
  /** When it was accepted (durably queued) and the deadline it is promised to commit by, in ms. */
  acceptedAt: number;
  deadline: number;
}
