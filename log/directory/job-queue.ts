/**
 * The directory's work between epochs (directory.ts): the jobs the next epochs take, in acceptance order
 * (receipted statements, enrolments, revocations), bounded (`queue_full`); the pending statements per label
 * (pending-statements.ts); and the credentials whose revocation is queued, which sign nothing new. An epoch
 * plans the jobs at the head of the queue and takes them only once its plan is made. When it commits, its
 * jobs are answered and leave (`committed`); when it fails, every submitter is told, and its statements,
 * still in the store's durable queue, go back to the front in order (`failed`).
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import type { CredentialRegistry } from './credentials.js';
import type { StatementJob } from './durable-queue.js';
import { deferred, type Deferred, type EpochPlan, type Job, type NewSubmission } from './epoch-plan.js';
import { DirectoryError } from './errors.js';
import type { KeyTransUpdate } from './keytrans-hook.js';
import { PendingStatements } from './pending-statements.js';

export class JobQueue {
  /** Pending (queued or being committed) statements per label, in version order. */
  readonly pending = new PendingStatements();
  private readonly jobs: Job[] = [];
  private readonly revoking = new Set<number>();

  /** A queue of `max` jobs at most (default 10,000). */
  constructor(private readonly max = 10_000) {}

  get length(): number {
    return this.jobs.length;
  }

  /** The queue must have room for one more job, besides `extra` being added. */
  checkRoom(extra = 0): void {
    if (this.jobs.length + extra >= this.max)
      throw new DirectoryError('queue_full', `the publication queue is full (${this.max}); retry later`);
  }

  /** Queues an enrolment or revocation if there is room; a revocation's credential signs nothing from now on. */
  add(job: Job): Deferred {
    this.checkRoom();
    this.jobs.push(job);
    if (job.kind === 'revoke') this.revoking.add(job.credential.logIndex);
    return job.done;
  }

  /** Queues a statement whose durable row is written (its room was checked while it was being written). */
  addWritten(job: StatementJob): void {
    this.jobs.push(job);
  }

  /** Queues a statement read back from the store's durable queue when the directory opens. */
  replay(job: StatementJob): void {
    this.jobs.push(job);
    this.pending.add(job);
  }

  /** The first `count` jobs, left in the queue (an epoch plans them before it takes them). */
  head(count: number): Job[] {
    return this.jobs.slice(0, count);
  }

  /** Takes the first `count` jobs out of the queue. */
  take(count: number): Job[] {
    return this.jobs.splice(0, count);
  }

  /** Whether the revocation of the credential at `logIndex` is queued or being committed. */
  isRevoking(logIndex: number): boolean {
    return this.revoking.has(logIndex);
  }

  /** Whether an enrolment of this certificate (by fingerprint) or key is queued. */
  hasEnrolment(fingerprint: Uint8Array, publicKey: Uint8Array): boolean {
    return this.jobs.some(
      (j) => j.kind === 'enrol' && (equalBytes(j.fingerprint, fingerprint) || equalBytes(j.publicKey, publicKey)),
    );
  }

  /**
   * An epoch's jobs once it committed: credentials and revocations recorded, statements no longer pending,
   * each job answered with its log index (`base` says where), or refused with the plan's reason.
   */
  committed(
    jobs: Job[],
    plan: EpochPlan,
    base: { epoch: number; treeSize: number; checkpoint: string },
    credentials: CredentialRegistry,
  ): void {
    for (const c of plan.writes.credentials) credentials.add(c.logIndex, c.entry, c.fingerprint);
    for (const r of plan.writes.revocations) {
      credentials.markRevoked(r.logIndex, r.revokedIndex);
      this.revoking.delete(r.logIndex);
    }
    jobs.forEach((j, i) => {
      if (j.kind === 'statement') this.pending.drop(j);
      const index = plan.jobIndex[i];
      if (typeof index !== 'number') j.done.reject(index);
      else j.done.resolve({ ...base, logIndex: index });
    });
  }

  /**
   * A failed epoch's jobs: every submitter gets `epoch_failed`. Receipted statements go back to the front of
   * the queue, in order, with a new promise (their rows are still stored: the epoch's transaction rolled
   * back, so the next epoch takes them again); enrolments and revocations are dropped.
   */
  failed(jobs: Job[], e: unknown): void {
    const failed = () =>
      new DirectoryError('epoch_failed', `the epoch could not be committed: ${(e as Error).message}`);
    const requeued: Job[] = [];
    for (const j of jobs) {
      j.done.reject(failed());
      if (j.kind === 'revoke') this.revoking.delete(j.credential.logIndex);
      if (j.kind !== 'statement') continue;
      const pending = this.pending.entry(j.sub.label, j.sub.statement.version);
      j.done = deferred();
      if (pending) pending.done = j.done;
      requeued.push(j);
    }
    this.jobs.unshift(...requeued);
  }
}

/** What a KEYTRANS deployment takes of a validated statement. */
export function keyTransUpdate(sub: NewSubmission): KeyTransUpdate {
  const { provider: providerId, account, version } = sub.statement;
  const deleted = sub.statement.status === 'deleted';
  return { providerId, account, version, statement: sub.statementBytes, signature: sub.keytransSignature, deleted };
}

/** The statements an epoch commits, in order, as KEYTRANS updates. */
export function committedUpdates(jobs: readonly Job[], plan: EpochPlan): KeyTransUpdate[] {
  return jobs.flatMap((j, i) =>
    j.kind === 'statement' && typeof plan.jobIndex[i] === 'number' ? [keyTransUpdate(j.sub)] : [],
  );
}
