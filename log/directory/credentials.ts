/**
 * The directory's view of provider credentials: every enrolment entry in the log, identified by its log
 * index, minus the ones a revocation entry revoked. A statement is accepted only if its signature
 * verifies under a credential of the statement's own provider that is enrolled, not revoked, and valid
 * (certificate validity window) both now and at the statement's issued-at time. A signature that only
 * verifies under another provider's credential is reported as a namespace violation. A submission may name
 * its credential, which is then the only one tried; else the search is capped (MAX_UNNAMED_VERIFICATIONS).
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { verifySignature } from '../../wasm-free-crypto/signatures.js';
import { decodeEntry, type EnrolmentEntry } from '../../verifier/formats/entries.js';
import { DirectoryError } from './errors.js';
import type { CredentialRow } from './store.js';

/**
 * The signature checks a statement that does not name its credential may cost at most (docs/PROTOCOL.md
 * section 16): a provider with more credentials, or a signature by another provider, past this many
 * checks is refused `bad_signature`; naming the credential checks that one only.
 */
export const MAX_UNNAMED_VERIFICATIONS = 8;

/** An enrolled credential: its enrolment entry decoded, where it is in the log, and its revocation. */
export interface Credential {
  logIndex: number;
  entryBytes: Uint8Array;
  entry: EnrolmentEntry;
  fingerprint: Uint8Array;
  revokedIndex: number | null;
}

export class CredentialRegistry {
  private readonly byIndex = new Map<number, Credential>();

  static fromRows(rows: CredentialRow[]): CredentialRegistry {
    const r = new CredentialRegistry();
    for (const row of rows) r.add(row.logIndex, row.entry, row.fingerprint, row.revokedIndex);
    return r;
  }

  add(
    logIndex: number,
    entryBytes: Uint8Array,
    fingerprint: Uint8Array,
    revokedIndex: number | null = null,
  ): Credential {
    const entry = decodeEntry(entryBytes);
    if (entry.type !== 'enrol') throw new DirectoryError('internal', `log entry ${logIndex} is not an enrolment`);
    const c = { logIndex, entryBytes, entry, fingerprint, revokedIndex };
    this.byIndex.set(logIndex, c);
    return c;
  }

  get(logIndex: number): Credential | undefined {
    return this.byIndex.get(logIndex);
  }

  /** All credentials, in log order. */
  all(): Credential[] {
    return [...this.byIndex.values()].sort((a, b) => a.logIndex - b.logIndex);
  }

  /** The unrevoked credential of `providerId` with this leaf fingerprint. */
  findActive(providerId: string, fingerprint: Uint8Array): Credential | undefined {
    return this.all().find(
      (c) => c.revokedIndex === null && c.entry.providerId === providerId && equalBytes(c.fingerprint, fingerprint),
    );
  }

  markRevoked(logIndex: number, revokedIndex: number): void {
    const c = this.byIndex.get(logIndex);
    if (c) c.revokedIndex = revokedIndex;
  }

  /**
   * The credential whose key signed `message`. Named by `fingerprint` (the SHA-256 of its leaf's
   * TBSCertificate), only that credential is tried: it must exist (`unknown_credential`) and be one of
   * `providerId`'s (`wrong_credential`). Unnamed, the credentials of `providerId` are tried, those valid now
   * first, then those of other providers (a namespace violation), at most MAX_UNNAMED_VERIFICATIONS
   * signature checks in all. The one found must verify and be valid at `now` and at `issuedAt`; else the
   * refusal says why (no provider, revoked, expired, bad signature, or signed by another provider).
   */
  async signer(
    providerId: string,
    message: Uint8Array,
    signature: Uint8Array,
    issuedAt: number,
    now: number,
    fingerprint?: Uint8Array,
  ): Promise<Credential> {
    if (fingerprint) return this.namedSigner(providerId, fingerprint, message, signature, issuedAt, now);
    const budget = { left: MAX_UNNAMED_VERIFICATIONS };
    const own = this.all().filter((c) => c.entry.providerId === providerId);
    if (own.length === 0) {
      if (await this.verifiesUnderAny(this.all(), message, signature, budget))
        throw new DirectoryError('namespace_violation', `statement for ${providerId} is signed by another provider`);
      throw new DirectoryError('unknown_provider', `provider ${providerId} is not enrolled`);
    }
    const usable = (c: Credential) => c.revokedIndex === null && validAt(c, now);
    const verified: Credential[] = [];
    for (const c of [...own.filter(usable).reverse(), ...own.filter((c) => !usable(c)).reverse()]) {
      if (budget.left-- <= 0) break;
      if (!(await verifySignature(c.entry.algorithm, c.entry.publicKey, message, signature))) continue;
      if (usable(c) && validAt(c, issuedAt)) return c;
      verified.push(c);
    }
    if (verified.length === 0) {
      const others = this.all().filter((c) => c.entry.providerId !== providerId && c.revokedIndex === null);
      if (await this.verifiesUnderAny(others, message, signature, budget))
        throw new DirectoryError('namespace_violation', `statement for ${providerId} is signed by another provider`);
      throw new DirectoryError('bad_signature', `the signature does not verify under any credential of ${providerId}`);
    }
    return refuseUnusable(providerId, verified);
  }

  /** The credential named by `fingerprint`, checked as `signer` says. */
  private async namedSigner(
    providerId: string,
    fingerprint: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    issuedAt: number,
    now: number,
  ): Promise<Credential> {
    const named = this.all().find((c) => equalBytes(c.fingerprint, fingerprint));
    if (!named) throw new DirectoryError('unknown_credential', 'no enrolled credential has that fingerprint');
    if (named.entry.providerId !== providerId)
      throw new DirectoryError(
        'wrong_credential',
        `the named credential is ${named.entry.providerId}'s, not a credential of ${providerId}`,
      );
    if (!(await verifySignature(named.entry.algorithm, named.entry.publicKey, message, signature)))
      throw new DirectoryError('bad_signature', 'the signature does not verify under the named credential');
    if (named.revokedIndex === null && validAt(named, now) && validAt(named, issuedAt)) return named;
    return refuseUnusable(providerId, [named]);
  }

  private async verifiesUnderAny(
    creds: Credential[],
    message: Uint8Array,
    signature: Uint8Array,
    budget: { left: number },
  ): Promise<boolean> {
    for (const c of creds) {
      if (budget.left-- <= 0) return false;
      if (await verifySignature(c.entry.algorithm, c.entry.publicKey, message, signature)) return true;
    }
    return false;
  }
}

/** Whether a credential's certificate is valid at `time`. */
function validAt(c: Credential, time: number): boolean {
  return c.entry.notBefore <= time && time <= c.entry.notAfter;
}

/**
 * The refusal of credentials the signature verified under, none of them both unrevoked and valid now and
 * at `issuedAt`: `cert_revoked` if all are revoked, else
 * `cert_expired`.
 */
function refuseUnusable(providerId: string, verified: Credential[]): never {
  if (verified.every((c) => c.revokedIndex !== null))
    throw new DirectoryError('cert_revoked', `the signing credential of ${providerId} was revoked`);
  throw new DirectoryError(
    'cert_expired',
    `the signing credential of ${providerId} is not valid now or at the statement's issued-at time`,
  );
}
