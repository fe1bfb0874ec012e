/**
 * Publication receipts (docs/PROTOCOL.md section 7): the log's signed promise, given when it answers a
 * submission 202, that the statement is durably queued and will be version `version` of its label by
 * `deadline`. A receipt is a signed note (section 4.1) by the log's key whose text is, line by line,
 * `kt/v2/receipt`, the base64 label, the version, the base64 statement hash, the acceptance time and the
 * deadline (ms since the Unix epoch, decimal). The statement hash is SHA-256(D("receipt-statement") ||
 * statement), over the exact statement bytes the provider signed. The earlier `kt/v1/receipt` (label,
 * version, time; no statement, no deadline) is no longer issued and is not parsed here: it promised nothing
 * a proof can hold the log to.
 */
import { fromBase64, parseDecimal, toBase64, utf8 } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { NoteError, openNote, signNote, type NoteSigner, type NoteVerifier } from '../../wasm-free-crypto/note.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { domain } from './directory-hashes.js';

/** A receipt is malformed, or not signed by the log's key. */
export class ReceiptError extends CodedError<'bad_receipt'> {
  override readonly name = 'ReceiptError';
  constructor(message: string) {
    super('bad_receipt', message);
  }
}

export const RECEIPT_HEADER = 'kt/v2/receipt';
/** A receipt note is small; anything larger is refused before its signatures are read. */
const MAX_RECEIPT_BYTES = 4096;
const RECEIPT_STATEMENT_DOMAIN = domain('receipt-statement');

export interface Receipt {
  label: Uint8Array;
  version: number;
  /** SHA-256(D("receipt-statement") || statement). */
  statementHash: Uint8Array;
  acceptedAt: number;
  deadline: number;
}

/** The hash a receipt names a statement by: SHA-256(D("receipt-statement") || the exact statement bytes). */
export function receiptStatementHash(statement: Uint8Array): Uint8Array {
  return sha256(RECEIPT_STATEMENT_DOMAIN, statement);
}

/** The receipt's note text. */
export function formatReceipt(r: Receipt): string {
  return `${RECEIPT_HEADER}\n${toBase64(r.label)}\n${r.version}\n${toBase64(r.statementHash)}\n${r.acceptedAt}\n${r.deadline}\n`;
}

/** The receipt signed by the log's note signer. */
export function signReceipt(r: Receipt, signer: NoteSigner): string {
  return signNote(formatReceipt(r), [signer]);
}

/** Parses receipt text strictly: six lines, canonical base64 of 32 bytes, canonical decimals, version >= 1. */
export function parseReceipt(text: string): Receipt {
  if (!text.endsWith('\n')) throw new ReceiptError('the receipt text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== RECEIPT_HEADER) throw new ReceiptError(`not a ${RECEIPT_HEADER} note`);
  if (lines.length !== 6) throw new ReceiptError('a receipt has six lines');
  let r: Receipt;
  try {
    const [label, version, statementHash, acceptedAt, deadline] = lines.slice(1);
    r = {
      label: fromBase64(label),
      version: parseDecimal(version),
      statementHash: fromBase64(statementHash),
      acceptedAt: parseDecimal(acceptedAt),
      deadline: parseDecimal(deadline),
    };
  } catch (e) {
    throw new ReceiptError(`malformed receipt: ${(e as Error).message}`);
  }
  if (r.label.length !== 32 || r.statementHash.length !== 32)
    throw new ReceiptError('the label and the statement hash are 32 bytes');
  if (r.version < 1) throw new ReceiptError('versions start at 1');
  if (r.deadline <= r.acceptedAt) throw new ReceiptError('the deadline is not after the acceptance time');
  return r;
}

/** Opens a receipt note: it must carry a valid signature by the log's key (`logKey`, the pinned verifier). */
export function openReceipt(note: string, logKey: NoteVerifier): Receipt {
  const bytes = utf8(note);
  if (bytes.length > MAX_RECEIPT_BYTES) throw new ReceiptError('the receipt note is too large');
  let text: string;
  try {
    const opened = openNote(bytes, [logKey]);
    if (!opened.verified.some((s) => s.name === logKey.name && s.keyId === logKey.keyId))
      throw new NoteError('unverified_note', 'not signed by the log key');
    text = opened.text;
  } catch (e) {
    throw new ReceiptError(`the receipt is not signed by the log key: ${(e as Error).message}`);
  }
  return parseReceipt(text);
}
