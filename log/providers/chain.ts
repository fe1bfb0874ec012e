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
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { normalizePublicKey, type SignatureAlgorithm } from '../../wasm-free-crypto/signatures.js';
import { parseCertificate, readChildren, readTlv, type ParsedCert } from './certificate.js';
import { ProviderError } from './errors.js';

/** At most this many certificates may be presented (leaf and up to four CA certificates). */
const MAX_CHAIN_LENGTH = 5;

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
