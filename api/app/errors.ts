/**
 * Errors over HTTP: every error is the JSON body `{"error":{"code","message"}}` with the status of its code,
 * and every code the API can answer with has its status in one table (`STATUS_BY_CODE`), keyed by the
 * code types of the error classes that can reach a route, so that the compiler refuses a code without a
 * status. A thrown error whose code the table does not know, or whose status is 500, is answered 500
 * `internal` with a generic message and logged (never a silent 400, never an internal message to a client).
 */
import type { EncodingErrorCode } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import type { NoteErrorCode } from '../../wasm-free-crypto/note.js';
import type { SignatureErrorCode } from '../../wasm-free-crypto/signatures.js';
import type { VrfErrorCode } from '../../wasm-free-crypto/vrf.js';
import type { AccountErrorCode } from '../../verifier/formats/account.js';
import type { EntryErrorCode } from '../../verifier/formats/entries.js';
import type { MapErrorCode } from '../../verifier/formats/map-proof.js';
import type { StatementErrorCode } from '../../verifier/formats/statement.js';
import type { LogErrorCode } from '../../verifier/formats/tlog.js';
import type { DirectoryErrorCode } from '../../log/directory/errors.js';
import type { DeploymentErrorCode } from '../../log/keytrans/deployment-error.js';
import type { ResponderErrorCode } from '../../log/keytrans/errors.js';
import type { AppendErrorCode } from '../../log/merkle/appender.js';
import type { ProviderErrorCode } from '../../log/providers/errors.js';

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 429 | 500 | 503;

/** The codes of the HTTP layer itself (routes, middleware, the Worker's own answers). */
export type HttpErrorCode =
  | 'bad_request'
  | 'bad_tile_path'
  | 'not_found'
  | 'too_large'
  | 'rate_limited'
  | 'unauthorized'
  | 'internal'
  | 'not_configured'
  | 'log_unavailable'
  | 'rate_limit_unavailable'
  | 'kt_deployment_closed';

/** Every code an answer of the API can carry: the HTTP layer's and those of the errors a route can meet. */
export type ApiErrorCode =
  | HttpErrorCode
  | DirectoryErrorCode
  | ResponderErrorCode
  | DeploymentErrorCode
  | ProviderErrorCode
  | StatementErrorCode
  | AccountErrorCode
  | EncodingErrorCode
  | EntryErrorCode
  | MapErrorCode
  | LogErrorCode
  | AppendErrorCode
  | NoteErrorCode
  | SignatureErrorCode
  | VrfErrorCode
  | 'bad_proof_json'
  | 'storage_conflict';

/** 500: the server's own state or code is wrong, whatever the request. */
const INTERNAL = 500;

export const STATUS_BY_CODE: Readonly<Record<ApiErrorCode, ErrorStatus>> = {
  // the HTTP layer
  bad_request: 400,
  bad_tile_path: 400,
  not_found: 404,
  too_large: 413,
  rate_limited: 429,
  unauthorized: 401,
  internal: INTERNAL,
  not_configured: 503,
  log_unavailable: 503,
  // a submission refused (log/directory/submission.ts, credentials.ts) and its statement (verifier/formats)
  statement_too_large: 413,
  statement_from_future: 400,
  statement_bad_status: 400,
  statement_bad_account: 400,
  statement_bad_continuity: 400,
  statement_bad_key: 400,
  statement_bad_provider: 400,
  statement_bad_public_key: 400,
  statement_bad_version: 400,
  statement_duplicate_key: 400,
  statement_malformed: 400,
  statement_not_canonical: 400,
  statement_too_many_keys: 400,
  statement_trailing_bytes: 400,
  statement_unknown_field: 400,
  bad_signature: 403,
  unknown_provider: 403,
  namespace_violation: 403,
  wrong_credential: 403,
  cert_revoked: 403,
  bad_continuity: 403,
  bad_keytrans_update: 403,
  version_conflict: 409,
  version_gap: 409,
  // an account name (verifier/formats/account.ts)
  account_empty: 400,
  account_too_long: 400,
  account_control_char: 400,
  account_bad_phone: 400,
  account_bad_email: 400,
  account_not_canonical: 400,
  account_bad_utf8: 400,
  // an enrolment or revocation (log/providers/chain.ts, log/directory/directory.ts)
  cert_parse: 400,
  cert_chain_too_long: 403,
  cert_untrusted: 403,
  cert_bad_signature: 403,
  cert_expired: 403,
  cert_not_yet_valid: 403,
  cert_unsupported_extension: 403,
  cert_not_ca: 403,
  cert_bad_key_usage: 403,
  cert_bad_key: 403,
  cert_no_dns_name: 403,
  already_enrolled: 409,
  unknown_credential: 404,
  // a KEYTRANS request the responders refuse (log/keytrans/errors.ts): draft-05 has no negative result
  kt_label_absent: 404,
  kt_version_absent: 404,
  kt_version_erased: 410,
  kt_version_expired: 410,
  kt_bad_last: 400,
  kt_bad_request: 400,
  kt_unsupported_mode: INTERNAL,
  kt_deployment_closed: 410,
  // the directory cannot take work now: retry
  queue_full: 503,
  epoch_failed: 503,
  directory_broken: 503,
  read_only: 503,
  overloaded: 503,
  busy: 503,
  rate_limit_unavailable: 503, // a Worker's limiter object could not be asked (api/worker/lookup-limiter.ts)
  closed: 503,
  // bytes the client sent that do not decode (wasm-free-crypto/bytes.ts)
  bad_base64: 400,
  bad_hex: 400,
  bad_integer: 400,
  bad_key: 400,
  bad_utf8: 400,
  truncated: 400,
  unsafe_integer: 400,
  // the server's own state: its log, map, entries, keys and encodings
  deployment_bad_update: INTERNAL,
  deployment_conflict: INTERNAL,
  deployment_clock: INTERNAL,
  deployment_corrupt: INTERNAL,
  corrupt_directory: INTERNAL,
  corrupt_log: INTERNAL,
  storage_conflict: INTERNAL,
  bad_config: INTERNAL,
  bad_entry: INTERNAL,
  batch_too_large: INTERNAL,
  empty_batch: INTERNAL,
  entry_too_large: INTERNAL,
  entry_malformed: INTERNAL,
  entry_not_canonical: INTERNAL,
  entry_unknown_type: INTERNAL,
  bad_index: INTERNAL,
  bad_hash: INTERNAL,
  bad_proof: INTERNAL,
  not_included: INTERNAL,
  inconsistent: INTERNAL,
  bad_tile: INTERNAL,
  bad_bundle: INTERNAL,
  bad_frontier: INTERNAL,
  bad_label: INTERNAL,
  bad_version: INTERNAL,
  bad_depth: INTERNAL,
  bad_root: INTERNAL,
  duplicate_label: INTERNAL,
  bad_node: INTERNAL,
  unsorted_leaves: INTERNAL,
  not_member: INTERNAL,
  not_absent: INTERNAL,
  bad_checkpoint: INTERNAL,
  bad_cosignature: INTERNAL,
  bad_key_name: INTERNAL,
  bad_signer_key: INTERNAL,
  bad_timestamp: INTERNAL,
  bad_verifier_key: INTERNAL,
  invalid_signature: INTERNAL,
  malformed_note: INTERNAL,
  note_too_large: INTERNAL,
  too_many_signatures: INTERNAL,
  unknown_key_type: INTERNAL,
  unverified_note: INTERNAL,
  wrong_origin: INTERNAL,
  bad_public_key: INTERNAL,
  bad_secret_key: INTERNAL,
  bad_signature_encoding: INTERNAL,
  unknown_algorithm: INTERNAL,
  vrf_bad_proof: INTERNAL,
  vrf_bad_public_key: INTERNAL,
  vrf_bad_secret_key: INTERNAL,
  vrf_bad_input: INTERNAL,
  vrf_verify_failed: INTERNAL,
  vrf_encode_failed: INTERNAL,
  bad_proof_json: INTERNAL,
};

/** The status of a code, or undefined for a code the API does not know (which is answered 500). */
export function statusForCode(code: string): ErrorStatus | undefined {
  return Object.hasOwn(STATUS_BY_CODE, code) ? STATUS_BY_CODE[code as ApiErrorCode] : undefined;
}

/** The JSON error answer of `code`, with its status. */
export function errorResponse(code: ApiErrorCode, message: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error: { code, message } }, { status: STATUS_BY_CODE[code], headers });
}

/** A thrown error as the API answers it: a known code that is not internal as itself, anything else as null. */
export function answerableError(e: unknown): { code: ApiErrorCode; message: string } | null {
  if (!(e instanceof CodedError)) return null;
  const status = statusForCode(e.code);
  return status === undefined || status === INTERNAL ? null : { code: e.code as ApiErrorCode, message: e.message };
}

/**
 * Answers a thrown error: a typed error of a known code with its status (a 503 asks the client to retry
 * after a second); anything else (an unknown code, an internal one, an untyped error) is rethrown, for the
 * app's error handler to log and answer 500.
 */
export function typedErrorResponse(e: unknown): Response {
  const answer = answerableError(e);
  if (!answer) throw e;
  const retry: Record<string, string> = STATUS_BY_CODE[answer.code] === 503 ? { 'Retry-After': '1' } : {};
  return errorResponse(answer.code, answer.message, retry);
}
