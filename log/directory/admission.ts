/**
 * The checks a validated submission passes before the directory queues it (directory.ts, `submit`, whose
 * comment gives the crash-safety ordering they sit in): that its provider's KEYTRANS deployment would take
 * it, that its version still follows the label's pending or committed version and its credential is not
 * being revoked, and the answer to an identical resubmission. They read the queue, the credentials and the
 * map, and change nothing; the synchronous ones run in the tick in which `submit` then reserves the version.
 */
import type { CredentialRegistry } from './credentials.js';
import type { DirectoryMap } from './directory-map.js';
import type { Accepted, DirectoryOptions } from './directory-options.js';
import { DEFAULT_RECEIPT_DEADLINE_MS } from './durable-queue.js';
import type { NewSubmission } from './epoch-plan.js';
import { DirectoryError } from './errors.js';
import { keyTransUpdate, type JobQueue } from './job-queue.js';
import type { Committed } from './submission.js';

/** What the checks read: the directory's options, queue, credentials, map and clock. */
export interface AdmissionContext {
  opts: DirectoryOptions;
  queue: JobQueue;
  credentials: CredentialRegistry;
  map: DirectoryMap;
  now: () => number;
}

/** Refuses a statement its provider's KEYTRANS deployment would not take (keytrans-hook.ts). */
export async function checkKeyTrans(ctx: AdmissionContext, sub: NewSubmission): Promise<void> {
  if (!ctx.opts.keytrans) {
    if (sub.keytransSignature === null) return;
    throw new DirectoryError('bad_keytrans_update', 'this directory runs no KEYTRANS deployments');
  }
  const queued = ctx.queue.pending.entry(sub.label, sub.statement.version - 1);
  await ctx.opts.keytrans.checkUpdate(keyTransUpdate(sub), queued ? { signed: queued.keytransSigned } : null);
}

/** The answer to an identical resubmission: the queued statement's receipt times, or now for a committed one. */
export function duplicateOutcome(
  ctx: AdmissionContext,
  label: Uint8Array,
  version: number,
  committed: Promise<Committed>,
): Accepted {
  const p = ctx.queue.pending.entry(label, version);
  if (p) return { label, version, committed: p.done.promise, acceptedAt: p.acceptedAt, deadline: p.deadline };
  const now = ctx.now();
  return { label, version, committed, acceptedAt: now, deadline: receiptDeadline(ctx.opts, now) };
}

/** When a statement accepted at `acceptedAt` must be committed by, as its receipt says. */
export function receiptDeadline(opts: Pick<DirectoryOptions, 'receiptDeadlineMs'>, acceptedAt: number): number {
  return acceptedAt + (opts.receiptDeadlineMs ?? DEFAULT_RECEIPT_DEADLINE_MS);
}

/**
 * From a store that keeps its map rows elsewhere (directory-map.ts): if an epoch committed since the version
 * was read, `checkStillNext` reads the map, so the label's path is fetched first (again if another epoch
 * committed meanwhile, a few times at most).
 */
export async function fetchForCheck(
  ctx: AdmissionContext,
  label: Uint8Array,
  read: { epochsCommitted: number },
): Promise<void> {
  for (let i = 0; i < 3 && ctx.map.fetchesRows && read.epochsCommitted !== ctx.map.commits; i++) {
    const seen = ctx.map.commits;
    await ctx.map.fetchPaths([label]);
    if (seen === ctx.map.commits) return;
  }
}

/**
 * Step 2 of `submit`: the version must still be next, and the credential must not be being revoked. The
 * committed version read with the name still holds if no epoch committed since (what an epoch commits
 * leaves the queue only after the count changed); otherwise the map has it, without awaiting.
 */
export function checkStillNext(
  ctx: AdmissionContext,
  label: Uint8Array,
  version: number,
  credentialIndex: number,
  read: { version: number; epochsCommitted: number },
): void {
  if (ctx.queue.isRevoking(credentialIndex) || ctx.credentials.get(credentialIndex)?.revokedIndex !== null)
    throw new DirectoryError('cert_revoked', 'the signing credential is revoked, or its revocation is queued');
  const committed = ctx.map.committedVersion(label, read);
  const current = Math.max(ctx.queue.pending.find(label)?.version ?? 0, committed);
  if (version <= current)
    throw new DirectoryError('version_conflict', `version ${version} of this account is taken (current ${current})`);
  if (version > current + 1)
    throw new DirectoryError('version_gap', `version must be ${current + 1}, the current version plus one`);
}
