/**
 * The JSON form of the directory's proofs, as the HTTP API serves them and clients read them: byte
 * strings are canonical base64, lists of hashes are one base64 string of the concatenated 32-byte
 * hashes, and the map proof is its binary encoding (section 15.5 of docs/PROTOCOL.md) in base64. Decoding
 * is strict: exact field names at every level (unknown fields refused), canonical base64, safe integers,
 * hashes of 32 bytes. Pure: usable by the server, browsers and Workers alike.
 */
import { base64Length, concatBytes, fromBase64, toBase64, utf8, writeBase64 } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import type {
  DiscoveryProof,
  EnrolmentProof,
  EpochProof,
  HistoryProof,
  LookupProof,
  MonitorProof,
  VersionProof,
} from './proofs.js';
import { decodeMapProof, encodeMapProof } from './map-proof.js';

/** A proof whose JSON form is not exactly the one of docs/PROTOCOL.md. */
export class ProofJsonError extends CodedError<'bad_proof_json'> {}

type Json = Record<string, unknown>;

const b64 = toBase64;
const hashes = (hs: Uint8Array[]): string => b64(concatBytes(...hs));

function obj(v: unknown, what: string, required: string[], optional: string[] = []): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ProofJsonError('bad_proof_json', `${what} must be an object`);
  const o = v as Json;
  for (const k of Object.keys(o))
    if (!required.includes(k) && !optional.includes(k))
      throw new ProofJsonError('bad_proof_json', `unknown field ${what}.${k}`);
  for (const k of required) if (!(k in o)) throw new ProofJsonError('bad_proof_json', `missing field ${what}.${k}`);
  return o;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new ProofJsonError('bad_proof_json', `${what} must be a string`);
  return v;
}

function int(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new ProofJsonError('bad_proof_json', `${what} must be a non-negative integer`);
  return v;
}

function bytes(v: unknown, what: string, length?: number): Uint8Array {
  let b: Uint8Array;
  try {
    b = fromBase64(str(v, what));
  } catch (e) {
    throw new ProofJsonError('bad_proof_json', `${what}: ${(e as Error).message}`);
  }
  if (length !== undefined && b.length !== length)
    throw new ProofJsonError('bad_proof_json', `${what} must be ${length} bytes`);
  return b;
}

function hashList(v: unknown, what: string): Uint8Array[] {
  const b = bytes(v, what);
  if (b.length % 32 !== 0 || b.length > 64 * 32)
    throw new ProofJsonError('bad_proof_json', `${what} must be whole 32-byte hashes`);
  return Array.from({ length: b.length / 32 }, (_, i) => b.slice(32 * i, 32 * i + 32));
}

/** Epoch proofs are shared by every lookup of an epoch: their JSON is cached by the epoch's head entry. */
const epochJson = new WeakMap<Uint8Array, { checkpoint: string; json: Json }>();

function epochToJson(e: EpochProof): Json {
  const cached = epochJson.get(e.headEntry);
  if (cached && cached.checkpoint === e.checkpoint) return cached.json;
  const json = {
    checkpoint: e.checkpoint,
    headIndex: e.headIndex,
    headEntry: b64(e.headEntry),
    headProof: hashes(e.headProof),
  };
  epochJson.set(e.headEntry, { checkpoint: e.checkpoint, json });
  return json;
}

function epochFromJson(v: unknown): EpochProof {
  const o = obj(v, 'epoch', ['checkpoint', 'headIndex', 'headEntry', 'headProof']);
  return {
    checkpoint: str(o.checkpoint, 'epoch.checkpoint'),
    headIndex: int(o.headIndex, 'epoch.headIndex'),
    headEntry: bytes(o.headEntry, 'epoch.headEntry'),
    headProof: hashList(o.headProof, 'epoch.headProof'),
  };
}

function enrolmentFromJson(v: unknown): EnrolmentProof {
  const o = obj(v, 'enrolment', ['position', 'entry', 'proof']);
  return {
    position: int(o.position, 'enrolment.position'),
    entry: bytes(o.entry, 'enrolment.entry'),
    proof: hashList(o.proof, 'enrolment.proof'),
  };
}

function versionToJson(v: VersionProof): Json {
  if (v.commitment) return { version: v.version, commitment: b64(v.commitment) };
  const e = v.enrolment!;
  return {
    version: v.version,
    statement: b64(v.statement!),
    signature: b64(v.signature!),
    opening: b64(v.opening!),
    enrolment: { position: e.position, entry: b64(e.entry), proof: hashes(e.proof) },
  };
}

function versionFromJson(v: unknown, what: string, extra: string[] = []): VersionProof {
  const o = v as Json;
  if (o && typeof o === 'object' && 'commitment' in o) {
    const c = obj(v, what, ['version', 'commitment']);
    return { version: int(c.version, `${what}.version`), commitment: bytes(c.commitment, `${what}.commitment`, 32) };
  }
  const s = obj(v, what, ['version', 'statement', 'signature', 'opening', 'enrolment', ...extra]);
  return {
    version: int(s.version, `${what}.version`),
    statement: bytes(s.statement, `${what}.statement`),
    signature: bytes(s.signature, `${what}.signature`),
    opening: bytes(s.opening, `${what}.opening`, 32),
    enrolment: enrolmentFromJson(s.enrolment),
  };
}

export function lookupToJson(p: LookupProof): Json {
  const out: Json = {
    provider: p.provider,
    account: p.account,
    vrfProof: b64(p.vrfProof),
    epoch: epochToJson(p.epoch),
    map: b64(encodeMapProof(p.map)),
  };
  if (p.present) out.present = { ...versionToJson(p.present), previousHistory: b64(p.present.previousHistory) };
  return out;
}

export function lookupFromJson(v: unknown): LookupProof {
  const o = obj(v, 'lookup', ['provider', 'account', 'vrfProof', 'epoch', 'map'], ['present']);
  let map;
  try {
    map = decodeMapProof(bytes(o.map, 'map'));
  } catch (e) {
    throw new ProofJsonError('bad_proof_json', `map: ${(e as Error).message}`);
  }
  const proof: LookupProof = {
    provider: str(o.provider, 'provider'),
    account: str(o.account, 'account'),
    vrfProof: bytes(o.vrfProof, 'vrfProof', 80),
    epoch: epochFromJson(o.epoch),
    map,
  };
  if (o.present !== undefined) {
    const p = obj(o.present, 'present', [
      'version',
      'statement',
      'signature',
      'opening',
      'enrolment',
      'previousHistory',
    ]);
    proof.present = {
      ...versionFromJson(p, 'present', ['previousHistory']),
      previousHistory: bytes(p.previousHistory, 'present.previousHistory', 32),
    };
  }
  return proof;
}

export function historyToJson(h: HistoryProof): Json {
  return { since: h.since, versions: h.versions.map(versionToJson), lookup: lookupToJson(h.lookup) };
}

export function historyFromJson(v: unknown): HistoryProof {
  const o = obj(v, 'history', ['since', 'versions', 'lookup']);
  if (!Array.isArray(o.versions)) throw new ProofJsonError('bad_proof_json', 'history.versions must be an array');
  const versions = o.versions.map((x, i) => versionFromJson(x, `versions[${i}]`));
  return { since: int(o.since, 'since'), versions, lookup: lookupFromJson(o.lookup) };
}

export function discoveryToJson(d: DiscoveryProof): Json {
  return { account: d.account, credentials: d.credentials.map(b64), lookups: d.lookups.map(lookupToJson) };
}

export function discoveryFromJson(v: unknown): DiscoveryProof {
  const o = obj(v, 'discovery', ['account', 'credentials', 'lookups']);
  if (!Array.isArray(o.credentials) || !Array.isArray(o.lookups))
    throw new ProofJsonError('bad_proof_json', 'credentials and lookups must be arrays');
  return {
    account: str(o.account, 'account'),
    credentials: o.credentials.map((c, i) => bytes(c, `credentials[${i}]`)),
    lookups: o.lookups.map(lookupFromJson),
  };
}

export function monitorToJson(m: MonitorProof): Json {
  if ('history' in m) return { history: historyToJson(m.history) };
  return { unchanged: { epoch: epochToJson(m.unchanged.epoch), map: b64(encodeMapProof(m.unchanged.map)) } };
}

export function monitorFromJson(v: unknown): MonitorProof {
  const o = obj(v, 'monitor', [], ['unchanged', 'history']);
  if ((o.unchanged === undefined) === (o.history === undefined))
    throw new ProofJsonError('bad_proof_json', 'a monitor proof is either "unchanged" or "history"');
  if (o.history !== undefined) return { history: historyFromJson(o.history) };
  const u = obj(o.unchanged, 'unchanged', ['epoch', 'map']);
  try {
    return { unchanged: { epoch: epochFromJson(u.epoch), map: decodeMapProof(bytes(u.map, 'unchanged.map')) } };
  } catch (e) {
    if (e instanceof ProofJsonError) throw e;
    throw new ProofJsonError('bad_proof_json', `unchanged.map: ${(e as Error).message}`);
  }
}

/*
 * Lookups as JSON bytes, for the server's hot path: equal, byte for byte, to the UTF-8 of
 * `JSON.stringify(lookupToJson(p))` (a test holds them equal), but written straight into one buffer
 * (base64 included) with no intermediate strings, and with the parts that every lookup of an epoch shares
 * (the epoch proof, each credential's enrolment proof) serialised once.
 */
class JsonBytesWriter {
  /** Scratch space shared by every writer (writers never interleave: each is used synchronously). */
  private static scratch = new Uint8Array(8192);
  private buf = JsonBytesWriter.scratch;
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(2 * this.buf.length, this.at + n));
    grown.set(this.buf.subarray(0, this.at));
    this.buf = grown;
    JsonBytesWriter.scratch = grown;
  }

  raw(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
    return this;
  }

  /** A string value, escaped as JSON.stringify does (printable ASCII needing no escape is copied as is). */
  string(s: string): this {
    this.room(s.length + 2);
    const start = this.at;
    this.buf[this.at++] = 0x22;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.at = start;
        return this.raw(utf8(JSON.stringify(s)));
      }
      this.buf[this.at++] = c;
    }
    this.buf[this.at++] = 0x22;
    return this;
  }

  /** A non-negative safe integer, in decimal. */
  int(n: number): this {
    const digits = String(n);
    this.room(digits.length);
    for (let i = 0; i < digits.length; i++) this.buf[this.at++] = digits.charCodeAt(i);
    return this;
  }

  /** A base64 string value, quotes included. */
  base64(b: Uint8Array): this {
    this.room(base64Length(b.length) + 2);
    this.buf[this.at] = 0x22;
    this.at = writeBase64(this.buf, this.at + 1, b);
    this.buf[this.at++] = 0x22;
    return this;
  }

  /** The bytes written, copied out of the scratch space. */
  done(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.at);
  }
}

const K = {
  provider: utf8('{"provider":'),
  account: utf8(',"account":'),
  vrfProof: utf8(',"vrfProof":'),
  epoch: utf8(',"epoch":'),
  map: utf8(',"map":'),
  present: utf8(',"present":'),
  version: utf8('{"version":'),
  statement: utf8(',"statement":'),
  signature: utf8(',"signature":'),
  opening: utf8(',"opening":'),
  enrolment: utf8(',"enrolment":'),
  previousHistory: utf8(',"previousHistory":'),
  commitment: utf8(',"commitment":'),
  close: utf8('}'),
  comma: utf8(','),
  lookups: utf8('{"lookups":['),
  closeLookups: utf8(']}'),
};

const epochBytes = new WeakMap<Uint8Array, { checkpoint: string; bytes: Uint8Array }>();
const enrolmentBytes = new WeakMap<EnrolmentProof, Uint8Array>();

function epochJsonBytes(e: EpochProof): Uint8Array {
  const cached = epochBytes.get(e.headEntry);
  if (cached && cached.checkpoint === e.checkpoint) return cached.bytes;
  const bytes = utf8(JSON.stringify(epochToJson(e)));
  epochBytes.set(e.headEntry, { checkpoint: e.checkpoint, bytes });
  return bytes;
}

function enrolmentJsonBytes(e: EnrolmentProof): Uint8Array {
  let bytes = enrolmentBytes.get(e);
  if (bytes === undefined)
    enrolmentBytes.set(
      e,
      (bytes = utf8(JSON.stringify({ position: e.position, entry: b64(e.entry), proof: hashes(e.proof) }))),
    );
  return bytes;
}

/** A version's fields (in versionToJson's order) without the closing brace, so that fields can follow. */
function writeOpenVersion(w: JsonBytesWriter, v: VersionProof): void {
  w.raw(K.version).int(v.version);
  if (v.commitment) {
    w.raw(K.commitment).base64(v.commitment);
    return;
  }
  w.raw(K.statement).base64(v.statement!).raw(K.signature).base64(v.signature!).raw(K.opening).base64(v.opening!);
  w.raw(K.enrolment).raw(enrolmentJsonBytes(v.enrolment!));
}

function writeLookup(w: JsonBytesWriter, p: LookupProof): void {
  w.raw(K.provider).string(p.provider).raw(K.account).string(p.account).raw(K.vrfProof).base64(p.vrfProof);
  w.raw(K.epoch).raw(epochJsonBytes(p.epoch)).raw(K.map).base64(encodeMapProof(p.map));
  if (p.present) {
    w.raw(K.present);
    writeOpenVersion(w, p.present);
    w.raw(K.previousHistory).base64(p.present.previousHistory).raw(K.close);
  }
  w.raw(K.close);
}

/** The UTF-8 of `JSON.stringify(lookupToJson(p))`. */
export function lookupToJsonBytes(p: LookupProof): Uint8Array<ArrayBuffer> {
  const w = new JsonBytesWriter();
  writeLookup(w, p);
  return w.done();
}

/** The UTF-8 of `JSON.stringify({ lookups: proofs.map(lookupToJson) })`. */
export function lookupsToJsonBytes(proofs: LookupProof[]): Uint8Array<ArrayBuffer> {
  const w = new JsonBytesWriter().raw(K.lookups);
  proofs.forEach((p, i) => {
    if (i > 0) w.raw(K.comma);
    writeLookup(w, p);
  });
  return w.raw(K.closeLookups).done();
}
