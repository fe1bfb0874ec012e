/**
 * The verifier's error types, each with a stable `code`: a VerifyError when something did not verify (the
 * log or directory misbehaved, or a proof is wrong; codes listed in docs/PROTOCOL.md), a ClientError when
 * a directory or log could not be asked or refused the request. Tools tell them apart (`kt` exits 1 or 2).
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';

export class VerifyError extends CodedError {}

/** The directory or log could not be asked, or answered with an error (its code and message are kept). */
export class ClientError extends CodedError {}
