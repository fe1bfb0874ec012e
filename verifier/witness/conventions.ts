/**
 * Naming conventions of witness implementations other than ours, so that a log can be witnessed by them and
 * their keys configured without hand work (docs/PROTOCOL.md section 18.3). sigsum's (sigsum-go's
 * `sigsum-witness`, tlog-witness `add-checkpoint`, one log per witness): the witness accepts only the origin
 * `sigsum.org/v1/tree/<hex SHA-256 of the log's Ed25519 public key>` (so the origin follows from the log's key,
 * and is made with it), and cosigns (tlog-cosignature/v1, key type 0x04) under the key name
 * `sigsum.org/v1/witness/<hex SHA-256 of the witness's Ed25519 public key>`. sigsum publishes keys in OpenSSH's
 * format (`ssh-ed25519 <base64> [comment]`) or as 64 hex digits; `parseWitnessPublicKey` takes either, and
 * tells apart the mistakes seen in practice (a log's key string, a cosigner key string of another name).
 */
import { fromBase64, fromHex, readU32be, toHex, utf8 } from '../../wasm-free-crypto/bytes.js';
import {
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  decodeVerifierKey,
  encodeVerifierKey,
} from '../../wasm-free-crypto/note.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { normalizePublicKey } from '../../wasm-free-crypto/signatures.js';

export type ConventionErrorCode = 'bad_witness_key' | 'wrong_key_type' | 'wrong_key_name';

/** A key that does not fit the convention, with what is wrong. */
export class ConventionError extends CodedError<ConventionErrorCode> {
  override readonly name = 'ConventionError';
}

/** The conventions this module knows. */
export const ORIGIN_CONVENTIONS = ['sigsum'] as const;
export type OriginConvention = (typeof ORIGIN_CONVENTIONS)[number];

/** The start of every origin in sigsum's form. */
export const SIGSUM_LOG_PREFIX = 'sigsum.org/v1/tree/';
const SIGSUM_WITNESS_PREFIX = 'sigsum.org/v1/witness/';

/** The origin sigsum's witness requires of the log whose Ed25519 public key this is. */
export function sigsumLogOrigin(logPublicKey: Uint8Array): string {
  return `${SIGSUM_LOG_PREFIX}${toHex(sha256(checkKeyLength(logPublicKey)))}`;
}

/** The key name under which sigsum's witness with this Ed25519 public key cosigns. */
export function sigsumWitnessName(witnessPublicKey: Uint8Array): string {
  return `${SIGSUM_WITNESS_PREFIX}${toHex(sha256(checkKeyLength(witnessPublicKey)))}`;
}

/** The cosigner key string (type 0x04) of sigsum's witness with this public key, for a log's `witnesses`. */
export function sigsumCosignerKey(witnessPublicKey: Uint8Array): string {
  return encodeVerifierKey(sigsumWitnessName(witnessPublicKey), SIG_TYPE_COSIGNATURE_V1, witnessPublicKey);
}

function checkKeyLength(key: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new ConventionError('bad_witness_key', 'an Ed25519 public key is 32 bytes');
  return key;
}

/** An OpenSSH string field at `at` (u32 length, bytes), and where the next begins. */
function sshField(blob: Uint8Array, at: number): { value: Uint8Array; next: number } {
  if (at + 4 > blob.length) throw new ConventionError('bad_witness_key', 'the OpenSSH key blob is truncated');
  const length = readU32be(blob, at);
  if (at + 4 + length > blob.length) throw new ConventionError('bad_witness_key', 'the OpenSSH key blob is truncated');
  return { value: blob.subarray(at + 4, at + 4 + length), next: at + 4 + length };
}

/** The 32-byte key of an OpenSSH `ssh-ed25519 <base64> [comment]` line (RFC 8709 section 4), strictly. */
function parseOpenSshKey(line: string): Uint8Array {
  const [kind, b64] = line.split(/\s+/);
  if (kind !== 'ssh-ed25519')
    throw new ConventionError('wrong_key_type', `an OpenSSH ${kind} key: a witness key here is ssh-ed25519`);
  let blob: Uint8Array;
  try {
    blob = fromBase64(b64 ?? '');
  } catch {
    throw new ConventionError('bad_witness_key', 'the OpenSSH key is not canonical base64');
  }
  const type = sshField(blob, 0);
  const key = sshField(blob, type.next);
  if (toHex(type.value) !== toHex(utf8('ssh-ed25519')) || key.value.length !== 32 || key.next !== blob.length)
    throw new ConventionError('bad_witness_key', 'the OpenSSH blob is not an ssh-ed25519 key of 32 bytes');
  return key.value.slice();
}

/** The key of a cosigner key string, if it is sigsum's witness's (name and type checked). */
function parseSigsumVerifierKey(vkey: string): Uint8Array {
  const parts = decodeVerifierKey(vkey);
  if (parts.type === SIG_TYPE_ED25519)
    throw new ConventionError(
      'wrong_key_type',
      `${parts.name} is a type 0x01 (Ed25519 signer) key string, as \`sigsum-key to-vkey\` prints it; the witness cosigns with type 0x04 under ${sigsumWitnessName(parts.publicKey)}: give its public key (OpenSSH or hex) instead`,
    );
  if (parts.name !== sigsumWitnessName(parts.publicKey))
    throw new ConventionError(
      'wrong_key_name',
      `sigsum's witness with this key cosigns as ${sigsumWitnessName(parts.publicKey)}, not ${parts.name}`,
    );
  return parts.publicKey;
}

/** `key` if it is an Ed25519 public key that can verify: canonical, a curve point, not of small order. */
function checkPoint(key: Uint8Array): Uint8Array {
  try {
    return normalizePublicKey('ed25519', key);
  } catch (e) {
    throw new ConventionError('bad_witness_key', `not an Ed25519 public key: ${(e as Error).message}`);
  }
}

/**
 * The Ed25519 public key of a witness, from one OpenSSH public key line, 64 hex digits, or (sigsum's form
 * checked) a cosigner key string; surrounding white space aside, nothing else may be in the text.
 */
export function parseWitnessPublicKey(text: string): Uint8Array {
  const t = text.trim();
  if (t.includes('\n')) throw new ConventionError('bad_witness_key', 'more than one line: give one witness public key');
  if (t.startsWith('ssh-')) return checkPoint(parseOpenSshKey(t));
  if (/^[0-9a-fA-F]{64}$/.test(t)) return checkPoint(fromHex(t.toLowerCase()));
  if (t.includes('+')) return checkPoint(parseSigsumVerifierKey(t));
  throw new ConventionError(
    'bad_witness_key',
    'not a witness public key: give an OpenSSH line (ssh-ed25519 ...), 64 hex digits or a cosigner key string',
  );
}
