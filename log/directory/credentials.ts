/**
 * The directory's view of provider credentials: every enrolment entry in the log, identified by its log
 * index, minus the ones a revocation entry revoked. A statement is accepted only if its signature
 * verifies under a credential of the statement's own provider that is enrolled, not revoked, and valid
 * (certificate validity window) both now and at the statement's issued-at time. A signature that only
 * verifies under another provider's credential is reported as a namespace violation.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { verifySignature } from '../../wasm-free-crypto/signatures.js';
import { decodeEntry, type EnrolmentEntry } from '../../verifier/formats/entries.js';
import { DirectoryError } from './errors.js';
import type { CredentialRow } from './store.js';

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
   * The credential whose key signed `message`, checked in this order: a credential of `providerId` must
   * verify and be valid at `now` and at `issuedAt`; else the refusal says why (no provider, revoked,
   * expired, bad signature, or signed by another provider: a namespace violation).
   */
  async signer(
    providerId: string,
    message: Uint8Array,
    signature: Uint8Array,
    issuedAt: number,
    now: number,
  ): Promise<Credential> {
    const own = this.all().filter((c) => c.entry.providerId === providerId);
    if (own.length === 0) {
      if (await this.verifiesUnderAny(this.all(), message, signature))
        throw new DirectoryError('namespace_violation', `statement for ${providerId} is signed by another provider`);
      throw new DirectoryError('unknown_provider', `provider ${providerId} is not enrolled`);
    }
    const verified = [];
    for (const c of own)
      if (await verifySignature(c.entry.algorithm, c.entry.publicKey, message, signature)) verified.push(c);
    if (verified.length === 0) {
      const others = this.all().filter((c) => c.entry.providerId !== providerId && c.revokedIndex === null);
      if (await this.verifiesUnderAny(others, message, signature))
        throw new DirectoryError('namespace_violation', `statement for ${providerId} is signed by another provider`);
      throw new DirectoryError('bad_signature', `the signature does not verify under any credential of ${providerId}`);
    }
    const active = verified.filter((c) => c.revokedIndex === null);
    if (active.length === 0)
      throw new DirectoryError('cert_revoked', `the signing credential of ${providerId} was revoked`);
    const valid = active.find(
      (c) =>
        c.entry.notBefore <= now &&
        now <= c.entry.notAfter &&
        c.entry.notBefore <= issuedAt &&
        issuedAt <= c.entry.notAfter,
    );
    if (!valid)
      throw new DirectoryError(
        'cert_expired',
        `the signing credential of ${providerId} is not valid now or at the statement's issued-at time`,
      );
    return valid;
  }

  private async verifiesUnderAny(creds: Credential[], message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    for (const c of creds)
      if (await verifySignature(c.entry.algorithm, c.entry.publicKey, message, signature)) return true;
    return false;
  }
}
