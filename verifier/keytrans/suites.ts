/**
 * The two cipher suites of draft-ietf-keytrans-protocol-05 ("Cipher Suites" and the IANA "KT Cipher Suites"
 * registry): KT_128_SHA256_P256 (0x0001) and KT_128_SHA256_Ed25519 (0x0002). Both hash with SHA-256 (Hash.Nh =
 * 32), open commitments of Nc = 16 bytes under the fixed key Kc, and give 32-byte VRF outputs (VRF.Nh): P-256's
 * ECVRF-P256-SHA256-TAI (wasm-free-crypto/vrf-p256.ts, proofs of 81 bytes, compressed public keys) and Ed25519's
 * ECVRF-EDWARDS25519-SHA512-TAI (wasm-free-crypto/vrf.ts, proofs of 80 bytes) truncated to its first 32 bytes.
 * Signatures are ECDSA P-256 with SHA-256 (uncompressed public keys, r || s) or Ed25519 (RFC 8032), both verified
 * strictly by wasm-free-crypto/signatures.ts. Every check throws `KeyTransError`; nothing returns a boolean.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { fromHex } from '../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { type SignatureAlgorithm, verifySignatureSync } from '../../wasm-free-crypto/signatures.js';
import { VRF_P256_PROOF_LENGTH, vrfVerifyP256 } from '../../wasm-free-crypto/vrf-p256.js';
import { VRF_PROOF_LENGTH, vrfVerify } from '../../wasm-free-crypto/vrf.js';
import { KeyTransError } from './errors.js';
import type { CipherSuiteId } from './types.js';

/** What the draft's cipher suite fixes ("Cipher Suites"), with its primitives as functions. */
export interface CipherSuite {
  readonly id: CipherSuiteId;
  readonly name: 'KT_128_SHA256_P256' | 'KT_128_SHA256_Ed25519';
  /** Hash.Nh: the hash's output length. */
  readonly hashLength: 32;
  /** Nc: the length of a commitment's opening. */
  readonly openingLength: 16;
  /** Kc: the HMAC key of commitments ("KT Cipher Suites": d821f8790d97709796b4d7903357c3f5). */
  readonly commitmentKey: Uint8Array;
  /** VRF.Nh: the VRF output's length after the draft's truncation. */
  readonly vrfOutputLength: 32;
  /** VRF.Np: the VRF proof's length. */
  readonly vrfProofLength: number;
  /** The suite's hash of the concatenation of `parts`. */
  hash(...parts: Uint8Array[]): Uint8Array;
  /** HMAC (RFC 2104) with the suite's hash. */
  mac(key: Uint8Array, message: Uint8Array): Uint8Array;
  /** The VRF output (VRF.Nh bytes) of a valid proof of `input` (an encoded VrfInput); else 'kt_vrf_failed'. */
  vrfVerify(publicKey: Uint8Array, input: Uint8Array, proof: Uint8Array): Uint8Array;
  /** Returns when `signature` is the key's signature of `message`; else throws 'kt_bad_signature'. */
  verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): void;
}

/** "KT Cipher Suites": Kc, the same for both suites. */
const KC = fromHex('d821f8790d97709796b4d7903357c3f5');

function mac(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, message);
}

/** Runs a VRF verification, turning its VrfError into 'kt_vrf_failed'. */
function vrfOrFail(verify: () => Uint8Array): Uint8Array {
  try {
    return verify();
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new KeyTransError('kt_vrf_failed', `VRF proof refused: ${reason}`);
  }
}

/**
 * Verifies with wasm-free-crypto's strict verifier: a malformed key or signature, or one that does not verify,
 * throws 'kt_bad_signature'. P-256 keys must be uncompressed (65 bytes, "KT Cipher Suites").
 */
function signatureVerifier(alg: SignatureAlgorithm, keyLength: number) {
  return (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): void => {
    if (publicKey.length !== keyLength)
      throw new KeyTransError('kt_bad_signature', `${alg} public key must be ${keyLength} bytes`);
    let ok: boolean;
    try {
      ok = verifySignatureSync(alg, publicKey, message, signature);
    } catch (e) {
      throw new KeyTransError('kt_bad_signature', `${alg} signature refused: ${(e as Error).message}`);
    }
    if (!ok) throw new KeyTransError('kt_bad_signature', `${alg} signature does not verify`);
  };
}

/** KT_128_SHA256_P256 (0x0001): ECDSA P-256 with SHA-256, ECVRF-P256-SHA256-TAI. */
export const KT_128_SHA256_P256: CipherSuite = Object.freeze({
  id: 0x0001,
  name: 'KT_128_SHA256_P256',
  hashLength: 32,
  openingLength: 16,
  get commitmentKey() {
    return KC.slice(); // a copy: a caller changing it changes nobody else's commitments
  },
  vrfOutputLength: 32,
  vrfProofLength: VRF_P256_PROOF_LENGTH,
  hash: sha256,
  mac,
  vrfVerify: (publicKey: Uint8Array, input: Uint8Array, proof: Uint8Array) =>
    vrfOrFail(() => vrfVerifyP256(publicKey, input, proof)),
  verifySignature: signatureVerifier('p256', 65),
});

/** KT_128_SHA256_Ed25519 (0x0002): Ed25519, ECVRF-EDWARDS25519-SHA512-TAI truncated to 32 bytes. */
export const KT_128_SHA256_Ed25519: CipherSuite = Object.freeze({
  id: 0x0002,
  name: 'KT_128_SHA256_Ed25519',
  hashLength: 32,
  openingLength: 16,
  get commitmentKey() {
    return KC.slice(); // a copy: a caller changing it changes nobody else's commitments
  },
  vrfOutputLength: 32,
  vrfProofLength: VRF_PROOF_LENGTH,
  hash: sha256,
  mac,
  vrfVerify: (publicKey: Uint8Array, input: Uint8Array, proof: Uint8Array) =>
    vrfOrFail(() => vrfVerify(publicKey, input, proof)).slice(0, 32),
  verifySignature: signatureVerifier('ed25519', 32),
});

/** The suite a Configuration names, or 'kt_unknown_suite'. */
export function cipherSuite(id: number): CipherSuite {
  if (id === 0x0001) return KT_128_SHA256_P256;
  if (id === 0x0002) return KT_128_SHA256_Ed25519;
  throw new KeyTransError('kt_unknown_suite', `cipher suite 0x${id.toString(16).padStart(4, '0')} is not supported`);
}
