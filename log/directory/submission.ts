/**
 * Validation of a submitted binding statement before it is queued: the strict encoding, the issued-at
 * time, the provider's signature under one of its enrolled, unrevoked, valid credentials, or under the one
 * credential the submission names by fingerprint (a signature by another provider is a namespace
 * violation; credentials.ts), then each public key for its algorithm, the version (exactly
 * the current one plus one, counting statements still queued), idempotent resubmission, and the owner
 * continuity signature by a key of the previous version. Every refusal is a typed error with a stable code.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { isSignatureAlgorithm, verifySignature } from '../../wasm-free-crypto/signatures.js';
import type { Credential } from './credentials.js';
import { DirectoryError } from './errors.js';
import { checkPublicKeys, MAX_STATEMENT_BYTES, type Statement } from '../../verifier/formats/statement.js';
import { continuityMessage, decodeStatement, providerSignedMessage } from '../../verifier/formats/statement-binary.js';

/** How far in the future a statement's issued-at time may be (clock skew). */
const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

/** What validation needs from the directory. */
export interface SubmissionContext {
  credentials: {
    signer(
      providerId: string,
      message: Uint8Array,
      signature: Uint8Array,
      issuedAt: number,
      now: number,
      fingerprint?: Uint8Array,
    ): Promise<Credential>;
  };
  /**
   * The label of (provider, account) and its stored account, if any (one store read); an unknown name's
   * VRF proof is computed with `priority` 'write'.
   */
  labelFor(
    provider: string,
    account: string,
    beforeVrf: undefined,
    priority: 'write',
  ): Promise<{
    label: Uint8Array;
    vrfProof: Uint8Array;
    stored?: { account: { version: number; history: Uint8Array } };
  }>;
  /**
   * How many epochs have committed (since the directory opened): it changes in the same tick as the
   * committed versions, before the epoch's statements leave the queue.
   */
  readonly epochsCommitted: number;
  /** The committed version of a label, read from the store (undefined for none). */
  committedVersion(label: Uint8Array): Promise<number | undefined>;
  /** The latest pending statement of a label, or the one of `version`. */
  pendingFor(
    label: Uint8Array,
    version?: number,
  ): { version: number; statement: Uint8Array; committed: Promise<Committed> } | undefined;
  committedOutcome(
    label: Uint8Array,
    version: number,
  ): Promise<{ statement: Uint8Array | null; committed: Committed } | undefined>;
}

export interface Committed {
  epoch: number;
  logIndex: number;
  treeSize: number;
  checkpoint: string;
}

/** A label's committed version and history hash as its account row gave them, valid while `epochsCommitted` is. */
export interface CommittedRead {
  version: number;
  history: Uint8Array | null;
  epochsCommitted: number;
}

export type ValidatedSubmission =
  | {
      kind: 'new';
      statement: Statement;
      statementBytes: Uint8Array;
      signature: Uint8Array;
      label: Uint8Array;
      vrfProof: Uint8Array;
      credential: Credential;
      /**
       * The committed version when the name was read (0 for a new account), its history hash (null if not
       * read with it), and `epochsCommitted` then.
       */
      committed: CommittedRead;
    }
  | { kind: 'duplicate'; label: Uint8Array; version: number; committed: Promise<Committed> };

function decodeChecked(statementBytes: Uint8Array, signature: Uint8Array, now: number): Statement {
  if (statementBytes.length > MAX_STATEMENT_BYTES)
    throw new DirectoryError('statement_too_large', `statements are at most ${MAX_STATEMENT_BYTES} bytes`);
  if (signature.length !== 64)
    throw new DirectoryError('bad_signature', 'provider signatures are 64 bytes (Ed25519, or ECDSA P-256 as r || s)');
  // Each public key is checked once the provider's signature is (a point decoding per key costs more).
  const statement = decodeStatement(statementBytes, { checkPublicKeys: false });
  if (statement.issuedAt > now + MAX_CLOCK_SKEW_MS)
    throw new DirectoryError('statement_from_future', 'the statement is issued in the future');
  if (statement.status === 'deleted' && statement.version === 1)
    throw new DirectoryError('statement_bad_status', 'version 1 cannot delete an account that never existed');
  return statement;
}

/** Validates a signed statement against the directory's current state; see the file comment. */
export async function validateSubmission(
  ctx: SubmissionContext,
  statementBytes: Uint8Array,
  signature: Uint8Array,
  now: number,
  credentialFingerprint?: Uint8Array,
): Promise<ValidatedSubmission> {
  const statement = decodeChecked(statementBytes, signature, now);
  const credential = await ctx.credentials.signer(
    statement.provider,
    providerSignedMessage(statementBytes),
    signature,
    statement.issuedAt,
    now,
    credentialFingerprint,
  );
  checkPublicKeys(statement);
  // The name's one read gives the committed version too, valid while no epoch commits (the caller checks
  // again without awaiting: directory.ts, checkStillNext).
  const epochsCommitted = ctx.epochsCommitted;
  const named = await ctx.labelFor(statement.provider, statement.account, undefined, 'write');
  const { label, vrfProof } = named;
  const committed = {
    version: named.stored?.account.version ?? 0,
    history: named.stored?.account.history ?? null,
    epochsCommitted,
  };
  const duplicate = await findDuplicate(ctx, label, statement.version, statementBytes, committed);
  if (duplicate) return { kind: 'duplicate', label, version: statement.version, committed: duplicate.committed };
  const pending = ctx.pendingFor(label);
  const current = pending ? pending.version : await committedVersion(ctx, label, committed);
  if (statement.version <= current)
    throw new DirectoryError(
      'version_conflict',
      `version ${statement.version} of this account is taken (current ${current})`,
    );
  if (statement.version > current + 1)
    throw new DirectoryError('version_gap', `version must be ${current + 1}, the current version plus one`);
  if (statement.continuity)
    await checkContinuity(ctx, statement, label, ctx.pendingFor(label, statement.version - 1)?.statement);
  return { kind: 'new', statement, statementBytes, signature, label, vrfProof, credential, committed };
}

/**
 * The committed version of `label`: as read with its name if no epoch committed since, else read again,
 * and `read` brought up to date with it (so later checks, checkStillNext's too, use the newer read).
 */
async function committedVersion(ctx: SubmissionContext, label: Uint8Array, read: CommittedRead): Promise<number> {
  if (ctx.epochsCommitted === read.epochsCommitted) return read.version;
  const epochsCommitted = ctx.epochsCommitted; // before the read: the read is at least this new
  read.version = (await ctx.committedVersion(label)) ?? 0;
  read.history = null; // not read again: the epoch's plan reads the map
  read.epochsCommitted = epochsCommitted;
  return read.version;
}

/**
 * The outcome of an identical earlier submission of this version, queued or committed; the store is read
 * only for a version at or below the committed one (so not for the next version, the usual case).
 */
async function findDuplicate(
  ctx: SubmissionContext,
  label: Uint8Array,
  version: number,
  statementBytes: Uint8Array,
  committed: CommittedRead,
): Promise<{ committed: Promise<Committed> } | undefined> {
  const pending = ctx.pendingFor(label, version);
  if (pending && equalBytes(pending.statement, statementBytes)) return { committed: pending.committed };
  if (version > (await committedVersion(ctx, label, committed))) return undefined;
  const done = await ctx.committedOutcome(label, version);
  if (done?.statement && equalBytes(done.statement, statementBytes))
    return { committed: Promise.resolve(done.committed) };
  return undefined;
}

/** The continuity signature must verify under the named signing key of the previous version's statement. */
async function checkContinuity(
  ctx: SubmissionContext,
  statement: Statement,
  label: Uint8Array,
  pendingPrevious: Uint8Array | undefined,
): Promise<void> {
  const c = statement.continuity!;
  const previousBytes = pendingPrevious ?? (await ctx.committedOutcome(label, statement.version - 1))?.statement;
  if (!previousBytes)
    throw new DirectoryError(
      'bad_continuity',
      'the previous version is erased or missing: no key to check continuity against',
    );
  // The previous version may be one published before public keys were checked (docs/PROTOCOL.md section 12.3):
  // the signing key's own check is verifySignature's, and a new version is how such a statement is replaced.
  const key = decodeStatement(previousBytes, { checkPublicKeys: false }).keys.find((k) => k.id === c.keyId);
  if (!key || !isSignatureAlgorithm(key.algorithm))
    throw new DirectoryError('bad_continuity', `the previous version has no signing key ${JSON.stringify(c.keyId)}`);
  let valid: boolean;
  try {
    valid = await verifySignature(key.algorithm, key.publicKey, continuityMessage(statement), c.signature);
  } catch (e) {
    throw new DirectoryError('bad_continuity', `the continuity signature or key is malformed: ${(e as Error).message}`);
  }
  if (!valid)
    throw new DirectoryError(
      'bad_continuity',
      "the continuity signature does not verify under the previous version's key",
    );
}
