/**
 * The signatures a KEYTRANS client checks (draft-ietf-keytrans-protocol-05): the log's TreeHead over TreeHeadTBS
 * with Configuration.signature_public_key ("Tree Head Signature"), a Third-Party Auditor's AuditorTreeHead over
 * AuditorTreeHeadTBS with auditor_public_key ("Auditor Tree Head Signature", its step 4; steps 1-3 compare sizes
 * and timestamps with the client's state and are the caller's), and, in thirdPartyManagement mode, the Service
 * Operator's signature of an UpdateValue over UpdateTBS with leaf_public_key ("Update Format"). Each signs the
 * whole Configuration, so a tree head is bound to the log's keys, suite and mode. The roots come from the verified
 * log-tree proof (log-tree.ts). Every failure throws `KeyTransError` 'kt_bad_signature' (or 'kt_bad_input' when the
 * mode does not carry what is checked).
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
