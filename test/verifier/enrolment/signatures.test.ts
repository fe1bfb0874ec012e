/**
 * Certificate signatures as verifier/enrolment/ checks them, in pure JavaScript: RSA issuers (2048 and 3072
 * bits, SHA-256/384/512), and RSASSA-PKCS1-v1_5 verification compared byte for byte with the EMSA-PKCS1-v1_5
 * encoding (RFC 8017 sections 8.2.2 and 9.2) against forged encodings signed with a real private key; ECDSA
 * on P-256, P-384 and P-521 with each hash (the set WebCrypto verified before), the Ecdsa-Sig-Value parsed
 * strictly; Ed25519 issuers with S + L refused. Keys come from WebCrypto and node:crypto.
 */
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { p256 } from '@noble/curves/nist.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromBase64, fromHex, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { ED25519_L } from '../../../wasm-free-crypto/signatures.js';
import { validateProviderChain } from '../../../verifier/enrolment/chain.js';
import { emsaPkcs1v15Encode, verifyRsaPkcs1v15, type RsaPublicKey } from '../../../verifier/enrolment/rsa.js';
import { certTree, decodeTree, encodeTree, type DerNode } from '../../helpers/der-tree.js';
import { encodeTlv, makeIntermediate, makeLeaf, makeRoot, type PkiKeyType } from '../../helpers/pki.js';

const NOW = Date.now();
const check = (chain: Uint8Array[], roots: Uint8Array[]) =>
  validateProviderChain(chain, roots, NOW).then(
    () => 'ok',
    (e: { code?: string; message: string }) => `${e.code}: ${e.message}`,
  );

const rsaKeys = (modulusLength: number, hash: string) =>
  crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength, publicExponent: Uint8Array.of(1, 0, 1), hash },
    true,
    ['sign', 'verify'],
  ) as Promise<CryptoKeyPair>;
const ecKeys = (namedCurve: string) =>
  crypto.subtle.generateKey({ name: 'ECDSA', namedCurve }, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;

describe('RSA issuers', () => {
  it('2048 and 3072-bit keys with SHA-256, SHA-384 and SHA-512; a changed TBS fails', async () => {
    for (const [bits, hash] of [
      [2048, 'SHA-256'],
      [2048, 'SHA-384'],
      [2048, 'SHA-512'],
      [3072, 'SHA-256'],
    ] as const) {
      const root = await makeRoot({ keyType: 'rsa', keys: await rsaKeys(bits, hash), signingHash: hash });
      const inter = await makeIntermediate(root, {
        keyType: 'rsa',
        keys: await rsaKeys(2048, hash),
        signingHash: hash,
      });
      const leaf = await makeLeaf(inter, { signingHash: hash });
      expect(await check([leaf.der, inter.der], [root.der]), `${bits} ${hash}`).toBe('ok');
      const bad = leaf.der.slice();
      bad[20] ^= 1; // inside the serial number
      expect(await check([bad, inter.der], [root.der])).toMatch(/^cert_bad_signature/);
    }
  });
});

describe('RSASSA-PKCS1-v1_5 verification (RFC 8017 section 8.2.2)', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const big = (b64url: string) =>
    bytesToNumberBE(
      fromBase64(b64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64url.length % 4)) % 4)),
    );
  const key: RsaPublicKey = { n: big(jwk.n!), e: big(jwk.e!), bits: 2048 };
  const d = big(jwk.d!);
  const modPow = (b: bigint, e: bigint, m: bigint) => {
    let r = 1n;
    for (b %= m; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
    return r;
  };
  /** The RSA signature primitive on an arbitrary encoded message: what a forger with the private key makes. */
  const rawSign = (em: Uint8Array) => numberToBytesBE(modPow(bytesToNumberBE(em), d, key.n), 256);
  const msg = utf8('tbsCertificate');
  const digestInfo = (prefixHex: string, digest: Uint8Array) => concatBytes(fromHex(prefixHex), digest);
  const T256 = '3031300d060960864801650304020105000420';
  const pad = (t: Uint8Array, psLen = 256 - t.length - 3, block = 1) =>
    concatBytes(Uint8Array.of(0, block), new Uint8Array(psLen).fill(0xff), new Uint8Array(1), t);

  it('accepts the signature node:crypto makes and the encoding of section 9.2, nothing else', () => {
    const good = new Uint8Array(nodeSign('sha256', msg, privateKey));
    expect(verifyRsaPkcs1v15(key, 'SHA-256', msg, good)).toBe(true);
    expect(verifyRsaPkcs1v15(key, 'SHA-256', utf8('other'), good)).toBe(false);
    expect(verifyRsaPkcs1v15(key, 'SHA-384', msg, good)).toBe(false);
    const em = emsaPkcs1v15Encode('SHA-256', msg, 256)!;
    expect(rawSign(em)).toEqual(good);
    const t = digestInfo(T256, sha256(msg));
    const forged: [string, Uint8Array][] = [
      ['DigestInfo without the NULL parameters', pad(digestInfo('302f300b06096086480165030402010420', sha256(msg)))],
      ['block type 2', pad(t, undefined, 2)],
      [
        'a padding byte 0xfe',
        (() => {
          const e = pad(t);
          e[10] = 0xfe;
          return e;
        })(),
      ],
      ['garbage after the digest (short padding)', concatBytes(pad(t, 8), new Uint8Array(256 - 11 - t.length).fill(7))],
      ['the digest of another hash', pad(digestInfo('3041300d060960864801650304020205000430', sha384(msg)))],
      ['a DigestInfo with a long-form length', pad(concatBytes(fromHex('308131'), t.subarray(2)))],
    ];
    for (const [what, e] of forged) {
      expect(e.length, what).toBe(256);
      expect(verifyRsaPkcs1v15(key, 'SHA-256', msg, rawSign(e)), what).toBe(false);
    }
  });

  it('refuses signatures of the wrong length or out of range, and unusable keys', () => {
    const good = new Uint8Array(nodeSign('sha256', msg, privateKey));
    expect(verifyRsaPkcs1v15(key, 'SHA-256', msg, concatBytes(new Uint8Array(1), good))).toBe(false); // k + 1 bytes
    expect(verifyRsaPkcs1v15(key, 'SHA-256', msg, good.subarray(1))).toBe(false); // k - 1 bytes
    const plusN = bytesToNumberBE(good) + key.n;
    if (plusN < 1n << 2048n) expect(verifyRsaPkcs1v15(key, 'SHA-256', msg, numberToBytesBE(plusN, 256))).toBe(false);
    expect(verifyRsaPkcs1v15(key, 'SHA-256', msg, numberToBytesBE(key.n, 256))).toBe(false);
    const em = emsaPkcs1v15Encode('SHA-256', msg, 256)!;
    expect(verifyRsaPkcs1v15({ ...key, e: 1n }, 'SHA-256', msg, em)).toBe(false); // e = 1: the signature is the encoding
    expect(verifyRsaPkcs1v15({ ...key, n: key.n + 1n }, 'SHA-256', msg, good)).toBe(false); // even modulus
    expect(emsaPkcs1v15Encode('SHA-512', msg, 64 + 19 + 10)).toBeNull(); // RFC 8017 9.2 step 3
  });
});

describe('ECDSA issuers', () => {
  it('P-256, P-384 and P-521 keys, each with SHA-256, SHA-384 and SHA-512', async () => {
    for (const curve of ['P-256', 'P-384', 'P-521']) {
      const keys = await ecKeys(curve);
      for (const hash of ['SHA-256', 'SHA-384', 'SHA-512']) {
        const keyType: PkiKeyType = curve === 'P-256' ? 'p256' : 'p384'; // the signing algorithm is ECDSA either way
        const root = await makeRoot({ keyType, keys, signingHash: hash });
        const leaf = await makeLeaf(root, { signingHash: hash });
        expect(await check([leaf.der], [root.der]), `${curve} ${hash}`).toBe('ok');
      }
    }
  });

  it('the Ecdsa-Sig-Value is strict DER, r and s in [1, n-1]; (r, n - s) is accepted', async () => {
    const root = await makeRoot();
    const leaf = await makeLeaf(root);
    const n = p256.Point.Fn.ORDER;
    /** The leaf with its signature SEQUENCE changed by `f` (on the nodes of r and s). */
    const withSig = (f: (seq: DerNode, r: bigint, s: bigint) => void) => {
      const cert = certTree(leaf.der);
      const seq = decodeTree(cert.children![2].bytes!.subarray(1))[0];
      const [r, s] = seq.children!.map((c) => bytesToNumberBE(c.bytes!));
      f(seq, r, s);
      cert.children![2].bytes = concatBytes(new Uint8Array(1), encodeTree(seq));
      return encodeTree(cert);
    };
    const int = (v: bigint): DerNode => {
      const b = numberToBytesBE(v, Math.max(1, Math.ceil(v.toString(16).length / 2)));
      return { tag: 2, bytes: b[0] & 0x80 ? concatBytes(new Uint8Array(1), b) : b };
    };
    expect(await check([withSig(() => {})], [root.der])).toBe('ok');
    expect(await check([withSig((q, r, s) => (q.children = [int(r), int(n - s)]))], [root.der])).toBe('ok');
    const bad: [string, (q: DerNode, r: bigint, s: bigint) => void][] = [
      ['a non-minimal r', (q) => (q.children![0].bytes = concatBytes(new Uint8Array(2), q.children![0].bytes!))],
      ['a third INTEGER', (q) => q.children!.push(int(1n))],
      [
        'bytes after the SEQUENCE',
        (q) => (q.raw = concatBytes(encodeTlv(0x30, concatBytes(...q.children!.map(encodeTree))), new Uint8Array(1))),
      ],
      ['s + n', (q, r, s) => (q.children = [int(r), int(s + n)])],
      ['r = 0', (q, _r, s) => (q.children = [{ tag: 2, bytes: new Uint8Array(1) }, int(s)])],
      ['s = -1', (q, r) => (q.children = [int(r), { tag: 2, bytes: Uint8Array.of(0xff) }])],
      ['r and s swapped', (q) => q.children!.reverse()],
      ['IEEE P1363 instead of DER', (q, r, s) => (q.raw = concatBytes(numberToBytesBE(r, 32), numberToBytesBE(s, 32)))],
    ];
    for (const [what, f] of bad) {
      const der = withSig(f);
      expect(await check([der], [root.der]), what).toMatch(/^cert_bad_signature/);
    }
  });
});

describe('Ed25519 issuers', () => {
  it('verify strictly: S + L is refused', async () => {
    const root = await makeRoot({ keyType: 'ed25519' });
    const leaf = await makeLeaf(root);
    expect(await check([leaf.der], [root.der])).toBe('ok');
    const cert = certTree(leaf.der);
    const sig = cert.children![2].bytes!.slice();
    let s = 0n;
    for (let i = 64; i >= 33; i--) s = (s << 8n) | BigInt(sig[i]);
    const sl = s + ED25519_L;
    for (let i = 33; i <= 64; i++) sig[i] = Number((sl >> BigInt(8 * (i - 33))) & 0xffn);
    cert.children![2].bytes = sig;
    expect(await check([encodeTree(cert)], [root.der])).toMatch(/^cert_bad_signature/);
  });
});
