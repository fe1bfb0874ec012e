/**
 * The operator's requests about provider credentials, checked and made into the jobs the next epoch logs
 * (directory.ts validates an enrolment's certificate chain first, then queues the job in the same tick as these
 * checks): an enrolment, whose certificate and key are neither enrolled, revoked nor queued for enrolment; and a
 * revocation, of an active credential whose revocation is not queued yet. Nothing here changes state.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { encodeEntry, EntryError, type Entry } from '../../verifier/formats/entries.js';
import type { ProviderCredential } from '../providers/chain.js';
import type { CredentialRegistry } from './credentials.js';
import { deferred, type Job } from './epoch-plan.js';
import { DirectoryError } from './errors.js';
import type { JobQueue } from './job-queue.js';

/**
 * The log entry an operator's request asks for. What the request brought may not fit the entry's format
 * (a revocation reason that is not printable ASCII, a certificate valid from before 1970): that is a bad
 * request, not a failure of the server.
 */
function requestedEntry(e: Entry): Uint8Array {
  try {
    return encodeEntry(e);
  } catch (err) {
    if (err instanceof EntryError)
      throw new DirectoryError('bad_request', `the entry cannot be logged: ${err.message}`);
    throw err;
  }
}

/** What the checks read: the credentials, the queue and the clock (read when the entry is made). */
export interface ProviderJobContext {
  credentials: CredentialRegistry;
  queue: JobQueue;
  now: () => number;
}

/**
 * The enrolment job of a provider whose certificate chain `validateProviderChain` (log/providers/chain.ts)
 * accepted. Synchronous, so that the caller queues it in the same tick: a concurrent enrolment of the same
 * certificate or key, validated meanwhile, then finds this one queued (`already_enrolled`).
 */
export function enrolmentJob(cred: ProviderCredential, ctx: ProviderJobContext): Extract<Job, { kind: 'enrol' }> {
  // Credentials are identified by the SHA-256 of the leaf's TBSCertificate: unlike the DER, it cannot
  // be changed by re-encoding the issuer's ECDSA signature. A revoked certificate or key stays revoked.
  const same = ctx.credentials
    .all()
    .filter((c) => equalBytes(c.fingerprint, cred.tbsFingerprint) || equalBytes(c.entry.publicKey, cred.publicKey));
  if (same.some((c) => c.revokedIndex !== null))
    throw new DirectoryError('cert_revoked', 'this certificate or key was revoked');
  if (same.length > 0 || ctx.queue.hasEnrolment(cred.tbsFingerprint, cred.publicKey))
    throw new DirectoryError('already_enrolled', 'this certificate or key is already enrolled or queued for enrolment');
  const entry = requestedEntry({
    type: 'enrol',
    providerId: cred.providerId,
    time: ctx.now(),
    algorithm: cred.algorithm,
    publicKey: cred.publicKey,
    notBefore: cred.notBefore,
    notAfter: cred.notAfter,
    chain: cred.chain,
  });
  const { tbsFingerprint: fingerprint, publicKey, providerId, pathValidity } = cred;
  return { kind: 'enrol', entry, fingerprint, publicKey, providerId, pathValidity, done: deferred() };
}

/** The revocation job of a provider credential, named by the SHA-256 of its leaf's TBSCertificate. */
export function revocationJob(
  providerId: string,
  fingerprint: Uint8Array,
  reason: string,
  ctx: ProviderJobContext,
): Extract<Job, { kind: 'revoke' }> {
  const credential = ctx.credentials.findActive(providerId, fingerprint);
  if (!credential)
    throw new DirectoryError('unknown_credential', `no active credential of ${providerId} has that fingerprint`);
  if (ctx.queue.isRevoking(credential.logIndex))
    throw new DirectoryError('unknown_credential', 'a revocation of this credential is already queued');
  const entry = requestedEntry({ type: 'revoke', providerId, time: ctx.now(), leafFingerprint: fingerprint, reason });
  return { kind: 'revoke', entry, credential, done: deferred() };
}
