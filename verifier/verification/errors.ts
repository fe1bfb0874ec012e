/**
 * The verifier's error types, each with a stable `code`: a VerifyError when something did not verify (the
 * log or directory misbehaved, or a proof is wrong; codes listed in docs/PROTOCOL.md), a ClientError when
 * a directory or log could not be asked or refused the request. Tools tell them apart (`kt` exits 1 or 2).
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';

export type VerifyErrorCode =
  // a lookup, history or discovery proof (lookup-verifier.ts)
  | 'bad_account'
  | 'bad_discovery'
  | 'bad_enrolment'
  | 'bad_epoch_head'
  | 'bad_epoch_inclusion'
  | 'bad_history'
  | 'bad_map_proof'
  | 'bad_not_enrolled'
  | 'bad_proof_json'
  | 'bad_proof_binary'
  | 'bad_provider_signature'
  | 'bad_statement'
  | 'bad_vrf'
  | 'credential_not_valid'
  | 'epoch_not_last'
  | 'wrong_account'
  | 'wrong_history'
  // checkpoints under a witness policy (checkpoint-policy.ts), and a log's history of them
  | 'bad_checkpoint'
  | 'bad_policy'
  | 'checkpoint_mid_epoch'
  | 'inconsistent_checkpoint'
  | 'rollback'
  | 'stale_checkpoint'
  | 'witness_quorum'
  // the log's tiles and bundles as fetched (verifier/http/, the auditor)
  | 'bad_bundle'
  | 'bad_tile'
  | 'tile_unavailable'
  | 'too_large'
  // the auditor's replay (map-replay.ts)
  | 'replay_bad_entry'
  | 'replay_credentials_root'
  | 'replay_epoch_range'
  /** A KEYTRANS heads entry (type 0x04) not immediately before the head of its own epoch. */
  | 'replay_keytrans_heads'
  /**
   * A break in the anchored KEYTRANS trees' history (verifier/keytrans-anchor/history.ts, run by the auditor): a
   * provider's tree not grown by exactly one entry, left out, or anchored with a root its anchored entries do not make.
   */
  | 'replay_keytrans_history'
  | 'replay_epoch_sequence'
  /** An epoch head dated before the head it follows. */
  | 'replay_epoch_time'
  | 'replay_map_root'
  | 'replay_mid_epoch'
  | 'replay_out_of_order'
  | 'replay_version_fork'
  // an evidence file (evidence.ts)
  | 'evidence_invalid'
  /** A KEYTRANS deployment's configuration that is not the one the client kept (verifier/keytrans-client/). */
  | 'keytrans_config_changed'
  /** A KEYTRANS value that is not the provider's statement of the account and version searched (cli/keytrans-command.ts). */
  | 'keytrans_value_mismatch';

export class VerifyError extends CodedError<VerifyErrorCode> {
  override readonly name = 'VerifyError';
}

/** A code a directory answered with (docs/PROTOCOL.md section 7), relayed as it was, never checked here. */
export type RelayedCode = string & { readonly relayed: unique symbol };

/** Marks a code that came from a directory's answer, or from a lower layer's error, to be relayed as is. */
export function relayedCode(code: string): RelayedCode {
  return code as RelayedCode;
}

/**
 * `network`: a request failed before any answer, or its answer was cut off; the message names the method,
 * the URL and the cause (verifier/http/request.ts).
 */
export type ClientErrorCode =
  // the request itself cannot be asked: a provider id or an account that is malformed, refused before asking
  | 'bad_request'
  | 'network'
  | 'http_error'
  | 'bad_response'
  | 'unavailable'
  | 'bad_replay_state'
  // an answer from a replica that lags the newest checkpoint kept by more than the client's bound (lookup-client.ts)
  | 'stale_answer'
  // a proof in a format version this client does not read (docs/PROTOCOL.md section 17.3)
  | 'unsupported_format'
  | RelayedCode;

/**
 * The directory or log could not be asked, or answered with an error (its code and message are kept), or in
 * a proof format this client does not read.
 */
export class ClientError extends CodedError<ClientErrorCode> {
  override readonly name = 'ClientError';
}
