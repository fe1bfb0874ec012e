/**
 * The auditor's check of a provider enrolment entry against trusted roots (docs/PROTOCOL.md section 14,
 * docs/VERIFIER.md "The auditor"): the entry must carry a certificate chain that validates to one of the roots
 * at the entry's time (chain.ts, the same rules the directory applied when the provider enrolled), every
 * certificate of its path must also be valid when the epoch head that commits the entry is dated, and the
 * provider id, key and validity the entry states must be exactly the chain's. An operator that logs an
 * enrolment with its own key under a provider's name is caught here: a client's lookup verification only
 * checks that the enrolment is in the log's credential set. So is one that enrols an expired certificate (whose
 * key may have leaked since) under a past time of its choosing: the entry's time is the operator's word, the
 * heads' times are checked to never go back and are what clients judge a head's freshness by. Pure
 * JavaScript; it runs wherever the auditor runs.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import type { EnrolmentEntry } from '../formats/entries.js';
import { VerifyError } from '../verification/errors.js';
import { parseCertificate } from './certificate.js';
import { validateProviderChain } from './chain.js';
import { ProviderError } from './errors.js';

/**
 * Throws VerifyError('bad_enrolment') unless the entry is exactly what its chain says, at its time, and its
 * chain's path is valid at `committedAt` (ms), the time of the epoch head that commits the entry.
 */
export async function checkEnrolment(
  entry: EnrolmentEntry,
  trustedRoots: Uint8Array[],
  committedAt: number,
): Promise<void> {
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
  const { notBefore, notAfter } = cred.pathValidity;
  if (committedAt < notBefore || committedAt > notAfter)
    throw new VerifyError(
      'bad_enrolment',
      `the enrolment of ${entry.providerId} was committed at ${isoTime(committedAt)}, outside the validity of ` +
        `its certificate chain (${isoTime(notBefore)} to ${isoTime(notAfter)})`,
    );
}

/** A time for a message: ISO 8601, or the number when no Date can show it. */
function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/**
 * Checks trusted roots before an audit, so that a bad root is reported as the caller's mistake, never as the
 * log's `bad_enrolment`: at least one (else ProviderError `cert_untrusted`), each one certificate as
 * certificate.ts defines it (else `cert_parse`). Returns copies of the roots.
 */
export function checkTrustedRoots(trustedRoots: Uint8Array[]): Uint8Array[] {
  if (trustedRoots.length === 0) throw new ProviderError('cert_untrusted', 'no trusted roots were given');
  trustedRoots.forEach((der, i) => parseCertificate(der, `trusted root ${i}`));
  return trustedRoots.map((der) => der.slice());
}
