/**
 * Checkpoints under a client's trust policy: signed by the log (C2SP signed-note, tlog-checkpoint), for
 * the pinned origin, cosigned by at least `quorum` distinct witnesses of the policy (C2SP tlog-cosignature
 * v1), and, with `maxAgeSeconds`, fresh: at least `quorum` of those cosignatures are no older than that.
 * Freshness comes from the witnesses' timestamps, not the log's, so a log cannot hide a newer tree behind
 * an old checkpoint once witnesses have seen it (DESIGN.md "What each party catches"). Witnesses are
 * distinct by name (a witness whose old and new keys are both pinned counts once). A cosignature dated
 * more than `maxClockSkewSeconds` in the future does not count: no honest witness signs from there, and
 * one witness with a wrong clock must not veto what the others cosigned.
 *
 * Signatures are verified once per checkpoint note (an LRU of recent notes); the quorum is a property of
 * the note and is cached with it, freshness depends on the time and is evaluated on every call.
 * Synchronous, no I/O; failures are VerifyErrors: `bad_checkpoint`, `witness_quorum`, `stale_checkpoint`.
 */
import type { NoteVerifier } from '../../wasm-free-crypto/note.js';
import { openCheckpoint, type OpenedCheckpoint, type VerifiedCosignature } from '../formats/checkpoint.js';
import { VerifyError } from './errors.js';

export interface WitnessPolicy {
  /** The witnesses' cosignature verifiers (type 0x04 keys). */
  witnesses: readonly NoteVerifier[];
  /** How many distinct witnesses must have cosigned (0: none needed). */
  quorum: number;
  /** If set, `quorum` cosignatures must be at most this old (requires quorum >= 1). */
  maxAgeSeconds?: number;
  /** Cosignatures later than now plus this are refused (default 300 s). */
  maxClockSkewSeconds?: number;
}

export interface CheckpointPins {
  origin: string;
  logKey: NoteVerifier;
  policy?: WitnessPolicy;
  /** Milliseconds since the epoch (default Date.now). */
  now?: () => number;
}

const CACHE_SIZE = 64;

function checkPolicy(p: WitnessPolicy): void {
  const distinct = new Set(p.witnesses.map((w) => w.name)).size;
  if (
    p.maxClockSkewSeconds !== undefined &&
    !(Number.isSafeInteger(p.maxClockSkewSeconds) && p.maxClockSkewSeconds >= 0)
  )
    throw new VerifyError('bad_policy', 'maxClockSkewSeconds must be a non-negative integer');
  if (p.maxAgeSeconds !== undefined && !Number.isSafeInteger(p.maxAgeSeconds))
    throw new VerifyError('bad_policy', 'maxAgeSeconds must be an integer');
  if (!Number.isSafeInteger(p.quorum) || p.quorum < 0 || p.quorum > distinct)
    throw new VerifyError('bad_policy', `a quorum of ${p.quorum} is not possible with ${distinct} distinct witnesses`);
  if (p.maxAgeSeconds !== undefined && (!(p.maxAgeSeconds > 0) || p.quorum < 1))
    throw new VerifyError('bad_policy', 'maxAgeSeconds needs a positive age and a quorum of at least one witness');
}

/** The verified cosignatures, one per distinct witness name (the newest if a witness signed twice). */
function distinctCosignatures(cosignatures: VerifiedCosignature[]): VerifiedCosignature[] {
  const byWitness = new Map<string, VerifiedCosignature>();
  for (const c of cosignatures) {
    const key = c.name;
    const seen = byWitness.get(key);
    if (!seen || c.timestamp > seen.timestamp) byWitness.set(key, c);
  }
  return [...byWitness.values()];
}

export class CheckpointVerifier {
  private readonly cache = new Map<string, OpenedCheckpoint>();

  constructor(readonly pins: CheckpointPins) {
    if (pins.policy) checkPolicy(pins.policy);
  }

  /** The opened checkpoint, its signatures verified on first sight only (cached by note text). */
  private open(note: string): OpenedCheckpoint {
    const cached = this.cache.get(note);
    if (cached) {
      this.cache.delete(note);
      this.cache.set(note, cached);
      return cached;
    }
    const { origin, logKey, policy } = this.pins;
    let opened: OpenedCheckpoint;
    try {
      opened = openCheckpoint(note, origin, logKey, policy?.witnesses ?? []);
    } catch (e) {
      throw new VerifyError('bad_checkpoint', `bad_checkpoint: ${(e as Error).message}`);
    }
    this.cache.set(note, opened);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    return opened;
  }

  /**
   * Verifies only the log's signature and origin of a checkpoint note (no witness policy): for a note verified
   * under the policy before and kept since, such as the checkpoint an interrupted audit was reaching, whose
   * cosignatures may be old by now. Throws VerifyError `bad_checkpoint` as `verify` does.
   */
  verifySigned(note: string): OpenedCheckpoint {
    return this.open(note);
  }

  /**
   * Verifies a checkpoint note under the pins and policy (see the file comment); returns it with the
   * cosignatures that count: one per distinct witness, none dated in the future.
   */
  verify(note: string): OpenedCheckpoint {
    const opened = this.open(note);
    const policy = this.pins.policy;
    if (!policy) return opened;
    const now = BigInt(Math.floor((this.pins.now ?? Date.now)() / 1000));
    const latest = now + BigInt(policy.maxClockSkewSeconds ?? 300);
    const counted = distinctCosignatures(opened.cosignatures.filter((c) => c.timestamp <= latest));
    if (counted.length < policy.quorum)
      throw new VerifyError(
        'witness_quorum',
        `${counted.length} of the required ${policy.quorum} witnesses cosigned the checkpoint`,
      );
    if (policy.maxAgeSeconds !== undefined) {
      const newest = counted.map((c) => c.timestamp).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
      const age = now - newest[policy.quorum - 1];
      if (age > BigInt(policy.maxAgeSeconds))
        throw new VerifyError(
          'stale_checkpoint',
          `the checkpoint was last cosigned by ${policy.quorum} witnesses ${age} s ago (at most ${policy.maxAgeSeconds} s allowed)`,
        );
    }
    return { ...opened, cosignatures: counted };
  }
}
