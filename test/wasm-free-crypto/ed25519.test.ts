/** Ed25519: RFC 8032 vectors and strict verification. */
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../wasm-free-crypto/bytes.js';
import {
  ed25519KeyPairFromSeed,
  ed25519Sign,
  ed25519Verify,
  generateEd25519KeyPair,
} from '../../wasm-free-crypto/ed25519.js';

// RFC 8032 section 7.1, TEST 1 and TEST 2.
const TESTS = [
  {
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

describe('Ed25519 (RFC 8032)', () => {
  it('reproduces the RFC 8032 test vectors', () => {
    for (const t of TESTS) {
      const kp = ed25519KeyPairFromSeed(fromHex(t.sk));
      expect(toHex(kp.publicKey)).toBe(t.pk);
      expect(toHex(ed25519Sign(kp.secretKey, fromHex(t.msg)))).toBe(t.sig);
      expect(ed25519Verify(kp.publicKey, fromHex(t.msg), fromHex(t.sig))).toBe(true);
    }
  });

  it('rejects every bit flip, wrong lengths and a non-canonical s (s + L)', () => {
    const t = TESTS[1];
    const pk = fromHex(t.pk);
    const sig = fromHex(t.sig);
    for (let bit = 0; bit < 512; bit++) {
      const bad = sig.slice();
      bad[bit >> 3] ^= 1 << (bit & 7);
      expect(ed25519Verify(pk, fromHex(t.msg), bad)).toBe(false);
    }
    expect(ed25519Verify(pk, fromHex(t.msg), sig.subarray(0, 63))).toBe(false);
    expect(ed25519Verify(pk.subarray(1), fromHex(t.msg), sig)).toBe(false);
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]);
    const sPlusL = s + L;
    const sBytes = new Uint8Array(32).map((_, i) => Number((sPlusL >> BigInt(8 * i)) & 0xffn));
    const malleable = concatBytes(sig.subarray(0, 32), sBytes);
    expect(ed25519Verify(pk, fromHex(t.msg), malleable)).toBe(false);
  });

  it('generates working random key pairs and refuses bad seeds', () => {
    const kp = generateEd25519KeyPair();
    const msg = new Uint8Array([1, 2, 3]);
    expect(ed25519Verify(kp.publicKey, msg, ed25519Sign(kp.secretKey, msg))).toBe(true);
    expect(() => ed25519KeyPairFromSeed(new Uint8Array(31))).toThrow(/32 bytes/);
  });
});
