/**
 * Why a provider's certificate chain is refused, one stable code per rule of docs/PROTOCOL.md
 * ("Providers"), in the order the rules are checked.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';

/**
 * Codes: 'cert_parse', 'cert_untrusted', 'cert_bad_signature', 'cert_expired', 'cert_not_yet_valid',
 * 'cert_not_ca', 'cert_unsupported_extension', 'cert_bad_key_usage', 'cert_bad_key', 'cert_no_dns_name',
 * 'cert_chain_too_long'; and, raised by callers, 'provider_id_mismatch' and 'cert_revoked'.
 */
export class ProviderError extends CodedError {}
