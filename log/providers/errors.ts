/**
 * Why a provider's certificate chain is refused: the codes of docs/PROTOCOL.md section 13.2.4, defined once
 * with the chain rules in the verifier (verifier/enrolment/errors.ts) and named here for the server's rooms.
 */
export { ProviderError, type ProviderErrorCode } from '../../verifier/enrolment/errors.js';
