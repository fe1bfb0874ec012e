/**
 * The signatures a KEYTRANS client checks (draft-ietf-keytrans-protocol-05): the log's TreeHead over TreeHeadTBS
 * with Configuration.signature_public_key ("Tree Head Signature"), a Third-Party Auditor's AuditorTreeHead over
 * AuditorTreeHeadTBS with auditor_public_key ("Auditor Tree Head Signature": the signature, step 4, and the bounds
 * of steps 1-3 against the log's tree head and the client's previous view), and, in thirdPartyManagement mode, the Service
 * Operator's signature of an UpdateValue over UpdateTBS with leaf_public_key ("Update Format"). Each signs the
 * whole Configuration, so a tree head is bound to the log's keys, suite and mode. The roots come from the verified
 * log-tree proof (log-tree.ts). Every failure throws `KeyTransError` 'kt_bad_signature' ('kt_bad_tree_head' for an
 * auditor's head out of bounds, 'kt_bad_input' when the mode does not carry what is checked).
 */
import { KeyTransError } from './errors.js';
import { encodeAuditorTreeHeadTbs, encodeTreeHeadTbs, encodeUpdateTbs } from './signed-structures.js';
import { cipherSuite } from './suites.js';
import type { AuditorTreeHead, Configuration, TreeHead, UpdateValue } from './types.js';

/** "Tree Head Signature": `treeHead.signature` over TreeHeadTBS(config, tree_size, root). */
export function verifyTreeHeadSignature(config: Configuration, treeHead: TreeHead, root: Uint8Array): void {
  const suite = cipherSuite(config.ciphersuite);
  const tbs = encodeTreeHeadTbs(config, treeHead.treeSize, root);
  suite.verifySignature(config.signaturePublicKey, tbs, treeHead.signature);
}

/**
 * "Auditor Tree Head Signature", step 4: `head.signature` over AuditorTreeHeadTBS(config, timestamp, tree_size,
 * root) with the auditor's key; `root` is the log's root at `head.treeSize`. thirdPartyAuditing mode only.
 */
export function verifyAuditorTreeHeadSignature(config: Configuration, head: AuditorTreeHead, root: Uint8Array): void {
  if (config.mode !== 'thirdPartyAuditing' || config.auditorPublicKey === undefined)
    throw new KeyTransError('kt_bad_input', 'an auditor tree head needs the thirdPartyAuditing mode');
  const suite = cipherSuite(config.ciphersuite);
  const tbs = encodeAuditorTreeHeadTbs(config, head.timestamp, head.treeSize, root);
  suite.verifySignature(config.auditorPublicKey, tbs, head.signature);
}

/** What steps 1-3 of "Auditor Tree Head Signature" compare an AuditorTreeHead with. */
export interface AuditorTreeHeadContext {
  /** The tree_size of the TreeHead it came with. */
  treeSize: number;
  /** The timestamp of the rightmost log entry of that tree. */
  rightmostTimestamp: number;
  /** The tree_size of the AuditorTreeHead in the tree head the user advertised, if it advertised one. */
  previousAuditorTreeSize: number | null;
}

/**
 * "Auditor Tree Head Signature", steps 1-3 ('kt_bad_tree_head'), then step 4, the signature: the previous auditor
 * head reached auditor_start_pos; the rightmost entry is not older than the head and at most max_auditor_lag newer;
 * the auditor's tree_size is at most the log's.
 */
export function verifyAuditorTreeHead(
  config: Configuration,
  head: AuditorTreeHead,
  root: Uint8Array,
  context: AuditorTreeHeadContext,
): void {
  if (config.mode !== 'thirdPartyAuditing' || config.maxAuditorLag === undefined)
    throw new KeyTransError('kt_bad_input', 'an auditor tree head needs the thirdPartyAuditing mode');
  const bad = (why: string) => new KeyTransError('kt_bad_tree_head', `auditor tree head: ${why}`);
  const previous = context.previousAuditorTreeSize;
  if (previous !== null && previous < (config.auditorStartPos ?? 0))
    throw bad(`the previous auditor head (${previous}) is before auditor_start_pos`); // step 1
  const lag = context.rightmostTimestamp - head.timestamp;
  if (lag < 0) throw bad('its timestamp is after the rightmost log entry'); // step 2
  if (lag > config.maxAuditorLag) throw bad(`it lags ${lag} ms, more than max_auditor_lag`); // step 2
  if (head.treeSize > context.treeSize) throw bad('its tree_size is beyond the log tree head'); // step 3
  verifyAuditorTreeHeadSignature(config, head, root); // step 4
}

/**
 * "Update Format": in thirdPartyManagement mode, `update.suffix.signature` over UpdateTBS(config, label, version,
 * value) with leaf_public_key; users MUST verify it before consuming the value. In other modes the suffix is
 * empty and there is nothing to verify: a signature present there is refused ('kt_bad_input').
 */
export function verifyUpdateSignature(
  config: Configuration,
  label: Uint8Array,
  version: number,
  update: UpdateValue,
): void {
  const signature = update.suffix.signature;
  if (config.mode !== 'thirdPartyManagement') {
    if (signature !== undefined) throw new KeyTransError('kt_bad_input', `no update signature in mode ${config.mode}`);
    return;
  }
  if (signature === undefined || config.leafPublicKey === undefined)
    throw new KeyTransError('kt_bad_signature', 'thirdPartyManagement: the update carries no signature');
  const suite = cipherSuite(config.ciphersuite);
  suite.verifySignature(config.leafPublicKey, encodeUpdateTbs(config, label, version, update.value), signature);
}
