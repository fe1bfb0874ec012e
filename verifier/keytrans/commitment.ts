/**
 * Commitments of draft-ietf-keytrans-protocol-05 ("Commitment"): commitment = HMAC(Kc, CommitmentValue), with the
 * cipher suite's hash and fixed key Kc, over the TLS encoding of CommitmentValue (opening[Nc], label, version and
 * the UpdateValue, whose suffix carries the Service Operator's signature in thirdPartyManagement mode). A client
 * recomputes the commitment of the value a log returned, with the opening it was given, and compares it with the
 * commitment the prefix tree proves (prefix-tree.ts).
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { KeyTransError } from './errors.js';
import { type CommitmentValue, encodeCommitmentValue } from './signed-structures.js';
import type { CipherSuite } from './suites.js';

/** "Commitment": HMAC(Kc, CommitmentValue); the opening must be Nc bytes ('kt_bad_input'). */
export function computeCommitment(suite: CipherSuite, value: CommitmentValue): Uint8Array {
  if (value.opening.length !== suite.openingLength)
    throw new KeyTransError(
      'kt_bad_input',
      `opening must be ${suite.openingLength} bytes, got ${value.opening.length}`,
    );
  return suite.mac(suite.commitmentKey, encodeCommitmentValue(value, suite.openingLength));
}

/** Returns when `value` opens `commitment`; else 'kt_bad_proof'. */
export function verifyCommitment(suite: CipherSuite, commitment: Uint8Array, value: CommitmentValue): void {
  if (!equalBytes(computeCommitment(suite, value), commitment))
    throw new KeyTransError('kt_bad_proof', 'the value and opening do not match the commitment');
}
