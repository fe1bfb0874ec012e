/**
 * The statements the directory has accepted and not yet committed, by label, in version order: queued, or
 * reserved while their durable-queue row is being written, or being committed by an epoch. They decide the
 * next version a submission must carry, answer an identical resubmission with the same receipt times, and
 * leave when their epoch commits (log/directory/directory.ts).
 */
import { toHex } from '../../wasm-free-crypto/bytes.js';
import type { Committed } from './submission.js';
import type { Deferred } from './epoch-plan.js';
import type { StatementJob } from './durable-queue.js';

/** A pending statement of a label. */
export interface Pending {
  version: number;
  statement: Uint8Array;
  done: Deferred;
  acceptedAt: number;
  deadline: number;
  /** Settles once the statement's queue row is committed (or failed to be). */
  durable: Promise<unknown>;
  /** Whether it carries its provider's KEYTRANS UpdateTBS signature (log/directory/keytrans-hook.ts). */
  keytransSigned: boolean;
}

export class PendingStatements {
  private readonly byLabel = new Map<string, Pending[]>();

  /** Adds `job`'s statement after the label's others; `durable` settles when its queue row is written. */
  add(job: StatementJob, durable: Promise<unknown> = Promise.resolve()): void {
    const key = toHex(job.sub.label);
    const { done, acceptedAt, deadline } = job;
    const version = job.sub.statement.version;
    const keytransSigned = job.sub.keytransSignature !== null;
    const entry = { version, statement: job.sub.statementBytes, done, acceptedAt, deadline, durable, keytransSigned };
    this.byLabel.set(key, [...(this.byLabel.get(key) ?? []), entry]);
  }

  /** The pending statement of `version` of the label. */
  entry(label: Uint8Array, version: number): Pending | undefined {
    return (this.byLabel.get(toHex(label)) ?? []).find((p) => p.version === version);
  }

  /** The label's latest pending statement, or the one of `version`. */
  find(
    label: Uint8Array,
    version?: number,
  ): { version: number; statement: Uint8Array; committed: Promise<Committed> } | undefined {
    const list = this.byLabel.get(toHex(label)) ?? [];
    const p = version === undefined ? list[list.length - 1] : list.find((x) => x.version === version);
    return p && { version: p.version, statement: p.statement, committed: p.done.promise };
  }

  /** Removes `job`'s statement (committed, or never stored). */
  drop(job: StatementJob): void {
    const key = toHex(job.sub.label);
    const rest = (this.byLabel.get(key) ?? []).filter((p) => p.done !== job.done);
    if (rest.length > 0) this.byLabel.set(key, rest);
    else this.byLabel.delete(key);
  }
}
