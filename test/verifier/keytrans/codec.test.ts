/**
 * The KEYTRANS TLS codecs (verifier/keytrans/tls.ts, structures.ts, messages.ts) against the vectors: each valid
 * encoding of test/vectors/keytrans/encodings.json decodes to its fields and they encode back to its bytes; each
 * invalid one is refused with a TlsError; every request and response of the scenarios decodes and encodes back to
 * its bytes. Then the reader's strictness by construction: every truncation of a valid message, a byte appended,
 * each optional's presence octet and each enumeration set to every value the draft does not name, refused.
 */
import { describe, expect, it } from 'vitest';
import {
  readAuditorTreeHead,
  readBinaryLadderStep,
  readCombinedTreeProof,
  readFullTreeHead,
  readInclusionProof,
  readLogEntry,
  readPrefixProof,
  readTreeHead,
  readUpdateInfo,
  readUpdateValue,
  writeAuditorTreeHead,
  writeBinaryLadderStep,
  writeCombinedTreeProof,
  writeFullTreeHead,
  writeInclusionProof,
  writeLogEntry,
  writePrefixProof,
  writeTreeHead,
  writeUpdateInfo,
  writeUpdateValue,
  type StructureContext,
} from '../../../verifier/keytrans/structures.js';
import {
  decodeMessage,
  encodeMessage,
  type MessageContext,
  type MessageType,
} from '../../../verifier/keytrans/messages.js';
import { decodeWhole, encodeWith, TlsError, TlsReader, TlsWriter } from '../../../verifier/keytrans/tls.js';
import { fromHex, toHex } from '../../../wasm-free-crypto/bytes.js';
import { fromFields, modeName, suiteId } from '../../helpers/keytrans-fields.js';
import { vectorJson } from '../../helpers/vectors.js';

type Part = {
  read: (r: TlsReader, ctx: StructureContext) => unknown;
  write: (w: TlsWriter, v: any, ctx: StructureContext) => void;
};

/** The parts of messages the vectors encode on their own. */
const PARTS: Record<string, Part> = {
  TreeHead: { read: readTreeHead, write: writeTreeHead },
  AuditorTreeHead: { read: readAuditorTreeHead, write: writeAuditorTreeHead },
  FullTreeHead: { read: readFullTreeHead, write: writeFullTreeHead },
  UpdateValue: { read: readUpdateValue, write: writeUpdateValue },
  LogEntry: { read: readLogEntry, write: writeLogEntry },
  PrefixProof: { read: readPrefixProof, write: writePrefixProof },
  InclusionProof: { read: readInclusionProof, write: writeInclusionProof },
  CombinedTreeProof: { read: readCombinedTreeProof, write: writeCombinedTreeProof },
  BinaryLadderStep: { read: readBinaryLadderStep, write: writeBinaryLadderStep },
  MonitorMapEntry: {
    read: (r) => ({ position: r.u64('position'), version: r.u32('version') }),
    write: (w, v) => w.u64(v.position, 'position').u32(v.version, 'version'),
  },
  LabelValue: { read: (r) => ({ value: r.vector(4, 'value') }), write: (w, v) => w.vector(4, v.value, 'value') },
  UpdateInfo: { read: readUpdateInfo, write: writeUpdateInfo },
};

/** Encoded by signed-structures.ts (what is signed or hashed), not by these codecs. */
const SIGNED = new Set(['VrfInput', 'CommitmentValue (without the leading opening)']);

interface Vector {
  type: string;
  description: string;
  context?: { suite: string; mode: string; request_version_present?: boolean };
  fields: unknown;
  encoding: string;
}

const encodings = vectorJson<{ valid: Vector[]; invalid: { type: string; description: string; encoding: string }[] }>(
  'keytrans/encodings.json',
);

const contextOf = (v: { context?: Vector['context'] }): MessageContext => ({
  suite: suiteId(v.context?.suite ?? 'KT_128_SHA256_Ed25519'),
  mode: modeName(v.context?.mode ?? 'contactMonitoring'),
  requestHasVersion: v.context?.request_version_present,
});

function decodeAs(type: string, bytes: Uint8Array, ctx: MessageContext): unknown {
  const part = PARTS[type];
  if (part) return decodeWhole(bytes, type, (r) => part.read(r, ctx));
  return decodeMessage(type as MessageType, bytes, ctx);
}

function encodeAs(type: string, value: unknown, ctx: MessageContext): Uint8Array {
  const part = PARTS[type];
  if (part) return encodeWith(value, (w, v) => part.write(w, v, ctx));
  return encodeMessage(type as MessageType, value as never, ctx);
}

describe('the KEYTRANS TLS codecs', () => {
  it('decode every valid encoding of the vectors to its fields, and encode the fields back to its bytes', () => {
    const tested = encodings.valid.filter((v) => !SIGNED.has(v.type));
    expect(tested.length).toBe(39);
    for (const v of tested) {
      const ctx = contextOf(v);
      const bytes = fromHex(v.encoding);
      const name = `${v.type}: ${v.description}`;
      expect(decodeAs(v.type, bytes, ctx), name).toEqual(fromFields(v.fields));
      expect(toHex(encodeAs(v.type, fromFields(v.fields), ctx)), name).toBe(v.encoding);
    }
  });

  it('refuse every invalid encoding of the vectors with a TlsError', () => {
    expect(encodings.invalid.length).toBe(11);
    for (const v of encodings.invalid) {
      const attempt = () => decodeAs(v.type, fromHex(v.encoding), contextOf({}));
      expect(attempt, `${v.type}: ${v.description}`).toThrow(TlsError);
    }
  });

  it('decode and encode back every request and response of the scenarios, byte for byte', () => {
    let messages = 0;
    for (const file of ['main', 'worked-example', 'auditing', 'management', 'expiry']) {
      const scenario = vectorJson(`keytrans/scenarios/${file}.json`);
      const config = scenario.config.fields;
      for (const q of scenario.queries) {
        const [request, response] = MESSAGE_TYPES[q.operation as keyof typeof MESSAGE_TYPES];
        const ctx: MessageContext = {
          suite: suiteId(config.ciphersuite),
          mode: modeName(config.mode),
          requestHasVersion: q.operation === 'search_fixed_version',
        };
        for (const [type, message] of [
          [request, q.request],
          [response, q.response],
        ] as const) {
          if (!message) continue; // expiry/q02: the log refused, no response
          const decoded = decodeAs(type, fromHex(message.encoding), ctx);
          expect(decoded, `${q.id} ${type}`).toEqual(fromFields(message.fields));
          expect(toHex(encodeAs(type, decoded, ctx)), `${q.id} ${type}`).toBe(message.encoding);
          messages++;
        }
      }
    }
    expect(messages).toBeGreaterThan(60);
  });
});

const MESSAGE_TYPES = {
  search_greatest_version: ['SearchRequest', 'SearchResponse'],
  search_fixed_version: ['SearchRequest', 'SearchResponse'],
  contact_monitor: ['ContactMonitorRequest', 'ContactMonitorResponse'],
  owner_init: ['OwnerInitRequest', 'OwnerInitResponse'],
  owner_monitor: ['OwnerMonitorRequest', 'OwnerMonitorResponse'],
} as const;

describe('the KEYTRANS TLS reader is strict', () => {
  const valid = encodings.valid.filter((v) => !SIGNED.has(v.type));

  it('refuses every truncation of every valid encoding, and a byte appended to it', () => {
    for (const v of valid) {
      const bytes = fromHex(v.encoding);
      const ctx = contextOf(v);
      for (let n = 0; n < bytes.length; n++) {
        // A shorter prefix can be a whole message only where the structure ends with a vector that may be empty:
        // then it must still not decode to the same value.
        let decoded: unknown;
        try {
          decoded = decodeAs(v.type, bytes.subarray(0, n), ctx);
        } catch (e) {
          expect(e, `${v.type} cut at ${n}`).toBeInstanceOf(TlsError);
          continue;
        }
        expect(decoded, `${v.type} cut at ${n}`).not.toEqual(fromFields(v.fields));
      }
      const longer = new Uint8Array([...bytes, 0]);
      expect(() => decodeAs(v.type, longer, ctx), `${v.type} + 1 byte`).toThrow(/after the end/);
    }
  });

  it("refuses a presence octet other than 0 or 1, and each enumeration's unnamed values", () => {
    const ctx = contextOf({});
    const request = (last: number, version: number) => new Uint8Array([last, 0, version]);
    expect(decodeAs('SearchRequest', request(0, 0), ctx)).toEqual({
      last: null,
      label: new Uint8Array(0),
      version: null,
    });
    for (let b = 2; b < 256; b++) {
      expect(() => decodeAs('SearchRequest', request(b, 0), ctx)).toThrow(/last: presence octet/);
      expect(() => decodeAs('SearchRequest', request(0, b), ctx)).toThrow(/version: presence octet/);
    }
    for (let t = 0; t < 256; t++) {
      const fullTreeHead = () => decodeAs('FullTreeHead', new Uint8Array([t]), ctx);
      if (t === 1) expect(fullTreeHead()).toEqual({ headType: 'same' });
      else expect(fullTreeHead, `head type ${t}`).toThrow(TlsError);
      const result = () => decodeAs('PrefixProof', new Uint8Array([1, t, 0, 0, 0]), ctx);
      if (t === 1 || t === 3) expect(result()).toMatchObject({ results: [{ depth: 0 }] });
      else expect(result, `result type ${t}`).toThrow(TlsError);
    }
  });

  it('refuses a uint64 above 2^53 - 1, and writes none', () => {
    const big = fromHex('0020000000000000'); // 2^53
    expect(() => decodeWhole(big, 'x', (r) => r.u64('x'))).toThrow(/above 2\^53 - 1/);
    expect(decodeWhole(fromHex('001fffffffffffff'), 'x', (r) => r.u64('x'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => encodeWith(2 ** 53, (w, n) => w.u64(n, 'x'))).toThrow(TlsError);
  });

  it('refuses to write a vector longer than its length prefix allows, or a fixed field of another length', () => {
    expect(() => encodeWith(new Uint8Array(256), (w, b) => w.vector(1, b, 'label'))).toThrow(/too long/);
    expect(() => encodeWith(new Uint8Array(31), (w, b) => w.bytesFixed(b, 32, 'hash'))).toThrow(/31 bytes, not 32/);
    expect(() => encodeWith(2 ** 32, (w, n) => w.u32(n, 'version'))).toThrow(TlsError);
  });

  it('refuses a mode-dependent field in the wrong mode when writing', () => {
    const auditing = { ...contextOf({}), mode: 'thirdPartyAuditing' as const };
    const head = { headType: 'updated', treeHead: { treeSize: 1, signature: new Uint8Array(2) } };
    expect(() => encodeAs('FullTreeHead', head, auditing)).toThrow(/auditor tree head/);
    const value = { value: new Uint8Array(1), suffix: { signature: new Uint8Array(2) } };
    expect(() => encodeAs('UpdateValue', value, contextOf({}))).toThrow(/thirdPartyManagement/);
    expect(() => encodeAs('SearchResponse', {}, { ...contextOf({}), requestHasVersion: undefined })).toThrow(
      /must be given/,
    );
  });
});
