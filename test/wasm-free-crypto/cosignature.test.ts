/** tlog-cosignature/v1: the Sunlight vectors, byte-for-byte reproduction, tampering. */
import { describe, expect, it } from 'vitest';
import { fromUtf8, toBase64, utf8 } from '../../wasm-free-crypto/bytes.js';
import {
  cosignatureTimestamp,
  cosignatureVerifier,
  cosigner,
  makeCosignature,
  parseCosignerKey,
} from '../../wasm-free-crypto/cosignature.js';
import { formatSignatureLine, NoteError, openNote, parseVerifierKey, splitNote } from '../../wasm-free-crypto/note.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { parseCheckpoint } from '../../verifier/formats/checkpoint.js';
import { vectorBytes } from '../helpers/vectors.js';
import { errorCode } from '../helpers/error-code.js';

const MIRROR_VKEY = 'mirror.example.org+3fb148ef+BAAjjch9GyYz0sJsJx7ALhbdAtz2ov0unbzSl1vMp94O';
const WITNESS_VKEY = 'witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN';
const mirror = cosigner('mirror.example.org', sha256(utf8('skylight test mirror key')));
const witness = cosigner('witness.example.org', sha256(utf8('skylight test witness key')));
const checkpoint = fromUtf8(vectorBytes('tiles-300/checkpoint'));
const witnessed = fromUtf8(vectorBytes('tiles-300/checkpoint.witnessed'));

const code = errorCode;

describe('tlog-cosignature/v1 vectors (tiles-300)', () => {
  it('derives the cosigner keys from the seeds', () => {
    expect(mirror.verifierKey).toBe(MIRROR_VKEY);
    expect(witness.verifierKey).toBe(WITNESS_VKEY);
  });

  it('verifies both cosignatures', () => {
    const a = openNote(checkpoint, [parseCosignerKey(MIRROR_VKEY)]);
    expect(a.verified).toHaveLength(1);
    const b = openNote(witnessed, [parseCosignerKey(WITNESS_VKEY)]);
    expect(b.verified).toHaveLength(1);
    expect(b.unverified.map((s) => s.name)).toEqual(['rome2026h1.example.org']);
    expect(cosignatureTimestamp(b.verified[0].signature)).toBe(1767139200n);
  });

  it('reproduces both cosignature lines byte for byte from the seeds', () => {
    for (const [note, signer] of [
      [checkpoint, mirror],
      [witnessed, witness],
    ] as const) {
      const { textBytes, signatures } = splitNote(utf8(note));
      const given = signatures.find((s) => s.name === signer.name)!;
      const made = makeCosignature(signer, textBytes, cosignatureTimestamp(given.signature));
      expect(formatSignatureLine(made)).toBe(formatSignatureLine(given));
      expect(note).toContain(formatSignatureLine(made));
    }
  });

  it('skips the ECDSA (type 0x05) log signature and the other witness', () => {
    const opened = openNote(witnessed, [parseCosignerKey(WITNESS_VKEY), parseCosignerKey(MIRROR_VKEY)]);
    expect(opened.verified.map((s) => s.name)).toEqual(['witness.example.org']);
  });

  it('rejects every bit flip of the timestamp and signature', () => {
    const { text, signatures } = splitNote(utf8(witnessed));
    const sig = signatures.find((s) => s.name === 'witness.example.org')!;
    const v = parseCosignerKey(WITNESS_VKEY);
    for (let bit = 0; bit < 72 * 8; bit++) {
      const mutated = sig.signature.slice();
      mutated[bit >> 3] ^= 1 << (bit & 7);
      const note = `${text}\n${formatSignatureLine({ ...sig, signature: mutated })}`;
      expect(code(() => openNote(note, [v]))).toBe('invalid_signature');
    }
  });

  it('rejects a cosignature on a changed checkpoint, with a wrong length, or as a plain Ed25519 signature', () => {
    const v = parseCosignerKey(MIRROR_VKEY);
    expect(code(() => openNote(checkpoint.replace('300', '301'), [v]))).toBe('invalid_signature');
    const { textBytes, signatures } = splitNote(utf8(checkpoint));
    expect(v.verify(textBytes, signatures[0].signature.subarray(0, 71))).toBe(false);
    expect(v.verify(textBytes, signatures[0].signature.subarray(8))).toBe(false);
    expect(() => parseVerifierKey(MIRROR_VKEY)).toThrow(/type 0x01/);
    expect(
      code(() => parseCosignerKey('mirror.example.org+3fb148ef+AQAjjch9GyYz0sJsJx7ALhbdAtz2ov0unbzSl1vMp94O')),
    ).toBe('bad_verifier_key');
  });

  it('counts a witness once however many valid cosignatures it added', () => {
    const { textBytes } = splitNote(utf8(checkpoint));
    let note = checkpoint;
    for (const t of [1767139201n, 1767139202n, 1767139203n])
      note += formatSignatureLine(makeCosignature(mirror, textBytes, t));
    const opened = openNote(note, [parseCosignerKey(MIRROR_VKEY)]);
    expect(opened.verified).toHaveLength(1);
  });

  it('rejects timestamps above 2^63 - 1', () => {
    const text = utf8('o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n');
    const sig = mirror.signAt(text, 5n);
    sig[0] = 0x80;
    expect(cosignatureVerifier(mirror.name, mirror.publicKey).verify(text, sig)).toBe(false);
    expect(() => mirror.signAt(text, 1n << 63n)).toThrow(NoteError);
  });

  it('parses the checkpoint text of the vector', () => {
    const parsed = parseCheckpoint(splitNote(utf8(checkpoint)).text);
    expect(parsed.size).toBe(300);
    expect(toBase64(parsed.rootHash)).toBe('gw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=');
  });
});
