/**
 * The one error class of the KEYTRANS client's cryptography (draft-ietf-keytrans-protocol-05): every check of a
 * cipher suite, VRF proof, signature, commitment, prefix-tree proof or log-tree proof that fails throws a
 * `KeyTransError` whose `code` says which kind of check it was, and whose message says what was wrong. Malformed
 * encodings are refused earlier by the codec, with `TlsError` (tls.ts).
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';

export type KeyTransErrorCode =
  /** A cipher suite this client does not implement (draft "KT Cipher Suites"). */
  | 'kt_unknown_suite'
  /** An argument that does not fit the suite or the call (a wrong length, an index out of range, a wrong mode). */
  | 'kt_bad_input'
  /** A VRF proof or VRF public key that does not verify (draft "Verifiable Random Function"). */
  | 'kt_vrf_failed'
  /** A signature or signature key that does not verify ("Tree Head Signature", "Update Format"). */
  | 'kt_bad_signature'
  /** A prefix-tree or log-tree proof that is malformed or does not give the expected value ("Tree Proofs"). */
  | 'kt_bad_proof'
  /** A tree head out of bounds: an auditor's too far behind, past the log's, or a start after the last one seen. */
  | 'kt_bad_tree_head'
  /** A fixed-version search for a version the log shows does not exist (draft-05 has no negative result). */
  | 'kt_not_found'
  /** A fixed-version search for a version only expired log entries hold ("Maximum Lifetime"). */
  | 'kt_expired'
  /** A stored client state that is malformed (state.ts): refused whole, never half-read. */
  | 'kt_bad_state'
  /**
   * An owner's monitoring whose greatest version does not fit ("Owner Monitoring", "Owner Algorithm"): a request
   * advertising another greatest version than the owner's state holds, a log entry whose ladder claims a version
   * above it, or a log that stops before a distinguished log entry with no ladder given (owner.ts
   * `checkOwnerProgress`): a version the owner did not make, the draft's alert to the user.
   */
  | 'kt_greatest_version';

/** A KEYTRANS verification failure. */
export class KeyTransError extends CodedError<KeyTransErrorCode> {
  override readonly name = 'KeyTransError';
}
