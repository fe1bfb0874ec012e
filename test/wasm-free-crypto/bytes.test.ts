/** Byte codecs: strict base64 and hex, constant-time comparison, integers, UTF-8. */
import { describe, expect, it } from 'vitest';
import {
  base64Length,
  equalBytes,
  fromBase64,
  fromHex,
  fromUtf8,
  parseDecimal,
  readSafeU64be,
  readU64be,
  toBase64,
  toBase64Js,
  toHex,
  u64be,
  writeBase64,
} from '../../wasm-free-crypto/bytes.js';

describe('bytes', () => {
  it('round-trips base64 for every length up to 64 and matches the platform encoder', () => {
    for (let n = 0; n <= 64; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + n) & 255);
      const s = toBase64(b);
      expect(s).toBe(btoa(String.fromCharCode(...b)));
      expect(fromBase64(s)).toEqual(b);
    }
  });

  it('gives the same base64 through the platform fast path and the pure encoder', () => {
    for (const n of [47, 48, 49, 100, 8191, 8192, 8193, 20000]) {
      const b = new Uint8Array(n).map((_, i) => (i * 131 + n) & 255);
      expect(toBase64(b), `length ${n}`).toBe(toBase64Js(b));
      expect(fromBase64(toBase64(b))).toEqual(b);
    }
  });

  it('writes the same base64 into a byte buffer, at an offset, without touching anything else', () => {
    for (let n = 0; n <= 70; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 59 + 3 * n) & 255);
      const out = new Uint8Array(base64Length(n) + 10).fill(0xaa);
      const end = writeBase64(out, 5, b);
      expect(end).toBe(5 + base64Length(n));
      expect(fromUtf8(out.subarray(5, end))).toBe(toBase64(b));
      expect([...out.subarray(0, 5), ...out.subarray(end)].every((x) => x === 0xaa)).toBe(true);
    }
  });

  it('encodes uint64 numbers without BigInt exactly as through BigInt, and reads safe ones back', () => {
    for (const n of [0, 1, 255, 256, 0xffffffff, 0x100000000, 0x1234567890ab, Number.MAX_SAFE_INTEGER, 2 ** 52 + 7]) {
      const viaBigInt = u64be(BigInt(n));
      expect(u64be(n), String(n)).toEqual(viaBigInt);
      expect(readSafeU64be(viaBigInt)).toBe(n);
      expect(readU64be(viaBigInt)).toBe(BigInt(n));
    }
    expect(() => readSafeU64be(u64be(2n ** 53n))).toThrow(/2\^53/);
    expect(() => readSafeU64be(new Uint8Array(7))).toThrow(/truncated/);
    expect(readSafeU64be(new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 2)).toBe(1);
    expect(() => u64be(-1)).toThrow();
  });

  it('rejects non-canonical base64', () => {
    for (const bad of [
      'QQ',
      'QR==',
      'QUF=x',
      'QUJ=',
      ' QUFB',
      'QUFB\n',
      'QU=B',
      'Q===',
      '====',
      'QUFB====',
      'QU-_',
      'Q\u00e9==',
    ]) {
      expect(() => fromBase64(bad), bad).toThrow(/base64/);
    }
  });

  it('hex is lower-case only and strict', () => {
    expect(toHex(new Uint8Array([0, 15, 255]))).toBe('000fff');
    expect(fromHex('000fff')).toEqual(new Uint8Array([0, 15, 255]));
    for (const bad of ['0', '0G', '0F', 'zz', ' 00']) expect(() => fromHex(bad), bad).toThrow();
  });

  it('compares bytes by content and length', () => {
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
  });

  it('parses only canonical decimals', () => {
    expect(parseDecimal('0')).toBe(0);
    expect(parseDecimal('300')).toBe(300);
    for (const bad of ['', '01', '-1', '+1', '1.0', '1e3', ' 1', '99999999999999999'])
      expect(() => parseDecimal(bad), bad).toThrow();
  });

  it('encodes uint64 big-endian and decodes UTF-8 strictly', () => {
    expect(toHex(u64be(1767139200))).toBe('0000000069546780');
    expect(readU64be(u64be(2n ** 64n - 1n))).toBe(2n ** 64n - 1n);
    expect(() => u64be(-1)).toThrow();
    expect(() => fromUtf8(new Uint8Array([0xc3, 0x28]))).toThrow(/UTF-8/);
  });
});
