/** Checkpoints: format, signing, opening with witnesses, strict parsing, tampering. */
import { describe, expect, it } from 'vitest';
import { toBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { cosigner, makeCosignature, parseCosignerKey } from '../../../wasm-free-crypto/cosignature.js';
import {
  appendSignatures,
  formatSignatureLine,
  generateSignerKey,
  parseSignerKey,
  parseVerifierKey,
  splitNote,
} from '../../../wasm-free-crypto/note.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import {
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from '../../../verifier/formats/checkpoint.js';
import { errorCode } from '../../helpers/error-code.js';

const ORIGIN = 'example.com/kt-test';
const signer = parseSignerKey(generateSignerKey(ORIGIN).signerKey);
const logKey = parseVerifierKey(signer.verifierKey);
const root = sha256(utf8('root'));
const w1 = cosigner('w1.example', sha256(utf8('w1')), () => 1767139200n);
const w2 = cosigner('w2.example', sha256(utf8('w2')), () => 1767139201n);

const code = errorCode;

describe('checkpoints', () => {
  it('formats the three lines of tlog-checkpoint', () => {
    expect(formatCheckpoint({ origin: ORIGIN, size: 0, rootHash: root })).toBe(`${ORIGIN}\n0\n${toBase64(root)}\n`);
  });

  it('signs and opens, returning the verified cosignatures with their timestamps', () => {
    const note = signCheckpoint({ origin: ORIGIN, size: 300, rootHash: root }, signer);
    const text = splitNote(utf8(note)).textBytes;
    const cosigned = appendSignatures(note, [
      makeCosignature(w1, text, 1767139200n),
      makeCosignature(w2, text, 1767139201n),
    ]);
    const opened = openCheckpoint(
      cosigned,
      ORIGIN,
      logKey,
      [w1, w2].map((w) => parseCosignerKey(w.verifierKey)),
    );
    expect(opened.checkpoint.size).toBe(300);
    expect(opened.checkpoint.rootHash).toEqual(root);
    expect(opened.cosignatures.map((c) => [c.name, c.timestamp])).toEqual([
      ['w1.example', 1767139200n],
      ['w2.example', 1767139201n],
    ]);
    expect(opened.note).toBe(cosigned);
  });

  it('refuses a checkpoint without the log signature, with another origin, or with a bad witness signature', () => {
    const note = signCheckpoint({ origin: ORIGIN, size: 1, rootHash: root }, signer);
    const other = parseSignerKey(generateSignerKey(ORIGIN).signerKey);
    expect(code(() => openCheckpoint(note, ORIGIN, parseVerifierKey(other.verifierKey)))).toBe('unverified_note');
    expect(code(() => openCheckpoint(note, 'example.com/other', logKey))).toBe('wrong_origin');
    const text = splitNote(utf8(note)).textBytes;
    const bad = makeCosignature(w1, text, 5n);
    bad.signature[10] ^= 1;
    const witnessKey = parseCosignerKey(w1.verifierKey);
    expect(code(() => openCheckpoint(appendSignatures(note, [bad]), ORIGIN, logKey, [witnessKey]))).toBe(
      'invalid_signature',
    );
    const witnessOnly = `${formatCheckpoint({ origin: ORIGIN, size: 1, rootHash: root })}\n${formatSignatureLine(makeCosignature(w1, text, 5n))}`;
    expect(code(() => openCheckpoint(witnessOnly, ORIGIN, logKey, [witnessKey]))).toBe('unverified_note');
  });

  it('rejects every bit flip of the log signature', () => {
    const note = signCheckpoint({ origin: ORIGIN, size: 7, rootHash: root }, signer);
    const { text, signatures } = splitNote(utf8(note));
    for (let bit = 0; bit < 64 * 8; bit++) {
      const sig = signatures[0].signature.slice();
      sig[bit >> 3] ^= 1 << (bit & 7);
      expect(
        code(() =>
          openCheckpoint(`${text}\n${formatSignatureLine({ ...signatures[0], signature: sig })}`, ORIGIN, logKey),
        ),
      ).toBe('invalid_signature');
    }
  });

  it('accepts a checkpoint carrying 16 large unknown signatures (post-quantum sized)', () => {
    const note = signCheckpoint({ origin: ORIGIN, size: 3, rootHash: root }, signer);
    const big = Array.from({ length: 16 }, (_, i) => ({
      name: `pq${i}.example`,
      keyId: i,
      signature: new Uint8Array(4700).fill(i),
    }));
    const opened = openCheckpoint(appendSignatures(note, big), ORIGIN, logKey);
    expect(opened.checkpoint.size).toBe(3);
  });

  it('parses strictly', () => {
    const r = toBase64(root);
    const bad: Record<string, string> = {
      'two lines': `${ORIGIN}\n1\n`,
      'leading zero': `${ORIGIN}\n01\n${r}\n`,
      'negative size': `${ORIGIN}\n-1\n${r}\n`,
      'empty origin': `\n1\n${r}\n`,
      'short root': `${ORIGIN}\n1\n${toBase64(root.subarray(1))}\n`,
      'non-canonical base64': `${ORIGIN}\n1\n${r.slice(0, -2)}V=\n`,
      'no final newline': `${ORIGIN}\n1\n${r}`,
      'empty extension': `${ORIGIN}\n1\n${r}\n\n`,
      'extension line': `${ORIGIN}\n1\n${r}\next\n`,
      'carriage return': `${ORIGIN}\n1\r\n${r}\n`,
    };
    for (const [what, text] of Object.entries(bad))
      expect(
        code(() => parseCheckpoint(text)),
        what,
      ).toBe('bad_checkpoint');
    expect(parseCheckpoint(`${ORIGIN}\n1\n${r}\next\n`, { allowExtensions: true }).extensions).toEqual(['ext']);
  });
});
