/**
 * The directory's log entries, each a type byte then a fixed binary layout (all integers big-endian):
 * provider events (type 0x01: enrolment of a provider credential, or its revocation), updates (type
 * 0x02: a VRF label, a version and a commitment — no identifier, key or provider in clear) and epoch heads
 * (type 0x03: epoch number, time, map root, and the log range of the epoch's other entries), and the providers'
 * KEYTRANS tree heads of an epoch (type 0x04, immediately before its head: docs/PROTOCOL.md section 22.7). Every
 * checkpoint's tree ends with an epoch head, so a checkpoint names exactly one map root. Decoding is
 * strict: unknown types, bad lengths, trailing bytes and non-canonical values are refused.
 */
import { concatBytes, fromUtf8, readSafeU64be, u64be, utf8 } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';

export type EntryErrorCode = 'entry_malformed' | 'entry_not_canonical' | 'entry_too_large' | 'entry_unknown_type';

/** A log entry that is not in its one canonical encoding. */
export class EntryError extends CodedError<EntryErrorCode> {
  override readonly name = 'EntryError';
}

export const ENTRY_PROVIDER = 0x01;
export const ENTRY_UPDATE = 0x02;
export const ENTRY_EPOCH_HEAD = 0x03;
export const ENTRY_KEYTRANS_HEADS = 0x04;
const ACTION_ENROL = 0x01;
const ACTION_REVOKE = 0x02;
const MAX_CHAIN = 5;
const MAX_ENTRY = 0xffff;

export type CredentialAlgorithm = 'ed25519' | 'p256';
const ALG_IDS: Record<CredentialAlgorithm, number> = { ed25519: 0x01, p256: 0x02 };
const ALG_KEY_LENGTHS: Record<CredentialAlgorithm, number> = { ed25519: 32, p256: 65 };

/** A provider credential enrolled from a validated certificate chain (verifier/enrolment/chain.ts). */
export interface EnrolmentEntry {
  type: 'enrol';
  providerId: string;
  time: number;
  algorithm: CredentialAlgorithm;
  publicKey: Uint8Array;
  notBefore: number;
  notAfter: number;
  /** DER certificates, leaf first; SHA-256 of chain[0] identifies the credential. */
  chain: Uint8Array[];
}

/**
 * Revocation of one credential of a provider, named by the SHA-256 of its leaf's TBSCertificate (the
 * signed part, which re-encoding the issuer's signature cannot change).
 */
export interface RevocationEntry {
  type: 'revoke';
  providerId: string;
  time: number;
  leafFingerprint: Uint8Array;
  reason: string;
}

/** One map update: label (32 bytes), version (>= 1), commitment (32 bytes). */
export interface UpdateEntry {
  type: 'update';
  label: Uint8Array;
  version: number;
  commitment: Uint8Array;
}

/**
 * The head of an epoch: the map root after the epoch, the root and count of the credential set (every
 * enrolment entry so far, in log order, as an RFC 9162 tree of their leaf hashes), and where the epoch's
 * other entries are.
 */
export interface EpochHeadEntry {
  type: 'epoch';
  epoch: number;
  time: number;
  mapRoot: Uint8Array;
  credentialsRoot: Uint8Array;
  credentialCount: number;
  /** Log index of the epoch's first entry (the first after the previous epoch head). */
  firstIndex: number;
  /** Number of entries between the previous epoch head and this one. */
  count: number;
}

/** One provider's KEYTRANS tree head (draft-ietf-keytrans-protocol-05 "Tree Head Signature"). */
export interface KeyTransHead {
  providerId: string;
  treeSize: number;
  /** The root of the deployment's log tree at treeSize. */
  root: Uint8Array;
  /** The operator's signature of TreeHeadTBS{config, treeSize, root}. */
  signature: Uint8Array;
  /** The deployment's newest log entry (position treeSize - 1): its LogEntry's timestamp and prefix-tree root. */
  timestamp: number;
  prefixRoot: Uint8Array;
}

/**
 * Every provider's KEYTRANS tree head after an epoch, in the order the deployments were made (section 22.7):
 * `0x04 || u64 epoch || u8 count || count x (u8 len || provider id || u64 tree_size || root[32] || u16 len ||
 * signature || u64 timestamp || prefix_root[32])`, the last two the deployment's newest LogEntry, placed immediately before the epoch's head, so that the witnesses that cosign the checkpoint fix
 * every deployment's state.
 */
export interface KeyTransHeadsEntry {
  type: 'keytrans';
  epoch: number;
  heads: KeyTransHead[];
}

export type Entry = EnrolmentEntry | RevocationEntry | UpdateEntry | EpochHeadEntry | KeyTransHeadsEntry;

function u8(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xff) throw new EntryError('entry_malformed', 'value exceeds uint8');
  return new Uint8Array([n]);
}

function u16(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new EntryError('entry_malformed', 'length exceeds uint16');
  return new Uint8Array([n >> 8, n & 0xff]);
}

function shortString(s: string, what: string): Uint8Array {
  const b = utf8(s);
  if (b.length === 0 || b.length > 255) throw new EntryError('entry_malformed', `${what} must be 1..255 bytes`);
  return concatBytes(u8(b.length), b);
}

function checkInt(n: number, what: string, min = 0): void {
  if (!Number.isSafeInteger(n) || n < min)
    throw new EntryError('entry_malformed', `${what} must be an integer >= ${min}`);
}

function check32(b: Uint8Array, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== 32)
    throw new EntryError('entry_malformed', `${what} must be 32 bytes`);
}

function encodeEnrolment(e: EnrolmentEntry): Uint8Array {
  if (ALG_KEY_LENGTHS[e.algorithm] !== e.publicKey.length)
    throw new EntryError('entry_malformed', 'public key length does not match its algorithm');
  if (e.chain.length < 1 || e.chain.length > MAX_CHAIN)
    throw new EntryError('entry_malformed', `a chain holds 1..${MAX_CHAIN} certificates`);
  [e.time, e.notBefore, e.notAfter].forEach((n) => checkInt(n, 'time'));
  return concatBytes(
    u8(ENTRY_PROVIDER),
    u8(ACTION_ENROL),
    shortString(e.providerId, 'provider id'),
    u64be(e.time),
    u8(ALG_IDS[e.algorithm]),
    u16(e.publicKey.length),
    e.publicKey,
    u64be(e.notBefore),
    u64be(e.notAfter),
    u8(e.chain.length),
    ...e.chain.flatMap((der) => [u16(der.length), der]),
  );
}

function encodeRevocation(e: RevocationEntry): Uint8Array {
  checkInt(e.time, 'time');
  check32(e.leafFingerprint, 'leaf fingerprint');
  const reason = utf8(e.reason);
  if (reason.length > 255 || /[^\x20-\x7e]/.test(e.reason))
    throw new EntryError('entry_malformed', 'reason must be at most 255 printable ASCII characters');
  return concatBytes(
    u8(ENTRY_PROVIDER),
    u8(ACTION_REVOKE),
    shortString(e.providerId, 'provider id'),
    u64be(e.time),
    e.leafFingerprint,
    u8(reason.length),
    reason,
  );
}

/** A KEYTRANS heads entry's encoding (as `encodeEntry` gives it), without the other entries' encoders. */
export function encodeKeyTransHeads(e: KeyTransHeadsEntry): Uint8Array {
  checkInt(e.epoch, 'epoch');
  if (e.heads.length < 1 || e.heads.length > 255)
    throw new EntryError('entry_malformed', 'a KEYTRANS heads entry holds 1..255 heads');
  const heads = e.heads.flatMap((h) => {
    checkInt(h.treeSize, 'tree size', 1);
    check32(h.root, 'KEYTRANS root');
    if (h.signature.length < 1) throw new EntryError('entry_malformed', 'a KEYTRANS head needs its signature');
    checkInt(h.timestamp, 'timestamp');
    check32(h.prefixRoot, 'KEYTRANS prefix root');
    const id = shortString(h.providerId, 'provider id');
    return [id, u64be(h.treeSize), h.root, u16(h.signature.length), h.signature, u64be(h.timestamp), h.prefixRoot];
  });
  return concatBytes(u8(ENTRY_KEYTRANS_HEADS), u64be(e.epoch), u8(e.heads.length), ...heads);
}

/** Encodes an entry; the result is at most 65,535 bytes (the bundle limit). */
export function encodeEntry(e: Entry): Uint8Array {
  let out: Uint8Array;
  switch (e.type) {
    case 'enrol':
      out = encodeEnrolment(e);
      break;
    case 'revoke':
      out = encodeRevocation(e);
      break;
    case 'update':
      check32(e.label, 'label');
      check32(e.commitment, 'commitment');
      checkInt(e.version, 'version', 1);
      out = concatBytes(u8(ENTRY_UPDATE), e.label, u64be(e.version), e.commitment);
      break;
    case 'epoch':
      check32(e.mapRoot, 'map root');
      check32(e.credentialsRoot, 'credentials root');
      [e.epoch, e.time, e.credentialCount, e.firstIndex, e.count].forEach((n) => checkInt(n, 'epoch field'));
      out = concatBytes(
        u8(ENTRY_EPOCH_HEAD),
        u64be(e.epoch),
        u64be(e.time),
        e.mapRoot,
        e.credentialsRoot,
        u64be(e.credentialCount),
        u64be(e.firstIndex),
        u64be(e.count),
      );
      break;
    case 'keytrans':
      out = encodeKeyTransHeads(e);
      break;
  }
  if (out.length > MAX_ENTRY) throw new EntryError('entry_too_large', 'entry exceeds 65,535 bytes');
  return out;
}

/** A strict forward reader over an entry's bytes. */
class Reader {
  private pos = 0;
  constructor(private readonly b: Uint8Array) {}
  take(n: number): Uint8Array {
    if (this.pos + n > this.b.length) throw new EntryError('entry_malformed', 'truncated entry');
    const out = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8(): number {
    return this.take(1)[0];
  }
  u16(): number {
    const b = this.take(2);
    return (b[0] << 8) | b[1];
  }
  u64(): number {
    if (this.pos + 8 > this.b.length) throw new EntryError('entry_malformed', 'truncated entry');
    try {
      return readSafeU64be(this.b, (this.pos += 8) - 8);
    } catch {
      throw new EntryError('entry_malformed', 'integer above 2^53 - 1');
    }
  }
  string(): string {
    const n = this.u8();
    if (n === 0) throw new EntryError('entry_malformed', 'empty string');
    return fromUtf8(this.take(n));
  }
  end(): void {
    if (this.pos !== this.b.length) throw new EntryError('entry_malformed', 'trailing bytes after entry');
  }
}

function decodeProvider(r: Reader): EnrolmentEntry | RevocationEntry {
  const action = r.u8();
  const providerId = r.string();
  const time = r.u64();
  if (action === ACTION_REVOKE) {
    const leafFingerprint = r.take(32);
    const reason = fromUtf8(r.take(r.u8()));
    return { type: 'revoke', providerId, time, leafFingerprint, reason };
  }
  if (action !== ACTION_ENROL) throw new EntryError('entry_malformed', 'unknown provider action');
  const algId = r.u8();
  const algorithm = (Object.keys(ALG_IDS) as CredentialAlgorithm[]).find((a) => ALG_IDS[a] === algId);
  if (!algorithm) throw new EntryError('entry_malformed', 'unknown credential algorithm');
  const publicKey = r.take(r.u16());
  const notBefore = r.u64();
  const notAfter = r.u64();
  const count = r.u8();
  const chain = Array.from({ length: count }, () => r.take(r.u16()));
  return { type: 'enrol', providerId, time, algorithm, publicKey, notBefore, notAfter, chain };
}

/**
 * Decodes an entry strictly: it must re-encode to exactly the same bytes (checked field by field for the fixed-size
 * types).
 */
export function decodeEntry(bytes: Uint8Array): Entry {
  const r = new Reader(bytes);
  const type = r.u8();
  let e: Entry;
  if (type === ENTRY_PROVIDER) e = decodeProvider(r);
  else if (type === ENTRY_UPDATE) e = { type: 'update', label: r.take(32), version: r.u64(), commitment: r.take(32) };
  else if (type === ENTRY_EPOCH_HEAD) {
    e = {
      type: 'epoch',
      epoch: r.u64(),
      time: r.u64(),
      mapRoot: r.take(32),
      credentialsRoot: r.take(32),
      credentialCount: r.u64(),
      firstIndex: r.u64(),
      count: r.u64(),
    };
  } else if (type === ENTRY_KEYTRANS_HEADS) e = readKeyTransHeads(r);
  else throw new EntryError('entry_unknown_type', `unknown entry type 0x${type.toString(16).padStart(2, '0')}`);
  r.end();
  // Update and epoch entries are fixed-size fields read exactly, so they are canonical once every byte is
  // consumed, their integers are safe and an update's version is at least 1 (the auditor reads millions).
  if (e.type === 'update' || e.type === 'epoch') {
    if (e.type === 'update') checkInt(e.version, 'version', 1);
    return e;
  }
  checkCanonical(encodeEntry(e), bytes);
  return e;
}

/** A KEYTRANS heads entry's fields after its type octet. */
function readKeyTransHeads(r: Reader): KeyTransHeadsEntry {
  const epoch = r.u64();
  const heads = Array.from({ length: r.u8() }, () => ({
    providerId: r.string(),
    treeSize: r.u64(),
    root: r.take(32),
    signature: r.take(r.u16()),
    timestamp: r.u64(),
    prefixRoot: r.take(32),
  }));
  return { type: 'keytrans', epoch, heads };
}

function checkCanonical(again: Uint8Array, bytes: Uint8Array): void {
  if (again.length !== bytes.length || again.some((x, i) => x !== bytes[i]))
    throw new EntryError('entry_not_canonical', 'entry is not in canonical form');
}

/**
 * Decodes a KEYTRANS heads entry as strictly as `decodeEntry` (any other type is 'entry_unknown_type'), without
 * the other entries' codecs: what the KEYTRANS client's anchor check reads (verifier/keytrans-anchor/anchor.ts).
 */
export function decodeKeyTransHeadsEntry(bytes: Uint8Array): KeyTransHeadsEntry {
  const r = new Reader(bytes);
  const type = r.u8();
  if (type !== ENTRY_KEYTRANS_HEADS)
    throw new EntryError(
      'entry_unknown_type',
      `entry type 0x${type.toString(16).padStart(2, '0')}, not KEYTRANS heads`,
    );
  const e = readKeyTransHeads(r);
  r.end();
  if (bytes.length > MAX_ENTRY) throw new EntryError('entry_too_large', 'entry exceeds 65,535 bytes');
  checkCanonical(encodeKeyTransHeads(e), bytes);
  return e;
}
