/**
 * The development certificate authority: in development mode (the default) the server creates, on first
 * run, an ECDSA P-256 root CA in its data directory (`dev-ca.pem` and `dev-ca.key`, both mode 0600) and
 * trusts it, so that a new user can enrol example providers at once (`npm run demo`). It also issues
 * provider certificates: an Ed25519 leaf whose single DNS name is the provider id, with digitalSignature
 * and clientAuth, for a key it makes or for a certificate request (`kt provider`). Production
 * configurations name their own roots and turn development mode off.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBase64, toBase64, toHex } from '../../wasm-free-crypto/bytes.js';

x509.cryptoProvider.set(globalThis.crypto);
const subtle = globalThis.crypto.subtle;
const DAY = 86_400_000;
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export interface DevCa {
  cert: x509.X509Certificate;
  der: Uint8Array;
  privateKey: CryptoKey;
}

/** An issued provider certificate and its Ed25519 seed (handle as a secret). */
export interface ProviderCertificate {
  der: Uint8Array;
  pem: string;
  secretKey: Uint8Array;
}

function serial(): string {
  const s = globalThis.crypto.getRandomValues(new Uint8Array(16));
  s[0] = (s[0] & 0x7f) | 0x01;
  return toHex(s);
}

function pem(label: string, der: Uint8Array): string {
  return `-----BEGIN ${label}-----\n${toBase64(der)
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

function unpem(text: string, label: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`).exec(text);
  if (!m) throw new Error(`no ${label} block`);
  return fromBase64(m[1].replace(/\s+/g, ''));
}

/** Creates the development CA in `dir` unless it exists; returns whether it was created. */
export async function ensureDevCa(dir: string): Promise<boolean> {
  if (existsSync(join(dir, 'dev-ca.pem'))) return false;
  const keys = (await subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const name = `CN=kt-directory development root ${toHex(globalThis.crypto.getRandomValues(new Uint8Array(4)))}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: name,
    issuer: name,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: ECDSA,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey));
  writeFileSync(join(dir, 'dev-ca.key'), pem('PRIVATE KEY', pkcs8), { mode: 0o600, flag: 'wx' });
  // The certificate is public, but every file of the data directory is private (api/node/data-dir.ts).
  writeFileSync(join(dir, 'dev-ca.pem'), cert.toString('pem'), { mode: 0o600, flag: 'wx' });
  return true;
}

/** Loads the development CA of `dir`. */
export async function loadDevCa(dir: string): Promise<DevCa> {
  const cert = new x509.X509Certificate(readFileSync(join(dir, 'dev-ca.pem'), 'utf8'));
  const pkcs8 = unpem(readFileSync(join(dir, 'dev-ca.key'), 'utf8'), 'PRIVATE KEY');
  const privateKey = await subtle.importKey('pkcs8', pkcs8 as Uint8Array<ArrayBuffer>, ECDSA, false, ['sign']);
  return { cert, der: new Uint8Array(cert.rawData), privateKey };
}

/** The provider leaf's extensions: a single DNS name (the provider id), digitalSignature and clientAuth. */
function leafExtensions(providerId: string): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: providerId }]),
  ];
}

async function issue(
  ca: DevCa,
  providerId: string,
  publicKey: CryptoKey | x509.PublicKey,
  days: number,
): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${providerId}`,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + days * DAY),
    publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: ECDSA,
    extensions: leafExtensions(providerId),
  });
}

/** Issues an Ed25519 provider certificate for `providerId`, valid for `days` (default 365). */
export async function issueProviderCertificate(
  ca: DevCa,
  providerId: string,
  days = 365,
): Promise<ProviderCertificate> {
  const keys = (await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await issue(ca, providerId, keys.publicKey, days);
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey));
  return { der: new Uint8Array(cert.rawData), pem: cert.toString('pem'), secretKey: pkcs8.slice(pkcs8.length - 32) };
}

/**
 * Issues a provider certificate for a certificate request (PEM, as `kt provider keygen` writes it): its
 * signature must verify, and its subject must be CN=<provider id> with that id as its one DNS name.
 */
export async function certifyRequest(
  ca: DevCa,
  csrPem: string,
  days = 365,
): Promise<{ providerId: string; pem: string }> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  if (!(await csr.verify())) throw new Error("the certificate request's signature does not verify");
  const cn = /^CN=([a-z0-9.-]+)$/.exec(csr.subject);
  if (!cn) throw new Error(`the request's subject must be CN=<provider id>, not ${csr.subject}`);
  const cert = await issue(ca, cn[1], csr.publicKey, days);
  return { providerId: cn[1], pem: cert.toString('pem') };
}

/** A new Ed25519 provider key and a certificate request for `providerId`: PKCS#8 PEM, CSR PEM, raw seed. */
export async function providerKeyAndRequest(
  providerId: string,
): Promise<{ keyPem: string; csrPem: string; seed: Uint8Array }> {
  const keys = (await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${providerId}`,
    keys,
    signingAlgorithm: { name: 'Ed25519' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: providerId }])],
  });
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey));
  return { keyPem: pem('PRIVATE KEY', pkcs8), csrPem: csr.toString('pem'), seed: pkcs8.slice(pkcs8.length - 32) };
}

/** The Ed25519 seed of a PKCS#8 PEM key written by `providerKeyAndRequest` (RFC 8410: the last 32 bytes). */
export function ed25519SeedFromPem(text: string): Uint8Array {
  const der = unpem(text, 'PRIVATE KEY');
  // RFC 8410 section 7: SEQUENCE { version 0, AlgorithmIdentifier { 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }
  const prefix = '302e020100300506032b657004220420';
  if (der.length !== 48 || toHex(der.subarray(0, 16)) !== prefix) throw new Error('not an Ed25519 PKCS#8 private key');
  return der.slice(16);
}
