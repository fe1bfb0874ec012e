/**
 * The end of every KEYTRANS response's verification (draft-ietf-keytrans-protocol-05, "Full Tree Head
 * Verification", "Auditor Tree Head Signature", "Tree Proofs / Log Tree" and "User Operations"): the log entries
 * whose timestamps the combined proof gave (combined-proof.ts) are the leaves of its `inclusion` batch proof,
 * which together with the full subtrees the client retained computes the log tree's root (and, with an auditor,
 * the root at the auditor's tree size); the tree head's signature must then verify over that root, or, for a head
 * of type `same`, the root must be the retained tree's. What the client keeps afterwards is `GlobalState`: the tree
 * head, the auditor's, the full subtrees and the frontier's log entries. Nothing is kept from a response that
 * fails: the caller stores the returned state only once everything verified.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import type { CombinedProofReader, RetainedEntry } from './combined-proof.js';
import { KeyTransError } from './errors.js';
import { evaluateLogBatchProof, logLeafHash, rootFromFullSubtrees } from './log-tree.js';
import { frontier } from './search-tree.js';
import { verifyAuditorTreeHead, verifyTreeHeadSignature } from './signatures.js';
import type { CipherSuite } from './suites.js';
import type { AuditorTreeHead, Configuration, FullTreeHead, InclusionProof, TreeHead } from './types.js';

/** What a client keeps of the log between queries (katie's model: see test/vectors/keytrans/README.md). */
export interface GlobalState {
  treeHead: TreeHead;
  auditorTreeHead: AuditorTreeHead | null;
  /** The values of the log tree's full subtrees at `treeHead.treeSize`, left to right. */
  fullSubtrees: Uint8Array[];
  /** The log entries on the frontier of that tree, left to right. */
  frontier: RetainedEntry[];
}

/** The tree size a response's head gives: the retained one for `same`, which needs a retained head. */
export function headSize(head: FullTreeHead, state: GlobalState | null): number {
  if (head.headType === 'same') {
    if (!state)
      throw new KeyTransError('kt_bad_tree_head', 'a head of type same answers a client that advertised none');
    return state.treeHead.treeSize;
  }
  const size = head.treeHead.treeSize;
  if (size < 1) throw new KeyTransError('kt_bad_tree_head', 'a tree head of no entries');
  if (state && size <= state.treeHead.treeSize)
    throw new KeyTransError(
      'kt_bad_tree_head',
      `a tree head of ${size} entries after one of ${state.treeHead.treeSize}`,
    );
  return size;
}

/** The entries the client retained, given to the combined proof's reader: the frontier of its last tree. */
export const retainedEntries = (state: GlobalState | null): RetainedEntry[] => state?.frontier ?? [];

/**
 * Finishes the combined proof, computes the log tree's root from its `inclusion` and the retained full subtrees,
 * verifies the head against it (see the file comment) and returns the state to keep.
 */
export function verifyHead(
  suite: CipherSuite,
  config: Configuration,
  head: FullTreeHead,
  state: GlobalState | null,
  reader: CombinedProofReader,
  inclusion: InclusionProof,
): GlobalState {
  const size = headSize(head, state);
  const given = reader.finish();
  const auditor = head.headType === 'updated' ? (head.auditorTreeHead ?? null) : null;
  if (auditor && auditor.treeSize > size)
    throw new KeyTransError(
      'kt_bad_tree_head',
      `the auditor's tree head is of ${auditor.treeSize} entries, past the log's`,
    );
  if (config.mode === 'thirdPartyAuditing' && head.headType === 'updated' && !auditor)
    throw new KeyTransError(
      'kt_bad_tree_head',
      "an updated tree head without the auditor's, in thirdPartyAuditing mode",
    );
  const computed = evaluateLogBatchProof(
    suite,
    {
      treeSize: size,
      leaves: given.map((e) => ({ index: e.position, value: logLeafHash(suite, e) })),
      retained: state && { size: state.treeHead.treeSize, fullSubtrees: state.fullSubtrees },
      additionalSize: auditor?.treeSize ?? null,
    },
    inclusion,
  );
  if (head.headType === 'same') {
    if (!equalBytes(computed.root, rootFromFullSubtrees(suite, size, state!.fullSubtrees)))
      throw new KeyTransError('kt_bad_proof', 'the proof computes another root than the retained tree head');
  } else verifyTreeHeadSignature(config, head.treeHead, computed.root);
  if (auditor)
    verifyAuditorTreeHead(config, auditor, computed.additionalRoot!, {
      treeSize: size,
      rightmostTimestamp: reader.timestamp(size - 1),
      previousAuditorTreeSize: state?.auditorTreeHead?.treeSize ?? null,
    });
  const known = new Map([...retainedEntries(state), ...given].map((e) => [e.position, e]));
  return {
    treeHead: head.headType === 'same' ? state!.treeHead : head.treeHead,
    auditorTreeHead: head.headType === 'same' ? state!.auditorTreeHead : auditor,
    fullSubtrees: computed.fullSubtrees,
    frontier: frontier(size).map((p) => {
      const e = known.get(p);
      if (!e) throw new KeyTransError('kt_bad_proof', `the frontier's log entry ${p} was neither retained nor given`);
      return { position: p, timestamp: e.timestamp, prefixTree: e.prefixTree };
    }),
  };
}
