/**
 * What the directory asks of the KEYTRANS deployments it operates, one per provider (docs/PROTOCOL.md section
 * 22; log/keytrans/deployments.ts implements it): to check a provider's UpdateTBS signature when a statement is
 * accepted, so that a statement that could not enter the provider's deployment is refused before its receipt;
 * and, each epoch, to prepare every deployment's next log entry from the statements the epoch commits, to be
 * written inside the epoch's log commit, so that the log and the deployments never disagree after a crash.
 */
import type { KeyTransHead } from '../../verifier/formats/entries.js';
import type { CredentialRegistry } from './credentials.js';

/** A committed statement as its provider's deployment takes it. */
export interface KeyTransUpdate {
  providerId: string;
  account: string;
  /** The statement's version (from 1); the KEYTRANS version is one less (draft-05 versions start at 0). */
  version: number;
  /** The canonical binding statement: the KEYTRANS value. */
  statement: Uint8Array;
  /** The provider's signature of UpdateTBS (thirdPartyManagement), or null if the provider gave none. */
  signature: Uint8Array | null;
  /** A `deleted` statement: it erases the account's earlier versions, in the deployment as in the directory. */
  deleted: boolean;
}

/** Where an epoch's KEYTRANS heads entry (type 0x04) landed in the log: docs/PROTOCOL.md section 22.7. */
export interface KeyTransAnchor {
  epoch: number;
  /** Its log index: the one before the epoch head's. */
  logIndex: number;
  entry: Uint8Array;
  /** Its inclusion proof in the tree of the epoch's checkpoint (logIndex + 2 entries). */
  proof: Uint8Array[];
}

/**
 * An epoch's KEYTRANS writes as rows keyed by provider, for a replica of the deployments (the Worker's D1,
 * api/worker/d1-keytrans.ts): the tables of log/keytrans/keytrans-sql.ts with the provider's id in place of the
 * deployment's number. Prefix-tree nodes are encoded as in `kt_prefix_nodes.node`.
 */
export interface KeyTransRows {
  /** Every deployment's encoded Configuration (a replica keeps the first it is given of each provider). */
  deployments: { provider: string; config: Uint8Array }[];
  entries: {
    provider: string;
    position: number;
    timestamp: number;
    prefixRoot: Uint8Array;
    headSignature: Uint8Array;
  }[];
  logNodes: { provider: string; level: number; index: number; value: Uint8Array }[];
  prefixNodes: { provider: string; depth: number; path: Uint8Array; position: number; node: Uint8Array }[];
  versions: KeyTransVersionRow[];
  /** The versions of `label` below `below` that lose their openings, values and signatures. */
  erasures: { provider: string; label: Uint8Array; below: number }[];
  anchor: KeyTransAnchor | null;
}

/** An epoch's KEYTRANS rows with nothing in them yet. */
export function emptyKeyTransRows(): KeyTransRows {
  return { deployments: [], entries: [], logNodes: [], prefixNodes: [], versions: [], erasures: [], anchor: null };
}

/** One version of a label in a provider's deployment (null opening, value and signature: erased). */
export interface KeyTransVersionRow {
  provider: string;
  label: Uint8Array;
  version: number;
  position: number;
  vrfOutput: Uint8Array;
  vrfProof: Uint8Array;
  commitment: Uint8Array;
  opening: Uint8Array | null;
  value: Uint8Array | null;
  signature: Uint8Array | null;
}

/**
 * An epoch's prepared KEYTRANS entries: every deployment's head after them, in the order the deployments were
 * made (none: no deployment yet); `write`, which stores them all with the anchor (synchronous, inside the log
 * commit); and `rows`, the same writes for a replica.
 */
export interface PreparedKeyTransEpoch {
  heads: KeyTransHead[];
  write(anchor: KeyTransAnchor | null): void;
  rows(anchor: KeyTransAnchor | null): KeyTransRows;
}

export interface KeyTransHook {
  /**
   * Refuses, with DirectoryError 'bad_keytrans_update', an update whose place in its provider's deployment is not
   * what it says: a signature that does not verify, one for an account whose earlier versions are not all in the
   * deployment (committed or queued signed), none for an account that is, a signature while the provider has no
   * deployment yet, or a label too long. `previous`: the account's version before this one if it is still
   * queued, and whether it is signed (null: committed, or none). Asynchronous: the signature may be verified off
   * the event loop (WebCrypto); what it reads of the deployment it reads before its first wait.
   */
  checkUpdate(update: KeyTransUpdate, previous: { signed: boolean } | null): Promise<void>;
  /**
   * Every deployment's next entry at `time` (every deployment advances every epoch, with or without updates),
   * opening the deployments of providers enrolled since; nothing is written until `write`.
   */
  prepareEpoch(
    updates: KeyTransUpdate[],
    credentials: CredentialRegistry,
    time: number,
  ): Promise<PreparedKeyTransEpoch>;
}
