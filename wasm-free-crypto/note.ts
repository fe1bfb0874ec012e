/**
 * C2SP signed notes (c2sp.org/signed-note@v1.0.0): a UTF-8 text ending in a newline, a blank line, then
 * signature lines `— <key name> base64(key ID || signature)`. This module signs and opens notes, and
 * reads and writes the text key formats: verifier keys `<name>+<hex key ID>+base64(type || public key)`
 * and signer keys `PRIVATE+KEY+<name>+<hex key ID>+base64(type || secret)`. Only Ed25519 (type 0x01) is
 * implemented here; timestamped cosignatures (type 0x04) live in cosignature.ts and plug in through the
 * same `NoteVerifier` and `NoteSigner` interfaces. Opening follows the spec and golang.org/x/mod/sumdb/note:
 * unknown keys are skipped, a known key whose signature fails rejects the whole note, a known key counts
 * once however many valid lines it has, and a note with no verified signature is rejected.
 */
import { CodedError } from './errors.js';
import { concatBytes, fromBase64, fromHex, fromUtf8, readU32be, toBase64, toHex, u32be, utf8 } from './bytes.js';
import { ed25519KeyPairFromSeed, ed25519Sign, ed25519Verify, generateEd25519KeyPair } from './ed25519.js';
import { sha256 } from './sha256.js';

/** Signature type bytes (signed-note "Signature types"). */
export const SIG_TYPE_ED25519 = 0x01;
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;

/** Spec minimum is 16 signatures; like Go's implementation we accept up to 100 and no more. */
export const MAX_NOTE_SIGNATURES = 100;
/** Upper bound on the size of a note we are willing to parse. */
export const MAX_NOTE_BYTES = 1 << 20;

export type NoteErrorCode =
  | 'bad_checkpoint'
  | 'bad_cosignature'
  | 'bad_key_name'
  | 'bad_signer_key'
  | 'bad_timestamp'
  | 'bad_verifier_key'
  | 'invalid_signature'
  | 'malformed_note'
  | 'note_too_large'
  | 'too_many_signatures'
  | 'unknown_key_type'
  | 'unverified_note'
  | 'wrong_origin';

/** A typed error from note parsing or verification; `code` is stable. */
export class NoteError extends CodedError<NoteErrorCode> {
  override readonly name = 'NoteError';
}

/** Verifies signatures by one key over a note text (the signature excludes the 4-byte key ID). */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

/** Signs a note text; returns the signature without the key ID. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  sign(text: Uint8Array): Uint8Array;
}

/** One signature line of a note. */
export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature bytes after the key ID. */
  signature: Uint8Array;
}

/** The result of opening a note: its text, the verified signatures and the ones by unknown keys. */
export interface OpenedNote {
  text: string;
  textBytes: Uint8Array;
  verified: NoteSignature[];
  unverified: NoteSignature[];
}

/** Key names: non-empty, no Unicode whitespace, no plus sign (signed-note "Format"). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\u0085]/u.test(name) && !/[\u0000-\u001f\u007f]/.test(name);
}

/** key ID = SHA-256(key name || 0x0A || signature type || public key)[:4], as a uint32. */
export function computeKeyId(name: string, type: number, publicKey: Uint8Array): number {
  const h = sha256(utf8(name), new Uint8Array([0x0a, type]), publicKey);
  return readU32be(h, 0);
}

function checkKeyName(name: string): void {
  if (!isValidKeyName(name)) throw new NoteError('bad_key_name', `invalid key name ${JSON.stringify(name)}`);
}

/**
 * Splits a key string at its first `count - 1` plus signs: the last part is base64, which may itself
 * contain `+`. Returns null when there are fewer parts.
 */
function chopKeyString(s: string, count: number): string[] | null {
  const parts: string[] = [];
  let rest = s;
  for (let i = 0; i < count - 1; i++) {
    const at = rest.indexOf('+');
    if (at < 0) return null;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  parts.push(rest);
  return parts;
}

/** The decoded parts of a verifier key string. */
export interface VerifierKeyParts {
  name: string;
  keyId: number;
  type: number;
  publicKey: Uint8Array;
}

/**
 * Decodes `<name>+<8 lower-case hex>+base64(type || key)`, checks that the key ID is the one derived
 * from the name, type and key, and that the key length suits the type (32 bytes for 0x01 and 0x04).
 */
export function decodeVerifierKey(vkey: string): VerifierKeyParts {
  const parts = chopKeyString(vkey, 3);
  if (!parts) throw new NoteError('bad_verifier_key', 'verifier key must be <name>+<id>+<key>');
  const [name, idHex, keyB64] = parts;
  checkKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(idHex))
    throw new NoteError('bad_verifier_key', 'verifier key ID must be 8 lower-case hex digits');
  let raw: Uint8Array;
  try {
    raw = fromBase64(keyB64);
  } catch {
    throw new NoteError('bad_verifier_key', 'verifier key material is not canonical base64');
  }
  if (raw.length < 1) throw new NoteError('bad_verifier_key', 'verifier key material is empty');
  const type = raw[0];
  const publicKey = raw.slice(1);
  if (type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE_V1)
    throw new NoteError('unknown_key_type', `unsupported signature type 0x${type.toString(16).padStart(2, '0')}`);
  if (publicKey.length !== 32) throw new NoteError('bad_verifier_key', 'Ed25519 public key must be 32 bytes');
  const keyId = readU32be(fromHex(idHex), 0);
  if (keyId !== computeKeyId(name, type, publicKey))
    throw new NoteError('bad_verifier_key', 'verifier key ID does not match the key');
  return { name, keyId, type, publicKey };
}

/** Encodes a verifier key string. */
export function encodeVerifierKey(name: string, type: number, publicKey: Uint8Array): string {
  checkKeyName(name);
  const id = toHex(u32be(computeKeyId(name, type, publicKey)));
  return `${name}+${id}+${toBase64(concatBytes(new Uint8Array([type]), publicKey))}`;
}

/** A verifier for Ed25519 note signatures (type 0x01). */
export function ed25519NoteVerifier(name: string, publicKey: Uint8Array): NoteVerifier {
  checkKeyName(name);
  return {
    name,
    keyId: computeKeyId(name, SIG_TYPE_ED25519, publicKey),
    verify: (text, signature) => ed25519Verify(publicKey, text, signature),
  };
}

/** Parses an Ed25519 (type 0x01) verifier key string into a verifier. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const k = decodeVerifierKey(vkey);
  if (k.type !== SIG_TYPE_ED25519) throw new NoteError('unknown_key_type', 'not an Ed25519 (type 0x01) verifier key');
  return ed25519NoteVerifier(k.name, k.publicKey);
}

/** An Ed25519 note signer with its verifier key string. */
export interface Ed25519NoteSigner extends NoteSigner {
  readonly verifierKey: string;
  readonly publicKey: Uint8Array;
}

/** A note signer for an Ed25519 seed under `name`. */
export function ed25519NoteSigner(name: string, seed: Uint8Array): Ed25519NoteSigner {
  checkKeyName(name);
  const { secretKey, publicKey } = ed25519KeyPairFromSeed(seed);
  return {
    name,
    publicKey,
    keyId: computeKeyId(name, SIG_TYPE_ED25519, publicKey),
    verifierKey: encodeVerifierKey(name, SIG_TYPE_ED25519, publicKey),
    sign: (text) => ed25519Sign(secretKey, text),
  };
}

/** Parses `PRIVATE+KEY+<name>+<id>+base64(0x01 || seed)` into a signer, checking the key ID. */
export function parseSignerKey(skey: string): Ed25519NoteSigner {
  const parts = chopKeyString(skey, 5);
  if (!parts || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY')
    throw new NoteError('bad_signer_key', 'signer key must be PRIVATE+KEY+<name>+<id>+<key>');
  const [, , name, idHex, keyB64] = parts;
  let raw: Uint8Array;
  try {
    raw = fromBase64(keyB64);
  } catch {
    throw new NoteError('bad_signer_key', 'signer key material is not canonical base64');
  }
  if (raw.length !== 33 || raw[0] !== SIG_TYPE_ED25519)
    throw new NoteError('bad_signer_key', 'signer key must be type 0x01 and a 32-byte Ed25519 seed');
  const signer = ed25519NoteSigner(name, raw.slice(1));
  if (!/^[0-9a-f]{8}$/.test(idHex) || readU32be(fromHex(idHex), 0) !== signer.keyId)
    throw new NoteError('bad_signer_key', 'signer key ID does not match the key');
  return signer;
}

/** Encodes a signer key string for an Ed25519 seed. Handle the result as a secret. */
export function encodeSignerKey(name: string, seed: Uint8Array): string {
  const signer = ed25519NoteSigner(name, seed);
  const id = toHex(u32be(signer.keyId));
  return `PRIVATE+KEY+${name}+${id}+${toBase64(concatBytes(new Uint8Array([SIG_TYPE_ED25519]), seed))}`;
}

/** A fresh Ed25519 signer key string and its verifier key string. */
export function generateSignerKey(name: string): { signerKey: string; verifierKey: string } {
  const { secretKey } = generateEd25519KeyPair();
  const signerKey = encodeSignerKey(name, secretKey);
  return { signerKey, verifierKey: parseSignerKey(signerKey).verifierKey };
}

/** Checks a note text: valid UTF-8, ends in a newline, no ASCII control characters other than newline. */
function checkNoteText(textBytes: Uint8Array): string {
  let text: string;
  try {
    text = fromUtf8(textBytes);
  } catch {
    throw new NoteError('malformed_note', 'note is not valid UTF-8');
  }
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text))
    throw new NoteError('malformed_note', 'note contains a control character');
  return text;
}

/** Formats one signature line `— name base64(id || sig)\n`. */
export function formatSignatureLine(sig: NoteSignature): string {
  checkKeyName(sig.name);
  return `\u2014 ${sig.name} ${toBase64(concatBytes(u32be(sig.keyId), sig.signature))}\n`;
}

/** Signs `text` (which must end in a newline) with every signer and returns the signed note. */
export function signNote(text: string, signers: NoteSigner[]): string {
  const textBytes = utf8(text);
  checkNoteText(textBytes);
  if (!text.endsWith('\n')) throw new NoteError('malformed_note', 'note text must end with a newline');
  if (signers.length === 0) throw new NoteError('malformed_note', 'a signed note needs at least one signature');
  const lines = signers.map((s) => formatSignatureLine({ name: s.name, keyId: s.keyId, signature: s.sign(textBytes) }));
  return `${text}\n${lines.join('')}`;
}

/** Splits a signed note into its text and signature lines without verifying anything. */
export function splitNote(note: Uint8Array): { text: string; textBytes: Uint8Array; signatures: NoteSignature[] } {
  if (note.length > MAX_NOTE_BYTES) throw new NoteError('note_too_large', `note exceeds ${MAX_NOTE_BYTES} bytes`);
  const all = checkNoteText(note);
  const split = all.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed_note', 'note has no blank line before its signatures');
  const text = all.slice(0, split + 1);
  const sigBlock = all.slice(split + 2);
  if (sigBlock.length === 0 || !sigBlock.endsWith('\n'))
    throw new NoteError('malformed_note', 'note has no signatures or does not end in a newline');
  const lines = sigBlock.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES)
    throw new NoteError('too_many_signatures', `note has more than ${MAX_NOTE_SIGNATURES} signatures`);
  return { text, textBytes: utf8(text), signatures: lines.map(parseSignatureLine) };
}

function parseSignatureLine(line: string): NoteSignature {
  const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
  if (!m || !isValidKeyName(m[1])) throw new NoteError('malformed_note', 'malformed signature line');
  let raw: Uint8Array;
  try {
    raw = fromBase64(m[2]);
  } catch {
    throw new NoteError('malformed_note', 'signature is not canonical base64');
  }
  if (raw.length < 5) throw new NoteError('malformed_note', 'signature too short');
  return { name: m[1], keyId: readU32be(raw, 0), signature: raw.slice(4) };
}

/**
 * Opens a signed note against a set of trusted verifiers. Signatures by unknown (name, key ID) pairs
 * are collected but not checked; a known key whose signature does not verify rejects the note; a note
 * with no verified signature is rejected. Every line by a known key must verify; each known key appears
 * once in `verified` (its first line), so repeated lines cannot inflate a quorum.
 */
export function openNote(note: Uint8Array | string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const bytes = typeof note === 'string' ? utf8(note) : note;
  const { text, textBytes, signatures } = splitNote(bytes);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seenLines = new Set<string>();
  const seenKeys = new Set<string>();
  for (const sig of signatures) {
    const line = formatSignatureLine(sig);
    if (seenLines.has(line)) continue;
    seenLines.add(line);
    const v = verifiers.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!v) {
      unverified.push(sig);
      continue;
    }
    if (!v.verify(textBytes, sig.signature))
      throw new NoteError('invalid_signature', `invalid signature by ${sig.name}+${toHex(u32be(sig.keyId))}`);
    // A key counts once, however many valid lines it has (a quorum must count distinct keys).
    const key = `${sig.name}+${sig.keyId}`;
    if (!seenKeys.has(key)) verified.push(sig);
    seenKeys.add(key);
  }
  if (verified.length === 0) throw new NoteError('unverified_note', 'no signature by a trusted key');
  return { text, textBytes, verified, unverified };
}

/**
 * Appends signature lines to an already signed note (for example witness cosignatures), dropping
 * lines that are already present. The note's text and existing signatures are kept byte for byte.
 */
export function appendSignatures(note: string, signatures: NoteSignature[]): string {
  const { signatures: existing } = splitNote(utf8(note));
  const present = new Set(existing.map(formatSignatureLine));
  let out = note;
  for (const sig of signatures) {
    const line = formatSignatureLine(sig);
    if (present.has(line)) continue;
    present.add(line);
    out += line;
  }
  if (present.size > MAX_NOTE_SIGNATURES)
    throw new NoteError('too_many_signatures', `note would have more than ${MAX_NOTE_SIGNATURES} signatures`);
  return out;
}
