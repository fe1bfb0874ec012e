/**
 * The refusals of a KEYTRANS deployment's writer and stores, each with a stable code: an update the deployment
 * cannot take (its label or suffix does not fit the configuration, or the provider's signature does not cover
 * the version it would get), an append that lost a race with another, a clock that went back, and stored rows
 * that do not agree with each other. Nothing is written when one is thrown.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';

export type DeploymentErrorCode =
  /** An update this deployment cannot take: a label over 255 bytes, a suffix that does not fit the mode, a bad signature. */
  | 'deployment_bad_update'
  /** An append at a position other than the stored size: another writer appended first. */
  | 'deployment_conflict'
  /** A log entry timestamp earlier than the previous entry's. */
  | 'deployment_clock'
  /** Stored rows that contradict each other or their own encoding. */
  | 'deployment_corrupt';

export class DeploymentError extends CodedError<DeploymentErrorCode> {
  override readonly name = 'DeploymentError';
}
