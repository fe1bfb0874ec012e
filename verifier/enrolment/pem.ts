/**
 * PEM texts of certificates (RFC 7468), as operators configure trusted roots and auditors are given them:
 * the DER of each CERTIFICATE block, in order, each checked to be one certificate (certificate.ts). Base64
 * is strict (canonical, padded, no characters outside the alphabet; lines may have any length); text outside
 * the blocks is ignored (RFC 7468 section 5.2); a block with any other label, or no block at all, is refused.
 * Every refusal is a ProviderError `cert_parse`.
 */
import { fromBase64 } from '../../wasm-free-crypto/bytes.js';
import { parseCertificate } from './certificate.js';
import { ProviderError } from './errors.js';

/** Decodes a PEM text into the DER of each CERTIFICATE block, in order. */
export function parsePemCertificates(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let body: string[] | null = null;
  for (const raw of pem.split(/\r?\n/)) {
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
