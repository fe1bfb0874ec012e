/**
 * Lookups as JSON bytes, for the server's hot path: equal, byte for byte, to the UTF-8 of
 * `JSON.stringify(lookupToJson(p))` (verifier/formats/proof-json.ts; a test holds them equal), but written
 * straight into one buffer (base64 included) with no intermediate strings, and with the parts that every
 * lookup of an epoch shares (the epoch proof, each credential's enrolment proof, the credential set of a
 * provider that is not enrolled) serialised once. The Worker's isolate answers with the same code, so that
 * its answers are the Node server's bytes (api/worker/isolate-reads.ts).
 */
import { base64Length, utf8, writeBase64 } from '../../wasm-free-crypto/bytes.js';
import { ByteWriter, type ScratchSpace } from './byte-writer.js';
import { encodeMapProof } from './map-proof.js';
import { b64, enrolmentToJson, epochToJson, PROOF_FORMAT } from './proof-json-fields.js';
import type { EnrolmentProof, EpochProof, LookupProof, VersionProof } from './proofs.js';

/** Scratch space shared by every JSON writer (writers never interleave: each is used synchronously). */
const JSON_SCRATCH: ScratchSpace = { buf: new Uint8Array(8192) };

class JsonBytesWriter extends ByteWriter {
  constructor() {
    super(JSON_SCRATCH);
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
        return this.bytes(utf8(JSON.stringify(s)));
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
}

const K = {
  provider: utf8(`{"format":${PROOF_FORMAT},"provider":`),
  account: utf8(',"account":'),
  vrfProof: utf8(',"vrfProof":'),
  epoch: utf8(',"epoch":'),
  map: utf8(',"map":'),
  present: utf8(',"present":'),
  absent: utf8(',"absent":{"enrolment":'),
  notEnrolled: utf8(',"notEnrolled":{"credentials":'),
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
const credentialSetBytes = new WeakMap<Uint8Array[], Uint8Array>();

function epochJsonBytes(e: EpochProof): Uint8Array {
  const cached = epochBytes.get(e.headEntry);
  if (cached && cached.checkpoint === e.checkpoint) return cached.bytes;
  const bytes = utf8(JSON.stringify(epochToJson(e)));
  epochBytes.set(e.headEntry, { checkpoint: e.checkpoint, bytes });
  return bytes;
}

function enrolmentJsonBytes(e: EnrolmentProof): Uint8Array {
  let bytes = enrolmentBytes.get(e);
  if (bytes === undefined) enrolmentBytes.set(e, (bytes = utf8(JSON.stringify(enrolmentToJson(e)))));
  return bytes;
}

/** The JSON list of a credential set, cached by the list (the directory keeps one list per set size). */
function credentialSetJsonBytes(credentials: Uint8Array[]): Uint8Array {
  let bytes = credentialSetBytes.get(credentials);
  if (bytes === undefined) credentialSetBytes.set(credentials, (bytes = utf8(JSON.stringify(credentials.map(b64)))));
  return bytes;
}

/** A version's fields (in versionToJson's order) without the closing brace, so that fields can follow. */
function writeOpenVersion(w: JsonBytesWriter, v: VersionProof): void {
  w.bytes(K.version).int(v.version);
  if (v.commitment) {
    w.bytes(K.commitment).base64(v.commitment);
    return;
  }
  w.bytes(K.statement).base64(v.statement!).bytes(K.signature).base64(v.signature!).bytes(K.opening).base64(v.opening!);
  w.bytes(K.enrolment).bytes(enrolmentJsonBytes(v.enrolment!));
}

function writeLookup(w: JsonBytesWriter, p: LookupProof): void {
  w.bytes(K.provider).string(p.provider).bytes(K.account).string(p.account).bytes(K.vrfProof).base64(p.vrfProof);
  w.bytes(K.epoch).bytes(epochJsonBytes(p.epoch)).bytes(K.map).base64(encodeMapProof(p.map));
  if (p.present) {
    w.bytes(K.present);
    writeOpenVersion(w, p.present);
    w.bytes(K.previousHistory).base64(p.present.previousHistory).bytes(K.close);
  } else if (p.absent) {
    w.bytes(K.absent).bytes(enrolmentJsonBytes(p.absent.enrolment)).bytes(K.close);
  } else if (p.notEnrolled) {
    w.bytes(K.notEnrolled).bytes(credentialSetJsonBytes(p.notEnrolled.credentials)).bytes(K.close);
  }
  w.bytes(K.close);
}

/** The UTF-8 of `JSON.stringify(lookupToJson(p))`. */
export function lookupToJsonBytes(p: LookupProof): Uint8Array<ArrayBuffer> {
  const w = new JsonBytesWriter();
  writeLookup(w, p);
  return w.done();
}

/** The UTF-8 of `JSON.stringify({ lookups: proofs.map(lookupToJson) })`. */
export function lookupsToJsonBytes(proofs: LookupProof[]): Uint8Array<ArrayBuffer> {
  const w = new JsonBytesWriter().bytes(K.lookups);
  proofs.forEach((p, i) => {
    if (i > 0) w.bytes(K.comma);
    writeLookup(w, p);
  });
  return w.bytes(K.closeLookups).done();
}
