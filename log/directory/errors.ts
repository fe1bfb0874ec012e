/**
 * The directory's refusals and failures, each with a stable code (the HTTP status of each is in
 * api/app/errors.ts): what a submission, an enrolment or a revocation is refused for, what an epoch or a
 * lookup failed with, and a store that does not agree with its log.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';

export type DirectoryErrorCode =
  | 'statement_too_large'
  | 'statement_from_future'
  | 'statement_bad_status'
  | 'bad_signature'
  | 'unknown_provider'
  | 'namespace_violation'
  | 'cert_revoked'
  | 'cert_expired'
  | 'cert_not_yet_valid'
  | 'version_conflict'
  | 'version_gap'
  | 'bad_continuity'
  | 'bad_keytrans_update'
  | 'already_enrolled'
  | 'unknown_credential'
  | 'wrong_credential'
  | 'queue_full'
  | 'epoch_failed'
  | 'directory_broken'
  | 'read_only'
  | 'overloaded'
  | 'bad_request'
  | 'busy'
  | 'corrupt_directory'
  | 'internal';

export class DirectoryError extends CodedError<DirectoryErrorCode> {
  override readonly name = 'DirectoryError';
}
