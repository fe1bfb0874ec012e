/**
 * The verifier's one error type: every verification failure is a VerifyError with a stable `code` (listed
 * in docs/PROTOCOL.md), so that clients and tools can act on the code and print the message.
 */
import { CodedError } from '../wasm-free-crypto/errors.js';

export class VerifyError extends CodedError {}
