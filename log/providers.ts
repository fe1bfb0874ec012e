/**
 * Provider enrolment by X.509 certificate chain (RFC 5280 profile, validated with @peculiar/x509 over
 * WebCrypto, so it runs in Node and in Workers). A chain is leaf first, then intermediates in issuing order;
 * it must end at a configured trusted root (exact DER) or at a certificate a trusted root issued. Every
 * certificate of the path, the root included, must be valid at `now`; every link is checked for name chaining
 * and for the issuer's signature; every issuer must be a CA allowed to sign certificates, within its path
 * length; the leaf must be an end-entity signing certificate with an Ed25519 or ECDSA P-256 key and exactly
 * one DNS name, which becomes the provider id. The rules, their order and their error codes are documented
 * in docs/PROTOCOL.md ("Providers"); the first failing rule, in that order, names the error.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { equalBytes, fromBase64 } from '../wasm-free-crypto/bytes.js';
import { CodedError } from '../wasm-free-crypto/errors.js';
import { sha256 } from '../wasm-free-crypto/sha256.js';
import { normalizePublicKey, type SignatureAlgorithm } from '../wasm-free-crypto/signatures.js';

x509.cryptoProvider.set(globalThis.crypto);

/**
 * Codes: 'cert_parse', 'cert_untrusted', 'cert_bad_signature', 'cert_expired', 'cert_not_yet_valid',
 * 'cert_not_ca', 'cert_unsupported_extension', 'cert_bad_key_usage', 'cert_bad_key', 'cert_no_dns_name',
 * 'cert_chain_too_long'; and, raised by callers, 'provider_id_mismatch' and 'cert_revoked'.
 */
export class ProviderError extends CodedError {}

/** At most this many certificates may be presented (leaf and up to four CA certificates). */
export const MAX_CHAIN_LENGTH = 5;

/** A validated provider credential. */
export interface ProviderCredential {
  /** The leaf's single SAN dNSName, lower-cased. */
  providerId: string;
  algorithm: SignatureAlgorithm;
  /** Ed25519: 32 bytes raw; P-256: 65 bytes uncompressed SEC 1. */
  publicKey: Uint8Array;
  /** Validity window of the leaf, ms since the epoch (inclusive bounds, RFC 5280 section 4.1.2.5). */
  notBefore: number;
  notAfter: number;
  /** SHA-256 of the leaf DER as presented. NOT unique per certificate when the issuer signs with ECDSA. */
  leafFingerprint: Uint8Array;
  /** SHA-256 of the leaf's tbsCertificate: fixed by the issuer's signature, the same for every encoding. */
  tbsFingerprint: Uint8Array;
  /** DER, leaf first, as presented. */
  chain: Uint8Array[];
}

// ---------------------------------------------------------------------------------------------------
// Strict DER framing (X.690 section 10: definite, minimal lengths)

interface Tlv {
  tag: number;
  start: number; // first byte of the TLV
  body: number; // first byte of the contents
  end: number; // one past the last byte
}

function fail(message: string): never {
  throw new ProviderError('cert_parse', message);
}

/** Reads one TLV at `offset` that must end by `limit`; single-byte tags only (all X.509 needs). */
function readTlv(der: Uint8Array, offset: number, limit: number): Tlv {
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
function readChildren(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end; at = out[out.length - 1].end) out.push(readTlv(der, at, parent.end));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Parsing

interface ParsedCert {
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
function parseCertificate(der: Uint8Array, what: string): ParsedCert {
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

// ---------------------------------------------------------------------------------------------------
// Path building and the checks on every link

/** Signature algorithms accepted on certificates: no SHA-1, no MD5 (WebCrypto names from @peculiar/x509). */
function checkSignatureAlgorithm(c: ParsedCert, what: string): void {
  const alg = c.cert.signatureAlgorithm as { name: string; hash?: { name: string } };
  const hash = alg.hash?.name;
  const ok =
    alg.name === 'Ed25519' ||
    ((alg.name === 'ECDSA' || alg.name === 'RSASSA-PKCS1-v1_5') &&
      (hash === 'SHA-256' || hash === 'SHA-384' || hash === 'SHA-512'));
  if (!ok)
    throw new ProviderError(
      'cert_bad_signature',
      `${what}: unsupported signature algorithm ${alg.name}${hash ? ` with ${hash}` : ''}`,
    );
}

/** Issuer keys: RSA keys of at least 2048 bits (ECDSA and Ed25519 keys are fixed-size). */
function checkIssuerKey(c: ParsedCert, what: string): void {
  const key = c.cert.publicKey.algorithm as { name: string; modulusLength?: number };
  if (key.name.startsWith('RSA') && (key.modulusLength ?? 0) < 2048)
    throw new ProviderError('cert_bad_signature', `${what} has an RSA key shorter than 2048 bits`);
}

/** True when `issuer`'s key verifies `subject`'s signature (RFC 5280 section 6.1.3 (a)(1)). */
async function signedBy(subject: ParsedCert, issuer: ParsedCert): Promise<boolean> {
  try {
    return await subject.cert.verify({ publicKey: issuer.cert.publicKey, signatureOnly: true }, globalThis.crypto);
  } catch {
    return false;
  }
}

/**
 * The certification path, leaf first and anchor last: the presented certificates, each issued by the next
 * (issuer Name bytes equal to the next subject Name bytes), plus the trusted root that issued the last one
 * unless the last one is itself a trusted root. A leaf cannot be its own anchor.
 */
async function buildPath(certs: ParsedCert[], roots: ParsedCert[]): Promise<ParsedCert[]> {
  for (let i = 0; i + 1 < certs.length; i++) {
    if (!equalBytes(certs[i].issuer, certs[i + 1].subject))
      throw new ProviderError(
        'cert_untrusted',
        `certificate ${i} was not issued by certificate ${i + 1} (issuer/subject names differ)`,
      );
  }
  const top = certs[certs.length - 1];
  if (roots.some((r) => equalBytes(r.der, top.der))) {
    if (certs.length === 1) throw new ProviderError('cert_untrusted', 'the leaf is a trusted root itself');
    return certs;
  }
  const candidates = roots.filter((r) => equalBytes(r.subject, top.issuer));
  if (candidates.length === 0) throw new ProviderError('cert_untrusted', `no trusted root named ${top.cert.issuer}`);
  for (const root of candidates) if (await signedBy(top, root)) return [...certs, root];
  return [...certs, candidates[0]]; // its signature fails: checkLinks reports why
}

/** RFC 5280 section 6.1.3 (a)(1)-(2): each signature, then each validity period (inclusive) at `now`. */
async function checkLinks(path: ParsedCert[], now: number): Promise<void> {
  for (let i = 0; i + 1 < path.length; i++) {
    checkSignatureAlgorithm(path[i], `certificate ${i}`);
    checkIssuerKey(path[i + 1], i + 2 === path.length ? 'the trust anchor' : `certificate ${i + 1}`);
    if (!(await signedBy(path[i], path[i + 1])))
      throw new ProviderError(
        'cert_bad_signature',
        `the signature on certificate ${i} does not verify under its issuer's key (${path[i + 1].cert.subject})`,
      );
  }
  path.forEach((c, i) => {
    const what = i === path.length - 1 ? 'the trust anchor' : `certificate ${i}`;
    if (now < c.cert.notBefore.getTime())
      throw new ProviderError('cert_not_yet_valid', `${what} is not valid before ${c.cert.notBefore.toISOString()}`);
    if (now > c.cert.notAfter.getTime())
      throw new ProviderError('cert_expired', `${what} expired at ${c.cert.notAfter.toISOString()}`);
  });
}

const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  nameConstraints: '2.5.29.30',
  anyExtendedKeyUsage: '2.5.29.37.0',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};
const PROCESSED = new Set([OID.basicConstraints, OID.keyUsage, OID.extKeyUsage, OID.subjectAltName]);

/**
 * RFC 5280 section 4.2: a critical extension this code does not process makes the certificate unusable;
 * name constraints are not implemented, so a path containing them is refused even when marked non-critical.
 */
function checkExtensions(path: ParsedCert[]): void {
  path.forEach((c, i) => {
    for (const e of c.cert.extensions) {
      if ((e.critical && !PROCESSED.has(e.type)) || e.type === OID.nameConstraints) {
        throw new ProviderError(
          'cert_unsupported_extension',
          `certificate ${i} has an unsupported extension ${e.type}${e.critical ? ' (critical)' : ''}`,
        );
      }
    }
  });
}

/**
 * RFC 5280 sections 4.2.1.9 and 4.2.1.3, 6.1.4 (k)-(n): every issuer (path[1..], the anchor included) has
 * basicConstraints cA=TRUE and keyUsage with keyCertSign; an issuer with pathLenConstraint p has at most p
 * intermediate CA certificates below it (self-issued ones counted too).
 */
function checkIssuers(path: ParsedCert[]): void {
  for (let j = 1; j < path.length; j++) {
    const bc = path[j].cert.getExtension(x509.BasicConstraintsExtension);
    const ku = path[j].cert.getExtension(x509.KeyUsagesExtension);
    if (!bc || !bc.ca)
      throw new ProviderError(
        'cert_not_ca',
        `certificate ${j} issues certificates but is not a CA (basicConstraints cA)`,
      );
    if (!ku || (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0)
      throw new ProviderError('cert_not_ca', `certificate ${j} lacks keyUsage keyCertSign`);
    if (bc.pathLength !== undefined && j - 1 > bc.pathLength)
      throw new ProviderError(
        'cert_not_ca',
        `certificate ${j} allows ${bc.pathLength} intermediate CAs below it, the path has ${j - 1}`,
      );
  }
}

// ---------------------------------------------------------------------------------------------------
// The leaf

/**
 * End-entity signing certificate: no basicConstraints cA=TRUE; keyUsage present, with digitalSignature and
 * without keyCertSign; extendedKeyUsage, when present, lists serverAuth, clientAuth or anyExtendedKeyUsage.
 */
function checkLeafUsage(leaf: ParsedCert): void {
  const bc = leaf.cert.getExtension(x509.BasicConstraintsExtension);
  if (bc?.ca) throw new ProviderError('cert_bad_key_usage', 'the leaf is a CA certificate');
  const ku = leaf.cert.getExtension(x509.KeyUsagesExtension);
  if (!ku || (ku.usages & x509.KeyUsageFlags.digitalSignature) === 0)
    throw new ProviderError('cert_bad_key_usage', 'the leaf lacks keyUsage digitalSignature');
  if (ku.usages & x509.KeyUsageFlags.keyCertSign)
    throw new ProviderError('cert_bad_key_usage', 'the leaf has keyUsage keyCertSign');
  const eku = leaf.cert.getExtension(x509.ExtendedKeyUsageExtension);
  const allowed = [OID.serverAuth, OID.clientAuth, OID.anyExtendedKeyUsage];
  if (eku && !eku.usages.some((u) => allowed.includes(String(u))))
    throw new ProviderError(
      'cert_bad_key_usage',
      'the leaf extendedKeyUsage allows neither serverAuth, clientAuth nor any usage',
    );
}

// AlgorithmIdentifier DER: id-Ed25519 without parameters (RFC 8410 section 3); id-ecPublicKey with the
// namedCurve secp256r1 (RFC 5480 section 2.1.1).
const ALGID_ED25519 = Uint8Array.of(0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70);
const ALGID_P256 = Uint8Array.of(
  0x30,
  0x13,
  0x06,
  0x07,
  0x2a,
  0x86,
  0x48,
  0xce,
  0x3d,
  0x02,
  0x01,
  0x06,
  0x08,
  0x2a,
  0x86,
  0x48,
  0xce,
  0x3d,
  0x03,
  0x01,
  0x07,
);

/** The leaf's key: exactly one of the two AlgorithmIdentifiers above, a valid point, canonical form out. */
function leafKey(leaf: ParsedCert): { algorithm: SignatureAlgorithm; publicKey: Uint8Array } {
  const spki = leaf.spki;
  const [algId, bits] = readChildren(spki, readTlv(spki, 0, spki.length));
  const algBytes = spki.subarray(algId.start, algId.end);
  const algorithm = equalBytes(algBytes, ALGID_ED25519) ? 'ed25519' : equalBytes(algBytes, ALGID_P256) ? 'p256' : null;
  if (algorithm === null) throw new ProviderError('cert_bad_key', 'the leaf key is neither Ed25519 nor ECDSA P-256');
  if (bits?.tag !== 0x03 || spki[bits.body] !== 0)
    throw new ProviderError('cert_bad_key', 'malformed subjectPublicKey BIT STRING');
  try {
    return { algorithm, publicKey: normalizePublicKey(algorithm, spki.subarray(bits.body + 1, bits.end)) };
  } catch (e) {
    throw new ProviderError('cert_bad_key', `the leaf ${algorithm} key is invalid: ${(e as Error).message}`);
  }
}

/**
 * A provider id: an LDH host name (RFC 1123 section 2.1, RFC 5890 A-labels allowed), lower-cased, 1-253
 * characters, labels of 1-63 characters not starting or ending with '-', no trailing dot, no wildcard, and
 * a last label that is not all digits (so an IPv4 address is never a provider id).
 */
export function validateProviderId(name: string): string {
  if (name.includes('*')) throw new ProviderError('cert_no_dns_name', `wildcard names are refused: ${name}`);
  const id = /^[A-Za-z0-9.-]{1,253}$/.test(name) ? name.toLowerCase() : '';
  const labels = id.split('.');
  const ldh = labels.every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l));
  if (id === '' || !ldh || /^[0-9]+$/.test(labels[labels.length - 1]))
    throw new ProviderError('cert_no_dns_name', `not a valid DNS name: ${JSON.stringify(name)}`);
  return id;
}

/** RFC 5280 section 4.2.1.6: exactly one dNSName in subjectAltName (other name types are ignored). */
function leafProviderId(leaf: ParsedCert): string {
  const san = leaf.cert.getExtension(x509.SubjectAlternativeNameExtension);
  const dns = san ? san.names.items.filter((n) => n.type === 'dns') : [];
  if (dns.length !== 1)
    throw new ProviderError(
      'cert_no_dns_name',
      `the leaf must have exactly one subjectAltName dNSName, it has ${dns.length}`,
    );
  return validateProviderId(dns[0].value);
}

/**
 * Validates a provider's certificate chain (DER, leaf first) against the trusted roots (DER) at `now` (ms
 * since the epoch) and returns the provider credential, or throws the ProviderError of the first rule
 * that fails, in this order: length, parsing, path to a root, signatures, validity, extensions, issuers,
 * leaf usage, leaf key, leaf name.
 */
export async function validateProviderChain(
  chain: Uint8Array[],
  trustedRoots: Uint8Array[],
  now: number,
): Promise<ProviderCredential> {
  if (chain.length === 0) throw new ProviderError('cert_parse', 'empty certificate chain');
  if (chain.length > MAX_CHAIN_LENGTH)
    throw new ProviderError('cert_chain_too_long', `${chain.length} certificates, at most ${MAX_CHAIN_LENGTH}`);
  const certs = chain.map((der, i) => parseCertificate(der, `certificate ${i}`));
  const roots = trustedRoots.map((der, i) => parseCertificate(der, `trusted root ${i}`));
  const path = await buildPath(certs, roots);
  await checkLinks(path, now);
  checkExtensions(path);
  checkIssuers(path);
  const leaf = certs[0];
  checkLeafUsage(leaf);
  const { algorithm, publicKey } = leafKey(leaf);
  return {
    providerId: leafProviderId(leaf),
    algorithm,
    publicKey,
    notBefore: leaf.cert.notBefore.getTime(),
    notAfter: leaf.cert.notAfter.getTime(),
    leafFingerprint: sha256(leaf.der),
    tbsFingerprint: sha256(leaf.tbs),
    chain: chain.map((c) => c.slice()),
  };
}
