/**
 * DER surgery for the enrolment tests: decodes a certificate into a tree of TLVs (constructed values by their
 * children, primitive ones by their bytes), lets a test change, add or remove any node, and encodes it back
 * with minimal lengths; and re-signs a certificate whose tbsCertificate was changed, with the issuer's
 * WebCrypto key (Ed25519, ECDSA as a DER Ecdsa-Sig-Value, or RSASSA-PKCS1-v1_5), so that a test can present
 * a validly signed certificate that breaks one rule of strict DER.
 */
import { concatBytes } from '../../wasm-free-crypto/bytes.js';
import { encodeTlv } from './pki.js';

export interface DerNode {
  tag: number;
  children?: DerNode[];
  bytes?: Uint8Array;
  /** Encoded as these bytes exactly, whatever the other fields say (for encodings DER forbids). */
  raw?: Uint8Array;
}

/** Decodes DER (lenient: tests also decode what they broke) into a tree. */
export function decodeTree(der: Uint8Array, at = 0, end = der.length): DerNode[] {
  const out: DerNode[] = [];
  while (at < end) {
    const tag = der[at];
    let len = der[at + 1];
    let body = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[body + i];
      body += n;
    }
    const node: DerNode = { tag };
    if (tag & 0x20) node.children = decodeTree(der, body, body + len);
    else node.bytes = der.slice(body, body + len);
    out.push(node);
    at = body + len;
  }
  return out;
}

export function encodeTree(node: DerNode): Uint8Array {
  if (node.raw) return node.raw;
  const body = node.children ? concatBytes(...node.children.map(encodeTree)) : node.bytes!;
  return encodeTlv(node.tag, body);
}

/** The certificate's tree: [tbsCertificate, signatureAlgorithm, signatureValue]. */
export function certTree(der: Uint8Array): DerNode {
  return decodeTree(der)[0];
}

/** tbsCertificate children by name (v3 certificates with extensions, as the test PKI makes them). */
export function tbsParts(cert: DerNode) {
  const f = cert.children![0].children!;
  return {
    version: f[0],
    serial: f[1],
    signature: f[2],
    issuer: f[3],
    validity: f[4],
    subject: f[5],
    spki: f[6],
    extensions: f[f.length - 1],
  };
}

/** The extension SEQUENCEs of a certificate tree. */
export function extensionsOf(cert: DerNode): DerNode[] {
  return tbsParts(cert).extensions.children![0].children!;
}

/** An OID's DER contents from its dotted form (X.690 section 8.19). */
export function oidBytes(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const subs = [arcs[0] * 40 + arcs[1], ...arcs.slice(2)];
  const out: number[] = [];
  for (const s of subs) {
    const groups: number[] = [];
    let v = s;
    do {
      groups.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return Uint8Array.from(out);
}

function derInteger(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const v = bytes.subarray(i);
  return encodeTlv(0x02, v[0] & 0x80 ? concatBytes(new Uint8Array(1), v) : v);
}

/**
 * Signs the (changed) tbsCertificate of `cert` again with `issuerKey` and returns the certificate's DER. The
 * algorithm is the key's; ECDSA and RSA use `hash`. The signature algorithm fields are left as they are.
 */
export async function resign(cert: DerNode, issuerKey: CryptoKey, hash = 'SHA-256'): Promise<Uint8Array> {
  const tbs = encodeTree(cert.children![0]);
  const alg = issuerKey.algorithm.name;
  const params = alg === 'ECDSA' ? { name: alg, hash } : { name: alg };
  let sig: Uint8Array = new Uint8Array(await crypto.subtle.sign(params, issuerKey, tbs as Uint8Array<ArrayBuffer>));
  if (alg === 'ECDSA') {
    const half = sig.length / 2;
    sig = encodeTlv(0x30, concatBytes(derInteger(sig.subarray(0, half)), derInteger(sig.subarray(half))));
  }
  cert.children![2] = { tag: 0x03, bytes: concatBytes(new Uint8Array(1), sig) };
  return encodeTree(cert);
}
