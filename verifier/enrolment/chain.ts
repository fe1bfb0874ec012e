/**
 * Provider enrolment by X.509 certificate chain (RFC 5280 profile), in pure TypeScript over @noble: the one
 * implementation of docs/PROTOCOL.md section 13.2, used by the directory when a provider enrols and by the
 * auditor for every enrolment entry. A chain is leaf first, then intermediates in issuing order; it must end at
 * a configured trusted root (exact DER) or at a certificate a trusted root issued. Every certificate of the
 * path, the root included, must be valid at `now`; every link is checked for name chaining and for the
 * issuer's signature; every issuer must be a CA allowed to sign certificates, within its path length; the leaf
 * must be an end-entity signing certificate with an Ed25519 or ECDSA P-256 key and exactly one DNS name, which
 * becomes the provider id. The first failing rule, in the documented order, names the error.
 */
import { equalBytes, fromHex } from '../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { normalizePublicKey, type SignatureAlgorithm } from '../../wasm-free-crypto/signatures.js';
import { KEY_USAGE, OID, parseCertificate, type ParsedCert } from './certificate.js';
import { readBitString, readChildren, readWhole, TAG } from './der.js';
import { ProviderError } from './errors.js';
import { rsaModulusBits, signatureAlgorithm, signedBy } from './signatures.js';

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
  /**
   * When every certificate of the path, the trust anchor included, is valid: the latest notBefore and the
   * earliest notAfter (inclusive, ms). An enrolment is logged only at a time inside it: the directory checks the
   * epoch's time, the auditor the time of the epoch head that commits the entry (docs/PROTOCOL.md section 14).
   */
  pathValidity: { notBefore: number; notAfter: number };
  /** SHA-256 of the leaf DER as presented. NOT unique per certificate when the issuer signs with ECDSA. */
  leafFingerprint: Uint8Array;
  /** SHA-256 of the leaf's tbsCertificate: fixed by the issuer's signature, the same for every encoding. */
  tbsFingerprint: Uint8Array;
  /** DER, leaf first, as presented. */
  chain: Uint8Array[];
}

// ---------------------------------------------------------------------------------------------------
// Path building and the checks on every link

/**
 * The certification path, leaf first and anchor last: the presented certificates, each issued by the next
 * (issuer Name bytes equal to the next subject Name bytes), plus the trusted root that issued the last one
 * unless the last one is itself a trusted root. A leaf cannot be its own anchor.
 */
function buildPath(certs: ParsedCert[], roots: ParsedCert[]): ParsedCert[] {
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
  if (candidates.length === 0) throw new ProviderError('cert_untrusted', `no trusted root named ${top.issuerName}`);
  for (const root of candidates) if (signedBy(top, root)) return [...certs, root];
  return [...certs, candidates[0]]; // its signature fails: checkLinks reports why
}

/** Issuer keys: RSA keys of at least 2048 bits (ECDSA and Ed25519 keys are fixed-size). */
function checkIssuerKey(c: ParsedCert, what: string): void {
  const bits = rsaModulusBits(c.spki);
  if (bits !== undefined && bits < 2048)
    throw new ProviderError('cert_bad_signature', `${what} has an RSA key shorter than 2048 bits`);
}

/** RFC 5280 section 6.1.3 (a)(1)-(2): each signature, then each validity period (inclusive) at `now`. */
function checkLinks(path: ParsedCert[], now: number): void {
  for (let i = 0; i + 1 < path.length; i++) {
    signatureAlgorithm(path[i], `certificate ${i}`);
    checkIssuerKey(path[i + 1], i + 2 === path.length ? 'the trust anchor' : `certificate ${i + 1}`);
    if (!signedBy(path[i], path[i + 1]))
      throw new ProviderError(
        'cert_bad_signature',
        `the signature on certificate ${i} does not verify under its issuer's key (${path[i + 1].subjectName})`,
      );
  }
  path.forEach((c, i) => {
    const what = i === path.length - 1 ? 'the trust anchor' : `certificate ${i}`;
    if (now < c.notBefore)
      throw new ProviderError(
        'cert_not_yet_valid',
        `${what} is not valid before ${new Date(c.notBefore).toISOString()}`,
      );
    if (now > c.notAfter)
      throw new ProviderError('cert_expired', `${what} expired at ${new Date(c.notAfter).toISOString()}`);
  });
}

const PROCESSED: readonly string[] = [OID.basicConstraints, OID.keyUsage, OID.extKeyUsage, OID.subjectAltName];

/**
 * RFC 5280 section 4.2: a critical extension this code does not process makes the certificate unusable;
 * name constraints are not implemented, so a path containing them is refused even when marked non-critical.
 */
function checkExtensions(path: ParsedCert[]): void {
  path.forEach((c, i) => {
    for (const e of c.extensions) {
      if ((e.critical && !PROCESSED.includes(e.oid)) || e.oid === OID.nameConstraints) {
        throw new ProviderError(
          'cert_unsupported_extension',
          `certificate ${i} has an unsupported extension ${e.oid}${e.critical ? ' (critical)' : ''}`,
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
    const bc = path[j].basicConstraints;
    const ku = path[j].keyUsage;
    if (!bc || !bc.ca)
      throw new ProviderError(
        'cert_not_ca',
        `certificate ${j} issues certificates but is not a CA (basicConstraints cA)`,
      );
    if (ku === undefined || (ku & KEY_USAGE.keyCertSign) === 0)
      throw new ProviderError('cert_not_ca', `certificate ${j} lacks keyUsage keyCertSign`);
    if (bc.pathLen !== undefined && j - 1 > bc.pathLen)
      throw new ProviderError(
        'cert_not_ca',
        `certificate ${j} allows ${bc.pathLen} intermediate CAs below it, the path has ${j - 1}`,
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
  if (leaf.basicConstraints?.ca) throw new ProviderError('cert_bad_key_usage', 'the leaf is a CA certificate');
  const ku = leaf.keyUsage;
  if (ku === undefined || (ku & KEY_USAGE.digitalSignature) === 0)
    throw new ProviderError('cert_bad_key_usage', 'the leaf lacks keyUsage digitalSignature');
  if (ku & KEY_USAGE.keyCertSign) throw new ProviderError('cert_bad_key_usage', 'the leaf has keyUsage keyCertSign');
  const allowed: readonly string[] = [OID.serverAuth, OID.clientAuth, OID.anyExtendedKeyUsage];
  if (leaf.extKeyUsage && !leaf.extKeyUsage.some((u) => allowed.includes(u)))
    throw new ProviderError(
      'cert_bad_key_usage',
      'the leaf extendedKeyUsage allows neither serverAuth, clientAuth nor any usage',
    );
}

// AlgorithmIdentifier DER: id-Ed25519 without parameters (RFC 8410 section 3); id-ecPublicKey with the
// namedCurve secp256r1 (RFC 5480 section 2.1.1).
const ALGID_ED25519 = fromHex('300506032b6570');
const ALGID_P256 = fromHex('301306072a8648ce3d020106082a8648ce3d030107');

/** The leaf's key: exactly one of the two AlgorithmIdentifiers above, a valid point, canonical form out. */
function leafKey(leaf: ParsedCert): { algorithm: SignatureAlgorithm; publicKey: Uint8Array } {
  const spki = leaf.spki;
  const [algId, bits] = readChildren(spki, readWhole(spki, TAG.sequence, 'subjectPublicKeyInfo'));
  const algBytes = spki.subarray(algId.start, algId.end);
  const algorithm = equalBytes(algBytes, ALGID_ED25519) ? 'ed25519' : equalBytes(algBytes, ALGID_P256) ? 'p256' : null;
  if (algorithm === null) throw new ProviderError('cert_bad_key', 'the leaf key is neither Ed25519 nor ECDSA P-256');
  const { unused, bytes } = readBitString(spki, bits, 'subjectPublicKey'); // well-formed: checked when parsed
  if (unused !== 0) throw new ProviderError('cert_bad_key', 'malformed subjectPublicKey BIT STRING');
  try {
    return { algorithm, publicKey: normalizePublicKey(algorithm, bytes) };
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
  const dns = leaf.dnsNames ?? [];
  if (dns.length !== 1)
    throw new ProviderError(
      'cert_no_dns_name',
      `the leaf must have exactly one subjectAltName dNSName, it has ${dns.length}`,
    );
  return validateProviderId(dns[0]);
}

/**
 * Validates a provider's certificate chain (DER, leaf first) against the trusted roots (DER) at `now` (ms
 * since the epoch) and returns the provider credential, or throws the ProviderError of the first rule
 * that fails, in this order: length, parsing, path to a root, signatures, validity, extensions, issuers,
 * leaf usage, leaf key, leaf name. Synchronous work behind a promise (the directory and the auditor await it).
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
  const path = buildPath(certs, roots);
  checkLinks(path, now);
  checkExtensions(path);
  checkIssuers(path);
  const leaf = certs[0];
  checkLeafUsage(leaf);
  const { algorithm, publicKey } = leafKey(leaf);
  return {
    providerId: leafProviderId(leaf),
    algorithm,
    publicKey,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    pathValidity: {
      notBefore: Math.max(...path.map((c) => c.notBefore)),
      notAfter: Math.min(...path.map((c) => c.notAfter)),
    },
    leafFingerprint: sha256(leaf.der),
    tbsFingerprint: sha256(leaf.tbs),
    chain: chain.map((c) => c.slice()),
  };
}
