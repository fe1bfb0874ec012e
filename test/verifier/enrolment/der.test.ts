/**
 * The strict DER reader of verifier/enrolment/der.ts and the validity times of verifier/enrolment/time.ts,
 * value by value: minimal definite lengths, exact containers, minimal INTEGERs, DER BOOLEANs, BIT STRING
 * padding and named bit lists, OBJECT IDENTIFIERs; UTCTime and GeneralizedTime as RFC 5280 section 4.1.2.5
 * allows them, and nothing else. Every refusal is a ProviderError `cert_parse`.
 */
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../../wasm-free-crypto/bytes.js';
import {
  readBitString,
  readBoolean,
  readChildren,
  readInteger,
  readNamedBits,
  readOid,
  readTlv,
  readWhole,
  TAG,
} from '../../../verifier/enrolment/der.js';
import { readTime } from '../../../verifier/enrolment/time.js';

const parseError = expect.objectContaining({ name: 'ProviderError', code: 'cert_parse' });
/** Reads `hex` as one whole TLV and applies `f` to it. */
const whole = <T>(hex: string, f: (der: Uint8Array, t: ReturnType<typeof readTlv>) => T): T => {
  const der = fromHex(hex);
  return f(der, readTlv(der, 0, der.length));
};

describe('TLV framing (X.690 sections 8.1, 10.1)', () => {
  it('reads short and minimal long lengths', () => {
    expect(readTlv(fromHex('0403010203'), 0, 5)).toEqual({ tag: 4, start: 0, body: 2, end: 5 });
    const long = fromHex(`048180${'aa'.repeat(128)}`);
    expect(readTlv(long, 0, long.length)).toMatchObject({ body: 3, end: 131 });
    const longer = fromHex(`04820100${'aa'.repeat(256)}`);
    expect(readTlv(longer, 0, longer.length)).toMatchObject({ body: 4, end: 260 });
  });

  it('refuses indefinite, non-minimal and oversized lengths, truncation, multi-byte tags, overruns', () => {
    const cases: [string, RegExp][] = [
      ['3080020100 0000', /indefinite/], // BER indefinite length
      ['048105 0102030405', /non-minimal/], // 5 in the long form
      ['04820005 0102030405', /non-minimal/], // leading zero length byte
      [`04820080${'aa'.repeat(128)}`, /non-minimal/], // 128 in two bytes
      ['0485 0000000001 00', /oversized/], // five length bytes
      ['04', /truncated/],
      ['', /truncated/],
      ['0403 0102', /past the end/],
      ['1f01 0100', /multi-byte DER tag/],
    ];
    for (const [hex, message] of cases) {
      const der = fromHex(hex.replace(/ /g, ''));
      expect(() => readTlv(der, 0, der.length), hex).toThrow(
        expect.objectContaining({ code: 'cert_parse', message: expect.stringMatching(message) }),
      );
    }
  });

  it('one whole value with nothing after it; children exactly fill their parent', () => {
    expect(() => readWhole(fromHex('3000'), TAG.sequence, 'x')).not.toThrow();
    expect(() => readWhole(fromHex('300000'), TAG.sequence, 'x')).toThrow(parseError); // trailing byte
    expect(() => readWhole(fromHex('3100'), TAG.sequence, 'x')).toThrow(parseError); // wrong tag
    expect(whole('3006 020101 020102'.replace(/ /g, ''), (d, t) => readChildren(d, t).length)).toBe(2);
    expect(() => whole('3005 020101 0201'.replace(/ /g, ''), readChildren)).toThrow(parseError); // child overruns
    expect(() => whole('0403 020101'.replace(/ /g, ''), readChildren)).toThrow(parseError); // primitive
  });
});

describe('values', () => {
  it('INTEGER: two’s complement in its fewest bytes (8.3.2)', () => {
    const int = (hex: string) => whole(hex, (d, t) => readInteger(d, t, 'n'));
    expect(int('020100')).toBe(0n);
    expect(int('02017f')).toBe(127n);
    expect(int('02020080')).toBe(128n);
    expect(int('0201ff')).toBe(-1n);
    expect(int('0202ff7f')).toBe(-129n);
    for (const bad of ['0200', '0202007f', '0202ff80', '0203000001']) expect(() => int(bad), bad).toThrow(parseError);
    expect(() => whole('0401 00'.replace(/ /g, ''), (d, t) => readInteger(d, t, 'n'))).toThrow(parseError);
  });

  it('BOOLEAN: exactly 0x00 or 0xFF (11.1)', () => {
    const bool = (hex: string) => whole(hex, (d, t) => readBoolean(d, t, 'b'));
    expect(bool('0101ff')).toBe(true);
    expect(bool('010100')).toBe(false);
    for (const bad of ['010101', '01017f', '0102ffff', '0100']) expect(() => bool(bad), bad).toThrow(parseError);
  });

  it('BIT STRING: 0-7 unused bits, zero padding (11.2.1); named bit lists without trailing zero bits (11.2.2)', () => {
    const bits = (hex: string) => whole(hex, (d, t) => readBitString(d, t, 'b'));
    expect(bits('030100').bytes).toHaveLength(0);
    expect(bits('03020780')).toMatchObject({ unused: 7 });
    for (const bad of ['0300', '030107', '030208ff', '03020781', '03020101'])
      expect(() => bits(bad), bad).toThrow(parseError);
    const named = (hex: string) => whole(hex, (d, t) => readNamedBits(d, t, 'ku'));
    expect(named('03020780')).toBe(1); // digitalSignature
    expect(named('03020106')).toBe((1 << 5) | (1 << 6)); // keyCertSign | cRLSign
    expect(named('0303070080')).toBe(1 << 8); // decipherOnly
    expect(named('030100')).toBe(0);
    for (const bad of ['03020680', '03020080', '0303078000']) expect(() => named(bad), bad).toThrow(parseError);
  });

  it('OBJECT IDENTIFIER: minimal base-128 sub-identifiers (8.19)', () => {
    const oid = (hex: string) => whole(hex, (d, t) => readOid(d, t, 'o'));
    expect(oid('06032b6570')).toBe('1.3.101.112');
    expect(oid('06082a8648ce3d030107')).toBe('1.2.840.10045.3.1.7');
    expect(oid('0603551d13')).toBe('2.5.29.19');
    expect(oid('06028837')).toBe('2.999');
    for (const bad of ['0600', '06022a86', '06032a8001', '06028001']) expect(() => oid(bad), bad).toThrow(parseError);
  });
});

describe('validity times (RFC 5280 section 4.1.2.5)', () => {
  const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
  const utc = (s: string) =>
    whole(`17${s.length.toString(16).padStart(2, '0')}${ascii(s)}`, (d, t) => readTime(d, t, 't'));
  const gen = (s: string) =>
    whole(`18${s.length.toString(16).padStart(2, '0')}${ascii(s)}`, (d, t) => readTime(d, t, 't'));

  it('UTCTime YYMMDDHHMMSSZ: 50-99 are 19xx, 00-49 are 20xx (4.1.2.5.1)', () => {
    expect(utc('491231235959Z')).toBe(Date.UTC(2049, 11, 31, 23, 59, 59));
    expect(utc('500101000000Z')).toBe(Date.UTC(1950, 0, 1));
    expect(utc('991231235959Z')).toBe(Date.UTC(1999, 11, 31, 23, 59, 59));
    expect(utc('000101000000Z')).toBe(Date.UTC(2000, 0, 1));
    expect(utc('240229120000Z')).toBe(Date.UTC(2024, 1, 29, 12));
  });

  it('GeneralizedTime YYYYMMDDHHMMSSZ, any year (4.1.2.5.2)', () => {
    expect(gen('20500101000000Z')).toBe(Date.UTC(2050, 0, 1));
    expect(gen('99991231235959Z')).toBe(Date.UTC(9999, 11, 31, 23, 59, 59)); // "no well-defined expiration"
    expect(gen('20251005120000Z')).toBe(Date.UTC(2025, 9, 5, 12));
    expect(gen('00490101000000Z')).toBe(new Date('0049-01-01T00:00:00Z').getTime()); // not 1949
    expect(gen('20000229000000Z')).toBe(Date.UTC(2000, 1, 29));
  });

  it('refuses fractional seconds, offsets, missing seconds or Z, and dates that do not exist', () => {
    const badUtc = [
      '4912312359Z',
      '491231235959',
      '491231235959+0000',
      '491231235959.5Z',
      '491331000000Z',
      '490230000000Z',
      '230229000000Z',
      '490431000000Z',
      '490101240000Z',
      '490101006000Z',
      '490101000060Z',
      '490100000000Z',
      '4901010000 0Z',
      '-90101000000Z',
    ];
    for (const s of badUtc) expect(() => utc(s), s).toThrow(parseError);
    const badGen = [
      '20250101000000.5Z',
      '20250101000000.000Z',
      '20250101000000',
      '20250101000000+0100',
      '202501010000Z',
      '2025010100Z',
      '19000229000000Z',
      '20250101000060Z',
      '250101000000Z',
    ];
    for (const s of badGen) expect(() => gen(s), s).toThrow(parseError);
    expect(() => whole('0403 313233'.replace(/ /g, ''), (d, t) => readTime(d, t, 't'))).toThrow(parseError); // not a time
  });
});
