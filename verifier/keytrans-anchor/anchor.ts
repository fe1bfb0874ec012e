/**
 * The KEYTRANS client's anchor check, an extension of draft-ietf-keytrans-protocol-05 (docs/PROTOCOL.md section
 * 22.7): given the C2SP pins of the directory's log (its origin, its key and the witness policy), a KEYTRANS tree
 * head the client verified is checked against the witnessed log. The directory commits every provider's head of
 * each epoch in a KEYTRANS heads entry (type 0x04) just before the epoch head; the anchor is that entry with its
 * inclusion proof (RFC 9162 section 2.1.3) in the served checkpoint. A head that verifies under the deployment's
 * key but differs from the one the witnesses fixed (a split view) is refused. Synchronous, no I/O; every refusal
 * of the anchor is an AnchorError with a code (a client state that is itself malformed, not one a verified search
 * left, fails with the KeyTransError of the KEYTRANS rule it breaks, such as `kt_bad_input` for missing subtrees).
 */
import { equalBytes, fromBase64 } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { decodeKeyTransHeadsEntry, type KeyTransHead } from '../formats/entries.js';
import { recordHash, verifyInclusion } from '../formats/tlog.js';
import type { CheckpointVerifier } from '../verification/checkpoint-policy.js';
import { rootFromFullSubtrees } from '../keytrans/log-tree.js';
import type { GlobalState } from '../keytrans/head.js';
import type { CipherSuite } from '../keytrans/suites.js';

export type AnchorErrorCode =
  /** The anchor's JSON is not the documented shape. */
  | 'anchor_malformed'
  /** Its checkpoint fails the pins or the witness policy. */
  | 'anchor_bad_checkpoint'
  /** Its entry is not at the place it names in the checkpoint's tree, or is not a KEYTRANS heads entry. */
  | 'anchor_not_included'
  /** The entry names no head of the provider. */
  | 'anchor_provider_absent'
  /** The entry's head of the provider is not the head the client verified: a split view. */
  | 'anchor_head_mismatch'
  /** The anchor is of a newer head than the client's (an epoch came in between): search again, then re-check. */
  | 'anchor_newer_head'
  /** A break in the anchored KEYTRANS heads' history (history.ts): an auditor's finding. */
  | 'anchor_history'
  /** A saved history (history.ts `KeyTransHistory.decode`) that does not decode or does not hold together. */
  | 'anchor_history_state'
  /**
   * The anchor is of an older head than the client's: a reader that lags, so fetch the anchor again; if it stays
   * older, the directory served a head it had not anchored.
   */
  | 'anchor_older_head';

export class AnchorError extends CodedError<AnchorErrorCode> {
  override readonly name = 'AnchorError';
}

/** `GET /keytrans/v1/anchor`, decoded. */
export interface KeyTransAnchor {
  epoch: number;
  checkpoint: string;
  index: number;
  entry: Uint8Array;
  proof: Uint8Array[];
}

const malformed = (what: string) => new AnchorError('anchor_malformed', `the anchor's ${what} is malformed`);

/** Decodes the anchor route's JSON strictly: exactly its five fields, canonical base64, 32-byte hashes. */
export function parseKeyTransAnchor(json: unknown): KeyTransAnchor {
  const o = json as Record<string, unknown>;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw malformed('body');
  if (Object.keys(o).sort().join() !== 'checkpoint,entry,epoch,index,proof') throw malformed('set of fields');
  const int = (v: unknown, what: string) => {
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw malformed(what);
    return v as number;
  };
  const bytes = (v: unknown, what: string) => {
    if (typeof v !== 'string') throw malformed(what);
    try {
      return fromBase64(v);
    } catch {
      throw malformed(what);
    }
  };
  if (typeof o.checkpoint !== 'string' || !Array.isArray(o.proof) || o.proof.length > 64) throw malformed('body');
  const proof = o.proof.map((h) => bytes(h, 'proof'));
  if (proof.some((h) => h.length !== 32)) throw malformed('proof');
  const [epoch, index] = [int(o.epoch, 'epoch'), int(o.index, 'index')];
  return { epoch, checkpoint: o.checkpoint, index, entry: bytes(o.entry, 'entry'), proof };
}

/** The root of the KEYTRANS log tree a client's state holds (its full subtrees, draft-05 "Log Tree"). */
export function stateRoot(suite: CipherSuite, state: GlobalState): Uint8Array {
  return rootFromFullSubtrees(suite, state.treeHead.treeSize, state.fullSubtrees);
}

/** The KEYTRANS heads entry the anchor proves included in its checkpoint, which `checkpoints` verifies. */
function anchoredHeads(checkpoints: CheckpointVerifier, anchor: KeyTransAnchor): KeyTransHead[] {
  let opened;
  try {
    opened = checkpoints.verify(anchor.checkpoint);
  } catch (e) {
    throw new AnchorError('anchor_bad_checkpoint', `the anchor's checkpoint: ${(e as Error).message}`);
  }
  const { size, rootHash } = opened.checkpoint;
  if (anchor.index + 2 !== size)
    throw new AnchorError('anchor_not_included', `entry ${anchor.index} is not just before the epoch head of ${size}`);
  try {
    verifyInclusion(anchor.index, size, recordHash(anchor.entry), anchor.proof, rootHash);
  } catch (e) {
    throw new AnchorError('anchor_not_included', `the entry is not in the checkpoint: ${(e as Error).message}`);
  }
  let entry;
  try {
    entry = decodeKeyTransHeadsEntry(anchor.entry);
  } catch (e) {
    throw new AnchorError('anchor_not_included', `the entry does not decode: ${(e as Error).message}`);
  }
  if (entry.epoch !== anchor.epoch)
    throw new AnchorError(
      'anchor_not_included',
      `entry ${anchor.index} is not the KEYTRANS heads of epoch ${anchor.epoch}`,
    );
  return entry.heads;
}

/**
 * Checks that `state`'s tree head, which the client verified with the KEYTRANS client, is the head of
 * `provider`'s deployment that the witnessed log committed in `anchor`; else throws AnchorError.
 */
export function verifyKeyTransAnchor(
  checkpoints: CheckpointVerifier,
  anchor: KeyTransAnchor,
  provider: string,
  suite: CipherSuite,
  state: GlobalState,
): void {
  const head = anchoredHeads(checkpoints, anchor).find((h) => h.providerId === provider);
  if (!head) throw new AnchorError('anchor_provider_absent', `epoch ${anchor.epoch} anchored no head of ${provider}`);
  const { treeSize, signature } = state.treeHead;
  if (head.treeSize > treeSize)
    throw new AnchorError('anchor_newer_head', `the log anchored size ${head.treeSize}, newer than ${treeSize}`);
  if (head.treeSize < treeSize)
    throw new AnchorError('anchor_older_head', `the log anchored size ${head.treeSize}, older than ${treeSize}`);
  if (!equalBytes(head.root, stateRoot(suite, state)) || !equalBytes(head.signature, signature))
    throw new AnchorError('anchor_head_mismatch', `the log anchored another head of size ${treeSize}: a split view`);
  const newest = state.frontier.find((e) => e.position === treeSize - 1);
  if (newest && (newest.timestamp !== head.timestamp || !equalBytes(newest.prefixTree, head.prefixRoot)))
    throw new AnchorError('anchor_head_mismatch', `the log anchored another newest log entry at ${treeSize - 1}`);
}
