/**
 * The directory at a glance, verified: the log's checkpoint (under the pins' witness policy, consistent
 * with the one this browser kept), the last epochs walked back from it through their heads (each head
 * names where the one before it is: `firstIndex - 1`), and the enrolled providers. Only the log's public
 * routes are read (checkpoint, tiles, entry bundles), plus `/v1/config` for where the enrolments and
 * revocations are: every entry shown is proven in the signed tree (verifier/http/entry-fetch.ts), and the
 * enrolments listed must be exactly the epoch head's credential set (root and count), so the directory
 * can neither add nor hide one. A revocation listed is proven; one not listed cannot be seen here (an
 * auditor reads every entry: `kt audit`).
 */
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import type { VerifiedCosignature } from '../../verifier/formats/checkpoint.js';
import type { Checkpoint } from '../../verifier/formats/checkpoint.js';
import {
  decodeEntry,
  type EnrolmentEntry,
  type EpochHeadEntry,
  type RevocationEntry,
} from '../../verifier/formats/entries.js';
import { recordHash, rootFromLeafHashes } from '../../verifier/formats/tlog.js';
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { parseCertificate } from '../../verifier/enrolment/certificate.js';
import { ClientError, VerifyError } from '../../verifier/verification/errors.js';
import { fetchLogEntries, readLogEntries, verifyLogEntry } from '../../verifier/http/entry-fetch.js';
import { readBounded } from '../../verifier/http/bounded-body.js';
import { request } from '../../verifier/http/request.js';
import type { Session } from './session.js';

export interface EpochPoint {
  epoch: number;
  time: number;
  /** The tree's size once this epoch's head was appended. */
  treeSize: number;
}

export interface ProviderRow {
  providerId: string;
  algorithm: string;
  fingerprint: string;
  logIndex: number;
  subject: string;
  issuer: string;
  notBefore: number;
  notAfter: number;
  /** The revocation entry, proven in the log, when the directory lists one. */
  revocation?: { logIndex: number; time: number; reason: string };
}

export interface Overview {
  checkpoint: Checkpoint;
  cosignatures: VerifiedCosignature[];
  head: EpochHeadEntry;
  /** The last epochs, oldest first (at most the number asked for). */
  epochs: EpochPoint[];
  providers: ProviderRow[];
}

interface ProviderClaim {
  providerId: string;
  fingerprint: string;
  logIndex: number;
  revokedIndex: number | null;
}

const fetcher = () => globalThis.fetch.bind(globalThis);

/** An entry decoded, or a VerifyError with `code`: a log entry that does not decode is the log's fault. */
function decoded(bytes: Uint8Array, index: number, code: 'bad_epoch_head' | 'bad_enrolment') {
  try {
    return decodeEntry(bytes);
  } catch (e) {
    throw new VerifyError(code, `entry ${index} does not decode: ${(e as Error).message}`);
  }
}

async function fetchCheckpoint(server: string): Promise<string> {
  const res = await request(fetcher(), `${server}/log/checkpoint`);
  if (res.status !== 200) throw new ClientError('unavailable', `${server}/log/checkpoint: HTTP ${res.status}`);
  return new TextDecoder().decode(await readBounded(res, 1 << 20));
}

async function fetchConfig(server: string): Promise<Record<string, unknown>> {
  const res = await request(fetcher(), `${server}/v1/config`);
  if (res.status !== 200) throw new ClientError('unavailable', `${server}/v1/config: HTTP ${res.status}`);
  try {
    return JSON.parse(new TextDecoder().decode(await readBounded(res, 4 << 20)));
  } catch {
    throw new ClientError('bad_response', `${server}/v1/config is not JSON`);
  }
}

/** The providers' enrolment and revocation indexes from `/v1/config` (claims, checked against the log below). */
function providerClaims(config: Record<string, unknown> | undefined, size: number): ProviderClaim[] {
  const list = config?.providers;
  if (!Array.isArray(list)) throw new ClientError('bad_response', '/v1/config lists no providers');
  return (list as ProviderClaim[])
    .filter((p) => {
      const ok =
        typeof p?.providerId === 'string' &&
        typeof p.fingerprint === 'string' &&
        Number.isSafeInteger(p.logIndex) &&
        (p.revokedIndex === null || Number.isSafeInteger(p.revokedIndex));
      if (!ok) throw new ClientError('bad_response', '/v1/config: a provider without its log indexes');
      return p.logIndex < size; // enrolled after the checkpoint read: not in this tree yet
    })
    .map((p) => ({ ...p, revokedIndex: p.revokedIndex !== null && p.revokedIndex < size ? p.revokedIndex : null }))
    .sort((a, b) => a.logIndex - b.logIndex);
}

/** Walks back from the head at `size - 1` through at most `max` epoch heads (unverified: proven after). */
async function walkEpochs(server: string, size: number, max: number, bundles: Map<number, Promise<Uint8Array[]>>) {
  const heads: { index: number; head: EpochHeadEntry }[] = [];
  let index = size - 1;
  while (heads.length < max && index >= 0) {
    const [bytes] = await readLogEntries(fetcher(), `${server}/log`, size, [index], bundles);
    const head = decoded(bytes, index, 'bad_epoch_head');
    if (head.type !== 'epoch') throw new VerifyError('bad_epoch_head', `entry ${index} is not an epoch head`);
    const later = heads.at(-1)?.head;
    if (head.firstIndex + head.count !== index || (later && later.epoch !== head.epoch + 1))
      throw new VerifyError('bad_epoch_head', `the epoch head at entry ${index} does not chain to the next one`);
    heads.push({ index, head });
    if (head.epoch === 0) break;
    index = head.firstIndex - 1;
  }
  return heads.reverse();
}

function enrolmentRow(
  claim: ProviderClaim,
  entry: EnrolmentEntry,
  revocation?: RevocationEntry,
  revokedIndex?: number,
): ProviderRow {
  let leaf;
  try {
    leaf = parseCertificate(entry.chain[0], 'the leaf certificate');
  } catch (e) {
    throw new VerifyError('bad_enrolment', `the enrolment at entry ${claim.logIndex}: ${(e as Error).message}`);
  }
  const fingerprint = toHex(sha256(leaf.tbs));
  if (entry.providerId !== claim.providerId || fingerprint !== claim.fingerprint)
    throw new VerifyError('bad_enrolment', `the enrolment at entry ${claim.logIndex} is not the one /v1/config names`);
  if (revocation && (revocation.providerId !== entry.providerId || toHex(revocation.leafFingerprint) !== fingerprint))
    throw new VerifyError('bad_enrolment', `entry ${revokedIndex} does not revoke ${claim.providerId}'s credential`);
  return {
    providerId: entry.providerId,
    algorithm: entry.algorithm,
    fingerprint,
    logIndex: claim.logIndex,
    subject: leaf.subjectName,
    issuer: leaf.issuerName,
    notBefore: entry.notBefore,
    notAfter: entry.notAfter,
    revocation: revocation && { logIndex: revokedIndex!, time: revocation.time, reason: revocation.reason },
  };
}

/** The providers as proven entries of the tree, checked to be exactly the head's credential set. */
function providerRows(claims: ProviderClaim[], entries: Map<number, Uint8Array>, head: EpochHeadEntry): ProviderRow[] {
  const enrolments = claims.map((c) => entries.get(c.logIndex)!);
  if (
    enrolments.length !== head.credentialCount ||
    !equalBytes(rootFromLeafHashes(enrolments.map((e) => recordHash(e))), head.credentialsRoot)
  )
    throw new VerifyError('bad_enrolment', "the enrolments /v1/config lists are not the epoch's credential set");
  return claims.map((c, i) => {
    const entry = decoded(enrolments[i], c.logIndex, 'bad_enrolment');
    if (entry.type !== 'enrol') throw new VerifyError('bad_enrolment', `entry ${c.logIndex} is not an enrolment`);
    const revocation =
      c.revokedIndex === null ? undefined : decoded(entries.get(c.revokedIndex)!, c.revokedIndex, 'bad_enrolment');
    if (revocation && revocation.type !== 'revoke')
      throw new VerifyError('bad_enrolment', `entry ${c.revokedIndex} is not a revocation`);
    return enrolmentRow(c, entry, revocation as RevocationEntry | undefined, c.revokedIndex ?? undefined);
  });
}

/** Reads and verifies the overview, the last `maxEpochs` epochs included. */
export async function loadOverview(session: Session, maxEpochs = 60): Promise<Overview> {
  const note = await fetchCheckpoint(session.server);
  return session.kt.withLookupClient(async (c) => {
    const checkpoint = await c.advance(note);
    const { cosignatures } = c.verifier.checkpoints.verify(note);
    const size = checkpoint.size;
    const bundles = new Map<number, Promise<Uint8Array[]>>();
    const heads = await walkEpochs(session.server, size, maxEpochs, bundles);
    // Read after the checkpoint: every enrolment of its tree is listed (a later one is left out by its index).
    session.config = await fetchConfig(session.server);
    const claims = providerClaims(session.config, size);
    const indexes = [
      ...new Set([
        ...heads.map((h) => h.index),
        ...claims.flatMap((p) => [p.logIndex, ...(p.revokedIndex === null ? [] : [p.revokedIndex])]),
      ]),
    ];
    const proven = new Map<number, Uint8Array>();
    for (const e of await fetchLogEntries(fetcher(), `${session.server}/log`, size, indexes, bundles))
      proven.set(e.index, verifyLogEntry(e, size, checkpoint.rootHash));
    const head = heads.at(-1)!.head;
    return {
      checkpoint,
      cosignatures,
      head,
      epochs: heads.map(({ index, head: h }) => ({ epoch: h.epoch, time: h.time, treeSize: index + 1 })),
      providers: providerRows(claims, proven, head),
    };
  });
}

/** The median time between consecutive epochs shown, or undefined with fewer than two. */
export function epochCadence(epochs: EpochPoint[]): number | undefined {
  const gaps = epochs
    .slice(1)
    .map((e, i) => e.time - epochs[i].time)
    .sort((a, b) => a - b);
  return gaps.length === 0 ? undefined : gaps[Math.floor(gaps.length / 2)];
}
