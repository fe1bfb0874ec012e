/**
 * The combined tree proof's reader (verifier/keytrans/combined-proof.ts) on proofs made here: timestamps and
 * prefix proofs taken as queues by log entry, retained entries never read from the proof, every prefix proof of one
 * log entry computing one root (the retained one when retained), prefix roots given in log order to the entries
 * without a prefix proof, and a proof with elements missing or left over, or timestamps out of order, refused.
 */
import { describe, expect, it } from 'vitest';
import { CombinedProofError, CombinedProofReader } from '../../../verifier/keytrans/combined-proof.js';
import type { CombinedTreeProof, PrefixProof } from '../../../verifier/keytrans/types.js';

const root = (n: number) => new Uint8Array(32).fill(n);
/** A prefix proof whose "root" is the byte in its only element: what `rootOf` computes here. */
const proofOf = (n: number): PrefixProof => ({ results: [], elements: [root(n)] });
const rootOf = (p: PrefixProof) => ({ root: p.elements[0], result: p.elements[0][0] });

const combined = (c: Partial<CombinedTreeProof>): CombinedTreeProof => ({
  timestamps: [],
  prefixProofs: [],
  prefixRoots: [],
  inclusion: { elements: [] },
  ...c,
});

describe('the combined tree proof reader', () => {
  it('takes timestamps and prefix proofs in the order asked, once per log entry, and gives the leaves', () => {
    const reader = new CombinedProofReader(
      combined({
        timestamps: [10, 20, 30],
        prefixProofs: [proofOf(7), proofOf(7), proofOf(9)],
        prefixRoots: [root(5), root(6)],
      }),
      [{ position: 3, timestamp: 5, prefixTree: root(9) }],
    );
    expect(reader.timestamp(7)).toBe(10);
    expect(reader.timestamp(3)).toBe(5); // retained: not from the proof
    expect(reader.timestamp(7)).toBe(10); // read once
    expect(reader.prefixProof(7, rootOf)).toBe(7);
    expect(reader.prefixProof(7, rootOf)).toBe(7); // a second proof of one entry, the same root
    expect(reader.prefixProof(3, rootOf)).toBe(9); // the retained root
    expect(reader.timestamp(11)).toBe(20);
    expect(reader.timestamp(12)).toBe(30);
    expect(reader.finish()).toEqual([
      { position: 7, timestamp: 10, prefixTree: root(7) },
      { position: 11, timestamp: 20, prefixTree: root(5) }, // the prefix roots, in log order
      { position: 12, timestamp: 30, prefixTree: root(6) },
    ]);
  });

  /** Calls `f` once (the reader is a queue) and expects a CombinedProofError with `code` and `message`. */
  const refused = (f: () => unknown, code: string, message: RegExp) => {
    let error: unknown;
    try {
      f();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CombinedProofError);
    expect((error as CombinedProofError).code).toBe(code);
    expect((error as CombinedProofError).message).toMatch(message);
  };

  it('refuses a proof that runs out, or has elements left over', () => {
    refused(() => new CombinedProofReader(combined({})).timestamp(0), 'kt_proof_short', /no timestamp for log entry 0/);
    const noProof = new CombinedProofReader(combined({ timestamps: [1] }));
    noProof.timestamp(0);
    refused(() => noProof.prefixProof(0, rootOf), 'kt_proof_short', /no prefix proof/);
    refused(() => noProof.prefixProof(5, rootOf), 'kt_proof_inconsistent', /not reached/);
    const extraTimestamp = new CombinedProofReader(combined({ timestamps: [1, 2], prefixRoots: [root(1)] }));
    extraTimestamp.timestamp(0);
    refused(() => extraTimestamp.finish(), 'kt_proof_long', /1 timestamps and 0 prefix proofs more/);
    const extraProof = new CombinedProofReader(combined({ timestamps: [1], prefixProofs: [proofOf(1), proofOf(1)] }));
    extraProof.timestamp(0);
    extraProof.prefixProof(0, rootOf);
    refused(() => extraProof.finish(), 'kt_proof_long', /0 timestamps and 1 prefix proofs more/);
    const extraRoot = new CombinedProofReader(combined({ timestamps: [1], prefixRoots: [root(1), root(2)] }));
    extraRoot.timestamp(0);
    refused(() => extraRoot.finish(), 'kt_proof_long', /2 prefix roots for 1 log entries/);
    const missingRoot = new CombinedProofReader(combined({ timestamps: [1] }));
    missingRoot.timestamp(0);
    refused(() => missingRoot.finish(), 'kt_proof_long', /0 prefix roots for 1 log entries/);
  });

  it('refuses prefix proofs of one log entry that disagree, with each other or with the retained root', () => {
    const twice = new CombinedProofReader(combined({ timestamps: [1], prefixProofs: [proofOf(1), proofOf(2)] }));
    twice.timestamp(4);
    twice.prefixProof(4, rootOf);
    refused(() => twice.prefixProof(4, rootOf), 'kt_proof_inconsistent', /another root than an earlier one/);
    const retained = new CombinedProofReader(combined({ prefixProofs: [proofOf(2)] }), [
      { position: 4, timestamp: 1, prefixTree: root(1) },
    ]);
    retained.timestamp(4);
    refused(() => retained.prefixProof(4, rootOf), 'kt_proof_inconsistent', /than the retained one/);
  });

  it('refuses timestamps that go back in log order, counting the retained ones', () => {
    const back = new CombinedProofReader(combined({ timestamps: [5, 4], prefixRoots: [root(1), root(2)] }));
    back.timestamp(1);
    back.timestamp(2);
    refused(() => back.finish(), 'kt_proof_inconsistent', /log entry 2 has an earlier timestamp than log entry 1/);
    const behindRetained = new CombinedProofReader(combined({ timestamps: [4], prefixRoots: [root(1)] }), [
      { position: 3, timestamp: 5, prefixTree: root(9) },
    ]);
    behindRetained.timestamp(7);
    refused(
      () => behindRetained.finish(),
      'kt_proof_inconsistent',
      /log entry 7 has an earlier timestamp than log entry 3/,
    );
    const equal = new CombinedProofReader(combined({ timestamps: [5, 5], prefixRoots: [root(1), root(2)] }));
    equal.timestamp(1);
    equal.timestamp(2);
    expect(equal.finish().map((e) => e.timestamp)).toEqual([5, 5]);
  });
});
