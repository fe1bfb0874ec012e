/**
 * Reading a `CombinedTreeProof` (draft-ietf-keytrans-protocol-05, "Tree Proofs", "Combined Tree"): the proof has no
 * index of which log entry each element belongs to, so the client's algorithms (updating its view, searches,
 * monitoring) consume its `timestamps` and `prefix_proofs` as queues, asking for them log entry by log entry in
 * the order they run; `CombinedProofReader` is that queue, with the draft's checks:
 * - a log entry's timestamp is taken from the proof the first time it is asked for, unless the client retained
 *   it (the log entries on the frontier of the tree it last saw), and then never again;
 * - every `PrefixProof` given for one log entry must compute the same prefix-tree root, and one given for a log
 *   entry the client retained must compute the root the client retained;
 * - `prefix_roots` gives, in log order, the prefix root of each log entry whose timestamp came from the proof but
 *   which no `PrefixProof` was asked of;
 * - `finish` refuses a proof with elements left over (or, by then, one that ran out: `take*` already refused it),
 *   and timestamps that are not monotonic in log order, over those given and those retained; it returns the log
 *   entries whose timestamps the proof gave, the leaves its `inclusion` proves (log-tree.ts).
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import type { CombinedTreeProof, LogEntry, PrefixProof } from './types.js';

export type CombinedProofErrorCode = 'kt_proof_short' | 'kt_proof_long' | 'kt_proof_inconsistent';

/** A combined tree proof that does not fit what the client's algorithms asked of it. */
export class CombinedProofError extends CodedError<CombinedProofErrorCode> {
  override readonly name = 'CombinedProofError';
}

/** A log entry the client retained from the tree it last saw (its frontier). */
export interface RetainedEntry extends LogEntry {
  position: number;
}

/** What is known of one log entry while the proof is read. */
interface Seen {
  timestamp: number;
  /** Whether the timestamp came from this proof (so the entry is a leaf of its `inclusion`). */
  given: boolean;
  prefixRoot?: Uint8Array;
}

export class CombinedProofReader {
  private readonly seen = new Map<number, Seen>();
  private timestampsUsed = 0;
  private prefixProofsUsed = 0;

  constructor(
    private readonly proof: CombinedTreeProof,
    retained: readonly RetainedEntry[] = [],
  ) {
    for (const e of retained)
      this.seen.set(e.position, { timestamp: e.timestamp, given: false, prefixRoot: e.prefixTree });
  }

  /** The timestamp of the log entry at `position`: retained, already read, or the proof's next. */
  timestamp(position: number): number {
    const known = this.seen.get(position);
    if (known) return known.timestamp;
    if (this.timestampsUsed === this.proof.timestamps.length)
      throw new CombinedProofError('kt_proof_short', `the proof has no timestamp for log entry ${position}`);
    const timestamp = this.proof.timestamps[this.timestampsUsed++];
    this.seen.set(position, { timestamp, given: true });
    return timestamp;
  }

  /**
   * The proof's next `PrefixProof`, for the log entry at `position`, whose timestamp must have been read; `rootOf`
   * verifies it for the lookups the algorithm expects and returns the prefix-tree root it computes, which must be
   * the root any other proof of that log entry computed, or the one retained.
   */
  prefixProof<T>(position: number, rootOf: (p: PrefixProof) => { root: Uint8Array; result: T }): T {
    const entry = this.seen.get(position);
    if (!entry) throw new CombinedProofError('kt_proof_inconsistent', `log entry ${position} was not reached`);
    if (this.prefixProofsUsed === this.proof.prefixProofs.length)
      throw new CombinedProofError('kt_proof_short', `the proof has no prefix proof for log entry ${position}`);
    const { root, result } = rootOf(this.proof.prefixProofs[this.prefixProofsUsed++]);
    if (entry.prefixRoot && !equalBytes(entry.prefixRoot, root))
      throw new CombinedProofError(
        'kt_proof_inconsistent',
        `the prefix proofs of log entry ${position} compute another root than ${entry.given ? 'an earlier one' : 'the retained one'}`,
      );
    entry.prefixRoot = root;
    return result;
  }

  /** Whether prefix proofs are left (an owner's monitoring stops where the log stopped giving them). */
  hasPrefixProofs(): boolean {
    return this.prefixProofsUsed < this.proof.prefixProofs.length;
  }

  /** Whether the log entry at `position` has been reached (its timestamp read or retained). */
  reached(position: number): boolean {
    return this.seen.has(position);
  }

  /**
   * Checks that the whole proof was used and the timestamps are monotonic (see the file comment); returns the
   * log entries whose timestamps the proof gave, in log order, each with its prefix root.
   */
  finish(): (LogEntry & { position: number })[] {
    const p = this.proof;
    if (this.timestampsUsed !== p.timestamps.length || this.prefixProofsUsed !== p.prefixProofs.length)
      throw new CombinedProofError(
        'kt_proof_long',
        `the proof has ${p.timestamps.length - this.timestampsUsed} timestamps and ${p.prefixProofs.length - this.prefixProofsUsed} prefix proofs more than the algorithms asked for`,
      );
    const positions = [...this.seen.keys()].sort((a, b) => a - b);
    const rootless = positions.filter((at) => this.seen.get(at)!.given && !this.seen.get(at)!.prefixRoot);
    if (rootless.length !== p.prefixRoots.length)
      throw new CombinedProofError(
        'kt_proof_long',
        `the proof has ${p.prefixRoots.length} prefix roots for ${rootless.length} log entries without a prefix proof`,
      );
    rootless.forEach((at, i) => {
      this.seen.get(at)!.prefixRoot = p.prefixRoots[i];
    });
    for (let i = 1; i < positions.length; i++)
      if (this.seen.get(positions[i])!.timestamp < this.seen.get(positions[i - 1])!.timestamp)
        throw new CombinedProofError(
          'kt_proof_inconsistent',
          `log entry ${positions[i]} has an earlier timestamp than log entry ${positions[i - 1]}`,
        );
    return positions
      .filter((at) => this.seen.get(at)!.given)
      .map((position) => {
        const s = this.seen.get(position)!;
        return { position, timestamp: s.timestamp, prefixTree: s.prefixRoot! };
      });
  }
}
