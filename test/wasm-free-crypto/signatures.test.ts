import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { concatBytes, fromHex, toHex, utf8 } from '../../wasm-free-crypto/bytes.js';
import { ed25519Verify } from '../../wasm-free-crypto/ed25519.js';
import { sha512 } from '../../wasm-free-crypto/sha512.js';
import {
  ED25519_L,
  P256_N,
  normalizePublicKey,
  publicKeyFor,
  resetPlatformCache,
  signSync,
  verifySignature,
  verifySignatureSync,
  type SignatureAlgorithm,
} from '../../wasm-free-crypto/signatures.js';
import { errorCode } from '../helpers/error-code.js';

const ALGS: SignatureAlgorithm[] = ['ed25519', 'p256'];
const MSG = utf8('provider binding statement');

/** 'true', 'false' or the error code, from one verification path. */
async function outcome(f: () => boolean | Promise<boolean>): Promise<string> {
  try {
    return String(await f());
  } catch (e) {
    return (e as { code?: string }).code ?? 'untyped';
  }
}

/** Runs both paths, expects identical outcomes, returns the outcome. */
async function both(alg: SignatureAlgorithm, pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): Promise<string> {
  const sync = await outcome(() => verifySignatureSync(alg, pk, msg, sig));
  const async_ = await outcome(() => verifySignature(alg, pk, msg, sig));
  expect(async_, `${alg} sync=${sync} async=${async_} pk=${toHex(pk)} sig=${toHex(sig)}`).toBe(sync);
  return sync;
}

const leBytes = (n: bigint) => new Uint8Array(32).map((_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
const beBytes = (n: bigint) => leBytes(n).reverse();
const beNum = (b: Uint8Array) => BigInt('0x' + toHex(b));

function keyPair(alg: SignatureAlgorithm, fill: number) {
  const sk = new Uint8Array(32).fill(fill);
  return { sk, pk: publicKeyFor(alg, sk) };
}

afterEach(() => {
  vi.restoreAllMocks();
  resetPlatformCache();
});

describe('known answers', () => {
  it('reproduces RFC 8032 section 7.1 TEST 1 on both paths', async () => {
    const sk = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const sig = signSync('ed25519', sk, new Uint8Array(0));
    expect(toHex(publicKeyFor('ed25519', sk))).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    expect(toHex(sig)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(await both('ed25519', publicKeyFor('ed25519', sk), new Uint8Array(0), sig)).toBe('true');
  });

  it('reproduces RFC 6979 appendix A.2.5 (P-256, SHA-256), a high-S signature among them', async () => {
    const sk = fromHex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721');
    const pk = publicKeyFor('p256', sk);
    expect(toHex(pk)).toBe(
      '04' +
        '60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6' +
        '7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299',
    );
    const vectors = [
      [
        'sample',
        'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716',
        'f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8',
      ],
      [
        'test',
        'f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367',
        '019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083',
      ],
    ];
    for (const [msg, r, s] of vectors) {
      const sig = signSync('p256', sk, utf8(msg));
      expect(toHex(sig)).toBe(r + s);
      expect(await both('p256', pk, utf8(msg), sig)).toBe('true');
    }
    expect(beNum(fromHex(vectors[0][2])) > P256_N / 2n).toBe(true); // "sample" has a high S
  });
});

describe('round trips and agreement on valid and invalid signatures', () => {
  for (const alg of ALGS) {
    it(`${alg}: sign/verify round trip, wrong message, wrong key`, async () => {
      for (let i = 1; i <= 5; i++) {
        const sk = new Uint8Array(32);
        globalThis.crypto.getRandomValues(sk);
        const pk = publicKeyFor(alg, sk);
        const sig = signSync(alg, sk, MSG);
        expect(sig.length).toBe(64);
        expect(await both(alg, pk, MSG, sig)).toBe('true');
        expect(await both(alg, pk, utf8('another statement'), sig)).toBe('false');
        expect(await both(alg, keyPair(alg, i).pk, MSG, sig)).toBe('false');
      }
    });

    it(`${alg}: every single-bit flip of a signature fails on both paths`, async () => {
      const { sk, pk } = keyPair(alg, 42);
      const sig = signSync(alg, sk, MSG);
      for (let bit = 0; bit < 512; bit++) {
        const bad = sig.slice();
        bad[bit >> 3] ^= 1 << (bit & 7);
        expect(await both(alg, pk, MSG, bad)).toBe('false');
      }
    });

    it(`${alg}: wrong lengths and unknown algorithms throw the same codes on both paths`, async () => {
      const { sk, pk } = keyPair(alg, 3);
      const sig = signSync(alg, sk, MSG);
      expect(await both(alg, pk, MSG, sig.subarray(0, 63))).toBe('bad_signature_encoding');
      expect(await both(alg, pk, MSG, concatBytes(sig, new Uint8Array(1)))).toBe('bad_signature_encoding');
      expect(await both(alg, pk.subarray(1), MSG, sig)).toBe('bad_public_key');
      expect(await both(alg, new Uint8Array(0), MSG, sig)).toBe('bad_public_key');
      expect(await both('rsa' as SignatureAlgorithm, pk, MSG, sig)).toBe('unknown_algorithm');
      expect(errorCode(() => signSync('ed448' as SignatureAlgorithm, sk, MSG))).toBe('unknown_algorithm');
      expect(errorCode(() => signSync(alg, sk.subarray(1), MSG))).toBe('bad_secret_key');
    });

    it(`${alg}: falls back to pure JS with identical results when the platform lacks the algorithm`, async () => {
      const { sk, pk } = keyPair(alg, 5);
      const sig = signSync(alg, sk, MSG);
      const spy = vi
        .spyOn(globalThis.crypto.subtle, 'importKey')
        .mockRejectedValue(new DOMException('no', 'NotSupportedError'));
      expect(await both(alg, pk, MSG, sig)).toBe('true');
      expect(await both(alg, pk, utf8('x'), sig)).toBe('false');
      expect(spy).toHaveBeenCalledTimes(1); // remembered: not retried on the second call
    });

    it(`${alg}: verifications started together import the key once; a failed import is tried again`, async () => {
      const { sk, pk } = keyPair(alg, 6);
      const sig = signSync(alg, sk, MSG);
      const spy = vi.spyOn(globalThis.crypto.subtle, 'importKey');
      const verdicts = await Promise.all(Array.from({ length: 20 }, () => verifySignature(alg, pk, MSG, sig)));
      expect(verdicts).toEqual(Array(20).fill(true));
      expect(spy).toHaveBeenCalledTimes(1);
      resetPlatformCache();
      spy.mockRejectedValueOnce(new DOMException('busy', 'OperationError'));
      expect(await verifySignature(alg, pk, MSG, sig)).toBe(true); // the pure-JS answer
      expect(await verifySignature(alg, pk, utf8('x'), sig)).toBe(false);
      expect(spy).toHaveBeenCalledTimes(3); // not kept: imported again, then reused
      expect(await verifySignature(alg, pk, MSG, sig)).toBe(true);
      expect(spy).toHaveBeenCalledTimes(3);
      spy.mockRestore();
    });
  }
});

describe('Ed25519 strictness', () => {
  const { sk, pk } = keyPair('ed25519', 7);
  const sig = signSync('ed25519', sk, MSG);
  const { scalar: a } = ed25519.utils.getExtendedPublicKey(sk);

  /** A signature by scalar `a` under the public key bytes `A`, with nonce point r*B (or `R` given). */
  function rawSign(A: Uint8Array, msg: Uint8Array, r: bigint, R = ed25519.Point.BASE.multiply(r).toBytes()) {
    const k = BigInt('0x' + toHex(sha512(R, A, msg).reverse())) % ED25519_L;
    return { k, sig: concatBytes(R, leBytes((r + k * a) % ED25519_L)) };
  }

  it('agrees with the project Ed25519 and noble on honest signatures', async () => {
    expect(ed25519Verify(pk, MSG, sig)).toBe(true);
    expect(ed25519.verify(sig, MSG, pk, { zip215: false })).toBe(true);
    expect(rawSign(pk, MSG, 12345n).sig).toHaveLength(64);
    expect(await both('ed25519', pk, MSG, rawSign(pk, MSG, 12345n).sig)).toBe('true');
  });

  it('refuses s + L (malleability) and s = L', async () => {
    const s = BigInt('0x' + toHex(sig.slice(32).reverse()));
    expect(await both('ed25519', pk, MSG, concatBytes(sig.subarray(0, 32), leBytes(s + ED25519_L)))).toBe('false');
    expect(await both('ed25519', pk, MSG, concatBytes(sig.subarray(0, 32), leBytes(ED25519_L)))).toBe('false');
  });

  it('throws bad_public_key for every non-canonical public key encoding (y >= p, and x = 0 with the sign bit)', async () => {
    for (let t = 0; t <= 18; t++) {
      for (const sign of [0, 0x80]) {
        const enc = new Uint8Array(32).fill(0xff);
        enc[0] = 0xed + t;
        enc[31] = 0x7f | sign;
        expect(await both('ed25519', enc, MSG, sig)).toBe('bad_public_key');
      }
    }
    const minusZero = [fromHex('01' + '00'.repeat(30) + '80'), fromHex('ec' + 'ff'.repeat(30) + 'ff')];
    for (const enc of minusZero) expect(await both('ed25519', enc, MSG, sig)).toBe('bad_public_key');
  });

  it('throws bad_public_key for all eight small-order public keys, and for a y with no curve point', async () => {
    for (const h of ED25519_TORSION_SUBGROUP)
      expect(await both('ed25519', fromHex(h), MSG, sig)).toBe('bad_public_key');
    // With A = identity, (R = identity, s = 0) satisfies the equation for every message; Node 20's WebCrypto
    // accepts it (OpenSSL does not refuse small-order points), the pre-check refuses the key on both paths.
    const identity = fromHex(ED25519_TORSION_SUBGROUP[0]);
    expect(await both('ed25519', identity, MSG, concatBytes(identity, new Uint8Array(32)))).toBe('bad_public_key');
    let offCurve: Uint8Array | undefined;
    for (let y = 2; offCurve === undefined; y++) {
      const enc = leBytes(BigInt(y));
      if (!ed25519.utils.isValidPublicKey(enc, false)) offCurve = enc;
    }
    expect(await both('ed25519', offCurve, MSG, sig)).toBe('bad_public_key');
    expect(errorCode(() => normalizePublicKey('ed25519', offCurve))).toBe('bad_public_key');
  });

  it('refuses exactly the keys whose point does not decode, as the full decoding does (random and edge y)', () => {
    // normalizePublicKey decides "on the curve" by a Jacobi symbol without computing x: it must agree with
    // noble's strict RFC 8032 decoding (which also refuses y >= p and x = 0 with the sign bit) on every key
    // that is not of small order.
    const noble = (enc: Uint8Array) => {
      try {
        ed25519.Point.fromBytes(enc, false);
        return true;
      } catch {
        return false;
      }
    };
    const p = 2n ** 255n - 19n;
    const edges = [0n, 1n, 2n, 3n, p - 3n, p - 2n, p - 1n, 2n ** 254n, 2n ** 254n + 1n, 2n ** 128n - 1n];
    const keys = [
      ...edges.flatMap((y) => [leBytes(y), Uint8Array.of(...leBytes(y).subarray(0, 31), leBytes(y)[31] | 0x80)]),
      ...Array.from({ length: 3000 }, () => crypto.getRandomValues(new Uint8Array(32))),
      ...Array.from({ length: 200 }, () => ed25519.utils.randomSecretKey()).map((k) => ed25519.getPublicKey(k)),
    ];
    let onCurve = 0;
    let offCurve = 0;
    for (const enc of keys) {
      if (ED25519_TORSION_SUBGROUP.includes(toHex(enc))) continue; // points, refused for their order (above)
      const ours = errorCode(() => normalizePublicKey('ed25519', enc));
      expect(ours, toHex(enc)).toBe(noble(enc) ? 'no error' : 'bad_public_key');
      if (noble(enc)) onCurve++;
      else offCurve++;
    }
    expect(onCurve).toBeGreaterThan(1500); // about half of random y have a point
    expect(offCurve).toBeGreaterThan(1000);
  });

  it('returns false for a small-order or non-canonical R, even when the equation would hold', async () => {
    const identity = fromHex(ED25519_TORSION_SUBGROUP[0]);
    const forged = rawSign(pk, MSG, 0n, identity); // s = k*a: [S]B = R + [k]A holds with R = identity
    expect(ed25519.verify(forged.sig, MSG, pk, { zip215: false })).toBe(true); // noble alone accepts it
    expect(ed25519Verify(pk, MSG, forged.sig)).toBe(false); // the project's note verification does not
    expect(await both('ed25519', pk, MSG, forged.sig)).toBe('false');
    for (const h of ED25519_TORSION_SUBGROUP)
      expect(await both('ed25519', pk, MSG, concatBytes(fromHex(h), sig.subarray(32)))).toBe('false');
    const rNonCanonical = new Uint8Array(32).fill(0xff);
    rNonCanonical[0] = 0xee; // y = p + 1
    rNonCanonical[31] = 0x7f;
    expect(await both('ed25519', pk, MSG, concatBytes(rNonCanonical, sig.subarray(32)))).toBe('false');
  });

  it('uses the cofactorless equation: a mixed-order key A + T verifies only when [k]T = 0, on both paths', async () => {
    const T = ed25519.Point.fromBytes(fromHex(ED25519_TORSION_SUBGROUP[3]));
    expect(T.multiplyUnsafe(4n).is0()).toBe(false); // order 8
    const mixed = ed25519.Point.fromBytes(pk).add(T).toBytes();
    const seen = new Set<string>();
    for (let i = 1n; seen.size < 2 && i < 200n; i++) {
      const { k, sig: s } = rawSign(mixed, MSG, i);
      const expected = k % 8n === 0n ? 'true' : 'false';
      expect(await both('ed25519', mixed, MSG, s)).toBe(expected);
      if (expected === 'false') expect(ed25519.verify(s, MSG, mixed, { zip215: false })).toBe(true); // cofactored accepts
      seen.add(expected);
    }
    expect([...seen].sort()).toEqual(['false', 'true']);
  });
});

describe('P-256 strictness', () => {
  const { sk, pk } = keyPair('p256', 11);
  const sig = signSync('p256', sk, MSG);
  const r = beNum(sig.subarray(0, 32));
  const s = beNum(sig.subarray(32));
  const withRS = (rr: bigint, ss: bigint) => concatBytes(beBytes(rr), beBytes(ss));

  it('accepts both S and n - S (FIPS 186-5 does not normalise S)', async () => {
    expect(await both('p256', pk, MSG, withRS(r, P256_N - s))).toBe('true');
    expect(await both('p256', pk, MSG, withRS(r, s))).toBe('true');
  });

  it('returns false for r or s equal to 0, n, or above n', async () => {
    const max = 2n ** 256n - 1n;
    for (const [rr, ss] of [
      [0n, s],
      [r, 0n],
      [P256_N, s],
      [r, P256_N],
      [max, s],
      [r, max],
      [0n, 0n],
    ]) {
      expect(await both('p256', pk, MSG, withRS(rr, ss))).toBe('false');
    }
    if (r + P256_N <= max) expect(await both('p256', pk, MSG, withRS(r + P256_N, s))).toBe('false');
    if (s + P256_N <= max) expect(await both('p256', pk, MSG, withRS(r, s + P256_N))).toBe('false');
  });

  it('accepts compressed keys, normalises them to 65 bytes, and refuses points off the curve', async () => {
    const compressed = concatBytes(new Uint8Array([2 + (pk[64] & 1)]), pk.subarray(1, 33));
    expect(toHex(normalizePublicKey('p256', compressed))).toBe(toHex(pk));
    expect(await both('p256', compressed, MSG, sig)).toBe('true');
    const flippedY = pk.slice();
    flippedY[64] ^= 1;
    expect(await both('p256', flippedY, MSG, sig)).toBe('bad_public_key');
    const wrongPrefix = pk.slice();
    wrongPrefix[0] = 6;
    expect(await both('p256', wrongPrefix, MSG, sig)).toBe('bad_public_key');
    expect(await both('p256', concatBytes(new Uint8Array([4]), pk.subarray(1, 33)), MSG, sig)).toBe('bad_public_key');
    expect(
      await both(
        'p256',
        new Uint8Array(65).fill(0).map((_, i) => (i === 0 ? 4 : 0)),
        MSG,
        sig,
      ),
    ).toBe('bad_public_key');
  });

  it('verifies signatures made by WebCrypto, and refuses out-of-range secret keys', async () => {
    const kp = (await globalThis.crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const raw = new Uint8Array(await globalThis.crypto.subtle.exportKey('raw', kp.publicKey));
    const webSig = new Uint8Array(
      await globalThis.crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, kp.privateKey, MSG.slice()),
    );
    expect(await both('p256', raw, MSG, webSig)).toBe('true');
    expect(errorCode(() => signSync('p256', new Uint8Array(32), MSG))).toBe('bad_secret_key');
    expect(errorCode(() => publicKeyFor('p256', beBytes(P256_N)))).toBe('bad_secret_key');
  });
});
