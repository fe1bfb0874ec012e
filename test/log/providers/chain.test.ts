import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, toBase64, toHex, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { signSync, verifySignatureSync } from '../../../wasm-free-crypto/signatures.js';
import { parsePemCertificates } from '../../../log/providers/certificate.js';
import { validateProviderChain, validateProviderId, type ProviderCredential } from '../../../log/providers/chain.js';
import {
  encodeTlv,
  makeIntermediate,
  makeLeaf,
  makeRoot,
  malleateEcdsaSignature,
  tamperText,
  toPem,
  type CertOptions,
  type PkiCert,
} from '../../helpers/pki.js';

const NOW = Date.now();
const DAY = 86_400_000;
const F = x509.KeyUsageFlags;

/** The code of the ProviderError a promise rejects with, or 'ok'. */
async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? `untyped: ${String(e)}`;
  }
}

let root: PkiCert;
let inter: PkiCert;
let roots: Uint8Array[];

beforeAll(async () => {
  root = await makeRoot();
  inter = await makeIntermediate(root);
  roots = [root.der];
});

/** Validates [leaf, ...rest] under the shared root at NOW. */
const check = (chain: PkiCert[], trusted = roots, now = NOW) =>
  validateProviderChain(
    chain.map((c) => c.der),
    trusted,
    now,
  );
const leafUnder = (issuer: PkiCert, opts: CertOptions = {}) => makeLeaf(issuer, opts);

/** The credential's key really is the leaf's: sign with the pki secret, verify with the credential. */
function expectKey(cred: ProviderCredential, leaf: PkiCert): void {
  expect(cred.algorithm).toBe(leaf.algorithm);
  expect(toHex(cred.publicKey)).toBe(toHex(leaf.publicKey));
  const msg = utf8('statement');
  const sig = signSync(cred.algorithm, leaf.secretKey, msg);
  expect(verifySignatureSync(cred.algorithm, cred.publicKey, msg, sig)).toBe(true);
  expect(verifySignatureSync(cred.algorithm, cred.publicKey, utf8('other'), sig)).toBe(false);
}

describe('accepted chains', () => {
  for (const keyType of ['ed25519', 'p256'] as const) {
    it(`${keyType} leaf under the root, under root + intermediate, with or without the root presented`, async () => {
      const direct = await leafUnder(root, { keyType });
      const cred = await check([direct]);
      expect(cred.providerId).toBe('provider.example');
      expectKey(cred, direct);
      expect(cred.notBefore).toBe(direct.cert.notBefore.getTime());
      expect(cred.notAfter).toBe(direct.cert.notAfter.getTime());
      expect(toHex(cred.leafFingerprint)).toBe(toHex(sha256(direct.der)));
      expect(cred.chain.map(toHex)).toEqual([toHex(direct.der)]);
      const viaInter = await leafUnder(inter, { keyType, dnsNames: ['chat.provider.example'] });
      for (const chain of [
        [viaInter, inter],
        [viaInter, inter, root],
      ]) {
        const c = await check(chain);
        expect(c.providerId).toBe('chat.provider.example');
        expectKey(c, viaInter);
        expect(c.chain.length).toBe(chain.length);
      }
    });
  }

  it('accepts roots with RSA, ECDSA P-384 and Ed25519 keys', async () => {
    for (const keyType of ['rsa', 'p384', 'ed25519'] as const) {
      const r = await makeRoot({ keyType });
      const i = await makeIntermediate(r, { keyType });
      const leaf = await leafUnder(i, { keyType: 'p256' });
      expectKey(await check([leaf, i], [r.der]), leaf);
    }
  });

  it('lower-cases the DNS name, and accepts EKU absent, clientAuth only, or anyExtendedKeyUsage', async () => {
    expect((await check([await leafUnder(root, { dnsNames: ['Provider.EXAMPLE'] })])).providerId).toBe(
      'provider.example',
    );
    for (const eku of [null, [x509.ExtendedKeyUsage.clientAuth], ['2.5.29.37.0']]) {
      expect(await code(check([await leafUnder(root, { extendedKeyUsage: eku })]))).toBe('ok');
    }
  });

  it('treats validity bounds as inclusive, at millisecond precision', async () => {
    const leaf = await leafUnder(root, { notBefore: NOW - DAY, notAfter: NOW + DAY }); // inside the root's window
    const nb = leaf.cert.notBefore.getTime();
    const na = leaf.cert.notAfter.getTime();
    expect(await code(check([leaf], roots, nb))).toBe('ok');
    expect(await code(check([leaf], roots, na))).toBe('ok');
    expect(await code(check([leaf], roots, nb - 1))).toBe('cert_not_yet_valid');
    expect(await code(check([leaf], roots, na + 1))).toBe('cert_expired');
  });

  it('accepts five certificates (leaf and four intermediates), refuses six', async () => {
    const cas = [root];
    for (let i = 0; i < 5; i++) cas.push(await makeIntermediate(cas[cas.length - 1]));
    const leaf5 = await leafUnder(cas[4]);
    expect(await code(check([leaf5, cas[4], cas[3], cas[2], cas[1]]))).toBe('ok');
    const leaf6 = await leafUnder(cas[5]);
    expect(await code(check([leaf6, cas[5], cas[4], cas[3], cas[2], cas[1]]))).toBe('cert_chain_too_long');
  });

  it('ECDSA-signed leaves are malleable: (r, n - s) is accepted, with another DER fingerprint but the same TBS fingerprint', async () => {
    const leaf = await leafUnder(root);
    const twin = malleateEcdsaSignature(leaf.der);
    expect(toHex(twin)).not.toBe(toHex(leaf.der));
    const a = await check([leaf]);
    const b = await validateProviderChain([twin], roots, NOW);
    expect(toHex(b.leafFingerprint)).not.toBe(toHex(a.leafFingerprint));
    expect(toHex(b.tbsFingerprint)).toBe(toHex(a.tbsFingerprint));
    expect(toHex(b.publicKey)).toBe(toHex(a.publicKey));
  });
});

describe('refusals, one per rule', () => {
  it('cert_expired: an expired leaf, intermediate or root', async () => {
    const past = { notBefore: NOW - 10 * DAY, notAfter: NOW - DAY };
    expect(await code(check([await leafUnder(root, past)]))).toBe('cert_expired');
    const oldInter = await makeIntermediate(root, past);
    expect(await code(check([await leafUnder(oldInter), oldInter]))).toBe('cert_expired');
    const oldRoot = await makeRoot(past);
    expect(await code(check([await leafUnder(oldRoot)], [oldRoot.der]))).toBe('cert_expired');
  });

  it('cert_not_yet_valid: a leaf or an intermediate valid only from tomorrow', async () => {
    const future = { notBefore: NOW + DAY, notAfter: NOW + 10 * DAY };
    expect(await code(check([await leafUnder(root, future)]))).toBe('cert_not_yet_valid');
    const newInter = await makeIntermediate(root, future);
    expect(await code(check([await leafUnder(newInter), newInter]))).toBe('cert_not_yet_valid');
  });

  it('cert_untrusted: unknown root, missing intermediate, chain out of order, leaf as its own root', async () => {
    const other = await makeRoot();
    const leaf = await leafUnder(other);
    expect(await code(check([leaf]))).toBe('cert_untrusted');
    expect(await code(check([leaf], []))).toBe('cert_untrusted');
    const viaInter = await leafUnder(inter);
    expect(await code(check([viaInter]))).toBe('cert_untrusted');
    expect(await code(check([viaInter, root, inter]))).toBe('cert_untrusted');
    expect(await code(check([leaf], [leaf.der]))).toBe('cert_untrusted');
    // The path is checked first: an expired leaf under an unknown root is reported as untrusted.
    expect(await code(check([await leafUnder(other, { notBefore: NOW - 2 * DAY, notAfter: NOW - DAY })]))).toBe(
      'cert_untrusted',
    );
  });

  it('cert_bad_signature: wrong issuer key (leaf, intermediate), a tampered TBS byte', async () => {
    expect(await code(check([await leafUnder(root, { wrongIssuerKey: true })]))).toBe('cert_bad_signature');
    expect(await code(check([await leafUnder(inter, { wrongIssuerKey: true }), inter]))).toBe('cert_bad_signature');
    const forgedInter = await makeIntermediate(root, { wrongIssuerKey: true });
    expect(await code(check([await leafUnder(forgedInter), forgedInter]))).toBe('cert_bad_signature');
    const leaf = await leafUnder(root, { dnsNames: ['tamper.example'] });
    expect(await code(check([leaf]))).toBe('ok');
    expect(await code(validateProviderChain([tamperText(leaf.der, 'tamper.example')], roots, NOW))).toBe(
      'cert_bad_signature',
    );
    expect(await code(validateProviderChain([tamperText(leaf.der, 'KT Test Provider')], roots, NOW))).toBe(
      'cert_bad_signature',
    );
  });

  it('cert_bad_signature: a SHA-1 signature, an RSA issuer key under 2048 bits', async () => {
    const sha1 = validateProviderChain([(await leafUnder(root, { signingHash: 'SHA-1' })).der], roots, NOW);
    await expect(sha1).rejects.toMatchObject({
      code: 'cert_bad_signature',
      message: expect.stringMatching(/unsupported signature algorithm ECDSA with SHA-1/),
    });
    const params = {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 1024,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    };
    const weak = await makeRoot({
      keyType: 'rsa',
      keys: (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair,
    });
    const weakChain = validateProviderChain([(await leafUnder(weak)).der], [weak.der], NOW);
    await expect(weakChain).rejects.toMatchObject({
      code: 'cert_bad_signature',
      message: expect.stringMatching(/shorter than 2048 bits/),
    });
  });

  it('cert_not_ca: intermediate without cA, without basicConstraints, without keyCertSign; path length exceeded', async () => {
    for (const opts of [
      { isCA: false },
      { isCA: null },
      { keyUsage: F.digitalSignature | F.cRLSign },
      { keyUsage: null },
    ] as CertOptions[]) {
      const bad = await makeIntermediate(root, opts);
      expect(await code(check([await leafUnder(bad), bad])), JSON.stringify(opts)).toBe('cert_not_ca');
    }
    const strictRoot = await makeRoot({ pathLen: 0 });
    expect(await code(check([await leafUnder(strictRoot)], [strictRoot.der]))).toBe('ok');
    const under0 = await makeIntermediate(strictRoot);
    expect(await code(check([await leafUnder(under0), under0], [strictRoot.der]))).toBe('cert_not_ca');
    const inter0 = await makeIntermediate(root, { pathLen: 0 });
    const inter1 = await makeIntermediate(inter0);
    expect(await code(check([await leafUnder(inter0), inter0]))).toBe('ok');
    expect(await code(check([await leafUnder(inter1), inter1, inter0]))).toBe('cert_not_ca');
  });

  it('cert_bad_key_usage: leaf is a CA, lacks digitalSignature or keyUsage, has keyCertSign, or a foreign EKU', async () => {
    const cases: CertOptions[] = [
      { isCA: true },
      { keyUsage: F.keyEncipherment },
      { keyUsage: null },
      { keyUsage: F.digitalSignature | F.keyCertSign },
      { extendedKeyUsage: [x509.ExtendedKeyUsage.codeSigning] },
      { extendedKeyUsage: [x509.ExtendedKeyUsage.emailProtection, x509.ExtendedKeyUsage.timeStamping] },
    ];
    for (const opts of cases)
      expect(await code(check([await leafUnder(root, opts)])), JSON.stringify(opts)).toBe('cert_bad_key_usage');
  });

  it('cert_bad_key: RSA and P-384 leaf keys', async () => {
    expect(await code(check([await leafUnder(root, { keyType: 'rsa' })]))).toBe('cert_bad_key');
    expect(await code(check([await leafUnder(root, { keyType: 'p384' })]))).toBe('cert_bad_key');
  });

  it('cert_bad_key: an Ed25519 leaf key of small order (the identity point)', async () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const publicKey = await crypto.subtle.importKey('raw', identity, { name: 'Ed25519' }, true, ['verify']);
    const { privateKey } = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const leaf = await leafUnder(root, { keys: { publicKey, privateKey } });
    await expect(check([leaf])).rejects.toMatchObject({
      code: 'cert_bad_key',
      message: expect.stringMatching(/small-order/),
    });
  });

  it('cert_no_dns_name: no SAN, two SANs, a wildcard, malformed names', async () => {
    for (const dnsNames of [
      [],
      ['a.example', 'b.example'],
      ['*.provider.example'],
      ['provider.example.'],
      ['under_score.example'],
      ['10.0.0.1'],
      ['-dash.example'],
    ]) {
      expect(await code(check([await leafUnder(root, { dnsNames })])), dnsNames.join()).toBe('cert_no_dns_name');
    }
    const ipOnly = await leafUnder(root, {
      dnsNames: [],
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '192.0.2.1' }])],
    });
    expect(await code(check([ipOnly]))).toBe('cert_no_dns_name');
  });

  it('validateProviderId: LDH labels of 1-63, 1-253 characters in all', () => {
    expect(validateProviderId('xn--bcher-kva.example')).toBe('xn--bcher-kva.example');
    expect(validateProviderId('A'.repeat(63) + '.example')).toBe('a'.repeat(63) + '.example');
    const long = Array.from({ length: 4 }, () => 'a'.repeat(62)).join('.'); // 251 characters
    expect(validateProviderId(long + '.b')).toHaveLength(253);
    for (const bad of [
      '',
      'a'.repeat(64) + '.example',
      long + '.bc',
      'a..b',
      '.a',
      'a-.b',
      'ä.example',
      'a b.example',
      'a.123',
    ]) {
      expect(() => validateProviderId(bad), bad).toThrow(expect.objectContaining({ code: 'cert_no_dns_name' }));
    }
  });

  it('cert_unsupported_extension: an unknown critical extension, name constraints', async () => {
    const unknown = new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([5, 0]));
    expect(await code(check([await leafUnder(root, { extensions: [unknown] })]))).toBe('cert_unsupported_extension');
    const nonCritical = new x509.Extension('1.3.6.1.4.1.99999.1', false, new Uint8Array([5, 0]));
    expect(await code(check([await leafUnder(root, { extensions: [nonCritical] })]))).toBe('ok');
    const permitted = encodeTlv(0x30, encodeTlv(0xa0, encodeTlv(0x30, encodeTlv(0x82, utf8('provider.example')))));
    const nc = new x509.Extension('2.5.29.30', false, permitted.slice());
    const constrained = await makeIntermediate(root, { extensions: [nc] });
    expect(await code(check([await leafUnder(constrained), constrained]))).toBe('cert_unsupported_extension');
  });

  it('cert_parse: garbage, truncated, trailing bytes, empty chain, a garbage trusted root, BER lengths', async () => {
    const leaf = await leafUnder(root);
    const chains = [
      [utf8('not a certificate')],
      [new Uint8Array(0)],
      [leaf.der.subarray(0, leaf.der.length - 1)],
      [concatBytes(leaf.der, new Uint8Array(1))],
      [],
    ];
    for (const chain of chains) expect(await code(validateProviderChain(chain, roots, NOW))).toBe('cert_parse');
    expect(await code(validateProviderChain([leaf.der], [root.der, new Uint8Array([0x30, 0x00])], NOW))).toBe(
      'cert_parse',
    );
    // The same certificate with its outer length in a non-minimal long form (BER, not DER).
    const body = leaf.der.subarray(4);
    const ber = concatBytes(Uint8Array.of(0x30, 0x83, 0, body.length >> 8, body.length & 255), body);
    expect(await code(validateProviderChain([ber], roots, NOW))).toBe('cert_parse');
  });

  it('cert_parse: a malformed extension value, an extension present twice', async () => {
    const badKeyUsage = new x509.Extension('2.5.29.15', true, new Uint8Array([5, 0])); // NULL, not a BIT STRING
    expect(await code(check([await leafUnder(root, { keyUsage: null, extensions: [badKeyUsage] })]))).toBe(
      'cert_parse',
    );
    const secondSan = new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'other.example' }]);
    const twice = check([await leafUnder(root, { extensions: [secondSan] })]);
    await expect(twice).rejects.toMatchObject({
      code: 'cert_parse',
      message: expect.stringMatching(/extension appears twice/),
    });
  });
});

describe('parsePemCertificates', () => {
  it('decodes every CERTIFICATE block in order, CRLF and explanatory text allowed', async () => {
    const leaf = await leafUnder(inter);
    const pem = `subject=CN=leaf\r\n${leaf.pem.replace(/\n/g, '\r\n')}\r\nissuer text\n${toPem(inter.der)}\n`;
    const ders = parsePemCertificates(pem);
    expect(ders.map(toHex)).toEqual([toHex(leaf.der), toHex(inter.der)]);
    expect((await validateProviderChain(ders, roots, NOW)).providerId).toBe('provider.example');
  });

  it('refuses bad base64, other block types, unterminated blocks, no blocks, non-certificates', async () => {
    const pem = toPem(root.der);
    const lines = pem.split('\n');
    const withBad = (i: number, f: (l: string) => string) => lines.map((l, j) => (j === i ? f(l) : l)).join('\n');
    const block = (body: string) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
    const cases: [string, RegExp][] = [
      [withBad(1, (l) => '!' + l.slice(1)), /base64 character/], // a character outside the alphabet
      [withBad(1, (l) => l.slice(0, 10) + ' ' + l.slice(10)), /base64/], // a space inside a line
      [withBad(1, (l) => l.slice(0, -1)), /base64 length/], // a character missing
      [block('MB=='), /non-canonical base64/], // non-zero padding bits
      [block('MA='), /base64 length/], // short padding
      [block('MA'), /base64 length/], // padding missing
      [block('-----'), /PEM boundary/],
      [block('AB-C'), /base64 character/],
      [pem + '\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', /unexpected PEM block "PRIVATE KEY"/],
      [pem.replace('-----END CERTIFICATE-----', ''), /unterminated/],
      [pem.replace('-----END CERTIFICATE-----', '-----END CERTIFICATES-----'), /PEM boundary/],
      ['', /no CERTIFICATE block/],
      ['no pem here', /no CERTIFICATE block/],
      [block(toBase64(utf8('hello'))), /PEM block 0: .*DER/],
      [block(''), /PEM block 0: .*DER/],
      [block('MA=='), /PEM block 0: .*DER/],
    ];
    for (const [text, message] of cases) {
      expect(() => parsePemCertificates(text), JSON.stringify(text.slice(0, 80))).toThrow(
        expect.objectContaining({ code: 'cert_parse', message: expect.stringMatching(message) }),
      );
    }
  });
});
