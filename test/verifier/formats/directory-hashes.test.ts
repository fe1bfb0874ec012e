/**
 * The directory's hashes (verifier/formats/directory-hashes.ts): the VRF input's layout and its bounds, so that no
 * length ever wraps in its prefix (docs/PROTOCOL.md sections 11, 12.1 and 12.2), and the signed statement bytes.
 */
import { describe, expect, it } from 'vitest';
import { concatBytes, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { signedStatementBytes, vrfAlpha } from '../../../verifier/formats/directory-hashes.js';

/** A provider id of exactly `n` bytes: labels of 62 letters (n must not be a multiple of 63). */
const providerOf = (n: number): string => `${'a'.repeat(62)}.`.repeat(5).slice(0, n);

describe('vrfAlpha', () => {
  it('is D("kt/v1/vrf") || u8 len || provider || u16 len || account', () => {
    expect(vrfAlpha('chat.example', 'alice@chat.example')).toEqual(
      concatBytes(
        utf8('kt/v1/vrf\u0000'),
        Uint8Array.of(12),
        utf8('chat.example'),
        Uint8Array.of(0, 18),
        utf8('alice@chat.example'),
      ),
    );
  });

  it('takes provider ids up to 253 bytes and accounts up to 256 bytes, and refuses longer ones instead of wrapping', () => {
    for (const n of [253, 254, 255, 256, 300]) expect(providerOf(n)).toHaveLength(n);
    const alpha = vrfAlpha(providerOf(253), 'é'.repeat(128)); // 256 bytes of UTF-8
    expect(alpha[10]).toBe(253);
    expect([alpha[10 + 1 + 253], alpha[10 + 2 + 253]]).toEqual([1, 0]);
    // A one-byte prefix would wrap at 256 (300 -> 44): the provider is refused, whatever its shape.
    for (const n of [254, 255, 256, 300]) expect(() => vrfAlpha(providerOf(n), 'a')).toThrow(RangeError);
    for (const p of ['', 'localhost', 'Chat.example', 'a'.repeat(64) + '.example'])
      expect(() => vrfAlpha(p, 'a')).toThrow(RangeError);
    // A two-byte prefix would wrap at 65,536 (65,541 -> 5); anything over the account bound is refused.
    for (const a of ['', 'a'.repeat(257), 'é'.repeat(129), 'a'.repeat(65_541)])
      expect(() => vrfAlpha('chat.example', a)).toThrow(RangeError);
  });
});

describe('signedStatementBytes', () => {
  it('is u32 len || statement || u16 len || signature, and refuses a signature that does not fit its prefix', () => {
    expect(signedStatementBytes(Uint8Array.of(7), Uint8Array.of(1, 2))).toEqual(
      Uint8Array.of(0, 0, 0, 1, 7, 0, 2, 1, 2),
    );
    expect(signedStatementBytes(Uint8Array.of(7), new Uint8Array(0xffff)).length).toBe(4 + 1 + 2 + 0xffff);
    expect(() => signedStatementBytes(Uint8Array.of(7), new Uint8Array(0x10000))).toThrow(RangeError);
  });
});
