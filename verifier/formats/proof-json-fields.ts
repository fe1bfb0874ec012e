/**
 * The parts of the proofs' JSON form (verifier/formats/proof-json.ts) that its reader and its byte writer
 * (proof-json-bytes.ts) share: the format version every proof object carries and its check (docs/PROTOCOL.md
 * section 17.3), strict field readers, and the JSON of the parts every lookup of an epoch shares (the epoch
 * proof, enrolment proofs), cached. Pure: usable by the server, browsers and Workers alike.
 */
import { concatBytes, fromBase64, toBase64 } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import type { EnrolmentProof, EpochProof } from './proofs.js';

/**
 * A proof whose JSON form is not exactly the one of docs/PROTOCOL.md section 17.1 (`bad_proof_json`), or one
 * in a format version this code does not read (`unsupported_format`, section 17.3).
 */
export class ProofJsonError extends CodedError<'bad_proof_json' | 'unsupported_format'> {
  override readonly name = 'ProofJsonError';
}

export type Json = Record<string, unknown>;

/** The format version this code writes into every proof object (docs/PROTOCOL.md section 17.3). */
export const PROOF_FORMAT = 1;
/** The format versions this code reads. */
export const READABLE_FORMATS: readonly number[] = [1];

export interface ReadOptions {
  /**
   * The proof was stored before proof formats carried a version: a missing `format` is read as 1. Only for
   * data that can predate the field, which is the proof inside an evidence file (docs/PROTOCOL.md sections
   * 17.3 and 19); a server's answer must always carry it.
   */
  stored?: boolean;
}

export const b64 = toBase64;
export const hashes = (hs: Uint8Array[]): string => b64(concatBytes(...hs));

function fail(message: string): never {
  throw new ProofJsonError('bad_proof_json', message);
}

export function obj(v: unknown, what: string, required: string[], optional: string[] = []): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${what} must be an object`);
  const o = v as Json;
  for (const k of Object.keys(o))
    if (!required.includes(k) && !optional.includes(k)) fail(`unknown field ${what}.${k}`);
  for (const k of required) if (!(k in o)) fail(`missing field ${what}.${k}`);
  return o;
}

function checkFormat(format: unknown, what: string, opts: ReadOptions): void {
  if (format === undefined) {
    if (!opts.stored) fail(`missing field ${what}.format`);
  } else if (typeof format !== 'number' || !Number.isSafeInteger(format) || format < 1) {
    fail(`${what}.format must be a positive integer`);
  } else if (!READABLE_FORMATS.includes(format)) {
    throw new ProofJsonError(
      'unsupported_format',
      `${what} is in proof format ${format}; this verifier reads format ${READABLE_FORMATS.join(', ')}`,
    );
  }
}

/**
 * A proof object (lookup, history, discovery, monitor): its `format` is checked first, so that a proof of a
 * newer format is refused as `unsupported_format`, not for the fields that format added.
 */
export function proofObj(v: unknown, what: string, required: string[], optional: string[], opts: ReadOptions): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${what} must be an object`);
  checkFormat((v as Json).format, what, opts);
  return obj(v, what, required, ['format', ...optional]);
}

export function str(v: unknown, what: string): string {
  if (typeof v !== 'string') fail(`${what} must be a string`);
  return v;
}

export function int(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${what} must be a non-negative integer`);
  return v;
}

export function bytes(v: unknown, what: string, length?: number): Uint8Array {
  let b: Uint8Array;
  try {
    b = fromBase64(str(v, what));
  } catch (e) {
    if (e instanceof ProofJsonError) throw e;
    fail(`${what}: ${(e as Error).message}`);
  }
  if (length !== undefined && b.length !== length) fail(`${what} must be ${length} bytes`);
  return b;
}

export function hashList(v: unknown, what: string): Uint8Array[] {
  const b = bytes(v, what);
  if (b.length % 32 !== 0 || b.length > 64 * 32) fail(`${what} must be whole 32-byte hashes`);
  return Array.from({ length: b.length / 32 }, (_, i) => b.slice(32 * i, 32 * i + 32));
}

export function list(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) fail(`${what} must be an array`);
  return v;
}

/**
 * Epoch proofs are shared by every lookup of an epoch: their JSON is cached by the epoch's head entry, for the
 * same checkpoint, head index and head proof (the same list, as the epoch's lookups share it; a proof that
 * carries another, such as one put together by hand, is encoded anew). Byte strings are never modified.
 */
const epochJson = new WeakMap<Uint8Array, { of: EpochProof; json: Json }>();

export function epochToJson(e: EpochProof): Json {
  const cached = epochJson.get(e.headEntry);
  const same = cached?.of;
  if (same && same.checkpoint === e.checkpoint && same.headIndex === e.headIndex && same.headProof === e.headProof)
    return cached.json;
  const json = {
    checkpoint: e.checkpoint,
    headIndex: e.headIndex,
    headEntry: b64(e.headEntry),
    headProof: hashes(e.headProof),
  };
  epochJson.set(e.headEntry, { of: { ...e }, json });
  return json;
}

export function epochFromJson(v: unknown): EpochProof {
  const o = obj(v, 'epoch', ['checkpoint', 'headIndex', 'headEntry', 'headProof']);
  return {
    checkpoint: str(o.checkpoint, 'epoch.checkpoint'),
    headIndex: int(o.headIndex, 'epoch.headIndex'),
    headEntry: bytes(o.headEntry, 'epoch.headEntry'),
    headProof: hashList(o.headProof, 'epoch.headProof'),
  };
}

export function enrolmentToJson(e: EnrolmentProof): Json {
  return { position: e.position, entry: b64(e.entry), proof: hashes(e.proof) };
}

export function enrolmentFromJson(v: unknown, what = 'enrolment'): EnrolmentProof {
  const o = obj(v, what, ['position', 'entry', 'proof']);
  return {
    position: int(o.position, `${what}.position`),
    entry: bytes(o.entry, `${what}.entry`),
    proof: hashList(o.proof, `${what}.proof`),
  };
}
