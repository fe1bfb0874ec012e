/**
 * Why a provider's certificate chain is refused: one stable code per rule of docs/PROTOCOL.md section 13.2.4,
 * in the order the rules are checked. The server re-exports these (log/providers/errors.ts), so the directory
 * refusing an enrolment and an auditor refusing an enrolment entry name the same rule with the same code.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';

/** The codes in the order the rules are checked: length, parsing, path, signatures, validity, ... */
export type ProviderErrorCode =
  | 'cert_chain_too_long'
  | 'cert_parse'
  | 'cert_untrusted'
  | 'cert_bad_signature'
  | 'cert_expired'
  | 'cert_not_yet_valid'
  | 'cert_unsupported_extension'
  | 'cert_not_ca'
  | 'cert_bad_key_usage'
  | 'cert_bad_key'
  | 'cert_no_dns_name';

export class ProviderError extends CodedError<ProviderErrorCode> {
  override readonly name = 'ProviderError';
}
