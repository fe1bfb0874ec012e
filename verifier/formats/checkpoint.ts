/**
 * C2SP tlog-checkpoint v1.0.0 (c2sp.org/tlog-checkpoint@v1.0.0): the signed tree head of the log, a
 * signed note whose text is exactly three lines, `<origin>\n<tree size>\n<base64 root hash>\n`. This log
 * writes no extension lines; parsing accepts them only when asked to, since they are not auditable.
 * The log signs with its Ed25519 note key (key name = origin); witnesses add tlog-cosignature/v1 lines.
 */
import { fromBase64, fromUtf8, parseDecimal, toBase64, utf8 } from '../../wasm-free-crypto/bytes.js';
import { COSIGNATURE_LENGTH, cosignatureTimestamp } from '../../wasm-free-crypto/cosignature.js';
import { NoteError, openNote, signNote, type NoteSigner, type NoteVerifier } from '../../wasm-free-crypto/note.js';

/** The three mandatory lines of a checkpoint, plus any extension lines. */
export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions?: string[];
}

/**
 * Maximum size of a checkpoint note we parse: room for 16 post-quantum signatures of nearly 5 kB (the
 * signed-note minimum) several times over, well below the 1 MiB note limit.
 */
export const MAX_CHECKPOINT_BYTES = 256 * 1024;

/** Formats the note text of a checkpoint (tlog-checkpoint "Note text"). */
export function formatCheckpoint(c: Checkpoint): string {
  if (c.origin.length === 0 || /[\n]/.test(c.origin))
    throw new NoteError('bad_checkpoint', 'origin must be one non-empty line');
  if (!Number.isSafeInteger(c.size) || c.size < 0)
    throw new NoteError('bad_checkpoint', 'tree size must be a non-negative integer');
  if (c.rootHash.length !== 32) throw new NoteError('bad_checkpoint', 'root hash must be 32 bytes');
  const ext = c.extensions ?? [];
  if (ext.some((l) => l.length === 0 || l.includes('\n')))
    throw new NoteError('bad_checkpoint', 'extension lines must be non-empty single lines');
  return [c.origin, String(c.size), toBase64(c.rootHash), ...ext].map((l) => `${l}\n`).join('');
}

/** Parses checkpoint note text strictly: canonical decimal size, canonical base64 of 32 bytes. */
export function parseCheckpoint(text: string, opts: { allowExtensions?: boolean } = {}): Checkpoint {
  if (!text.endsWith('\n')) throw new NoteError('bad_checkpoint', 'checkpoint text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new NoteError('bad_checkpoint', 'checkpoint needs origin, size and root hash lines');
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin.length === 0) throw new NoteError('bad_checkpoint', 'empty origin');
  let size: number;
  let rootHash: Uint8Array;
  try {
    size = parseDecimal(sizeLine);
    rootHash = fromBase64(rootLine);
  } catch (e) {
    throw new NoteError('bad_checkpoint', `malformed checkpoint: ${(e as Error).message}`);
  }
  if (rootHash.length !== 32) throw new NoteError('bad_checkpoint', 'root hash must be 32 bytes');
  if (extensions.some((l) => l.length === 0)) throw new NoteError('bad_checkpoint', 'empty extension line');
  if (extensions.length > 0 && !opts.allowExtensions)
    throw new NoteError('bad_checkpoint', 'unexpected checkpoint extension lines');
  return extensions.length > 0 ? { origin, size, rootHash, extensions } : { origin, size, rootHash };
}

/** Signs a checkpoint with the log's note signer; returns the signed note text. */
export function signCheckpoint(c: Checkpoint, signer: NoteSigner): string {
  return signNote(formatCheckpoint(c), [signer]);
}

/** A cosignature that verified on an opened checkpoint. */
export interface VerifiedCosignature {
  name: string;
  keyId: number;
  timestamp: bigint;
}

/** A checkpoint whose log signature verified, with the witness cosignatures that verified. */
export interface OpenedCheckpoint {
  checkpoint: Checkpoint;
  note: string;
  cosignatures: VerifiedCosignature[];
}

/**
 * Opens a signed checkpoint: the note must carry a valid signature by `logVerifier`, its origin must be
 * `origin`, and every signature by a known witness must verify (note rules). Unknown signatures are
 * ignored. Witness quorum and freshness policies are the caller's (see verifier/).
 */
export function openCheckpoint(
  note: Uint8Array | string,
  origin: string,
  logVerifier: NoteVerifier,
  witnesses: readonly NoteVerifier[] = [],
): OpenedCheckpoint {
  const bytes = typeof note === 'string' ? utf8(note) : note;
  if (bytes.length > MAX_CHECKPOINT_BYTES) throw new NoteError('bad_checkpoint', 'checkpoint too large');
  const opened = openNote(bytes, [logVerifier, ...witnesses]);
  if (!opened.verified.some((s) => s.name === logVerifier.name && s.keyId === logVerifier.keyId)) {
    throw new NoteError('unverified_note', 'checkpoint is not signed by the log key');
  }
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== origin)
    throw new NoteError(
      'wrong_origin',
      `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(origin)}`,
    );
  const cosignatures = opened.verified
    .filter(
      (s) =>
        s.signature.length === COSIGNATURE_LENGTH && witnesses.some((w) => w.name === s.name && w.keyId === s.keyId),
    )
    .map((s) => ({ name: s.name, keyId: s.keyId, timestamp: cosignatureTimestamp(s.signature) }));
  return { checkpoint, note: typeof note === 'string' ? note : fromUtf8(bytes), cosignatures };
}
