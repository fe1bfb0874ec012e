/**
 * Verification of the directory's proofs with nothing but the pins: the log's origin and note key and the directory's
 * VRF public key. Synchronous, no I/O; every failure is a `VerifyError` with a stable code. A lookup is checked from
 * the leaf up: the VRF proof gives the label; for a present account the opening and the provider-signed statement
 * give the commitment, the previous history hash gives the leaf, the map proof gives the epoch's map root; the epoch
 * head is the last entry of the checkpoint's tree (inclusion proof), the provider's enrolment entry is in the epoch
 * head's credential set and its key signed the statement, and the checkpoint is signed by the log (and, under a
 * witness policy, cosigned by a fresh quorum of witnesses: verifier/verification/checkpoint-policy.ts). Checkpoint
 * signatures are verified once per note. An absence is proven for an enrolled provider (one of its enrolment
 * entries is in the credential set) or for a provider that is not enrolled (the whole credential set, with none of
 * its entries), so that a directory can neither call an enrolled provider unknown nor hide that a provider is
 * unknown (docs/PROTOCOL.md section 17).
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { VerifyError, type VerifyErrorCode } from './errors.js';
import { verifySignatureSync } from '../../wasm-free-crypto/signatures.js';
import type { NoteVerifier } from '../../wasm-free-crypto/note.js';
import { vrfVerify } from '../../wasm-free-crypto/vrf.js';
import { canonicalAccount, providerIdValid } from '../formats/account.js';
import type { Checkpoint } from '../formats/checkpoint.js';
import { CheckpointVerifier, type WitnessPolicy } from './checkpoint-policy.js';
import {
  commitment,
  historyHash,
  HISTORY_ZERO,
  labelFromVrfOutput,
  signedStatementBytes,
  vrfAlpha,
} from '../formats/directory-hashes.js';
import { decodeEntry, type EnrolmentEntry, type EpochHeadEntry } from '../formats/entries.js';
import type {
  DiscoveryProof,
  EnrolmentProof,
  EpochProof,
  HistoryProof,
  LookupProof,
  VersionProof,
} from '../formats/proofs.js';
import { verifyAbsence, verifyMembership, type MapLeaf, type MapProof } from '../formats/map-proof.js';
import type { Statement } from '../formats/statement.js';
import { decodeStatement, providerSignedMessage } from '../formats/statement-binary.js';
import { recordHash, rootFromLeafHashes, verifyInclusion } from '../formats/tlog.js';

export interface Pins {
  origin: string;
  logKey: NoteVerifier;
  vrfKey: Uint8Array;
  /** The client's witness policy: quorum and freshness of checkpoints (verifier/verification/checkpoint-policy.ts). */
  policy?: WitnessPolicy;
  /** Milliseconds since the epoch, for checkpoint freshness (default Date.now). */
  now?: () => number;
}

export interface LookupResult {
  /**
   * `absent`: the provider is enrolled (its enrolment, revoked or not, is in the epoch's credential set) and
   * has no such account; `not_enrolled`: no entry of the credential set is the provider's.
   */
  status: 'present' | 'deleted' | 'absent' | 'not_enrolled';
  checkpoint: Checkpoint;
  epoch: number;
  /** The verified epoch head the lookup was proven against. */
  head: EpochHeadEntry;
  label: Uint8Array;
  statement?: Statement;
  /** historyHash of the latest version (what an owner remembers to check the next history). */
  historyHash?: Uint8Array;
  /** For `not_enrolled`: the provider ids the epoch's credential set does hold, sorted, each once. */
  providers?: string[];
}

/** A verified history: the versions after `since`, oldest first (undefined where erased), and the lookup. */
export interface HistoryResult {
  lookup: LookupResult;
  statements: (Statement | undefined)[];
}

/** Runs `f`, turning any error into a VerifyError with `code` (keeping the cause's message). */
function check<T>(code: VerifyErrorCode, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof VerifyError) throw e;
    throw new VerifyError(code, `${code}: ${(e as Error).message}`);
  }
}

export class LookupVerifier {
  readonly checkpoints: CheckpointVerifier;

  constructor(readonly pins: Pins) {
    this.checkpoints = new CheckpointVerifier({
      origin: pins.origin,
      logKey: pins.logKey,
      policy: pins.policy,
      now: pins.now,
    });
  }

  /** Opens a checkpoint note under the pins and witness policy (signatures verified once per note). */
  checkpoint(note: string): Checkpoint {
    return this.checkpoints.verify(note).checkpoint;
  }

  /** The epoch head, checked to be the last entry of the signed checkpoint's tree. */
  epoch(p: EpochProof): { cp: Checkpoint; head: EpochHeadEntry } {
    const cp = this.checkpoint(p.checkpoint);
    if (p.headIndex !== cp.size - 1)
      throw new VerifyError('epoch_not_last', "the epoch head is not the checkpoint's last entry");
    check('bad_epoch_inclusion', () =>
      verifyInclusion(p.headIndex, cp.size, recordHash(p.headEntry), p.headProof, cp.rootHash),
    );
    const head = check('bad_epoch_head', () => decodeEntry(p.headEntry));
    if (head.type !== 'epoch') throw new VerifyError('bad_epoch_head', 'the last entry is not an epoch head');
    return { cp, head };
  }

  /** Verifies a lookup proof for (provider, account) as the client asked for it (docs/PROTOCOL.md section 17). */
  verifyLookup(proof: LookupProof, provider: string, account: string): LookupResult {
    if (!providerIdValid(provider))
      throw new VerifyError('bad_account', 'the provider asked for is not a provider id (a DNS name of 1..253 bytes)');
    const canonical = check('bad_account', () => canonicalAccount(account));
    if (proof.provider !== provider || proof.account !== canonical)
      throw new VerifyError('wrong_account', 'the proof is for another account');
    const { cp, head } = this.epoch(proof.epoch);
    const beta = check('bad_vrf', () => vrfVerify(this.pins.vrfKey, vrfAlpha(provider, canonical), proof.vrfProof));
    const label = labelFromVrfOutput(beta);
    const base = { checkpoint: cp, epoch: head.epoch, head, label };
    if ([proof.present, proof.absent, proof.notEnrolled].filter((c) => c !== undefined).length !== 1)
      throw new VerifyError(
        'bad_enrolment',
        'the lookup does not say whether the provider is enrolled (one of present, absent and notEnrolled)',
      );
    if (proof.present) return { ...base, ...this.present(proof.present, provider, canonical, head, label, proof.map) };
    if (proof.absent) this.enrolment(proof.absent.enrolment, provider, head);
    const providers = proof.notEnrolled && this.notEnrolled(proof.notEnrolled.credentials, provider, head);
    check('bad_map_proof', () => verifyAbsence(head.mapRoot, label, proof.map));
    return providers ? { status: 'not_enrolled', ...base, providers } : { status: 'absent', ...base };
  }

  /** A present (or deleted) account's latest version, proven by the map's membership proof of its leaf. */
  private present(
    p: NonNullable<LookupProof['present']>,
    provider: string,
    account: string,
    head: EpochHeadEntry,
    label: Uint8Array,
    map: MapProof,
  ): Pick<LookupResult, 'status' | 'statement' | 'historyHash'> {
    if (p.version === 1 && !equalBytes(p.previousHistory, HISTORY_ZERO))
      throw new VerifyError('bad_history', 'version 1 must follow the zero history hash');
    const { statement, c } = this.statementCommitment(p, provider, account, head);
    const leafHistory = historyHash(p.previousHistory, p.version, c);
    check('bad_map_proof', () =>
      verifyMembership(head.mapRoot, { label, version: p.version, historyHash: leafHistory }, map),
    );
    return { status: statement.status === 'deleted' ? 'deleted' : 'present', statement, historyHash: leafHistory };
  }

  /**
   * The entries of a credential set, checked to be the epoch head's: the RFC 9162 root of their leaf hashes
   * is `credentialsRoot` and their number `credentialCount`, and each is an enrolment entry.
   */
  credentialSet(
    credentials: Uint8Array[],
    head: EpochHeadEntry,
    code: 'bad_discovery' | 'bad_not_enrolled',
  ): EnrolmentEntry[] {
    const leaves = credentials.map((e) => recordHash(e));
    if (leaves.length !== head.credentialCount || !equalBytes(rootFromLeafHashes(leaves), head.credentialsRoot))
      throw new VerifyError(code, "the credential set is not the epoch's");
    return credentials.map((e) => {
      const entry = check(code, () => decodeEntry(e));
      if (entry.type !== 'enrol') throw new VerifyError(code, 'an entry of the credential set is not an enrolment');
      return entry;
    });
  }

  /** Checks that the epoch's credential set holds no enrolment of `provider`; returns the providers it holds. */
  private notEnrolled(credentials: Uint8Array[], provider: string, head: EpochHeadEntry): string[] {
    const providers = new Set(this.credentialSet(credentials, head, 'bad_not_enrolled').map((e) => e.providerId));
    if (providers.has(provider))
      throw new VerifyError('bad_not_enrolled', `${provider} is enrolled in the epoch's credential set`);
    return [...providers].sort();
  }

  /** Checks a version's statement (fields, provider signature, enrolment) and returns its commitment. */
  statementCommitment(
    v: VersionProof,
    provider: string,
    account: string,
    head: EpochHeadEntry,
  ): { statement: Statement; c: Uint8Array } {
    if (!v.statement || !v.signature || !v.opening || !v.enrolment)
      throw new VerifyError('bad_statement', 'the version has no statement to check');
    const statement = check('bad_statement', () => decodeStatement(v.statement!));
    if (statement.provider !== provider || statement.account !== account || statement.version !== v.version) {
      throw new VerifyError('bad_statement', 'the statement names another account or version');
    }
    const enrol = this.enrolment(v.enrolment, provider, head);
    if (statement.issuedAt < enrol.notBefore || statement.issuedAt > enrol.notAfter)
      throw new VerifyError('credential_not_valid', "the statement was issued outside its credential's validity");
    const signed = check('bad_provider_signature', () =>
      verifySignatureSync(enrol.algorithm, enrol.publicKey, providerSignedMessage(v.statement!), v.signature!),
    );
    if (!signed)
      throw new VerifyError('bad_provider_signature', "the provider's signature on the statement does not verify");
    return {
      statement,
      c: check('bad_statement', () => commitment(v.opening!, signedStatementBytes(v.statement!, v.signature!))),
    };
  }

  /** The provider's enrolment entry, proven to be in the epoch head's credential set. */
  enrolment(e: EnrolmentProof, provider: string, head: EpochHeadEntry): EnrolmentEntry {
    const entry = check('bad_enrolment', () => decodeEntry(e.entry));
    if (entry.type !== 'enrol' || entry.providerId !== provider)
      throw new VerifyError('bad_enrolment', "the enrolment is not the provider's");
    check('bad_enrolment', () =>
      verifyInclusion(e.position, head.credentialCount, recordHash(e.entry), e.proof, head.credentialsRoot),
    );
    return entry;
  }

  /**
   * Verifies the owner's daily check: the leaf the owner verified before (label, version, history hash) is
   * still the map's leaf for the label, in a signed epoch.
   */
  verifyUnchanged(
    u: { epoch: EpochProof; map: MapProof },
    leaf: MapLeaf,
  ): { checkpoint: Checkpoint; epoch: number; head: EpochHeadEntry } {
    const { cp, head } = this.epoch(u.epoch);
    check('bad_map_proof', () => verifyMembership(head.mapRoot, leaf, u.map));
    return { checkpoint: cp, epoch: head.epoch, head };
  }

  /**
   * Verifies a history proof from version `since`, whose history hash the caller remembers (zeros for
   * since = 0), to the latest version; returns the lookup result and every statement after `since`
   * (undefined for erased versions).
   */
  verifyHistory(proof: HistoryProof, provider: string, account: string, sinceHistory: Uint8Array): HistoryResult {
    if (!Number.isSafeInteger(proof.since) || proof.since < 0)
      throw new VerifyError('bad_history', 'since must be a non-negative integer');
    const lookup = this.verifyLookup(proof.lookup, provider, account);
    const head = lookup.head;
    const latest = proof.lookup.present?.version ?? 0;
    if (proof.since > latest || proof.versions.length !== Math.max(0, latest - proof.since - 1))
      throw new VerifyError('bad_history', 'the history does not cover the versions since the one given');
    const canonical = proof.lookup.account;
    let h = sinceHistory;
    const statements: (Statement | undefined)[] = [];
    const checked = proof.versions.map((v, i) => {
      if (v.version !== proof.since + 1 + i)
        throw new VerifyError('bad_history', 'history versions are not consecutive');
      return v.commitment
        ? { statement: undefined, c: v.commitment }
        : this.statementCommitment(v, provider, canonical, head);
    });
    // A version may be shown as a bare commitment only if erased: below a verified deletion (tombstone).
    const tombstones = [...checked.map((k) => k.statement), lookup.statement].map((st, i) =>
      st?.status === 'deleted' ? i : -1,
    );
    const lastTombstone = Math.max(...tombstones);
    checked.forEach((k, i) => {
      if (!k.statement && i >= lastTombstone)
        throw new VerifyError(
          'bad_history',
          `version ${proof.since + 1 + i} is withheld but no later version deleted the account`,
        );
      statements.push(k.statement);
      h = historyHash(h, proof.since + 1 + i, k.c);
    });
    const expected =
      proof.since === latest ? (lookup.historyHash ?? HISTORY_ZERO) : proof.lookup.present!.previousHistory;
    if (!equalBytes(h, expected))
      throw new VerifyError('bad_history', 'the history chain does not lead to the current version (fork or rewrite)');
    if (proof.since < latest) statements.push(lookup.statement);
    return { lookup, statements };
  }

  /**
   * Verifies a discovery proof: the credential set must be the epoch's (root and count), and there must
   * be exactly one verified lookup, in that epoch, for every provider id in it.
   */
  verifyDiscovery(proof: DiscoveryProof, account: string): Map<string, LookupResult> {
    const first = proof.lookups[0];
    if (!first) throw new VerifyError('bad_discovery', 'a discovery proof needs at least one lookup');
    const { head } = this.epoch(first.epoch);
    const providers = new Set(this.credentialSet(proof.credentials, head, 'bad_discovery').map((e) => e.providerId));
    const results = new Map<string, LookupResult>();
    for (const l of proof.lookups) {
      if (l.epoch.checkpoint !== first.epoch.checkpoint || l.epoch.headIndex !== first.epoch.headIndex)
        throw new VerifyError('bad_discovery', 'the lookups come from different epochs');
      if (!providers.has(l.provider) || results.has(l.provider))
        throw new VerifyError('bad_discovery', `unexpected or repeated provider ${l.provider}`);
      // The proof names its account once and in each lookup: they agree (each lookup is then checked as asked).
      if (l.account !== proof.account)
        throw new VerifyError('bad_discovery', `a lookup is of ${l.account}, the discovery of ${proof.account}`);
      results.set(l.provider, this.verifyLookup(l, l.provider, account));
    }
    if (results.size !== providers.size)
      throw new VerifyError('bad_discovery', 'some providers of the credential set were left out');
    return results;
  }
}
