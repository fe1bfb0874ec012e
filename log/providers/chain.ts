/**
 * Provider enrolment by X.509 certificate chain, for the directory: the one implementation of the rules of
 * docs/PROTOCOL.md section 13.2 is the verifier's (verifier/enrolment/chain.ts, pure TypeScript over @noble),
 * so the directory accepts exactly the enrolments an auditor accepts. Named here for the server's rooms.
 */
export {
  validateProviderChain,
  validateProviderId,
  type ProviderCredential,
} from '../../verifier/enrolment/chain.js';
