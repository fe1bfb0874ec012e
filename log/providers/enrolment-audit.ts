/**
 * Checks of provider enrolment entries against trusted roots, for auditors and providers: an enrolment
 * must carry a certificate chain that validates to one of the roots at the entry's time, and the
 * provider id, key and validity the entry states must be exactly the chain's. An operator that logs an
 * enrolment with its own key under a provider's name is caught here (the client's lookup verification
 * only checks that the enrolment is in the log's credential set). Asynchronous: it uses WebCrypto
 * through @peculiar/x509 (log/providers/chain.ts).
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import type { EnrolmentEntry } from '../../verifier/formats/entries.js';
import { validateProviderChain } from './chain.js';
import { VerifyError } from '../../verifier/verification/errors.js';

/** Throws VerifyError('bad_enrolment') unless the entry is exactly what its chain says, at its time. */
export async function checkEnrolment(entry: EnrolmentEntry, trustedRoots: Uint8Array[]): Promise<void> {
  let cred;
  try {
    cred = await validateProviderChain(entry.chain, trustedRoots, entry.time);
  } catch (e) {
    throw new VerifyError(
      'bad_enrolment',
      `the enrolment of ${entry.providerId} does not validate: ${(e as Error).message}`,
    );
  }
  const same =
    cred.providerId === entry.providerId &&
    cred.algorithm === entry.algorithm &&
    equalBytes(cred.publicKey, entry.publicKey) &&
    cred.notBefore === entry.notBefore &&
    cred.notAfter === entry.notAfter;
  if (!same)
    throw new VerifyError(
      'bad_enrolment',
      `the enrolment of ${entry.providerId} states another provider, key or validity than its certificate`,
    );
}
