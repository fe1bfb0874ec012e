/**
 * The refusals of the KEYTRANS responders (draft-ietf-keytrans-protocol-05, "User Operations"): a request the log
 * cannot answer with a response the client in verifier/keytrans/ would accept. Draft-05 defines no negative search
 * result (a later draft says to refuse one), so a search for a label or a version the tree does not hold is
 * refused rather than answered; so is a version whose opening and value were erased, one that only expired log
 * entries hold, and a request whose advertised tree size, monitoring map or owner state does not fit the tree.
 * Each refusal is a `ResponderError` whose `code` the routes map to a status.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';

export type ResponderErrorCode =
  /** The label has no version at this tree size ("Search": no negative result in draft-05). */
  | 'kt_label_absent'
  /** The label has versions, but not the one asked for ("Fixed-Version Search"). */
  | 'kt_version_absent'
  /** The version exists but its opening and value were erased: its commitment cannot be opened. */
  | 'kt_version_erased'
  /** The version is held only by expired log entries ("Maximum Lifetime"): the client would refuse it. */
  | 'kt_version_expired'
  /** The request's `last` is past this tree, zero, not an integer, or missing where the operation needs one. */
  | 'kt_bad_last'
  /** A monitoring map, a starting position or an owner's version that does not fit the tree. */
  | 'kt_bad_request'
  /** A deployment mode the view cannot answer in: thirdPartyAuditing needs an auditor's tree head. */
  | 'kt_unsupported_mode';

/** A KEYTRANS request the responders refuse. */
export class ResponderError extends CodedError<ResponderErrorCode> {
  override readonly name = 'ResponderError';
}
