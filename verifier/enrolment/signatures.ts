/**
 * The signatures on certificates (RFC 5280 section 4.1.1.3), verified in pure JavaScript over @noble: the
 * signature algorithms the enrolment rules accept (docs/PROTOCOL.md section 13.2.4 rule 5: Ed25519, ECDSA with
 * SHA-256/384/512, RSASSA-PKCS1-v1_5 with SHA-256/384/512; no SHA-1, SHA-224, MD5 or RSA-PSS), and the issuer
 * keys that verify them: Ed25519 (RFC 8410), ECDSA on P-256, P-384 or P-521 (RFC 5480; the curves WebCrypto
 * offers, any of the three hashes on any of the three curves), RSA (rsa.ts). Ed25519 is verified by the strict
 * rules of docs/PROTOCOL.md section 13.1.1; an ECDSA signature is a strict DER Ecdsa-Sig-Value with r and s in
 * [1, n-1], high S accepted (as WebCrypto does). `signedBy` never throws: whatever does not decode or verify
 * is `false`, and the rules report it as `cert_bad_signature`.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { decodeNistPublicKey, ecdsaVerifyDigest, type NistCurve } from '../../wasm-free-crypto/ecdsa.js';
import { verifySignatureSync } from '../../wasm-free-crypto/signatures.js';
import { readAlgorithmIdentifier, type ParsedCert } from './certificate.js';
import { readBitString, readChildren, readOid, readPositive, readWhole, TAG } from './der.js';
import { ProviderError } from './errors.js';
import { HASHES, readRsaPublicKey, verifyRsaPkcs1v15, type HashName, type RsaPublicKey } from './rsa.js';

export type CertSignatureAlgorithm = { name: 'Ed25519' } | { name: 'ECDSA' | 'RSASSA-PKCS1-v1_5'; hash: HashName };

// Signature AlgorithmIdentifiers: Ed25519 without parameters (RFC 8410 section 3), ecdsa-with-SHA* without
// parameters (RFC 5758 section 3.2), sha*WithRSAEncryption with NULL or absent parameters (RFC 4055 section 5).
const NULL = Uint8Array.of(0x05, 0x00);
const ACCEPTED: Record<string, CertSignatureAlgorithm & { rsa?: true }> = {
  '1.3.101.112': { name: 'Ed25519' },
  '1.2.840.10045.4.3.2': { name: 'ECDSA', hash: 'SHA-256' },
  '1.2.840.10045.4.3.3': { name: 'ECDSA', hash: 'SHA-384' },
  '1.2.840.10045.4.3.4': { name: 'ECDSA', hash: 'SHA-512' },
  '1.2.840.113549.1.1.11': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', rsa: true },
  '1.2.840.113549.1.1.12': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384', rsa: true },
  '1.2.840.113549.1.1.13': { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512', rsa: true },
};
/** Names of refused algorithms, for the message. */
const REFUSED: Record<string, string> = {
  '1.2.840.10045.4.1': 'ECDSA with SHA-1',
  '1.2.840.10045.4.3.1': 'ECDSA with SHA-224',
  '1.2.840.113549.1.1.4': 'RSASSA-PKCS1-v1_5 with MD5',
  '1.2.840.113549.1.1.5': 'RSASSA-PKCS1-v1_5 with SHA-1',
  '1.2.840.113549.1.1.14': 'RSASSA-PKCS1-v1_5 with SHA-224',
  '1.2.840.113549.1.1.10': 'RSA-PSS',
  '1.3.101.113': 'Ed448',
};

/** Rule 5: the algorithm of `c`'s signature, or `cert_bad_signature` naming the refused one. */
export function signatureAlgorithm(c: ParsedCert, what: string): CertSignatureAlgorithm {
  const { oid, parameters } = c.signatureAlgorithm;
  const alg = ACCEPTED[oid];
  const paramsOk = parameters === undefined || (alg?.rsa === true && equalBytes(parameters, NULL));
  if (alg && paramsOk) return alg.name === 'Ed25519' ? alg : { name: alg.name, hash: alg.hash };
  const name = REFUSED[oid] ?? (alg ? `${alg.name} with unexpected parameters` : oid);
  throw new ProviderError('cert_bad_signature', `${what}: unsupported signature algorithm ${name}`);
}

const CURVES: Record<string, NistCurve> = {
  '1.2.840.10045.3.1.7': 'p256', // secp256r1 (RFC 5480 section 2.1.1.1)
  '1.3.132.0.34': 'p384', // secp384r1
  '1.3.132.0.35': 'p521', // secp521r1
};

type IssuerKey =
  | { type: 'ed25519'; key: Uint8Array }
  | { type: 'ecdsa'; curve: NistCurve; point: Uint8Array }
  | { type: 'rsa'; key: RsaPublicKey };

/**
 * The key of a SubjectPublicKeyInfo as an issuer key: id-Ed25519 without parameters (RFC 8410 section 3),
 * id-ecPublicKey with a namedCurve (RFC 5480 section 2.1.1), rsaEncryption with NULL parameters (RFC 3279
 * section 2.3.1); the BIT STRING without unused bits. Throws for anything else.
 */
function issuerKey(spki: Uint8Array): IssuerKey {
  const [algTlv, bitsTlv] = readChildren(spki, readWhole(spki, TAG.sequence, 'subjectPublicKeyInfo'));
  const alg = readAlgorithmIdentifier(spki, algTlv, 'subjectPublicKeyInfo algorithm');
  const { unused, bytes } = readBitString(spki, bitsTlv, 'subjectPublicKey');
  if (unused !== 0) throw new Error('subjectPublicKey has unused bits');
  const p = alg.parameters;
  if (alg.oid === '1.3.101.112' && p === undefined) return { type: 'ed25519', key: bytes };
  if (alg.oid === '1.2.840.113549.1.1.1' && p && equalBytes(p, NULL))
    return { type: 'rsa', key: readRsaPublicKey(bytes) };
  const curve =
    alg.oid === '1.2.840.10045.2.1' && p
      ? CURVES[readOid(p, readWhole(p, TAG.oid, 'namedCurve'), 'namedCurve')]
      : undefined;
  if (curve) return { type: 'ecdsa', curve, point: bytes };
  throw new Error(`unsupported issuer key algorithm ${alg.oid}`);
}

/** The modulus length of an RSA key (rsaEncryption or RSASSA-PSS), or undefined for any other key. */
export function rsaModulusBits(spki: Uint8Array): number | undefined {
  try {
    const [algTlv, bitsTlv] = readChildren(spki, readWhole(spki, TAG.sequence, 'subjectPublicKeyInfo'));
    const { oid } = readAlgorithmIdentifier(spki, algTlv, 'subjectPublicKeyInfo algorithm');
    if (oid !== '1.2.840.113549.1.1.1' && oid !== '1.2.840.113549.1.1.10') return undefined;
    return readRsaPublicKey(readBitString(spki, bitsTlv, 'subjectPublicKey').bytes).bits;
  } catch {
    return undefined;
  }
}

/**
 * ECDSA (FIPS 186-5 section 6.4.2) over the digest of `message`: the signature is the DER of Ecdsa-Sig-Value
 * ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5480 section 2.2, RFC 5758 section 3.2), r and s in [1, n-1].
 */
function verifyEcdsa(
  curve: NistCurve,
  point: Uint8Array,
  hash: HashName,
  message: Uint8Array,
  sig: Uint8Array,
): boolean {
  const [rt, st, ...rest] = readChildren(sig, readWhole(sig, TAG.sequence, 'Ecdsa-Sig-Value'));
  const r = readPositive(sig, rt, 'ECDSA r');
  const s = readPositive(sig, st, 'ECDSA s');
  if (rest.length > 0) return false;
  // r and s in [1, n-1] are checked by ecdsaVerifyDigest (wasm-free-crypto/ecdsa.ts).
  return ecdsaVerifyDigest(curve, decodeNistPublicKey(curve, point), HASHES[hash](message), r, s);
}

/** True when `issuer`'s key verifies `subject`'s signature over its exact tbsCertificate bytes (RFC 5280 6.1.3 (a)(1)). */
export function signedBy(subject: ParsedCert, issuer: ParsedCert): boolean {
  try {
    const alg = signatureAlgorithm(subject, 'subject');
    const key = issuerKey(issuer.spki);
    const { unused, bytes } = subject.signature;
    if (unused !== 0) return false;
    if (alg.name === 'Ed25519')
      return key.type === 'ed25519' && verifySignatureSync('ed25519', key.key, subject.tbs, bytes);
    if (alg.name === 'ECDSA')
      return key.type === 'ecdsa' && verifyEcdsa(key.curve, key.point, alg.hash, subject.tbs, bytes);
    return key.type === 'rsa' && verifyRsaPkcs1v15(key.key, alg.hash, subject.tbs, bytes);
  } catch {
    return false;
  }
}
