/**
 * Log entry encodings: round trips, exact layouts, strict decoding and tampering; the KEYTRANS heads entry's own
 * decoder (the KEYTRANS client's) as strict as the general one.
 */
import { describe, expect, it } from 'vitest';
import { toHex, u64be, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { decodeEntry, decodeKeyTransHeadsEntry, encodeEntry, type Entry } from '../../../verifier/formats/entries.js';
import { errorCode } from '../../helpers/error-code.js';

const h = (s: string) => sha256(utf8(s));
const samples: Entry[] = [
  { type: 'update', label: h('label'), version: 7, commitment: h('c') },
  {
    type: 'epoch',
    epoch: 12,
    time: 1767139200000,
    mapRoot: h('root'),
    credentialsRoot: h('creds'),
    credentialCount: 3,
    firstIndex: 1000,
    count: 42,
  },
  {
    type: 'enrol',
    providerId: 'chat.example',
    time: 1767139200000,
    algorithm: 'ed25519',
    publicKey: h('pk'),
    notBefore: 1767000000000,
    notAfter: 1800000000000,
    chain: [new Uint8Array([0x30, 1, 2]), new Uint8Array([0x30, 3])],
  },
  {
    type: 'enrol',
    providerId: 'p.example',
    time: 1,
    algorithm: 'p256',
    publicKey: new Uint8Array(65).fill(4),
    notBefore: 0,
    notAfter: 2,
    chain: [new Uint8Array([0x30])],
  },
  {
    type: 'revoke',
    providerId: 'chat.example',
    time: 1767139300000,
    leafFingerprint: h('leaf'),
    reason: 'key compromise',
  },
];

describe('log entries', () => {
  it('round-trip every kind', () => {
    for (const e of samples) expect(decodeEntry(encodeEntry(e))).toEqual(e);
  });

  it('lay out updates and epoch heads exactly as documented', () => {
    const u = encodeEntry(samples[0]);
    expect(u.length).toBe(73);
    expect(toHex(u)).toBe(`02${toHex(h('label'))}0000000000000007${toHex(h('c'))}`);
    const e = encodeEntry(samples[1]);
    expect(e.length).toBe(105);
    expect(toHex(e)).toBe(
      `03${toHex(u64be(12))}${toHex(u64be(1767139200000))}${toHex(h('root'))}${toHex(h('creds'))}${toHex(u64be(3))}${toHex(u64be(1000))}${toHex(u64be(42))}`,
    );
  });

  it('refuses truncation, trailing bytes, unknown types and non-canonical values', () => {
    for (const e of samples) {
      const b = encodeEntry(e);
      for (let n = 0; n < b.length; n++)
        expect(
          errorCode(() => decodeEntry(b.subarray(0, n))),
          `${e.type} cut at ${n}`,
        ).not.toBe('no error');
      expect(errorCode(() => decodeEntry(new Uint8Array([...b, 0])))).toBe('entry_malformed');
    }
    expect(errorCode(() => decodeEntry(new Uint8Array([0x09])))).toBe('entry_unknown_type');
    const zeroVersion = encodeEntry(samples[0]);
    zeroVersion.fill(0, 33, 41);
    expect(errorCode(() => decodeEntry(zeroVersion))).toBe('entry_malformed');
    const huge = encodeEntry(samples[1]);
    huge[1] = 0xff;
    expect(errorCode(() => decodeEntry(huge))).toBe('entry_malformed');
  });

  it('every single-byte change either is refused or decodes to a different entry', () => {
    for (const e of samples) {
      const b = encodeEntry(e);
      for (let i = 0; i < b.length; i++) {
        const m = b.slice();
        m[i] ^= 0x01;
        let decoded: Entry | undefined;
        try {
          decoded = decodeEntry(m);
        } catch {
          continue;
        }
        expect(decoded).not.toEqual(e);
        expect(encodeEntry(decoded)).toEqual(m);
      }
    }
  });

  it('refuses to encode bad values', () => {
    expect(errorCode(() => encodeEntry({ ...(samples[0] as any), label: new Uint8Array(31) }))).toBe('entry_malformed');
    expect(errorCode(() => encodeEntry({ ...(samples[0] as any), version: 0 }))).toBe('entry_malformed');
    expect(errorCode(() => encodeEntry({ ...(samples[2] as any), chain: [] }))).toBe('entry_malformed');
    expect(errorCode(() => encodeEntry({ ...(samples[2] as any), publicKey: new Uint8Array(33) }))).toBe(
      'entry_malformed',
    );
    expect(errorCode(() => encodeEntry({ ...(samples[2] as any), chain: [new Uint8Array(70_000)] }))).toBe(
      'entry_malformed',
    );
    expect(errorCode(() => encodeEntry({ ...(samples[4] as any), reason: 'bad\nreason' }))).toBe('entry_malformed');
  });
});

describe('the KEYTRANS heads entry, decoded alone', () => {
  const head = { treeSize: 9, root: h('r'), signature: h('s'), timestamp: 5, prefixRoot: h('p') };
  const entry: Entry = {
    type: 'keytrans',
    epoch: 4,
    heads: [
      { providerId: 'chat.example', ...head },
      { providerId: 'p.example', ...head, treeSize: 1 },
    ],
  };

  it('gives what decodeEntry gives, and refuses whatever it refuses, other entry types too', () => {
    const bytes = encodeEntry(entry);
    expect(decodeKeyTransHeadsEntry(bytes)).toEqual(decodeEntry(bytes));
    for (let i = 0; i < bytes.length; i++) {
      const flipped = bytes.slice();
      flipped[i] ^= 1 << (i % 8);
      const code = errorCode(() => decodeEntry(flipped));
      if (code === 'no error') expect(decodeKeyTransHeadsEntry(flipped), `byte ${i}`).toEqual(decodeEntry(flipped));
      else
        expect(
          errorCode(() => decodeKeyTransHeadsEntry(flipped)),
          `byte ${i}`,
        ).toBe(code);
    }
    for (const e of samples)
      expect(errorCode(() => decodeKeyTransHeadsEntry(encodeEntry(e)))).toBe('entry_unknown_type');
    const trailing = new Uint8Array([...bytes, 0]);
    expect(errorCode(() => decodeKeyTransHeadsEntry(trailing))).toBe(errorCode(() => decodeEntry(trailing)));
  });
});
