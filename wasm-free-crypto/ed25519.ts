/**
 * Ed25519 (RFC 8032 section 5.1) keys, signatures and verification on @noble/curves, pure JavaScript.
 * Secret keys are the 32-byte RFC 8032 seeds. Verification is strict (see ed25519Verify), and it never
 * throws on malformed input: a wrong-length key or signature simply does not verify.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { EncodingError } from './bytes.js';
import { randomBytes } from './random.js';
import { verifySignatureSync } from './signatures.js';

export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SECRET_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;

/** An Ed25519 key pair; `secretKey` is the RFC 8032 seed. */
export interface Ed25519KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

function checkSecretKey(secretKey: Uint8Array): void {
  if (secretKey.length !== ED25519_SECRET_KEY_LENGTH)
    throw new EncodingError('bad_key', 'Ed25519 secret key must be 32 bytes');
}

/** A fresh key pair from the platform CSPRNG. */
export function generateEd25519KeyPair(): Ed25519KeyPair {
  return ed25519KeyPairFromSeed(randomBytes(ED25519_SECRET_KEY_LENGTH));
}

/** The key pair for a 32-byte seed (RFC 8032 section 5.1.5). */
export function ed25519KeyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  checkSecretKey(seed);
  return { secretKey: seed.slice(), publicKey: ed25519.getPublicKey(seed) };
}

/** Signs `message` (RFC 8032 section 5.1.6). */
export function ed25519Sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  checkSecretKey(secretKey);
  return ed25519.sign(message, secretKey);
}

/**
 * Verifies an Ed25519 signature strictly (RFC 8032 section 5.1.7, with the rules of signatures.ts:
 * canonical encodings, no small-order key or R, s < L, the cofactorless equation that Go, OpenSSL and
 * WebCrypto use), so that a note signature we accept is one every mainstream verifier accepts. False on
 * any malformed input.
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_LENGTH || signature.length !== ED25519_SIGNATURE_LENGTH) return false;
  try {
    return verifySignatureSync('ed25519', publicKey, message, signature);
  } catch {
    return false;
  }
}
