/**
 * The request body of C2SP tlog-witness v1.0.0 `add-checkpoint`, which a log sends to a witness: the line
 * `old <size>`, at most 63 lines of one base64 hash each (the consistency proof from that size), an empty
 * line, then the checkpoint note. `addCheckpointBody` writes it (the log's side, log/merkle/witnessing.ts);
 * `parseAddCheckpoint` reads it strictly (the witness's side, verifier/witness/witness.ts).
 */
import { fromBase64, fromUtf8, parseDecimal, toBase64, utf8 } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';

/** A malformed add-checkpoint body. */
export class AddCheckpointError extends CodedError<'bad_request'> {
  override readonly name = 'AddCheckpointError';
}

/** The largest request body taken: 63 proof lines and a checkpoint with plenty of signatures. */
export const MAX_ADD_CHECKPOINT_BYTES = 64 * 1024;
const MAX_PROOF_LINES = 63;

/** Parses an add-checkpoint body strictly (throws AddCheckpointError `bad_request`). */
export function parseAddCheckpoint(body: Uint8Array): { oldSize: number; proof: Uint8Array[]; note: Uint8Array } {
  const bad = (m: string) => new AddCheckpointError('bad_request', m);
  if (body.length > MAX_ADD_CHECKPOINT_BYTES) throw bad('the body is too large');
  const lines: string[] = [];
  let at = 0;
  for (;;) {
    const nl = body.indexOf(0x0a, at);
    if (nl < 0) throw bad('the body ends before the empty line that precedes the checkpoint');
    let line: string;
    try {
      line = fromUtf8(body.subarray(at, nl));
    } catch {
      throw bad('a line is not UTF-8');
    }
    at = nl + 1;
    if (line === '') break;
    lines.push(line);
    if (lines.length > MAX_PROOF_LINES + 1) throw bad(`more than ${MAX_PROOF_LINES} consistency proof lines`);
  }
  const m = /^old (0|[1-9][0-9]*)$/.exec(lines[0] ?? '');
  if (!m) throw bad('the first line must be "old <size>"');
  let oldSize: number;
  try {
    oldSize = parseDecimal(m[1]);
  } catch {
    throw bad('the old size is not a valid size');
  }
  const proof = lines.slice(1).map((l) => {
    let h: Uint8Array;
    try {
      h = fromBase64(l);
    } catch {
      throw bad('a consistency proof line is not canonical base64');
    }
    if (h.length !== 32) throw bad('a consistency proof line is not one 32-byte hash');
    return h;
  });
  if (at >= body.length) throw bad('the checkpoint is missing');
  return { oldSize, proof, note: body.subarray(at) };
}

/** The body of an add-checkpoint request (for logs submitting to witnesses). */
export function addCheckpointBody(oldSize: number, proof: Uint8Array[], note: string): Uint8Array<ArrayBuffer> {
  return utf8(`${[`old ${oldSize}`, ...proof.map(toBase64)].join('\n')}\n\n${note}`) as Uint8Array<ArrayBuffer>;
}
