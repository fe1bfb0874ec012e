/** C2SP signed notes: the Go vectors, key strings, strict opening, tampering, limits. */
import { describe, expect, it } from 'vitest';
import { fromUtf8, toBase64, utf8 } from '../../wasm-free-crypto/bytes.js';
import {
  appendSignatures,
  encodeSignerKey,
  generateSignerKey,
  MAX_NOTE_SIGNATURES,
  NoteError,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  splitNote,
} from '../../wasm-free-crypto/note.js';
import { errorCode } from '../helpers/error-code.js';
import { vectorJson } from '../helpers/vectors.js';

const v = vectorJson('signed-note.json').ed25519;

const code = errorCode;

describe('signed-note vectors (golang.org/x/mod/sumdb/note)', () => {
  it('derives the verifier key from the signer key', () => {
    expect(parseSignerKey(v.signerKey).verifierKey).toBe(v.verifierKey);
    expect(parseVerifierKey(v.verifierKey).keyId).toBe(0xc74f20a3);
  });

  it('reproduces the signed note exactly', () => {
    expect(signNote(v.text, [parseSignerKey(v.signerKey)])).toBe(v.signedNote);
  });

  it('opens the signed note with its key', () => {
    const opened = openNote(v.signedNote, [parseVerifierKey(v.verifierKey)]);
    expect(opened.text).toBe(v.text);
    expect(opened.verified).toHaveLength(1);
    expect(opened.unverified).toHaveLength(0);
  });

  it('rejects a note signed by no known key, keeping the unknown one aside', () => {
    expect(code(() => openNote(v.signedNote, [parseVerifierKey(v.otherVerifierKey)]))).toBe('unverified_note');
    const both = openNote(v.signedNote, [parseVerifierKey(v.otherVerifierKey), parseVerifierKey(v.verifierKey)]);
    expect(both.verified).toHaveLength(1);
  });

  it('rejects the malformed verifier keys', () => {
    for (const bad of v.badVerifierKeys) expect(() => parseVerifierKey(bad), bad).toThrow(NoteError);
  });
});

describe('verifier and signer key strings', () => {
  it('round-trips generated keys', () => {
    const { signerKey, verifierKey } = generateSignerKey('example.com/log');
    const signer = parseSignerKey(signerKey);
    expect(signer.verifierKey).toBe(verifierKey);
    const note = signNote('hello\n', [signer]);
    expect(openNote(note, [parseVerifierKey(verifierKey)]).text).toBe('hello\n');
  });

  it('rejects a key ID that does not match, bad names, upper-case IDs and wrong lengths', () => {
    const good = v.verifierKey as string;
    const [name, id, key] = good.split('+');
    expect(code(() => parseVerifierKey(`${name}+${id.replace('a', 'b')}+${key}`))).toBe('bad_verifier_key');
    expect(code(() => parseVerifierKey(`${name}+${id.toUpperCase()}+${key}`))).toBe('bad_verifier_key');
    expect(code(() => parseVerifierKey(`Other+${id}+${key}`))).toBe('bad_verifier_key');
    expect(code(() => parseVerifierKey(`bad name+${id}+${key}`))).toBe('bad_key_name');
    expect(code(() => parseVerifierKey(`${good}+extra`))).toBe('bad_verifier_key');
    expect(code(() => parseVerifierKey(`${name}+${id}+${key.slice(0, -4)}`))).toBe('bad_verifier_key');
    expect(code(() => parseSignerKey(v.signerKey.replace('c74f20a3', 'c74f20a4')))).toBe('bad_signer_key');
    expect(code(() => parseSignerKey(v.signerKey.replace('PRIVATE', 'PUBLIC')))).toBe('bad_signer_key');
  });

  it('encodes the same signer key it parses', () => {
    const signer = parseSignerKey(v.signerKey);
    const seed = decodeSeed(v.signerKey);
    expect(encodeSignerKey(signer.name, seed)).toBe(v.signerKey);
  });
});

function decodeSeed(skey: string): Uint8Array {
  const b64 = skey.split('+').slice(4).join('+');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).slice(1);
}

describe('opening notes strictly', () => {
  const verifier = parseVerifierKey(v.verifierKey);
  const note = v.signedNote as string;

  it('rejects every single-bit flip of the signature', () => {
    const line = splitNote(utf8(note)).signatures[0];
    for (let bit = 0; bit < line.signature.length * 8; bit++) {
      const sig = line.signature.slice();
      sig[bit >> 3] ^= 1 << (bit & 7);
      const text = note.slice(0, note.indexOf('\u2014'));
      const mutated = `${text}\u2014 ${line.name} ${toBase64(new Uint8Array([0xc7, 0x4f, 0x20, 0xa3, ...sig]))}\n`;
      expect(code(() => openNote(mutated, [verifier]))).toBe('invalid_signature');
    }
  });

  it('rejects a changed text', () => {
    expect(code(() => openNote(note.replace('cryptography', 'Cryptography'), [verifier]))).toBe('invalid_signature');
  });

  it('rejects malformed notes', () => {
    const sigLine = note.slice(note.indexOf('\u2014'));
    const cases: Record<string, string> = {
      'no blank line': note.replace('\n\n', '\n'),
      'no final newline': note.slice(0, -1),
      'trailing garbage': `${note}x`,
      'trailing blank line': `${note}\n`,
      'control character': note.replace('answer', 'ans\twer'),
      'carriage return': note.replace('answer', 'ans\rwer'),
      'hyphen instead of em dash': note.replace('\u2014', '-'),
      'double space': note.replace('\u2014 ', '\u2014  '),
      'short signature': note.replace(sigLine, '\u2014 PeterNeumann AQID\n'),
      'non-canonical base64': note.replace('nAM=', 'nAN='),
      'empty signatures': note.replace(sigLine, ''),
    };
    for (const [what, bad] of Object.entries(cases)) expect(() => openNote(bad, [verifier]), what).toThrow(NoteError);
    expect(
      code(() => openNote(new Uint8Array([...utf8(note.slice(0, 10)), 0xff, ...utf8(note.slice(10))]), [verifier])),
    ).toBe('malformed_note');
  });

  it('skips unknown keys, even ones sharing the name or the ID of a known key', () => {
    const otherId = `\u2014 PeterNeumann ${toBase64(new Uint8Array([1, 2, 3, 4, ...new Uint8Array(64)]))}\n`;
    const otherName = `\u2014 Someone ${toBase64(new Uint8Array([0xc7, 0x4f, 0x20, 0xa3, ...new Uint8Array(64)]))}\n`;
    const opened = openNote(note + otherId + otherName, [verifier]);
    expect(opened.verified).toHaveLength(1);
    expect(opened.unverified.map((s) => s.name)).toEqual(['PeterNeumann', 'Someone']);
  });

  it('accepts 16 signatures and refuses more than the limit', () => {
    const signers = Array.from({ length: 16 }, (_, i) => parseSignerKey(generateSignerKey(`k${i}`).signerKey));
    const sixteen = signNote('text\n', signers);
    expect(openNote(sixteen, [parseVerifierKey(signers[15].verifierKey)]).verified).toHaveLength(1);
    const filler = Array.from({ length: MAX_NOTE_SIGNATURES }, (_, i) => `\u2014 x${i} AAAAAAAA\n`).join('');
    expect(code(() => openNote(sixteen + filler, [parseVerifierKey(signers[0].verifierKey)]))).toBe(
      'too_many_signatures',
    );
  });

  it('appends signatures without changing the note and without duplicates', () => {
    const extra = parseSignerKey(generateSignerKey('witness').signerKey);
    const line = splitNote(utf8(signNote(v.text, [extra]))).signatures[0];
    const twice = appendSignatures(appendSignatures(note, [line]), [line]);
    expect(twice.startsWith(note)).toBe(true);
    expect(splitNote(utf8(twice)).signatures).toHaveLength(2);
    expect(openNote(twice, [verifier, parseVerifierKey(extra.verifierKey)]).verified).toHaveLength(2);
    expect(fromUtf8(utf8(twice))).toBe(twice);
  });

  it('refuses to sign malformed texts', () => {
    const signer = parseSignerKey(v.signerKey);
    expect(code(() => signNote('no newline', [signer]))).toBe('malformed_note');
    expect(code(() => signNote('tab\there\n', [signer]))).toBe('malformed_note');
    expect(code(() => signNote('ok\n', []))).toBe('malformed_note');
  });
});
