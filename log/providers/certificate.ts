/**
 * X.509 certificates as the enrolment checks read them (RFC 5280): strict DER framing (X.690 section 10),
 * one Certificate per DER string with nothing after it, the fields @peculiar/x509 decodes (over WebCrypto,
 * so it runs in Node and in Workers), and PEM texts of certificates (RFC 7468). Every refusal is a
 * ProviderError `cert_parse`.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { equalBytes, fromBase64 } from '../../wasm-free-crypto/bytes.js';
import { ProviderError } from './errors.js';

x509.cryptoProvider.set(globalThis.crypto);

// ---------------------------------------------------------------------------------------------------
// Strict DER framing (X.690 section 10: definite, minimal lengths)

export interface Tlv {
  tag: number;
  start: number; // first byte of the TLV
  body: number; // first byte of the contents
  end: number; // one past the last byte
}

function fail(message: string): never {
  throw new ProviderError('cert_parse', message);
}

/** Reads one TLV at `offset` that must end by `limit`; single-byte tags only (all X.509 needs). */
export function readTlv(der: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) fail('truncated DER');
  const tag = der[offset];
  if ((tag & 0x1f) === 0x1f) fail('multi-byte DER tag');
  let length = der[offset + 1];
  let body = offset + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) fail('indefinite or oversized DER length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[body + i];
    body += n;
    if (der[offset + 2] === 0 || length < 0x80) fail('non-minimal DER length');
  }
  if (body + length > limit) fail('DER length past the end of its container');
  return { tag, start: offset, body, end: body + length };
}

/** Reads every TLV of a constructed value's contents; they must fill it exactly. */
export function readChildren(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end; at = out[out.length - 1].end) out.push(readTlv(der, at, parent.end));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Parsing

export interface ParsedCert {
  der: Uint8Array;
  cert: x509.X509Certificate;
  tbs: Uint8Array;
  issuer: Uint8Array; // DER of the issuer Name
  subject: Uint8Array; // DER of the subject Name
  spki: Uint8Array; // DER of the SubjectPublicKeyInfo
}

/**
 * RFC 5280 section 4.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }, with
 * nothing after it; a v3 tbsCertificate whose `signature` field equals the outer signatureAlgorithm (section
 * 4.1.1.2); then @peculiar/x509 for the fields, and no extension twice (section 4.2).
 */
export function parseCertificate(der: Uint8Array, what: string): ParsedCert {
  try {
    const outer = readTlv(der, 0, der.length);
    if (outer.tag !== 0x30 || outer.end !== der.length) fail('not one DER SEQUENCE');
    const [tbsTlv, sigAlg, sigValue, ...rest] = readChildren(der, outer);
    if (!sigValue || rest.length > 0 || tbsTlv.tag !== 0x30 || sigAlg.tag !== 0x30 || sigValue.tag !== 0x03)
      fail('not a Certificate');
    const f = readChildren(der, tbsTlv);
    if (f.length < 7 || f[0].tag !== 0xa0 || !equalBytes(der.subarray(f[0].body, f[0].end), Uint8Array.of(2, 1, 2)))
      fail('not an X.509 v3 certificate');
    if (!equalBytes(der.subarray(f[2].start, f[2].end), der.subarray(sigAlg.start, sigAlg.end)))
      fail('tbsCertificate.signature differs from signatureAlgorithm');
    const cert = new x509.X509Certificate(der.slice()); // a copy backed by a plain ArrayBuffer
    void [cert.notBefore, cert.notAfter, cert.publicKey.algorithm, cert.signatureAlgorithm]; // decode now, not later
    const types = cert.extensions.map((e) => e.type); // every extension value is decoded here
    if (new Set(types).size !== types.length) fail('an extension appears twice');
    const part = (t: Tlv) => der.slice(t.start, t.end);
    return { der, cert, tbs: part(tbsTlv), issuer: part(f[3]), subject: part(f[5]), spki: part(f[6]) };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new ProviderError('cert_parse', `${what}: ${message}`);
  }
}

/**
 * Decodes a PEM text (RFC 7468) into the DER of each CERTIFICATE block, in order. Base64 is strict
 * (canonical, padded, no characters outside the alphabet; lines may have any length); text outside the
 * blocks is ignored (RFC 7468 section 5.2); a block with any other label, or no block at all, is refused.
 */
export function parsePemCertificates(pem: string): Uint8Array[] {
  const lines = pem.split(/\r?\n/);
  const out: Uint8Array[] = [];
  let body: string[] | null = null;
  for (const raw of lines) {
    const line = raw.replace(/[ \t]+$/, '');
    const begin = /^-----BEGIN ([A-Z0-9 ]*)-----$/.exec(line);
    if (body === null) {
      if (begin) {
        if (begin[1] !== 'CERTIFICATE') throw new ProviderError('cert_parse', `unexpected PEM block "${begin[1]}"`);
        body = [];
      } else if (line.includes('-----')) throw new ProviderError('cert_parse', 'malformed PEM boundary');
      continue;
    }
    if (line === '-----END CERTIFICATE-----') {
      out.push(decodePemBody(body.join(''), out.length));
      body = null;
    } else if (line.includes('-----')) throw new ProviderError('cert_parse', 'malformed or mismatched PEM boundary');
    else body.push(line);
  }
  if (body !== null) throw new ProviderError('cert_parse', 'unterminated PEM block');
  if (out.length === 0) throw new ProviderError('cert_parse', 'no CERTIFICATE block');
  return out;
}

function decodePemBody(b64: string, index: number): Uint8Array {
  let der: Uint8Array;
  try {
    der = fromBase64(b64);
  } catch (e) {
    throw new ProviderError('cert_parse', `PEM block ${index}: ${(e as Error).message}`);
  }
  parseCertificate(der, `PEM block ${index}`);
  return der;
}
