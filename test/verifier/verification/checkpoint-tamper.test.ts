/**
 * Tampered checkpoints (verifier/formats/checkpoint.ts `openCheckpoint`, verifier/verification/checkpoint-policy.ts
 * `CheckpointVerifier.verify`, docs/PROTOCOL.md 4.1, 5 and 18.1): a checkpoint signed by the log and cosigned by two
 * of three pinned witnesses (quorum 2) has every bit of each byte of its origin, size and root lines flipped, every
 * bit of its size and root hash changed under the same signatures, every bit of each signature line's key ID and
 * signature flipped, every bit of each byte of each key name flipped, and fields swapped between lines and
 * checkpoints. openCheckpoint must fail with the exact NoteError code, and verify with `bad_checkpoint` carrying
 * that error's message, or, when a cosignature no longer counts, with `witness_quorum`. Lines by unknown keys are
 * ignored (C2SP signed-note), so adding, reordering or repeating them is accepted.
 */
import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { cosigner, makeCosignature, parseCosignerKey } from '../../../wasm-free-crypto/cosignature.js';
import {
  ed25519NoteSigner,
  formatSignatureLine,
  parseVerifierKey,
  splitNote,
  type NoteSignature,
} from '../../../wasm-free-crypto/note.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import {
  formatCheckpoint,
  openCheckpoint,
  signCheckpoint,
  type Checkpoint,
} from '../../../verifier/formats/checkpoint.js';
import { CheckpointVerifier } from '../../../verifier/verification/checkpoint-policy.js';

const ORIGIN = 'example.com/tamper-test';
const NOW_S = 1_800_000_000;
const log = ed25519NoteSigner(ORIGIN, sha256(utf8('tamper test log')));
const logKey = parseVerifierKey(log.verifierKey);
const witnesses = ['w1.example', 'w2.example', 'w3.example'].map((n) => cosigner(n, sha256(utf8(n))));
const witnessKeys = witnesses.map((w) => parseCosignerKey(w.verifierKey));
const CHECKPOINT: Checkpoint = { origin: ORIGIN, size: 300, rootHash: sha256(utf8('root 300')) };

/** `c` signed by the log and cosigned by witnesses 0 and 1. */
function signed(c: Checkpoint): string {
  const note = signCheckpoint(c, log);
  const text = splitNote(utf8(note)).textBytes;
  const cosigs = [0, 1].map((w) => makeCosignature(witnesses[w], text, BigInt(NOW_S - 10 * (w + 1))));
  return note + cosigs.map(formatSignatureLine).join('');
}

const NOTE = signed(CHECKPOINT);
const { text: TEXT, signatures: SIGS } = splitNote(utf8(NOTE));
const [LOG_SIG, W1_SIG, W2_SIG] = SIGS;

/** The note `text` with the given signature lines. */
const noteOf = (sigs: NoteSignature[], text = TEXT) => `${text}\n${sigs.map(formatSignatureLine).join('')}`;

/** The code, message and result of a call. */
function attempt<T>(f: () => T): { code: string; message: string; value?: T } {
  try {
    return { code: 'no error', message: '', value: f() };
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
}

/**
 * Expects openCheckpoint to throw `code`, or ('no error') to return `counted` cosignatures; and verify, under a
 * quorum of 2 of the three witnesses, to refuse it with `bad_checkpoint` and the same message, or `witness_quorum`.
 * A note that is not UTF-8 is no string, so verify (which takes one) sees only the others.
 */
function expectOutcome(note: string | Uint8Array, code: string, label: string, counted = 2) {
  const opened = attempt(() => openCheckpoint(note, ORIGIN, logKey, witnessKeys));
  expect([opened.code, opened.value?.cosignatures.length ?? 0], label).toEqual([
    code,
    code === 'no error' ? counted : 0,
  ]);
  const text = attempt(() => (typeof note === 'string' ? note : fromUtf8(note)));
  if (text.value === undefined) return;
  const policy = { witnesses: witnessKeys, quorum: 2, maxAgeSeconds: 600 };
  const verifier = new CheckpointVerifier({ origin: ORIGIN, logKey, policy, now: () => NOW_S * 1000 });
  const verified = attempt(() => verifier.verify(text.value as string));
  const expected =
    code !== 'no error'
      ? ['bad_checkpoint', `bad_checkpoint: ${opened.message}`]
      : counted < 2
        ? ['witness_quorum', `${counted} of the required 2 witnesses cosigned the checkpoint`]
        : ['no error', ''];
  expect([verified.code, verified.message], label).toEqual(expected);
}

/** A copy of `bytes` with bit `bit` of byte `at` flipped. */
function flipped(bytes: Uint8Array, at: number, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[at] ^= 1 << bit;
  return copy;
}

/** Each single-bit flip of each byte of `part` (its first occurrence from `from` in NOTE), with the new byte. */
function* byteFlips(part: string, from = 0) {
  const bytes = utf8(NOTE);
  const start = utf8(NOTE.slice(0, NOTE.indexOf(part, from))).length;
  for (let i = 0; i < part.length; i++)
    for (let bit = 0; bit < 8; bit++)
      yield { b: bytes[start + i] ^ (1 << bit), note: flipped(bytes, start + i, bit), label: `${part} ${i}.${bit}` };
}

/** A byte signed-note refuses anywhere in a note: not UTF-8, or an ASCII control character other than newline. */
const noteFault = (b: number) => b >= 0x80 || (b < 0x20 && b !== 0x0a);

/** A byte that makes a key name invalid or splits its line: white space, plus, DEL, or a note fault. */
const keyNameFault = (b: number) => noteFault(b) || b === 0x0a || b === 0x20 || b === 0x2b || b === 0x7f;

/** Each signature line with bit `bit` of its key ID, or of its signature bytes, flipped. */
function* sigFlips(sig: NoteSignature) {
  for (let bit = 0; bit < 32; bit++)
    yield { field: 'key ID', bit, sig: { ...sig, keyId: (sig.keyId ^ (1 << bit)) >>> 0 } };
  for (let bit = 0; bit < sig.signature.length * 8; bit++)
    yield { field: 'signature', bit, sig: { ...sig, signature: flipped(sig.signature, bit >> 3, bit & 7) } };
}

describe('tampered checkpoints are refused with their exact code', () => {
  it('opens and verifies the genuine checkpoint (the baseline every tamper below is a change of)', () => {
    expectOutcome(NOTE, 'no error', 'genuine');
  });

  it('refuses every bit flip of every byte of the origin, size and root lines', () => {
    const lines = TEXT.slice(0, -1).split('\n');
    expect(lines).toHaveLength(3); // no extension lines: the log writes none (PROTOCOL.md 5)
    for (const line of lines)
      for (const { b, note, label } of byteFlips(line))
        expectOutcome(note, noteFault(b) ? 'malformed_note' : 'invalid_signature', label);
  });

  it('refuses every bit of the size and of the root hash, and any other text, under the same signatures', () => {
    const texts = [
      ...Array.from({ length: 53 }, (_, bit) => ({
        ...CHECKPOINT,
        size: bit < 31 ? 300 ^ (1 << bit) : 300 + 2 ** bit,
      })),
      ...Array.from({ length: 256 }, (_, bit) => ({
        ...CHECKPOINT,
        rootHash: flipped(CHECKPOINT.rootHash, bit >> 3, bit & 7),
      })),
      { ...CHECKPOINT, origin: 'example.com/other' },
      { ...CHECKPOINT, extensions: ['an extension line'] },
    ].map(formatCheckpoint);
    const [origin, size, root] = TEXT.slice(0, -1).split('\n');
    texts.push(`${origin}\n${root}\n${size}\n`, `${size}\n${origin}\n${root}\n`, `${TEXT}\n`);
    for (const text of texts) expectOutcome(noteOf(SIGS, text), 'invalid_signature', JSON.stringify(text));
  });

  it('refuses a checkpoint the log and witnesses did sign for another origin, or with an extension line', () => {
    expectOutcome(signed({ ...CHECKPOINT, origin: 'example.com/other' }), 'wrong_origin', 'another origin');
    expectOutcome(signed({ ...CHECKPOINT, extensions: ['ext'] }), 'bad_checkpoint', 'extension line');
  });

  it("refuses every bit flip of the log signature's key ID (not signed by the log) and signature (invalid)", () => {
    for (const { field, bit, sig } of sigFlips(LOG_SIG))
      expectOutcome(
        noteOf([sig, W1_SIG, W2_SIG]),
        field === 'key ID' ? 'unverified_note' : 'invalid_signature',
        `${field} ${bit}`,
      );
  });

  it('refuses every bit flip of each cosignature: its key ID (no longer counts) and timestamp or signature (invalid)', () => {
    for (const [i, cosig] of [W1_SIG, W2_SIG].entries())
      for (const { field, bit, sig } of sigFlips(cosig)) {
        const sigs = i === 0 ? [LOG_SIG, sig, W2_SIG] : [LOG_SIG, W1_SIG, sig];
        expectOutcome(
          noteOf(sigs),
          field === 'key ID' ? 'no error' : 'invalid_signature',
          `${cosig.name} ${field} ${bit}`,
          1,
        );
      }
  });

  it("refuses every bit flip of each key name: a malformed line, else an unknown key (the log's or a witness's lost)", () => {
    const afterText = NOTE.indexOf('\n\n');
    for (const { b, note, label } of byteFlips(ORIGIN, afterText))
      expectOutcome(note, keyNameFault(b) ? 'malformed_note' : 'unverified_note', label);
    for (const name of [W1_SIG.name, W2_SIG.name])
      for (const { b, note, label } of byteFlips(name, afterText))
        expectOutcome(note, keyNameFault(b) ? 'malformed_note' : 'no error', label, 1);
  });

  it('refuses key names, key IDs and signatures swapped between lines or taken from another checkpoint', () => {
    const other = splitNote(utf8(signed({ ...CHECKPOINT, size: 301 }))).signatures;
    const w3 = makeCosignature(witnesses[2], utf8(TEXT), BigInt(NOW_S));
    const second = makeCosignature(witnesses[0], utf8(TEXT), BigInt(NOW_S - 5)); // a witness counts once
    const cases: [string, NoteSignature[], string, number?][] = [
      ["the log's line under a witness's name", [{ ...LOG_SIG, name: W1_SIG.name }, W1_SIG, W2_SIG], 'unverified_note'],
      [
        "the log's line with a witness's key ID",
        [{ ...LOG_SIG, keyId: W1_SIG.keyId }, W1_SIG, W2_SIG],
        'unverified_note',
      ],
      [
        "the log's and a witness's names swapped",
        [{ ...LOG_SIG, name: W1_SIG.name }, { ...W1_SIG, name: ORIGIN }, W2_SIG],
        'unverified_note',
      ],
      ["a witness's line under the log's name", [LOG_SIG, { ...W1_SIG, name: ORIGIN }, W2_SIG], 'no error', 1],
      ["a witness's line under a third witness's name", [LOG_SIG, { ...W1_SIG, name: w3.name }, W2_SIG], 'no error', 1],
      [
        "two witnesses' names swapped",
        [LOG_SIG, { ...W1_SIG, name: W2_SIG.name }, { ...W2_SIG, name: W1_SIG.name }],
        'no error',
        0,
      ],
      [
        "two witnesses' key IDs swapped",
        [LOG_SIG, { ...W1_SIG, keyId: W2_SIG.keyId }, { ...W2_SIG, keyId: W1_SIG.keyId }],
        'no error',
        0,
      ],
      [
        "two witnesses' signatures swapped",
        [LOG_SIG, { ...W1_SIG, signature: W2_SIG.signature }, { ...W2_SIG, signature: W1_SIG.signature }],
        'invalid_signature',
      ],
      [
        "the log's signature bytes in a witness's line",
        [LOG_SIG, { ...W1_SIG, signature: LOG_SIG.signature }, W2_SIG],
        'invalid_signature',
      ],
      [
        "a witness's signature bytes in the log's line",
        [{ ...LOG_SIG, signature: W1_SIG.signature }, W1_SIG, W2_SIG],
        'invalid_signature',
      ],
      [
        "a witness's signature without its timestamp",
        [LOG_SIG, { ...W1_SIG, signature: W1_SIG.signature.slice(8) }, W2_SIG],
        'invalid_signature',
      ],
      ["the log's signature of size 301", [other[0], W1_SIG, W2_SIG], 'invalid_signature'],
      ['a cosignature of size 301', [LOG_SIG, other[1], W2_SIG], 'invalid_signature'],
      ["a witness's second cosignature for another", [LOG_SIG, W1_SIG, second], 'no error', 1],
      ['only the log signature', [LOG_SIG], 'no error', 0],
      ['only the cosignatures', [W1_SIG, W2_SIG], 'unverified_note'],
    ];
    for (const [what, sigs, code, counted] of cases) expectOutcome(noteOf(sigs), code, what, counted);
  });

  // C2SP signed-note "Signatures": "Verifiers MUST ignore signatures from unknown keys, even if they share a name or
  // ID (but not both) with a known key"; a trusted key counts once (PROTOCOL.md 4.1). So these changes are accepted.
  it('accepts lines of unknown keys added, the lines reordered, or a line repeated', () => {
    const w3 = makeCosignature(witnesses[2], utf8(TEXT), BigInt(NOW_S));
    const unknown: NoteSignature[] = [
      { name: 'unknown.example', keyId: 7, signature: new Uint8Array(72).fill(1) },
      { name: ORIGIN, keyId: (LOG_SIG.keyId ^ 1) >>> 0, signature: new Uint8Array(64).fill(2) },
      { name: W1_SIG.name, keyId: (W1_SIG.keyId ^ 1) >>> 0, signature: new Uint8Array(72).fill(3) },
      { name: 'w4.example', keyId: W1_SIG.keyId, signature: w3.signature },
    ];
    expectOutcome(noteOf([...SIGS, ...unknown]), 'no error', 'unknown keys appended');
    expectOutcome(noteOf([...unknown, W2_SIG, W1_SIG, LOG_SIG]), 'no error', 'reordered');
    expectOutcome(noteOf([LOG_SIG, W1_SIG, W1_SIG, W2_SIG, LOG_SIG]), 'no error', 'repeated');
  });
});
