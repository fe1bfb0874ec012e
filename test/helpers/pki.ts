/**
 * Test PKI: generates certificate authorities and provider leaf certificates with @peculiar/x509 over
 * WebCrypto, with every knob the enrolment tests turn (key type, validity window, CA flag, path length,
 * key usage, extended key usage, DNS names, a wrong issuer key), plus DER surgery helpers (flip a TBS byte,
 * re-sign the ECDSA signature as (r, n - s)). Leaf secret keys come back as raw bytes usable with
 * `signSync`: the 32-byte Ed25519 seed (the tail of the PKCS#8) or the 32-byte P-256 scalar (JWK `d`).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { concatBytes, fromBase64, toHex } from '../../wasm-free-crypto/bytes.js';
import { P256_N } from '../../wasm-free-crypto/signatures.js';

x509.cryptoProvider.set(globalThis.crypto);
const subtle = globalThis.crypto.subtle;

export type PkiKeyType = 'ed25519' | 'p256' | 'p384' | 'rsa';

/** A generated certificate with its key pair. */
export interface PkiCert {
  der: Uint8Array;
  pem: string;
  cert: x509.X509Certificate;
  /** Subject distinguished name, e.g. "CN=KT Test Root 1". */
  name: string;
  keys: CryptoKeyPair;
  algorithm: PkiKeyType;
  /** Ed25519 seed or P-256 scalar (32 bytes); empty for P-384 and RSA. */
  secretKey: Uint8Array;
  /** Ed25519 32 bytes raw, P-256 65 bytes uncompressed; SPKI DER for P-384 and RSA. */
  publicKey: Uint8Array;
}

export interface CertOptions {
  name?: string;
  keyType?: PkiKeyType;
  notBefore?: Date | number;
  notAfter?: Date | number;
  /** Adds basicConstraints cA=TRUE (default: true for CAs, false for leaves; null omits the extension). */
  isCA?: boolean | null;
  pathLen?: number;
  /** KeyUsageFlags bits; null omits the extension. */
  keyUsage?: number | null;
  /** Extended key usage OIDs; null omits the extension (leaf default: serverAuth and clientAuth). */
  extendedKeyUsage?: string[] | null;
  /** subjectAltName dNSNames of a leaf (default ['provider.example']; [] omits the extension). */
  dnsNames?: string[];
  /** Signs with a fresh key instead of the issuer's (the issuer name is kept). */
  wrongIssuerKey?: boolean;
  /** The subject's key pair, instead of a fresh one of `keyType` (which must describe it). */
  keys?: CryptoKeyPair;
  /** Overrides the hash of an ECDSA signature (e.g. 'SHA-1'). */
  signingHash?: string;
  extensions?: x509.Extension[];
}

const DAY = 86_400_000;
let counter = 0;
let rsaKeys: Promise<CryptoKeyPair> | undefined;

const KEY_PARAMS = {
  ed25519: { name: 'Ed25519' },
  p256: { name: 'ECDSA', namedCurve: 'P-256' },
  p384: { name: 'ECDSA', namedCurve: 'P-384' },
  rsa: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
};
const SIGNING = {
  ed25519: { name: 'Ed25519' },
  p256: { name: 'ECDSA', hash: 'SHA-256' },
  p384: { name: 'ECDSA', hash: 'SHA-384' },
  rsa: { name: 'RSASSA-PKCS1-v1_5' },
};

/** A fresh key pair (RSA keys are generated once and shared unless `fresh`: 2048-bit generation is slow). */
export async function generateKeys(type: PkiKeyType, fresh = false): Promise<CryptoKeyPair> {
  const make = () => subtle.generateKey(KEY_PARAMS[type], true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
  if (type === 'rsa' && !fresh) return (rsaKeys ??= make());
  return make();
}

function fromBase64Url(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  return fromBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
}

async function rawKeys(
  type: PkiKeyType,
  keys: CryptoKeyPair,
): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }> {
  if (type === 'ed25519') {
    const pkcs8 = new Uint8Array((await subtle.exportKey('pkcs8', keys.privateKey)) as ArrayBuffer);
    return {
      secretKey: pkcs8.slice(-32),
      publicKey: new Uint8Array((await subtle.exportKey('raw', keys.publicKey)) as ArrayBuffer),
    };
  }
  if (type === 'p256') {
    const jwk = (await subtle.exportKey('jwk', keys.privateKey)) as JsonWebKey;
    return {
      secretKey: fromBase64Url(jwk.d!),
      publicKey: new Uint8Array((await subtle.exportKey('raw', keys.publicKey)) as ArrayBuffer),
    };
  }
  return {
    secretKey: new Uint8Array(0),
    publicKey: new Uint8Array((await subtle.exportKey('spki', keys.publicKey)) as ArrayBuffer),
  };
}

const when = (d: Date | number) => (typeof d === 'number' ? new Date(d) : d);

function extensionsFor(opts: CertOptions, ca: boolean): x509.Extension[] {
  const ext: x509.Extension[] = [];
  const isCA = opts.isCA === undefined ? ca : opts.isCA;
  if (isCA !== null) ext.push(new x509.BasicConstraintsExtension(isCA, isCA ? opts.pathLen : undefined, true));
  const F = x509.KeyUsageFlags;
  const ku = opts.keyUsage === undefined ? (ca ? F.keyCertSign | F.cRLSign : F.digitalSignature) : opts.keyUsage;
  if (ku !== null) ext.push(new x509.KeyUsagesExtension(ku, true));
  if (!ca) {
    const eku =
      opts.extendedKeyUsage === undefined
        ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]
        : opts.extendedKeyUsage;
    if (eku !== null) ext.push(new x509.ExtendedKeyUsageExtension(eku));
    const dns = opts.dnsNames ?? ['provider.example'];
    if (dns.length > 0)
      ext.push(new x509.SubjectAlternativeNameExtension(dns.map((value) => ({ type: 'dns' as const, value }))));
  }
  return [...ext, ...(opts.extensions ?? [])];
}

/** Issues a certificate; `issuer` undefined means self-signed. */
async function issue(
  issuer: PkiCert | undefined,
  opts: CertOptions,
  ca: boolean,
  defaultName: string,
): Promise<PkiCert> {
  const algorithm = opts.keyType ?? (ca ? 'p256' : 'ed25519');
  const keys = opts.keys ?? (await generateKeys(algorithm));
  const name = opts.name ?? `CN=${defaultName} ${++counter}`;
  const signerType = issuer?.algorithm ?? algorithm;
  let signingKey = issuer?.keys.privateKey ?? keys.privateKey;
  if (opts.wrongIssuerKey) signingKey = (await generateKeys(signerType, true)).privateKey;
  const serial = new Uint8Array(16);
  globalThis.crypto.getRandomValues(serial);
  serial[0] = (serial[0] & 0x7f) | 0x01;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: toHex(serial),
    subject: name,
    issuer: issuer?.name ?? name,
    notBefore: when(opts.notBefore ?? Date.now() - DAY),
    notAfter: when(opts.notAfter ?? Date.now() + 365 * DAY),
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: (opts.signingHash
      ? { ...SIGNING[signerType], hash: opts.signingHash }
      : SIGNING[signerType]) as x509.X509CertificateCreateParams['signingAlgorithm'],
    extensions: extensionsFor(opts, ca),
  });
  const der = new Uint8Array(cert.rawData);
  return { der, pem: cert.toString('pem'), cert, name, keys, algorithm, ...(await rawKeys(algorithm, keys)) };
}

/** A self-signed root CA (default ECDSA P-256, cA=TRUE, keyCertSign|cRLSign, valid from yesterday for a year). */
export function makeRoot(opts: CertOptions = {}): Promise<PkiCert> {
  return issue(undefined, opts, true, 'KT Test Root');
}

/** An intermediate CA issued by `issuer` (default ECDSA P-256). */
export function makeIntermediate(issuer: PkiCert, opts: CertOptions = {}): Promise<PkiCert> {
  return issue(issuer, opts, true, 'KT Test Intermediate');
}

/** A provider leaf issued by `issuer` (default Ed25519, SAN provider.example, digitalSignature, server+client auth). */
export function makeLeaf(issuer: PkiCert, opts: CertOptions = {}): Promise<PkiCert> {
  return issue(issuer, opts, false, 'KT Test Provider');
}

// ---------------------------------------------------------------------------------------------------
// DER surgery

interface Tlv {
  tag: number;
  body: number;
  end: number;
}

function readTlv(der: Uint8Array, at: number): Tlv {
  let len = der[at + 1];
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[body + i];
    body += n;
  }
  return { tag: der[at], body, end: body + len };
}

/** DER-encodes one TLV. */
export function encodeTlv(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  const len =
    n < 0x80
      ? [n]
      : n < 0x100
        ? [0x81, n]
        : n < 0x10000
          ? [0x82, n >> 8, n & 255]
          : [0x83, n >> 16, (n >> 8) & 255, n & 255];
  return concatBytes(Uint8Array.of(tag, ...len), body);
}

function encodeInteger(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const bytes = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
  return encodeTlv(0x02, bytes[0] & 0x80 ? concatBytes(new Uint8Array(1), bytes) : bytes);
}

/**
 * The same certificate with its P-256 ECDSA signature replaced by (r, n - s): still valid, same
 * tbsCertificate, different DER (so a different SHA-256 of the DER).
 */
export function malleateEcdsaSignature(der: Uint8Array): Uint8Array {
  const outer = readTlv(der, 0);
  const tbs = readTlv(der, outer.body);
  const alg = readTlv(der, tbs.end);
  const bits = readTlv(der, alg.end);
  const seq = readTlv(der, bits.body + 1);
  const r = readTlv(der, seq.body);
  const s = readTlv(der, r.end);
  const big = (t: Tlv) => BigInt('0x' + toHex(der.subarray(t.body, t.end)));
  const sig = encodeTlv(0x30, concatBytes(encodeInteger(big(r)), encodeInteger(P256_N - big(s))));
  const bitString = encodeTlv(0x03, concatBytes(new Uint8Array(1), sig));
  return encodeTlv(0x30, concatBytes(der.subarray(outer.body, alg.end), bitString));
}

/** A copy of `der` with one byte of the first occurrence of the ASCII `text` changed (e.g. inside the TBS). */
export function tamperText(der: Uint8Array, text: string): Uint8Array {
  const needle = new TextEncoder().encode(text);
  for (let i = 0; i + needle.length <= der.length; i++) {
    if (needle.every((b, j) => der[i + j] === b)) {
      const out = der.slice();
      out[i] ^= 0x01;
      return out;
    }
  }
  throw new Error(`"${text}" not found in the certificate`);
}

/** PEM of one DER certificate (64-character lines). */
export function toPem(der: Uint8Array): string {
  return x509.PemConverter.encode(der.slice(), 'CERTIFICATE');
}
