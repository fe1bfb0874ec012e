/**
 * The exact error of every damaged binary lookup proof (verifier/formats/proof-binary.ts, docs/PROTOCOL.md section
 * 17.4), from a real directory's present, deleted, absent and not enrolled lookups, read field by field from the
 * section's grammar (and the map proof's, section 15.5): every byte flipped fails with the code of its field,
 * `bad_proof_binary` where the decoder refuses it (a length or count, the case, the erased flag, a u64 above
 * 2^53 - 1, a map proof that no longer decodes) and otherwise the VerifyError of the check that the field feeds;
 * every truncation, a byte appended and each length prefix one more or one less are `bad_proof_binary`; every
 * other format byte is `unsupported_format`, every other case byte `bad_proof_binary`.
 */
import { describe, expect, it } from 'vitest';
import { proveLookup } from '../../../log/directory/proof-builder.js';
import { decodeEntry, type EnrolmentEntry } from '../../../verifier/formats/entries.js';
import { decodeLookupBinary, encodeLookupBinary, ProofBinaryError } from '../../../verifier/formats/proof-binary.js';
import type { LookupProof } from '../../../verifier/formats/proofs.js';
import { decodeStatement } from '../../../verifier/formats/statement-binary.js';
import { VerifyError } from '../../../verifier/verification/errors.js';
import { LOOKUP_CASES, lookupCasesDirectory } from '../../helpers/lookup-cases.js';

/** A field of the encoding: its name, where it is, its size, and whether it is a length or count. */
interface Span {
  name: string;
  at: number;
  size: number;
  length: boolean;
}

/** The fields of a binary lookup proof, read from section 17.4's grammar (and 15.5's for the map proof). */
function layout(b: Uint8Array): Span[] {
  const spans: Span[] = [];
  let at = 0;
  const field = (name: string, size: number, length = false) => {
    spans.push({ name, at, size, length });
    at += size;
    return b.subarray(at - size, at).reduce((n, x) => n * 256 + x, 0);
  };
  const b16 = (name: string) => field(name, field(`${name} length`, 2, true));
  const hashes = (name: string) => {
    for (let n = field(`${name} count`, 1, true); n > 0; n--) field(name, 32);
  };
  const enrolment = () => {
    field('enrolment position', 4);
    b16('enrolment entry');
    hashes('enrolment proof');
  };
  field('format', 1);
  const kind = field('case', 1);
  b16('provider');
  b16('account');
  field('vrfProof', 80);
  b16('checkpoint');
  field('headIndex', 8);
  b16('headEntry');
  hashes('headProof');
  field('map length', 2, true);
  const absence = field('map kind', 1) === 1;
  for (let n = field('map count', 2, true); n > 0; n--) {
    field('map depth', 1);
    field('map sibling', 32);
  }
  if (absence && field('map hasTerminal', 1) === 1)
    for (const [name, size] of [
      ['label', 32],
      ['version', 8],
      ['history', 32],
    ] as const)
      field(`map terminal ${name}`, size);
  if (kind === 0) {
    field('version', 8);
    if (field('erased', 1) === 1) field('commitment', 32);
    else {
      b16('statement');
      b16('signature');
      field('opening', 32);
      enrolment();
    }
    field('previousHistory', 32);
  } else if (kind === 1) enrolment();
  else for (let n = field('credential count', 2, true); n > 0; n--) b16('credential');
  expect(at, 'the grammar reads the whole proof').toBe(b.length);
  return spans;
}

/** `Class:code` of what `f` throws, 'accepted' if it returns. */
function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ProofBinaryError || e instanceof VerifyError) return `${e.name}:${e.code}`;
    return `uncoded: ${String(e)}`;
  }
  return 'accepted';
}
const binary = (code: string) => `ProofBinaryError:${code}`;
const verify = (code: string) => `VerifyError:${code}`;
const BAD = binary('bad_proof_binary');

/** The code a valid statement's bytes give once changed: the first of the verifier's checks they fail. */
function statementCode(bytes: Uint8Array, proof: LookupProof, enrol: EnrolmentEntry): string {
  let s;
  try {
    s = decodeStatement(bytes);
  } catch {
    return verify('bad_statement');
  }
  if (s.provider !== proof.provider || s.account !== proof.account || s.version !== proof.present!.version)
    return verify('bad_statement');
  if (s.issuedAt < enrol.notBefore || s.issuedAt > enrol.notAfter) return verify('credential_not_valid');
  return verify('bad_provider_signature'); // the provider signed the bytes as they were
}

/** Fields whose every byte gives one code. */
const FIELD_CODES: Record<string, string> = {
  format: binary('unsupported_format'),
  case: BAD,
  erased: BAD,
  'map kind': BAD,
  'map hasTerminal': BAD,
  provider: verify('wrong_account'),
  account: verify('wrong_account'),
  vrfProof: verify('bad_vrf'),
  checkpoint: verify('bad_checkpoint'),
  headEntry: verify('bad_epoch_inclusion'), // its leaf hash is proven before it is decoded
  headProof: verify('bad_epoch_inclusion'),
  'map sibling': verify('bad_map_proof'),
  'map terminal label': verify('bad_map_proof'),
  'map terminal history': verify('bad_map_proof'),
  signature: verify('bad_provider_signature'),
  opening: verify('bad_map_proof'), // another commitment, so another leaf
  'enrolment position': verify('bad_enrolment'),
  'enrolment entry': verify('bad_enrolment'),
  'enrolment proof': verify('bad_enrolment'),
  credential: verify('bad_not_enrolled'), // the credential set's root
};

/** Each byte is flipped by xor with FLIP: a length or count one more or one less, a u64 top byte 2^56 apart. */
const FLIP = 0x01;

/** The code of the proof `b` with byte `i` (of its field `s`, one of `spans`) flipped, by its field. */
function expectedCode(b: Uint8Array, spans: Span[], s: Span, i: number): string {
  if (s.length) return BAD;
  if (s.name in FIELD_CODES) return FIELD_CODES[s.name];
  const proof = decodeLookupBinary(b);
  const first = i === s.at; // of a u64: its top byte, past 2^53 - 1 flipped
  if (s.name === 'headIndex') return first ? BAD : verify('epoch_not_last');
  if (s.name === 'version') return first ? BAD : verify('bad_statement');
  if (s.name === 'map terminal version') return first ? BAD : verify('bad_map_proof');
  if (s.name === 'previousHistory')
    return proof.present!.version === 1 ? verify('bad_history') : verify('bad_map_proof');
  if (s.name === 'map depth') {
    // Depths are strictly decreasing, deepest first: a flipped depth out of order no longer decodes.
    const depths = proof.map.path.map((p) => p.depth);
    const k = spans.filter((x) => x.name === 'map depth').indexOf(s);
    const d = depths[k] ^ FLIP;
    return (k === 0 || depths[k - 1] > d) && (k === depths.length - 1 || d > depths[k + 1])
      ? verify('bad_map_proof')
      : BAD;
  }
  if (s.name === 'statement') {
    const changed = b.slice(s.at, s.at + s.size);
    changed[i - s.at] ^= FLIP;
    return statementCode(changed, proof, decodeEntry(proof.present!.enrolment!.entry) as EnrolmentEntry);
  }
  throw new Error(`no expected code for ${s.name}`);
}

describe('the binary lookup proof, damaged', () => {
  it('refuses every byte flipped with the code of its field', async () => {
    const t = await lookupCasesDirectory(8);
    for (const [provider, account, status] of LOOKUP_CASES) {
      const proof = await proveLookup(t.dir, provider, account);
      const b = encodeLookupBinary(proof);
      expect(t.verifier.verifyLookup(decodeLookupBinary(b), provider, account).status).toBe(status);
      const got: Record<string, string[]> = {};
      const want: Record<string, string[]> = {};
      const spans = layout(b);
      for (const s of spans)
        for (let i = s.at; i < s.at + s.size; i++) {
          const flipped = b.slice();
          flipped[i] ^= FLIP;
          const id = `${status}: ${s.name}`;
          (got[id] ??= []).push(codeOf(() => t.verifier.verifyLookup(decodeLookupBinary(flipped), provider, account)));
          (want[id] ??= []).push(expectedCode(b, spans, s, i));
        }
      expect(got).toEqual(want);
    }
  });

  it('refuses every truncation, a byte appended, each length one off, every other format and case', async () => {
    const t = await lookupCasesDirectory(8);
    for (const [provider, account, status] of LOOKUP_CASES) {
      const b = encodeLookupBinary(await proveLookup(t.dir, provider, account));
      const decoded = (x: Uint8Array) => () => t.verifier.verifyLookup(decodeLookupBinary(x), provider, account);
      const got: Record<string, string> = {};
      const want: Record<string, string> = {};
      const check = (id: string, x: Uint8Array, code: string) => {
        got[`${status}: ${id}`] = codeOf(decoded(x));
        want[`${status}: ${id}`] = code;
      };
      for (let n = 0; n < b.length; n++) check(`the first ${n} bytes`, b.subarray(0, n), BAD);
      check('a byte appended', Uint8Array.of(...b, 0), BAD);
      for (const s of layout(b).filter((s) => s.length))
        for (const delta of [1, -1]) {
          const x = b.slice();
          const n =
            (x.subarray(s.at, s.at + s.size).reduce((v, y) => v * 256 + y, 0) + delta) & (2 ** (8 * s.size) - 1);
          for (let k = 0; k < s.size; k++) x[s.at + k] = (n >> (8 * (s.size - 1 - k))) & 0xff;
          check(`${s.name} at ${s.at} ${delta > 0 ? 'one more' : 'one less'}`, x, BAD);
        }
      for (let v = 0; v < 256; v++) {
        check(`format ${v}`, Uint8Array.of(v, ...b.subarray(1)), v === 1 ? 'accepted' : binary('unsupported_format'));
        check(`case ${v}`, Uint8Array.of(1, v, ...b.subarray(2)), v === b[1] ? 'accepted' : BAD);
      }
      expect(got).toEqual(want);
    }
  });
});
