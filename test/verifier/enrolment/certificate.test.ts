/**
 * The certificate parser of verifier/enrolment/certificate.ts on real certificates (test/helpers/pki.ts) and
 * on certificates changed by DER surgery (test/helpers/der-tree.ts): the framing of a valid certificate
 * broken (BER lengths, trailing bytes, truncation, wrong tags), strict DER inside the signed part refused even
 * when the issuer's signature over it is valid, every single-bit change of a valid certificate refused with
 * the code of the rule it breaks, and the fields read equal to what @peculiar/x509 reads.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { parseCertificate } from '../../../verifier/enrolment/certificate.js';
import { validateProviderChain } from '../../../verifier/enrolment/chain.js';
import { readChildren, readTlv } from '../../../verifier/enrolment/der.js';
import { signedBy } from '../../../verifier/enrolment/signatures.js';
import {
  certTree,
  encodeTree,
  extensionsOf,
  oidBytes,
  resign,
  tbsParts,
  type DerNode,
} from '../../helpers/der-tree.js';
import { encodeTlv, makeIntermediate, makeLeaf, makeRoot, type PkiCert } from '../../helpers/pki.js';

const NOW = Date.now();
let root: PkiCert; // Ed25519, so that re-signing is one WebCrypto call
let leaf: PkiCert;

beforeAll(async () => {
  root = await makeRoot({ keyType: 'ed25519' });
  leaf = await makeLeaf(root);
});

const check = (chain: Uint8Array[], roots = [root.der]) =>
  validateProviderChain(chain, roots, NOW).then(
    () => 'ok',
    (e: { code?: string; message: string }) => `${e.code}: ${e.message}`,
  );

/** The leaf with `change` applied to its tree and signed again by the root: a valid signature on the change. */
async function resigned(change: (t: DerNode) => void): Promise<Uint8Array> {
  const t = certTree(leaf.der);
  change(t);
  return resign(t, root.keys.privateKey);
}

describe("a valid certificate's framing broken", () => {
  it('BER lengths, trailing bytes, a fourth element, wrong tags: cert_parse', async () => {
    expect([leaf.der[0], leaf.der[1]]).toEqual([0x30, 0x82]);
    const body = leaf.der.subarray(4); // after the outer header 30 82 xx xx
    const cases: [string, Uint8Array][] = [
      [
        'non-minimal outer length',
        concatBytes(Uint8Array.of(0x30, 0x83, 0, body.length >> 8, body.length & 255), body),
      ],
      ['indefinite outer length', concatBytes(Uint8Array.of(0x30, 0x80), body, new Uint8Array(2))],
      ['a trailing byte', concatBytes(leaf.der, new Uint8Array(1))],
      ['a second certificate after it', concatBytes(leaf.der, leaf.der)],
      ['a fourth element', encodeTlv(0x30, concatBytes(body, Uint8Array.of(5, 0)))],
    ];
    const t = certTree(leaf.der);
    for (const [i, tag] of [
      [-1, 0x31],
      [0, 0x31],
      [1, 0x31],
      [2, 0x04],
    ] as const) {
      const copy = structuredClone(t);
      if (i < 0) copy.tag = tag;
      else copy.children![i].tag = tag;
      cases.push([`tag ${tag.toString(16)} at ${i}`, encodeTree(copy)]);
    }
    for (const [what, der] of cases) expect(await check([der]), what).toMatch(/^cert_parse: certificate 0: /);
  });

  it('every truncation: cert_parse', async () => {
    for (let n = 0; n < leaf.der.length; n++)
      expect(await check([leaf.der.subarray(0, n)]), `${n} bytes`).toMatch(/^cert_parse/);
  });
});

describe('strict DER inside the signed part, validly signed: cert_parse', () => {
  it('the surgery itself keeps a valid certificate valid', async () => {
    expect(await check([await resigned(() => {})])).toBe('ok');
  });

  const ext = (t: DerNode, i: number) => extensionsOf(t)[i]; // basicConstraints, keyUsage, EKU, SAN
  const value = (t: DerNode, i: number, hex: string) => {
    const e = ext(t, i).children!;
    e[e.length - 1].bytes = fromHex(hex);
  };
  /** The node's own header replaced: a long-form length for a short one, or an indefinite length. */
  const reframe = (n: DerNode, form: 'long' | 'indefinite') => {
    const body = concatBytes(...n.children!.map(encodeTree));
    n.raw =
      form === 'long'
        ? concatBytes(Uint8Array.of(n.tag, 0x81, body.length), body)
        : concatBytes(Uint8Array.of(n.tag, 0x80), body, new Uint8Array(2));
  };
  const cases: [string, (t: DerNode) => void, RegExp][] = [
    [
      'critical FALSE encoded',
      (t) => ext(t, 2).children!.splice(1, 0, { tag: 1, bytes: Uint8Array.of(0) }),
      /critical FALSE/,
    ],
    ['critical as 0x01', (t) => (ext(t, 0).children![1].bytes = Uint8Array.of(1)), /BOOLEAN/],
    ['basicConstraints cA FALSE encoded', (t) => value(t, 0, '3003010100'), /cA FALSE/],
    ['keyUsage with trailing zero bits', (t) => value(t, 1, '03020080'), /trailing zero bits/],
    ['keyUsage with non-zero padding', (t) => value(t, 1, '03020781'), /padding/],
    ['keyUsage not a BIT STRING', (t) => value(t, 1, '0500'), /keyUsage/],
    ['an empty extendedKeyUsage', (t) => value(t, 2, '3000'), /extendedKeyUsage: empty/],
    ['an empty subjectAltName', (t) => value(t, 3, '3000'), /subjectAltName: empty/],
    [
      'a dNSName outside IA5',
      (t) => value(t, 3, toHex(encodeTlv(0x30, encodeTlv(0x82, utf8('bücher.example'))))),
      /IA5String/,
    ],
    ['an unknown GeneralName', (t) => value(t, 3, '30038901ff'), /GeneralName tag/],
    [
      'an extension value with a trailing byte',
      (t) => value(t, 2, `${toHex(encodeTlv(0x30, encodeTlv(0x06, oidBytes('1.3.6.1.5.5.7.3.1'))))}00`),
      /extendedKeyUsage/,
    ],
    [
      'a non-minimal OID',
      (t) => (ext(t, 3).children![0].bytes = concatBytes(Uint8Array.of(0x80), oidBytes('2.5.29.17'))),
      /OBJECT IDENTIFIER/,
    ],
    ['an empty extensions list', (t) => (tbsParts(t).extensions.children![0].children = []), /extensions: empty/],
    [
      'a non-minimal serial number',
      (t) => (tbsParts(t).serial.bytes = concatBytes(new Uint8Array(1), tbsParts(t).serial.bytes!)),
      /non-minimal INTEGER/,
    ],
    ['a non-minimal length inside the subject', (t) => reframe(tbsParts(t).subject, 'long'), /non-minimal DER length/],
    ['an indefinite length inside the subject', (t) => reframe(tbsParts(t).subject, 'indefinite'), /indefinite/],
    ['version 1', (t) => t.children![0].children!.shift(), /v3/],
    ['version 2', (t) => (tbsParts(t).version.children![0].bytes = Uint8Array.of(1)), /v3/],
    [
      'an unknown field after the key',
      (t) => t.children![0].children!.splice(7, 0, { tag: 0x84, bytes: new Uint8Array(1) }),
      /unexpected or misordered/,
    ],
    [
      'issuerUniqueID after the extensions',
      (t) => t.children![0].children!.push({ tag: 0x81, bytes: Uint8Array.of(0) }),
      /misordered/,
    ],
    [
      'fractional seconds',
      (t) => (tbsParts(t).validity.children![1] = { tag: 0x18, bytes: utf8('20991231235959.5Z') }),
      /GeneralizedTime/,
    ],
    [
      'a UTCTime without seconds',
      (t) => (tbsParts(t).validity.children![1] = { tag: 0x17, bytes: utf8('9912312359Z') }),
      /UTCTime/,
    ],
    [
      'a time with an offset',
      (t) => (tbsParts(t).validity.children![0] = { tag: 0x17, bytes: utf8('200101000000+0100') }),
      /UTCTime/,
    ],
    [
      'a third time',
      (t) => tbsParts(t).validity.children!.push({ tag: 0x17, bytes: utf8('200101000000Z') }),
      /validity/,
    ],
    [
      'tbsCertificate.signature not the outer one',
      (t) => (tbsParts(t).signature.children![0].bytes = oidBytes('1.2.840.10045.4.3.2')),
      /differs/,
    ],
  ];
  for (const [what, change, message] of cases) {
    it(what, async () => {
      expect(await check([await resigned(change)])).toMatch(
        new RegExp(`^cert_parse: certificate 0: .*${message.source}`),
      );
    });
  }

  it('GeneralizedTime before 2050 is accepted', async () => {
    const g = await resigned(
      (t) => (tbsParts(t).validity.children![1] = { tag: 0x18, bytes: utf8('20400101000000Z') }),
    );
    expect(parseCertificate(g, 'g').notAfter).toBe(Date.UTC(2040, 0, 1));
    expect(await check([g])).toBe('ok');
  });

  it('signature algorithm parameters where RFC 8410 has none: cert_bad_signature', async () => {
    const withNull = await resigned((t) => {
      tbsParts(t).signature.children!.push({ tag: 5, bytes: new Uint8Array(0) });
      t.children![1].children!.push({ tag: 5, bytes: new Uint8Array(0) });
    });
    expect(await check([withNull])).toMatch(/^cert_bad_signature: .*Ed25519 with unexpected parameters/);
  });
});

describe('single-bit changes of valid certificates', () => {
  /** Offsets of the signature's bytes (after the unused-bits byte) and of the serial number's contents. */
  function regions(der: Uint8Array) {
    const [tbs, , sig] = readChildren(der, readTlv(der, 0, der.length));
    const serial = readChildren(der, tbs)[1];
    return { sig: [sig.body + 1, sig.end], serial: [serial.body, serial.end] };
  }

  for (const issuerType of ['ed25519', 'p256'] as const) {
    it(`never accepted, and a changed signature or serial is cert_bad_signature (${issuerType} issuer)`, async () => {
      const r = await makeRoot({ keyType: issuerType });
      const l = await makeLeaf(r);
      const { sig, serial } = regions(l.der);
      for (let i = 0; i < l.der.length; i++) {
        const bad = l.der.slice();
        bad[i] ^= 1 << (i % 8);
        const result = await check([bad], [r.der]);
        expect(result, `byte ${i}`).not.toBe('ok');
        // The serial's first byte may also turn its INTEGER non-minimal (a leading 0x00 before a byte below
        // 0x80, or 0xff before one above): strict DER refuses that first (the serial is random, so it varies).
        if (i === serial[0])
          expect(result, `byte ${i}`).toMatch(/^(cert_bad_signature|cert_parse: certificate 0: serialNumber: )/);
        else if ((i >= sig[0] && i < sig[1]) || (i > serial[0] && i < serial[1]))
          expect(result, `byte ${i}`).toMatch(/^cert_bad_signature/);
      }
    });
  }
});

describe('the fields, as @peculiar/x509 reads them', () => {
  it('validity, names, key usage, basic constraints, EKU, DNS names and signatures agree', async () => {
    const rsa = await makeRoot({ keyType: 'rsa' });
    const p384 = await makeIntermediate(rsa, { keyType: 'p384', pathLen: 2 });
    const certs = [
      rsa,
      p384,
      await makeLeaf(p384, { dnsNames: ['a.example', 'b.example'] }),
      await makeLeaf(rsa, {
        keyType: 'p256',
        notAfter: Date.UTC(2080, 5, 1, 12, 30, 15),
        extensions: [
          new x509.SubjectAlternativeNameExtension([
            { type: 'ip', value: '192.0.2.1' },
            { type: 'dns', value: 'c.example' },
          ]),
        ],
        dnsNames: [],
      }),
    ];
    for (const c of certs) {
      const p = parseCertificate(c.der, c.name);
      const bc = c.cert.getExtension(x509.BasicConstraintsExtension);
      const san = c.cert.getExtension(x509.SubjectAlternativeNameExtension);
      expect(p.notBefore).toBe(c.cert.notBefore.getTime());
      expect(p.notAfter).toBe(c.cert.notAfter.getTime());
      expect(toHex(p.subject)).toBe(toHex(new Uint8Array(c.cert.subjectName.toArrayBuffer())));
      expect(toHex(p.issuer)).toBe(toHex(new Uint8Array(c.cert.issuerName.toArrayBuffer())));
      expect(p.subjectName).toBe(c.cert.subject);
      expect(p.keyUsage).toBe(c.cert.getExtension(x509.KeyUsagesExtension)?.usages);
      expect(p.basicConstraints).toEqual(
        bc && { ca: bc.ca, ...(bc.pathLength !== undefined && { pathLen: bc.pathLength }) },
      );
      expect(p.extKeyUsage).toEqual(c.cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages.map(String));
      expect(p.dnsNames).toEqual(san?.names.items.filter((n) => n.type === 'dns').map((n) => n.value));
      expect(p.extensions.map((e) => [e.oid, e.critical])).toEqual(c.cert.extensions.map((e) => [e.type, e.critical]));
    }
    expect(signedBy(parseCertificate(p384.der, 'i'), parseCertificate(rsa.der, 'r'))).toBe(true);
    expect(signedBy(parseCertificate(certs[2].der, 'l'), parseCertificate(p384.der, 'i'))).toBe(true);
    expect(signedBy(parseCertificate(certs[2].der, 'l'), parseCertificate(rsa.der, 'r'))).toBe(false);
  });
});
