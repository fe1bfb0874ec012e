/**
 * The directory: provider enrolment, publication of provider-signed binding statements, and the epoch
 * sequencer. Submissions are validated at once (statement encoding, provider credential and signature,
 * namespace, version = current + 1, owner continuity) and queued; the queue is bounded and pushes back
 * with `queue_full`. An accepted statement is written to the store's durable queue before its receipt is
 * signed, and `open` replays that queue after a restart (the crash-safety ordering is at `submit`). Every
 * epoch (default each second when work is pending, and a heartbeat every 60 s) turns the queue into log
 * entries (provider events, updates with fresh commitments, and the epoch head naming the new map root) and
 * appends them together with the index writes in one atomic commit; only then are the submitters answered
 * and the new map served. The map lives in the store (directory-map.ts): an epoch plans its rows and
 * writes them in its own transaction; lookups wait while an epoch commits. The queue of jobs and the pending
 * statements are job-queue.ts's, the checks of enrolments and revocations provider-jobs.ts's, a submission's
 * checks before it is queued admission.ts's, the epoch's append epoch-commit.ts's, what follows the commit
 * (the served checkpoint, the steps whose failure does not undo the epoch) epoch-serving.ts's, the options
 * directory-options.ts's.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { vrfPublicKey } from '../../wasm-free-crypto/vrf.js';
import type { MapBatch } from '../../verifier/formats/map-batch.js';
import { type MapLeaf, type MapProof } from '../../verifier/formats/map-proof.js';
import type { AppendResult } from '../merkle/appender.js';
import { validateProviderChain } from '../providers/chain.js';
import { CredentialRegistry } from './credentials.js';
import { DirectoryMap } from './directory-map.js';
import { appendEpoch } from './epoch-commit.js';
import { afterCommit, checkpointToServe, servedCheckpoint } from './epoch-serving.js';
import {
  checkKeyTrans,
  checkStillNext,
  duplicateOutcome,
  fetchForCheck,
  receiptDeadline,
  type AdmissionContext,
} from './admission.js';
import type { Accepted, DirectoryOptions } from './directory-options.js';
import { deferred, planEpoch, snapshotFromRow, type EpochPlan, type EpochSnapshot, type Job } from './epoch-plan.js';
import { jobFromQueueRow, QueueWriter, queueRowFor, type StatementJob } from './durable-queue.js';
import { DirectoryError } from './errors.js';
import { committedUpdates, JobQueue } from './job-queue.js';
import { labelOfName } from './labels.js';
import type { ProofSource } from './proof-builder.js';
import { enrolmentJob, revocationJob, type ProviderJobContext } from './provider-jobs.js';
import type { DirectoryStore, NamedAccount } from './store.js';
import { validateSubmission, type Committed } from './submission.js';
import { inlineVrfProver, type VrfPriority, type VrfProver } from './vrf-prover.js';

export class Directory implements ProofSource {
  readonly vrfPublicKey: Uint8Array;
  readonly credentials: CredentialRegistry;
  private readonly map: DirectoryMap;
  private snap: EpochSnapshot;
  /** The jobs the next epochs take, the pending statements and the credentials being revoked (job-queue.ts). */
  private readonly queue: JobQueue;
  /** What the checks of enrolments and revocations read (provider-jobs.ts). */
  private readonly providerJobs: ProviderJobContext;
  /** What the checks of a submission before it is queued read (admission.ts). */
  private readonly admission: AdmissionContext;
  /** Set when the durable queue could not be written: the directory refuses further work until restarted. */
  /** Why the directory stopped taking writes until a restart (its durable queue, or its state behind the store's). */
  private broken: string | null = null;
  /** Statements whose queue rows are being written (group commit), counted against the queue's room. */
  private writing = 0;
  /** Why the directory takes no writes and closes no epoch now (a restored backup not yet checked), or null. */
  private writesRefused: string | null = null;
  private epochRun: Promise<unknown> = Promise.resolve();
  private busy: Promise<void> | null = null;
  private lastEpochAt: number;
  private timer: ReturnType<typeof setInterval> | null = null;
  private timerEpoch: Promise<unknown> | null = null;
  private readonly now: () => number;
  private readonly vrfProver: VrfProver;
  private readonly queueWriter: QueueWriter;

  private constructor(
    readonly opts: DirectoryOptions,
    credentials: CredentialRegistry,
    map: DirectoryMap,
    snap: EpochSnapshot,
  ) {
    this.vrfPublicKey = vrfPublicKey(opts.vrfSecretKey);
    this.credentials = credentials;
    this.map = map;
    this.snap = snap;
    this.now = opts.now ?? Date.now;
    this.vrfProver = opts.vrfProver ?? inlineVrfProver(opts.vrfSecretKey);
    this.queueWriter = new QueueWriter(opts.store);
    this.queue = new JobQueue(opts.maxQueue);
    this.providerJobs = { credentials, queue: this.queue, now: this.now };
    this.admission = { opts, queue: this.queue, credentials, map, now: this.now };
    this.lastEpochAt = this.now();
  }

  /**
   * Opens the directory over its log and store, checking that they agree (the stored map against the last
   * epoch's signed root, upgrading a store without map rows first, directory-map.ts); a new log gets
   * epoch 0. What it reads does not grow with the number of accounts.
   */
  static async open(opts: DirectoryOptions): Promise<Directory> {
    const credentials = CredentialRegistry.fromRows(await opts.store.credentials());
    const row = await opts.store.latestEpoch();
    if (!row) {
      if (opts.log.head.size !== 0)
        throw new DirectoryError('corrupt_directory', 'the log has entries but the directory has no epoch');
      const placeholder = { epoch: -1 } as EpochSnapshot;
      const d = new Directory(opts, credentials, DirectoryMap.open(opts.store, null, opts.mapCacheRows), placeholder);
      await d.closeEpoch(true);
      return d;
    }
    const snap = snapshotFromRow(row, checkpointToServe(opts.store, row.epoch, opts.log.head.checkpoint));
    if (row.logIndex !== opts.log.head.size - 1)
      throw new DirectoryError('corrupt_directory', "the directory's last epoch is not the log's last entry");
    const map = DirectoryMap.open(opts.store, snap.head.mapRoot, opts.mapCacheRows);
    opts.store.setServed(snap.epoch, snap.checkpoint); // what readers of the store serve (directory-reader.ts)
    const d = new Directory(opts, credentials, map, snap);
    await d.replayQueue();
    return d;
  }

  /**
   * Loads the durable queue back, in acceptance order, so that the next epoch commits every receipted
   * statement and a conflicting one for the same (label, version) is refused meanwhile. Its rows were
   * committed before their receipts were signed, and the epoch that commits a statement deletes its row in
   * its own transaction, so the rows are exactly the receipted statements the log does not hold yet.
   */
  private async replayQueue(): Promise<void> {
    for (const row of await this.opts.store.queued()) this.queue.replay(jobFromQueueRow(row, this.credentials));
  }

  /** The epoch lookups are served from (waits for an epoch being committed). */
  async snapshot(): Promise<{ snap: EpochSnapshot }> {
    while (this.busy) await this.busy;
    return { snap: this.snap };
  }

  /**
   * The committed epoch with the map proof and leaf of `label`, taken in the same tick as the check that
   * no epoch is being applied, so that they can never come from a map that is not committed yet.
   */
  async proveLabel(label: Uint8Array): Promise<{ snap: EpochSnapshot; map: MapProof; leaf: MapLeaf | undefined }> {
    // From a store that keeps its rows elsewhere (directory-map.ts), the path first; again if an epoch
    // committed meanwhile (it drops what was fetched).
    for (let attempt = 0; ; attempt++) {
      const seen = this.map.commits;
      if (this.map.fetchesRows) await this.map.fetchPaths([label]);
      while (this.busy) await this.busy;
      if (seen === this.map.commits || attempt === 3) break;
    }
    const { proof, leaf } = this.map.lookup(label);
    return { snap: this.snap, map: proof, leaf };
  }

  /**
   * The label and VRF proof of (provider, account), and its account row if it has one (labels.ts): known
   * accounts take one store read; others one VRF proof from the prover, for a `priority` read (a lookup) or
   * write (a submission).
   */
  labelFor(
    provider: string,
    account: string,
    beforeVrf?: () => void | Promise<void>,
    priority: VrfPriority = 'read',
  ): Promise<{ label: Uint8Array; vrfProof: Uint8Array; stored?: NamedAccount }> {
    return labelOfName(this.opts.store, this.vrfProver, { provider, account }, beforeVrf, priority);
  }

  /** The log's entry bundle `n` of `width` entries. */
  entryBundle(n: number, width: number): Promise<Uint8Array | null> {
    return this.opts.reader.entryBundle(n, width);
  }

  /** Validates a provider's certificate chain and queues its enrolment for the next epoch (provider-jobs.ts). */
  async enrol(chain: Uint8Array[]): Promise<{ providerId: string; committed: Promise<Committed> }> {
    this.checkUsable();
    const cred = await validateProviderChain(chain, this.opts.trustedRoots, this.now());
    // Checked and queued in one tick: a concurrent enrolment of the same certificate or key then finds it queued.
    const job = enrolmentJob(cred, this.providerJobs);
    return { providerId: job.providerId, committed: this.queue.add(job).promise };
  }

  /**
   * Queues the revocation of a provider credential, named by the SHA-256 of its leaf's TBSCertificate. From
   * then on the credential signs no new statement; those accepted before still commit.
   */
  revoke(providerId: string, fingerprint: Uint8Array, reason: string): Promise<Committed> {
    this.checkUsable();
    return this.queue.add(revocationJob(providerId, fingerprint, reason, this.providerJobs)).promise;
  }

  /**
   * Validates a signed statement and queues it, durably. Resubmitting a statement that is queued or
   * committed returns the same outcome (idempotent; a queued one the same acceptance time and deadline);
   * another statement for a taken version is a conflict. The crash-safety ordering:
   * 1. validate (async, changes nothing);
   * 2. check again, synchronously, that the version still follows the label's pending or mapped version and
   *    that no revocation of the credential is queued (validation may have interleaved with other
   *    submissions, revocations and epochs), and that the queue has room, counting the statements whose
   *    rows are being written; then reserve the version in `pending`, so that a concurrent submission of the
   *    same account sees it (an identical one waits for the same row), while no epoch can take it yet;
   * 3. write the queue row (group commit with the statements accepted in the same moment, durable-queue.ts)
   *    and wait until the store has committed it; only then add the job to the queue, in the same tick;
   * 4. return: only now does the caller sign the receipt and answer 202.
   * A crash before 3 commits loses a statement no one holds a receipt for; after it, `open` replays the
   * row. A failed write fails every statement of its transaction, none of which was stored, and stops the
   * directory (`directory_broken`), so that no later version is accepted after a lost one; a restart
   * replays what the store holds.
   */
  async submit(
    statement: Uint8Array,
    signature: Uint8Array,
    credential?: Uint8Array,
    keytransSignature: Uint8Array | null = null,
  ): Promise<Accepted> {
    this.checkUsable();
    const validated = await validateSubmission(this, statement, signature, this.now(), credential);
    if (validated.kind === 'duplicate')
      return duplicateOutcome(this.admission, validated.label, validated.version, validated.committed);
    const sub = { ...validated, keytransSignature };
    await checkKeyTrans(this.admission, sub);
    this.checkUsable();
    await fetchForCheck(this.admission, sub.label, sub.committed);
    const same = this.queue.pending.entry(sub.label, sub.statement.version);
    if (same && equalBytes(same.statement, statement)) {
      await same.durable;
      return duplicateOutcome(this.admission, sub.label, same.version, same.done.promise);
    }
    checkStillNext(this.admission, sub.label, sub.statement.version, sub.credential.logIndex, sub.committed);
    this.queue.checkRoom(this.writing);
    const acceptedAt = this.now();
    const deadline = receiptDeadline(this.opts, acceptedAt);
    const job: StatementJob = { kind: 'statement', sub, done: deferred(), queueId: 0, acceptedAt, deadline };
    const durable = this.queueWriter.write(queueRowFor(sub, acceptedAt, deadline));
    this.queue.pending.add(job, durable);
    this.writing++;
    try {
      job.queueId = await durable;
    } catch (e) {
      this.queue.pending.drop(job);
      this.broken ??= `its durable queue could not be written (${(e as Error).message})`;
      throw new DirectoryError('directory_broken', `the durable queue could not be written: ${(e as Error).message}`);
    } finally {
      this.writing--;
    }
    this.queue.addWritten(job); // room was checked with this job counted among those being written
    return { label: sub.label, version: sub.statement.version, committed: job.done.promise, acceptedAt, deadline };
  }

  /** A pending statement for a label: the latest one, or the one of `version`. */
  pendingFor(
    label: Uint8Array,
    version?: number,
  ): { version: number; statement: Uint8Array; committed: Promise<Committed> } | undefined {
    return this.queue.pending.find(label, version);
  }

  /**
   * Refuses, with `reason`, or allows again (null) every write: submissions, enrolments, revocations and
   * epochs, so that nothing is signed (api/node/restore-check.ts, for a restored backup). Lookups are served.
   */
  refuseWrites(reason: string | null): void {
    this.writesRefused = reason;
  }

  /** Why writes are refused now (see refuseWrites), or null. */
  get readOnlyReason(): string | null {
    return this.writesRefused;
  }

  private checkUsable(): void {
    if (this.writesRefused) throw new DirectoryError('read_only', this.writesRefused);
    if (this.broken) throw new DirectoryError('directory_broken', `the directory stopped: ${this.broken}; restart it`);
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  /** The number of the current (committed) epoch. */
  get epoch(): number {
    return this.snap.epoch;
  }

  /** The epoch lookups are served from (its checkpoint carries the witnesses' cosignatures, if any). */
  get servedSnapshot(): EpochSnapshot {
    return this.snap;
  }

  /** The stored map's root now (the served epoch's, except while an epoch commits). */
  mapRoot(): Uint8Array {
    return this.map.root();
  }

  /** The stored map's cache: rows held, reads answered from it and from the store (for metrics, benchmarks). */
  get mapCacheStats(): { rows: number; hits: number; misses: number } {
    return this.map.cacheStats;
  }

  /**
   * Epochs committed since the directory opened, counting those that failed (a failure may come after the store
   * committed): a read made before the count moved is read again (see SubmissionContext).
   */
  get epochsCommitted(): number {
    return this.map.commits;
  }
  /** Whether an erasure's bytes may still be in the store's files (`afterErasure` said it could not yet). */
  private purgeOwed = false;

  /** How long the last epoch took to plan and commit, in milliseconds. */
  lastEpochMs = 0;

  /** How old the epoch the served checkpoint ends with is, in ms by the directory's clock (none before one). */
  servedEpochAgeMs(): number | undefined {
    return this.snap.head ? Math.max(0, this.now() - this.snap.head.time) : undefined;
  }

  /**
   * Starts the epoch timer (the Node server's; the Worker uses its Durable Object's alarm instead): every
   * `epochIntervalMs` an epoch closes if work is pending, and a heartbeat epoch after `heartbeatMs` idle. An
   * epoch that fails is handed to `onFailure` (the server logs it) and tried again at the next tick.
   */
  start(timing: { epochIntervalMs: number; heartbeatMs: number }, onFailure?: (e: unknown) => void): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.timerEpoch || this.writesRefused) return; // one timer-driven epoch at a time; none read-only
      const heartbeatDue = this.now() - this.lastEpochAt >= timing.heartbeatMs;
      if (this.queue.length === 0 && !heartbeatDue) return;
      this.timerEpoch = this.closeEpoch(heartbeatDue)
        .catch((e) => {
          onFailure?.(e); // the server logs it; the epoch's submitters were answered with the failure
          return null;
        })
        .finally(() => (this.timerEpoch = null));
    }, timing.epochIntervalMs);
  }

  /** Stops the timer and closes a last epoch for whatever is queued. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.epochRun;
    if (this.writesRefused) return; // read-only: what is queued stays in the store's queue, unsigned
    while (this.queue.length > 0) await this.closeEpoch(false);
  }

  /** Closes an epoch now (serialized); with `force`, even when nothing is queued (a heartbeat). */
  closeEpoch(force = true): Promise<EpochSnapshot | null> {
    if (this.writesRefused) return Promise.reject(new DirectoryError('read_only', this.writesRefused));
    const run = this.epochRun.then(() => (force || this.queue.length > 0 ? this.runEpoch() : null));
    this.epochRun = run.catch(() => undefined);
    return run;
  }

  private async runEpoch(): Promise<EpochSnapshot> {
    // From a store that keeps its map rows elsewhere, the paths of the jobs this epoch takes, before the plan,
    // which reads them without I/O; the jobs are taken after (the queue only grows at its end meanwhile), so that
    // a fetch that fails leaves every job queued as it was.
    const count = Math.min(this.queue.length, this.opts.maxEpochUpdates ?? 20_000);
    const taking = this.queue.head(count);
    if (this.map.fetchesRows)
      await this.map.fetchPaths(taking.flatMap((j) => (j.kind === 'statement' ? [j.sub.label] : [])));
    const firstIndex = this.opts.log.head.size;
    this.checkUsable();
    const time = Math.max(this.now(), this.snap.head?.time ?? 0); // epoch times never go backwards
    // Planned before the jobs leave the queue (synchronous, nothing written): a plan that throws leaves them there.
    const plan = planEpoch(taking, firstIndex, this.snap.epoch + 1, time, this.map, this.credentials);
    const jobs = this.queue.take(count);
    let release!: () => void;
    this.busy = new Promise<void>((r) => (release = r));
    const started = performance.now();
    try {
      const checkpoint = await this.commitEpoch(plan, jobs, firstIndex, time);
      // Committed: the log and the store hold the epoch. Nothing from here on may answer its jobs as failed, or
      // leave the directory at the epoch before (its next epoch would repeat this one's number): what can fail
      // here (the witnesses, the store's purge, the metric) is reported and the epoch stands.
      const served = await servedCheckpoint(this.opts, plan.head.epoch, checkpoint);
      this.snap = snapshotFromRow(plan.writes.epoch, served);
      const { epoch } = plan.head;
      this.queue.committed(jobs, plan, { epoch, treeSize: this.snap.treeSize, checkpoint: served }, this.credentials);
      this.lastEpochAt = this.now();
      this.lastEpochMs = performance.now() - started;
      // Erased bytes leave the store's files now, or after a later epoch if the store could not yet.
      if (plan.writes.erasures.length > 0 || this.purgeOwed)
        this.purgeOwed = !afterCommit(this.opts, 'purge', () => this.opts.store.afterErasure());
      afterCommit(this.opts, 'metrics', () => this.opts.onEpochCommitted?.(this.lastEpochMs));
      return this.snap;
    } finally {
      this.busy = null;
      release();
    }
  }

  /**
   * Plans the epoch's map rows and appends the epoch (its entries, the KEYTRANS anchor and the head, its rows
   * written in the log's commit); returns the log's new checkpoint. If that fails, the epoch's jobs are answered
   * with the failure (statements requeued) and the map's cache dropped, and the error is thrown. A commit that
   * reported an error but landed (the storage contract allows it, PROTOCOL.md section 8), or a store another
   * writer moved on, leaves the directory's state behind the store's: it stops (`directory_broken`) rather than
   * number its next epoch as the stored one, and a restart reads the store again.
   */
  private async commitEpoch(plan: EpochPlan, jobs: Job[], firstIndex: number, time: number): Promise<string> {
    let batch: MapBatch;
    let result: AppendResult;
    try {
      batch = this.map.plan(plan.leaves); // written by the store in the epoch's transaction (`writer`)
      plan.head.mapRoot = batch.root;
      plan.writes.map = batch.rows;
      const keytrans = await this.opts.keytrans?.prepareEpoch(committedUpdates(jobs, plan), this.credentials, time);
      result = await appendEpoch(this.opts, plan, keytrans, firstIndex);
    } catch (e) {
      this.queue.failed(jobs, e);
      // The store holds the epoch's rows or none of them; the cache now holds neither, and what was read
      // before it (a submission's account row) is read again (the map counts the failed epoch too).
      this.map.failed();
      const stored = await this.opts.store.latestEpoch().catch(() => undefined);
      if (stored && stored.epoch !== this.snap.epoch)
        this.broken ??= `epoch ${plan.head.epoch} failed (${(e as Error).message}), yet the store holds epoch ${stored.epoch}`;
      throw e;
    }
    // In the tick the append returned in: no lookup reads between. It counts the epoch too, in the same tick:
    // what submissions read before it is checked against the memo of the labels it committed.
    this.map.committed(batch);
    return result.head.checkpoint;
  }

  /** A committed version's statement (null once erased) and where it is, for idempotent resubmission. */
  async committedOutcome(
    label: Uint8Array,
    version: number,
  ): Promise<{ statement: Uint8Array | null; committed: Committed } | undefined> {
    const row = await this.opts.store.version(label, version);
    if (!row) return undefined;
    const { epoch, treeSize, checkpoint } = this.snap;
    return { statement: row.statement, committed: { epoch, treeSize, checkpoint, logIndex: row.logIndex } };
  }

  /** The committed version of a label, from the store (undefined for a label with none). */
  async committedVersion(label: Uint8Array): Promise<number | undefined> {
    return (await this.opts.store.account(label))?.version;
  }

  get store(): DirectoryStore {
    return this.opts.store;
  }
}
