/**
 * The lookup proof in binary (docs/PROTOCOL.md section 17.4), for clients that ask for it with `Accept:
 * application/vnd.kt.lookup+binary`: the same values as its JSON (proof-json.ts), without base64 and JSON
 * (about 40% fewer bytes, and parsed without a JSON parser). Integers are big-endian; `b16` is a byte string
 * with a u16 length, `s16` the same holding UTF-8, `h32` 32 bytes, `list8(h32)` a u8 count of 32-byte hashes:
 *
 *     lookup  = u8 format (1) || u8 case (0 present, 1 absent, 2 not enrolled) || s16 provider || s16 account
 *               || vrfProof (80) || epoch || b16 map (section 15's binary map proof) || the case's fields
 *     epoch   = s16 checkpoint || u64 headIndex || b16 headEntry || list8(h32) headProof
 *     present = u64 version || u8 erased (0 or 1) || erased ? h32 commitment
 *               : b16 statement || b16 signature || h32 opening || enrolment ; then h32 previousHistory
 *     absent  = enrolment
 *     not enrolled = u16 count || count × b16 credential entry
 *     enrolment = u32 position || b16 entry || list8(h32) proof
 *
 * Decoding is strict: a format this code does not read is `unsupported_format`; any other departure (an
 * unknown case, a length past the end, bytes left over, a non-canonical UTF-8 string, a malformed map proof)
 * is `bad_proof_binary`. Every value is then checked by the verifier exactly as a JSON proof's.
 */
import { readSafeU64be, u64be } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { ByteWriter, type ScratchSpace } from './byte-writer.js';
import { decodeMapProof, encodeMapProof } from './map-proof.js';
import type { EnrolmentProof, EpochProof, LookupProof } from './proofs.js';

/** The media type of a binary lookup proof. */
export const LOOKUP_BINARY_TYPE = 'application/vnd.kt.lookup+binary';
const FORMAT = 1;
const VRF_PROOF_SIZE = 80;
const [PRESENT, ABSENT, NOT_ENROLLED] = [0, 1, 2];

export class ProofBinaryError extends CodedError<'bad_proof_binary' | 'unsupported_format'> {
  override readonly name = 'ProofBinaryError';
}

/** Scratch space shared by every lookup's writer (lookups are encoded synchronously, one at a time). */
const BINARY_SCRATCH: ScratchSpace = { buf: new Uint8Array(4096) };

/** A lookup's writer uses the shared scratch space; a part cached for many lookups, a buffer of its own. */
class Writer extends ByteWriter {
  u16(n: number, what: string): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`${what} does not fit 16 bits`);
    return this.u8(n >>> 8).u8(n & 0xff);
  }
  u32(n: number): this {
    return this.u8(n >>> 24)
      .u8((n >>> 16) & 0xff)
      .u8((n >>> 8) & 0xff)
      .u8(n & 0xff);
  }
  b16(b: Uint8Array, what: string): this {
    return this.u16(b.length, what).bytes(b);
  }
  /** Exactly `n` bytes (a fixed-size field). */
  fixed(b: Uint8Array, n: number, what: string): this {
    if (b.length !== n) throw new RangeError(`${what} must be ${n} bytes`);
    return this.bytes(b);
  }
  hashes(list: Uint8Array[], what: string): this {
    if (list.length > 0xff) throw new RangeError(`${what} has more than 255 hashes`);
    this.u8(list.length);
    for (const h of list) this.fixed(h, 32, what);
    return this;
  }
}

const utf8 = new TextEncoder();
// fatal: malformed UTF-8 is refused; ignoreBOM: a leading U+FEFF is kept as a character, not dropped.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The parts every lookup of an epoch shares, encoded once: the epoch proof (by its head entry, for the
 * checkpoint it was encoded with: a cosigned one may replace it) and each credential's enrolment proof.
 */
const epochBytes = new WeakMap<Uint8Array, { checkpoint: string; bytes: Uint8Array }>();
const enrolmentBytes = new WeakMap<EnrolmentProof, Uint8Array>();

function writeEpoch(w: Writer, e: EpochProof): void {
  const cached = epochBytes.get(e.headEntry);
  if (cached && cached.checkpoint === e.checkpoint) {
    w.bytes(cached.bytes);
    return;
  }
  const part = new Writer().b16(utf8.encode(e.checkpoint), 'checkpoint').bytes(u64be(e.headIndex));
  const bytes = part.b16(e.headEntry, 'epoch head').hashes(e.headProof, 'epoch head proof').done();
  epochBytes.set(e.headEntry, { checkpoint: e.checkpoint, bytes });
  w.bytes(bytes);
}

function writeEnrolment(w: Writer, e: EnrolmentProof): void {
  let bytes = enrolmentBytes.get(e);
  if (bytes === undefined) {
    bytes = new Writer().u32(e.position).b16(e.entry, 'enrolment entry').hashes(e.proof, 'enrolment proof').done();
    enrolmentBytes.set(e, bytes);
  }
  w.bytes(bytes);
}

/** The binary form of a lookup proof. */
export function encodeLookupBinary(p: LookupProof): Uint8Array<ArrayBuffer> {
  const kind = p.present ? PRESENT : p.absent ? ABSENT : NOT_ENROLLED;
  const w = new Writer(BINARY_SCRATCH).u8(FORMAT).u8(kind);
  w.b16(utf8.encode(p.provider), 'provider').b16(utf8.encode(p.account), 'account');
  w.fixed(p.vrfProof, VRF_PROOF_SIZE, 'VRF proof');
  writeEpoch(w, p.epoch);
  w.b16(encodeMapProof(p.map), 'map proof');
  if (p.present) {
    const v = p.present;
    w.bytes(u64be(v.version)).u8(v.commitment ? 1 : 0);
    if (v.commitment) w.fixed(v.commitment, 32, 'commitment');
    else {
      w.b16(v.statement as Uint8Array, 'statement').b16(v.signature as Uint8Array, 'signature');
      w.fixed(v.opening as Uint8Array, 32, 'opening');
      writeEnrolment(w, v.enrolment as EnrolmentProof);
    }
    w.fixed(v.previousHistory, 32, 'previous history');
  } else if (p.absent) writeEnrolment(w, p.absent.enrolment);
  else {
    const credentials = p.notEnrolled?.credentials ?? [];
    w.u16(credentials.length, 'credential set');
    for (const c of credentials) w.b16(c, 'credential entry');
  }
  return w.done();
}

class Reader {
  private at = 0;
  constructor(private readonly b: Uint8Array) {}

  take(n: number, what: string): Uint8Array {
    if (this.at + n > this.b.length) throw new ProofBinaryError('bad_proof_binary', `${what} runs past the end`);
    const out = this.b.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u8(what: string): number {
    return this.take(1, what)[0];
  }
  u16(what: string): number {
    const b = this.take(2, what);
    return (b[0] << 8) | b[1];
  }
  u32(what: string): number {
    const b = this.take(4, what);
    return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  }
  u64(what: string): number {
    const b = this.take(8, what);
    try {
      return readSafeU64be(b);
    } catch {
      throw new ProofBinaryError('bad_proof_binary', `${what} is above 2^53 - 1`);
    }
  }
  b16(what: string): Uint8Array {
    return this.take(this.u16(what), what);
  }
  s16(what: string): string {
    try {
      return strictUtf8.decode(this.b16(what));
    } catch (e) {
      if (e instanceof ProofBinaryError) throw e;
      throw new ProofBinaryError('bad_proof_binary', `${what} is not UTF-8`);
    }
  }
  hashes(what: string): Uint8Array[] {
    return Array.from({ length: this.u8(what) }, () => this.take(32, what));
  }
  end(): void {
    if (this.at !== this.b.length) throw new ProofBinaryError('bad_proof_binary', 'bytes are left after the proof');
  }
}

function readEpoch(r: Reader): EpochProof {
  return {
    checkpoint: r.s16('checkpoint'),
    headIndex: r.u64('epoch head index'),
    headEntry: r.b16('epoch head'),
    headProof: r.hashes('epoch head proof'),
  };
}

function readEnrolment(r: Reader): EnrolmentProof {
  return { position: r.u32('enrolment position'), entry: r.b16('enrolment entry'), proof: r.hashes('enrolment proof') };
}

function readCase(r: Reader, kind: number): Pick<LookupProof, 'present' | 'absent' | 'notEnrolled'> {
  if (kind === ABSENT) return { absent: { enrolment: readEnrolment(r) } };
  if (kind === NOT_ENROLLED)
    return { notEnrolled: { credentials: Array.from({ length: r.u16('credential set') }, () => r.b16('credential')) } };
  const version = r.u64('version');
  const erased = r.u8('erased flag');
  if (erased > 1) throw new ProofBinaryError('bad_proof_binary', 'the erased flag is neither 0 nor 1');
  const v = erased
    ? { version, commitment: r.take(32, 'commitment') }
    : {
        version,
        statement: r.b16('statement'),
        signature: r.b16('signature'),
        opening: r.take(32, 'opening'),
        enrolment: readEnrolment(r),
      };
  return { present: { ...v, previousHistory: r.take(32, 'previous history') } };
}

/** Decodes a binary lookup proof (strictly: see the file comment). */
export function decodeLookupBinary(b: Uint8Array): LookupProof {
  const r = new Reader(b);
  const format = r.u8('format');
  if (format !== FORMAT)
    throw new ProofBinaryError('unsupported_format', `binary lookup format ${format} is not read here`);
  const kind = r.u8('case');
  if (kind > NOT_ENROLLED) throw new ProofBinaryError('bad_proof_binary', `unknown lookup case ${kind}`);
  const provider = r.s16('provider');
  const account = r.s16('account');
  const vrfProof = r.take(VRF_PROOF_SIZE, 'VRF proof');
  const epoch = readEpoch(r);
  let map;
  try {
    map = decodeMapProof(r.b16('map proof'));
  } catch (e) {
    if (e instanceof ProofBinaryError) throw e;
    throw new ProofBinaryError('bad_proof_binary', `map proof: ${(e as Error).message}`);
  }
  const proof: LookupProof = { provider, account, vrfProof, epoch, map, ...readCase(r, kind) };
  r.end();
  return proof;
}
