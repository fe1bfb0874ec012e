/**
 * C2SP tlog-cosignature v1 (c2sp.org/tlog-cosignature@v1.0.1): a witness's timestamped Ed25519 note
 * signature, type 0x04. The signature line carries a 72-byte `timestamped_signature` (big-endian u64
 * POSIX seconds, then the 64-byte Ed25519 signature) over the message
 * `cosignature/v1\ntime <timestamp>\n` followed by the whole note text of the cosigned checkpoint.
 * Signers and verifiers here plug into note.ts, so a cosignature is just another signature line.
 */
import { concatBytes, readU64be, u64be, utf8 } from './bytes.js';
import { ed25519KeyPairFromSeed, ed25519Sign, ed25519Verify } from './ed25519.js';
import {
  computeKeyId,
  decodeVerifierKey,
  encodeVerifierKey,
  NoteError,
  SIG_TYPE_COSIGNATURE_V1,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
} from './note.js';

export const COSIGNATURE_LENGTH = 72;
/** tlog-cosignature "Format": the timestamp MUST NOT exceed 2^63 - 1. */
export const MAX_COSIGNATURE_TIMESTAMP = (1n << 63n) - 1n;

/** The signed message: header line, timestamp line, then the cosigned note text (spec "Signed message"). */
export function cosignatureMessage(text: Uint8Array, timestamp: bigint): Uint8Array {
  if (timestamp < 0n || timestamp > MAX_COSIGNATURE_TIMESTAMP)
    throw new NoteError('bad_timestamp', 'cosignature timestamp out of range');
  return concatBytes(utf8(`cosignature/v1\ntime ${timestamp.toString()}\n`), text);
}

/** The timestamp (POSIX seconds) of a 72-byte timestamped signature. */
export function cosignatureTimestamp(signature: Uint8Array): bigint {
  if (signature.length !== COSIGNATURE_LENGTH) throw new NoteError('bad_cosignature', 'cosignature must be 72 bytes');
  return readU64be(signature, 0);
}

/** A cosigner: signs note texts with the given clock (default: now, in whole seconds). */
export interface Cosigner extends NoteSigner {
  readonly verifierKey: string;
  readonly publicKey: Uint8Array;
  signAt(text: Uint8Array, timestamp: bigint): Uint8Array;
}

/** A tlog-cosignature/v1 signer for an Ed25519 seed under `name`. */
export function cosigner(name: string, seed: Uint8Array, clock: () => bigint = nowSeconds): Cosigner {
  const { secretKey, publicKey } = ed25519KeyPairFromSeed(seed);
  const signAt = (text: Uint8Array, timestamp: bigint): Uint8Array =>
    concatBytes(u64be(timestamp), ed25519Sign(secretKey, cosignatureMessage(text, timestamp)));
  return {
    name,
    publicKey,
    keyId: computeKeyId(name, SIG_TYPE_COSIGNATURE_V1, publicKey),
    verifierKey: encodeVerifierKey(name, SIG_TYPE_COSIGNATURE_V1, publicKey),
    signAt,
    sign: (text) => signAt(text, clock()),
  };
}

/** A verifier for tlog-cosignature/v1 signatures by `publicKey` under `name`. */
export function cosignatureVerifier(name: string, publicKey: Uint8Array): NoteVerifier {
  return {
    name,
    keyId: computeKeyId(name, SIG_TYPE_COSIGNATURE_V1, publicKey),
    verify(text, signature) {
      if (signature.length !== COSIGNATURE_LENGTH) return false;
      const timestamp = readU64be(signature, 0);
      if (timestamp > MAX_COSIGNATURE_TIMESTAMP) return false;
      return ed25519Verify(publicKey, cosignatureMessage(text, timestamp), signature.subarray(8));
    },
  };
}

/** Parses a cosigner verifier key string (signature type 0x04). */
export function parseCosignerKey(vkey: string): NoteVerifier & { verifierKey: string } {
  const k = decodeVerifierKey(vkey);
  if (k.type !== SIG_TYPE_COSIGNATURE_V1)
    throw new NoteError('unknown_key_type', 'not a cosignature/v1 (type 0x04) verifier key');
  return { ...cosignatureVerifier(k.name, k.publicKey), verifierKey: vkey };
}

/** Makes a cosignature line's value for `text` at `timestamp`. */
export function makeCosignature(signer: Cosigner, text: Uint8Array, timestamp: bigint): NoteSignature {
  return { name: signer.name, keyId: signer.keyId, signature: signer.signAt(text, timestamp) };
}

function nowSeconds(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}
