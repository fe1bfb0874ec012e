/**
 * X.509 certificates as the enrolment rules read them (RFC 5280 section 4.1), parsed by the strict DER reader
 * of der.ts alone, in pure TypeScript (Node, browsers and Workers, no X.509 library): one Certificate per DER
 * string with nothing after it; a v3 tbsCertificate whose `signature` is byte-identical to the outer
 * signatureAlgorithm (section 4.1.1.2); Names, validity, the SubjectPublicKeyInfo and the extensions
 * structurally checked; no extension twice (section 4.2); and the four extensions the rules process decoded
 * (basicConstraints, keyUsage, extendedKeyUsage, subjectAltName). Other extensions are kept as their OID,
 * critical flag and bytes (the rules refuse the critical ones). DEFAULT values must be absent, not encoded
 * (X.690 section 11.5). Every refusal is a ProviderError `cert_parse`.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import {
  contents,
  encoding,
  expectTag,
  fail,
  readBitString,
  readBoolean,
  readChildren,
  readInteger,
  readNamedBits,
  readOid,
  readTlv,
  readWhole,
  TAG,
  type Tlv,
} from './der.js';
import { ProviderError } from './errors.js';
import { readTime } from './time.js';

/** The extensions the rules read or refuse (RFC 5280 section 4.2.1) and the purposes of a leaf (4.2.1.12). */
export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  nameConstraints: '2.5.29.30',
  anyExtendedKeyUsage: '2.5.29.37.0',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** keyUsage bits (RFC 5280 section 4.2.1.3) as `readNamedBits` returns them. */
export const KEY_USAGE = { digitalSignature: 1 << 0, keyCertSign: 1 << 5 } as const;

/** RFC 5280 section 4.1.1.2: an algorithm and its parameters (the DER of one value), if any. */
export interface AlgorithmIdentifier {
  oid: string;
  parameters: Uint8Array | undefined;
}

export interface Extension {
  oid: string;
  critical: boolean;
  /** The contents of extnValue: the DER of the extension's value. */
  value: Uint8Array;
}

export interface ParsedCert {
  der: Uint8Array;
  tbs: Uint8Array; // DER of the tbsCertificate, the signed bytes
  signatureAlgorithm: AlgorithmIdentifier;
  signature: { unused: number; bytes: Uint8Array };
  issuer: Uint8Array; // DER of the issuer Name
  subject: Uint8Array; // DER of the subject Name
  issuerName: string; // for messages only
  subjectName: string;
  notBefore: number; // ms since the epoch
  notAfter: number;
  spki: Uint8Array; // DER of the SubjectPublicKeyInfo
  extensions: Extension[];
  basicConstraints?: { ca: boolean; pathLen?: number };
  keyUsage?: number;
  extKeyUsage?: string[];
  /** The dNSNames of subjectAltName, in order; undefined without the extension. */
  dnsNames?: string[];
}

/** RFC 5280 section 4.1.1.2: AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }. */
export function readAlgorithmIdentifier(der: Uint8Array, t: Tlv | undefined, what: string): AlgorithmIdentifier {
  const [oid, parameters, ...rest] = readChildren(der, expectTag(t, TAG.sequence, what));
  if (rest.length > 0) fail(`${what}: AlgorithmIdentifier with more than two fields`);
  return { oid: readOid(der, oid, what), parameters: parameters && encoding(der, parameters) };
}

const ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '0.9.2342.19200300.100.1.25': 'DC',
};

/** One character per byte (no spread of a long array into arguments). */
function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** An attribute value for messages: the text of a string type, else `#` and the hex of its DER. */
function attributeText(der: Uint8Array, t: Tlv): string {
  const v = contents(der, t);
  if (t.tag === 0x0c) return new TextDecoder().decode(v); // UTF8String
  if ([0x13, 0x14, 0x16].includes(t.tag)) return latin1(v); // Printable, Teletex, IA5
  return `#${[...der.subarray(t.start, t.end)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * RFC 5280 section 4.1.2.4: Name ::= SEQUENCE OF RelativeDistinguishedName, each a non-empty SET OF
 * SEQUENCE { type OID, value ANY }. Returns its DER (compared byte for byte) and a text for messages.
 */
function readName(der: Uint8Array, t: Tlv | undefined, what: string): { bytes: Uint8Array; text: string } {
  const parts: string[] = [];
  for (const rdn of readChildren(der, expectTag(t, TAG.sequence, what))) {
    const atvs = readChildren(der, expectTag(rdn, TAG.set, what));
    if (atvs.length === 0) fail(`${what}: empty RelativeDistinguishedName`);
    for (const atv of atvs) {
      const [type, value, ...rest] = readChildren(der, expectTag(atv, TAG.sequence, what));
      if (value === undefined || rest.length > 0) fail(`${what}: malformed AttributeTypeAndValue`);
      const oid = readOid(der, type, what);
      parts.push(`${ATTRIBUTE_NAMES[oid] ?? oid}=${attributeText(der, value)}`);
    }
  }
  return { bytes: encoding(der, t!), text: parts.join(', ') };
}

/** RFC 5280 section 4.1: SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }. */
function readSpki(der: Uint8Array, t: Tlv | undefined): Uint8Array {
  const [alg, key, ...rest] = readChildren(der, expectTag(t, TAG.sequence, 'subjectPublicKeyInfo'));
  if (rest.length > 0) fail('subjectPublicKeyInfo with more than two fields');
  readAlgorithmIdentifier(der, alg, 'subjectPublicKeyInfo algorithm');
  readBitString(der, key, 'subjectPublicKey');
  return encoding(der, t!);
}

/**
 * RFC 5280 section 4.1: Extensions ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE { extnID OID, critical BOOLEAN
 * DEFAULT FALSE, extnValue OCTET STRING }; critical, when encoded, is TRUE (X.690 section 11.5). No OID twice.
 */
function readExtensions(der: Uint8Array, t: Tlv): Extension[] {
  const wrapped = readChildren(der, t);
  if (wrapped.length !== 1) fail('extensions: [3] does not hold exactly one SEQUENCE');
  const list = readChildren(der, expectTag(wrapped[0], TAG.sequence, 'extensions'));
  if (list.length === 0) fail('extensions: empty');
  const out = list.map((e): Extension => {
    const f = readChildren(der, expectTag(e, TAG.sequence, 'extension'));
    if (f.length < 2 || f.length > 3) fail('extension: malformed');
    const oid = readOid(der, f[0], 'extension');
    if (f.length === 3 && !readBoolean(der, f[1], `extension ${oid} critical`))
      fail(`extension ${oid}: critical FALSE encoded (DER omits a DEFAULT)`);
    const value = contents(der, expectTag(f[f.length - 1], TAG.octetString, `extension ${oid}`));
    return { oid, critical: f.length === 3, value };
  });
  const oids = out.map((e) => e.oid);
  if (new Set(oids).size !== oids.length) fail('an extension appears twice');
  return out;
}

/** RFC 5280 section 4.2.1.9: SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }. */
function basicConstraints(v: Uint8Array): { ca: boolean; pathLen?: number } {
  const f = readChildren(v, readWhole(v, TAG.sequence, 'basicConstraints'));
  let ca = false;
  if (f[0]?.tag === TAG.boolean) {
    ca = readBoolean(v, f.shift(), 'basicConstraints cA');
    if (!ca) fail('basicConstraints: cA FALSE encoded (DER omits a DEFAULT)');
  }
  if (f.length > 1) fail('basicConstraints: malformed');
  if (f.length === 0) return { ca };
  const pathLen = readInteger(v, f[0], 'basicConstraints pathLenConstraint');
  if (pathLen < 0n) fail('basicConstraints: negative pathLenConstraint');
  return { ca, pathLen: Number(pathLen > 0xffffn ? 0xffffn : pathLen) }; // any value above 3 allows every path here
}

/** RFC 5280 section 4.2.1.3: KeyUsage ::= BIT STRING, a named bit list. */
function keyUsage(v: Uint8Array): number {
  return readNamedBits(v, readWhole(v, TAG.bitString, 'keyUsage'), 'keyUsage');
}

/** RFC 5280 section 4.2.1.12: ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId (an OID). */
function extKeyUsage(v: Uint8Array): string[] {
  const f = readChildren(v, readWhole(v, TAG.sequence, 'extendedKeyUsage'));
  if (f.length === 0) fail('extendedKeyUsage: empty');
  return f.map((t) => readOid(v, t, 'extendedKeyUsage'));
}

// GeneralName (RFC 5280 section 4.2.1.6): the tag of each choice, as encoded (IMPLICIT, EXPLICIT for [4]).
const GENERAL_NAME_TAGS = [0xa0, 0x81, 0x82, 0xa3, 0xa4, 0xa5, 0x86, 0x87, 0x88];

/** RFC 5280 section 4.2.1.6: GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName; the dNSNames (IA5String). */
function dnsNames(v: Uint8Array): string[] {
  const f = readChildren(v, readWhole(v, TAG.sequence, 'subjectAltName'));
  if (f.length === 0) fail('subjectAltName: empty');
  const out: string[] = [];
  for (const name of f) {
    if (!GENERAL_NAME_TAGS.includes(name.tag))
      fail(`subjectAltName: unknown GeneralName tag 0x${name.tag.toString(16)}`);
    if (name.tag !== 0x82) continue;
    const bytes = contents(v, name);
    if (bytes.some((b) => b > 0x7f)) fail('subjectAltName: a dNSName that is not an IA5String');
    out.push(latin1(bytes));
  }
  return out;
}

/** Decodes the extensions the rules process; a malformed one is a `cert_parse`. */
function decodeExtensions(cert: ParsedCert): void {
  for (const e of cert.extensions) {
    if (e.oid === OID.basicConstraints) cert.basicConstraints = basicConstraints(e.value);
    else if (e.oid === OID.keyUsage) cert.keyUsage = keyUsage(e.value);
    else if (e.oid === OID.extKeyUsage) cert.extKeyUsage = extKeyUsage(e.value);
    else if (e.oid === OID.subjectAltName) cert.dnsNames = dnsNames(e.value);
  }
}

/**
 * RFC 5280 section 4.1.2: TBSCertificate ::= SEQUENCE { [0] EXPLICIT version (v3 = 2), serialNumber INTEGER,
 * signature, issuer, validity SEQUENCE { notBefore, notAfter }, subject, subjectPublicKeyInfo, [1] issuerUniqueID
 * OPTIONAL, [2] subjectUniqueID OPTIONAL, [3] EXPLICIT extensions OPTIONAL }, the optional fields in that order.
 */
function readTbs(der: Uint8Array, tbs: Tlv, outerAlg: Tlv): Omit<ParsedCert, 'der' | 'signature'> {
  const f = readChildren(der, tbs);
  if (f.length < 7 || f[0].tag !== 0xa0 || !equalBytes(contents(der, f[0]), Uint8Array.of(2, 1, 2)))
    fail('not an X.509 v3 certificate');
  readInteger(der, f[1], 'serialNumber');
  if (!equalBytes(encoding(der, f[2]), encoding(der, outerAlg)))
    fail('tbsCertificate.signature differs from signatureAlgorithm');
  const [notBefore, notAfter, ...more] = readChildren(der, expectTag(f[4], TAG.sequence, 'validity'));
  if (more.length > 0) fail('validity with more than two times');
  const optional = f.slice(7).map((t) => t.tag);
  const order = [0x81, 0x82, 0xa3].filter((tag) => optional.includes(tag));
  if (optional.length !== order.length || optional.some((tag, i) => tag !== order[i]))
    fail('unexpected or misordered fields after subjectPublicKeyInfo');
  const ext = f.slice(7).find((t) => t.tag === 0xa3);
  const issuer = readName(der, f[3], 'issuer');
  const subject = readName(der, f[5], 'subject');
  return {
    tbs: encoding(der, tbs),
    signatureAlgorithm: readAlgorithmIdentifier(der, outerAlg, 'signatureAlgorithm'),
    issuer: issuer.bytes,
    subject: subject.bytes,
    issuerName: issuer.text,
    subjectName: subject.text,
    notBefore: readTime(der, notBefore, 'notBefore'),
    notAfter: readTime(der, notAfter, 'notAfter'),
    spki: readSpki(der, f[6]),
    extensions: ext ? readExtensions(der, ext) : [],
  };
}

/**
 * RFC 5280 section 4.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT
 * STRING }, with nothing after it. `what` names the certificate in the message of a refusal.
 */
export function parseCertificate(der: Uint8Array, what: string): ParsedCert {
  try {
    const outer = readTlv(der, 0, der.length);
    if (outer.tag !== TAG.sequence || outer.end !== der.length) fail('not one DER SEQUENCE');
    const [tbs, sigAlg, sigValue, ...rest] = readChildren(der, outer);
    if (!sigValue || rest.length > 0 || tbs.tag !== TAG.sequence || sigAlg.tag !== TAG.sequence)
      fail('not a Certificate');
    const signature = readBitString(der, sigValue, 'signatureValue');
    const cert: ParsedCert = { der, signature, ...readTbs(der, tbs, sigAlg) };
    decodeExtensions(cert);
    return cert;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new ProviderError('cert_parse', `${what}: ${message}`);
  }
}
