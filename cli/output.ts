/**
 * How `kt` ends: exit code 0 when what was asked verified, 1 when verification failed (the directory or
 * log misbehaved, or a proof is wrong), 2 for usage, configuration or network errors. Output is human text
 * by default and one JSON object with `--json`; errors go to stderr as `error [code]: message`, or as
 * `{"error":{"code","message"}}` on stdout with `--json`.
 */
import { CodedError } from '../wasm-free-crypto/errors.js';
import { VerifyError } from '../verifier/verification/errors.js';

export const EXIT_VERIFICATION_FAILED = 1;
export const EXIT_USAGE = 2;

/** A usage or configuration error: exit code 2. */
export type UsageErrorCode = 'usage' | 'bad_state' | 'bad_pins' | 'no_pins' | 'bad_provider' | 'bad_account';

export class UsageError extends CodedError<UsageErrorCode> {
  override readonly name = 'UsageError';
  constructor(message: string, code: UsageErrorCode = 'usage') {
    super(code, message);
  }
}

export interface Output {
  json: boolean;
  /** Prints a result: the human text, or the JSON value. */
  result(human: string, json: unknown): void;
  /** Progress for long jobs, on a TTY only (never with --json). */
  progress(message: string): void;
}

export function output(json: boolean): Output {
  return {
    json,
    result: (human, value) => console.log(json ? JSON.stringify(value, bigintsAsStrings, 2) : human),
    progress: (message) => {
      if (!json && process.stderr.isTTY) process.stderr.write(`\r${message}\x1b[K`);
    },
  };
}

function bigintsAsStrings(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v;
}

/**
 * The errors of the KEYTRANS client's checks (verifier/keytrans/, verifier/keytrans-anchor/), by name, so that
 * this file loads none of them: each is a verification failure, as a VerifyError is. A malformed answer
 * (TlsError) is one too: the directory answered what draft-05 does not allow.
 */
const VERIFICATION_ERRORS = new Set([
  'KeyTransError',
  'AnchorError',
  'CombinedProofError',
  'ViewError',
  'TlsError',
  'TreeMathError',
]);

/**
 * Evidence written by `write` (a file of cli/files.ts), its path; if the file cannot be written (a missing
 * --evidence-dir, a full disk) that is said on stderr and the result is undefined, so that what `kt` reports is
 * still the verification failure the evidence goes with (exit 1), not the file's error.
 */
export function writtenEvidence(kind: string, write: () => string): string | undefined {
  try {
    return write();
  } catch (e) {
    console.error(`the evidence of the ${kind} could NOT be written: ${(e as Error).message}`);
    return undefined;
  }
}

/** The exit code for an error, after printing it. */
export function reportError(e: unknown, json: boolean): number {
  const code = e instanceof CodedError ? e.code : 'internal';
  const message = e instanceof Error ? e.message : String(e);
  const exit =
    e instanceof VerifyError || VERIFICATION_ERRORS.has((e as Error)?.name) ? EXIT_VERIFICATION_FAILED : EXIT_USAGE;
  if (json) console.log(JSON.stringify({ error: { code, message }, verified: false }));
  else console.error(`${exit === EXIT_VERIFICATION_FAILED ? 'VERIFICATION FAILED' : 'error'} [${code}]: ${message}`);
  return exit;
}
