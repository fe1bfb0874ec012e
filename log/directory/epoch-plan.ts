/**
 * An epoch planned before it is committed: the queued work (`Job`s: enrolments, revocations and validated
 * statements, each with the promise its submitter waits on) becomes the epoch's log entries, the new map
 * leaves, the epoch head and the index writes (`planEpoch`). Statements chain their history hashes on the
 * committed map leaf of their label, or on an earlier statement for the same label in the same epoch, and
 * each gets a fresh 32-byte opening; a statement that no longer follows its label's current version is
 * refused here. A statement commits even if its credential was revoked after it was accepted (a revocation
 * applies to statements accepted after it: the directory refuses those at submission). Every statement's
 * row of the durable queue is deleted in the epoch's writes (`dequeued`). Also the served state of an epoch
 * (`EpochSnapshot`) as read back from its stored row.
 */
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { randomBytes } from '../../wasm-free-crypto/random.js';
import {
  commitment,
  historyHash,
  HISTORY_ZERO,
  signedStatementBytes,
} from '../../verifier/formats/directory-hashes.js';
import { decodeEntry, encodeEntry, type EpochHeadEntry } from '../../verifier/formats/entries.js';
import type { MapLeaf } from '../../verifier/formats/map-proof.js';
import { recordHash, rootFromLeafHashes } from '../../verifier/formats/tlog.js';
import type { Credential, CredentialRegistry } from './credentials.js';
import { DirectoryError } from './errors.js';
import { emptyEpochWrites, type EpochRow, type EpochWrites } from './store.js';
import type { Committed, CommittedRead, ValidatedSubmission } from './submission.js';

const hex = toHex;

/** The state lookups are served from: one epoch, its checkpoint and its map. */
export interface EpochSnapshot {
  epoch: number;
  head: EpochHeadEntry;
  headEntry: Uint8Array;
  headIndex: number;
  headProof: Uint8Array[];
  checkpoint: string;
  treeSize: number;
}

/** A validated new statement as a job carries it (the versions read while validating it stay behind). */
export type NewSubmission = Omit<Extract<ValidatedSubmission, { kind: 'new' }>, 'committed'> & {
  /** The provider's KEYTRANS UpdateTBS signature, or null (log/directory/keytrans-hook.ts). */
  keytransSignature: Uint8Array | null;
  /** What the name's read at acceptance gave (none for a statement replayed from the durable queue). */
  committed?: CommittedRead;
};

export type Job =
  | {
      kind: 'statement';
      sub: NewSubmission;
      done: Deferred;
      /** Its row in the durable queue, and its receipt's acceptance time and deadline (ms). */
      queueId: number;
      acceptedAt: number;
      deadline: number;
    }
  | {
      kind: 'enrol';
      entry: Uint8Array;
      fingerprint: Uint8Array;
      publicKey: Uint8Array;
      providerId: string;
      /** When every certificate of the chain's path is valid (verifier/enrolment/chain.ts): the epoch's time must be. */
      pathValidity: { notBefore: number; notAfter: number };
      done: Deferred;
    }
  | { kind: 'revoke'; entry: Uint8Array; credential: Credential; done: Deferred };

export interface Deferred {
  promise: Promise<Committed>;
  resolve: (c: Committed) => void;
  reject: (e: unknown) => void;
}

export function deferred(): Deferred {
  let resolve!: (c: Committed) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<Committed>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // callers that only want the receipt must not cause unhandled rejections
  return { promise, resolve, reject };
}

export interface EpochPlan {
  entries: Uint8Array[];
  /** Log index of each job's entry, or why a statement was dropped at planning time. */
  jobIndex: (number | DirectoryError)[];
  leaves: MapLeaf[];
  head: EpochHeadEntry;
  writes: EpochWrites;
}

/**
 * Turns the epoch's jobs into log entries and index writes. Statements chain their history hashes on
 * the committed map leaf of their label or on an earlier statement for the same label in this same
 * epoch; each gets a fresh 32-byte opening.
 */
export function planEpoch(
  jobs: Job[],
  firstIndex: number,
  epoch: number,
  now: number,
  tree: CommittedLeaves,
  registry: CredentialRegistry,
): EpochPlan {
  const entries: Uint8Array[] = [];
  const jobIndex: (number | DirectoryError)[] = [];
  const credentialEntries = registry.all().map((c) => c.entryBytes);
  const writes: EpochWrites = { ...emptyEpochWrites(), dequeued: [] };
  const latest = new Map<string, MapLeaf>();
  for (const j of jobs) {
    const index = firstIndex + entries.length;
    jobIndex.push(index);
    if (j.kind === 'enrol') {
      const refusal = outsideValidity(j, now);
      if (refusal) {
        jobIndex[jobIndex.length - 1] = refusal;
        continue;
      }
      entries.push(j.entry);
      writes.credentials.push({
        logIndex: index,
        providerId: j.providerId,
        fingerprint: j.fingerprint,
        entry: j.entry,
        revokedIndex: null,
      });
    } else if (j.kind === 'revoke') {
      entries.push(j.entry);
      writes.revocations.push({ logIndex: j.credential.logIndex, revokedIndex: index });
    } else {
      writes.dequeued!.push(j.queueId);
      const current = latest.get(hex(j.sub.label)) ?? committedLeaf(j.sub, tree);
      const entry = planStatement(j.sub, index, current, latest, writes);
      if (entry) entries.push(entry);
      else
        jobIndex[jobIndex.length - 1] = new DirectoryError(
          'version_conflict',
          "the statement no longer follows the label's current version",
        );
    }
  }
  const credentials = [...credentialEntries, ...writes.credentials.map((c) => c.entry)];
  const head: EpochHeadEntry = {
    type: 'epoch',
    epoch,
    time: now,
    mapRoot: new Uint8Array(32),
    credentialsRoot: rootFromLeafHashes(credentials.map(recordHash)),
    credentialCount: credentials.length,
    firstIndex,
    count: entries.length,
  };
  return { entries, jobIndex, leaves: [...latest.values()], head, writes };
}

/**
 * The refusal of an enrolment whose certificate path is not valid at the epoch's time, which an auditor checks
 * the entry against (the head's time, PROTOCOL.md section 14): the chain was valid when the request came, and a
 * certificate of it may have expired while the enrolment waited in the queue.
 */
function outsideValidity(j: Extract<Job, { kind: 'enrol' }>, time: number): DirectoryError | undefined {
  const { notBefore, notAfter } = j.pathValidity;
  const at = `at the epoch's time ${new Date(time).toISOString()}`;
  if (time > notAfter)
    return new DirectoryError('cert_expired', `a certificate of ${j.providerId}'s chain has expired ${at}`);
  if (time < notBefore)
    return new DirectoryError('cert_not_yet_valid', `a certificate of ${j.providerId}'s chain is not yet valid ${at}`);
  return undefined;
}

/** What the plan reads of the committed map (directory-map.ts). */
export interface CommittedLeaves {
  get(label: Uint8Array): MapLeaf | undefined;
  committedLeaf(label: Uint8Array, read: CommittedRead): MapLeaf | undefined;
}

/**
 * The label's committed leaf: as its account row gave it when the statement was accepted, unless an epoch
 * committed the label since (the map's memo knows: `DirectoryMap.committedLeaf`); from the map for a
 * statement read back from the durable queue. The row spares the plan a walk down the label's path, which
 * `StoredMap.plan` walks again anyway.
 */
function committedLeaf(sub: NewSubmission, tree: CommittedLeaves): MapLeaf | undefined {
  return sub.committed ? tree.committedLeaf(sub.label, sub.committed) : tree.get(sub.label);
}

function planStatement(
  sub: NewSubmission,
  index: number,
  current: MapLeaf | undefined,
  latest: Map<string, MapLeaf>,
  writes: EpochWrites,
): Uint8Array | null {
  const key = hex(sub.label);
  const version = sub.statement.version;
  // The map (committed state) or an earlier statement of this epoch holds the label's current version;
  // a statement that no longer follows it (a race between submissions) is dropped, never chained wrong.
  if (version !== (current?.version ?? 0) + 1) return null;
  const previous = current?.historyHash ?? HISTORY_ZERO;
  const opening = randomBytes(32);
  const c = commitment(opening, signedStatementBytes(sub.statementBytes, sub.signature));
  const history = historyHash(previous, version, c);
  latest.set(key, { label: sub.label, version, historyHash: history });
  if (version === 1)
    writes.names.push({ provider: sub.statement.provider, account: sub.statement.account, label: sub.label });
  writes.accounts.push({ label: sub.label, version, history, previousHistory: previous, vrfProof: sub.vrfProof });
  writes.versions.push({
    label: sub.label,
    version,
    opening,
    statement: sub.statementBytes,
    signature: sub.signature,
    credentialIndex: sub.credential.logIndex,
    logIndex: index,
  });
  if (sub.statement.status === 'deleted') writes.erasures.push({ label: sub.label, below: version });
  return encodeEntry({ type: 'update', label: sub.label, version, commitment: c });
}

export function snapshotFromRow(row: EpochRow, checkpoint: string): EpochSnapshot {
  const head = decodeEntry(row.entry);
  if (head.type !== 'epoch')
    throw new DirectoryError('corrupt_directory', 'the stored epoch head is not an epoch head');
  const headProof = Array.from({ length: row.proof.length / 32 }, (_, i) => row.proof.slice(32 * i, 32 * i + 32));
  return {
    epoch: head.epoch,
    head,
    headEntry: row.entry,
    headIndex: row.logIndex,
    headProof,
    checkpoint,
    treeSize: row.logIndex + 1,
  };
}
