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
 * An epoch's prepared KEYTRANS entries: every deployment's head after them, in the order the deployments were
 * made (none: no deployment yet), and `write`, which stores them all with the anchor (synchronous, inside the
 * log commit).
 */
export interface PreparedKeyTransEpoch {
  heads: KeyTransHead[];
  write(anchor: KeyTransAnchor | null): void;
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
