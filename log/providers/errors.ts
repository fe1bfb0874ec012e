/**
 * Why a provider's certificate chain is refused, one stable code per rule of docs/PROTOCOL.md
 * ("Providers"), in the order the rules are checked.
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

export class ProviderError extends CodedError<ProviderErrorCode> {}
