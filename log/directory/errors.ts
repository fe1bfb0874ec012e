/**
 * The directory's refusals and failures, each with a stable code (the HTTP status of each is in
 * api/app/errors.ts): what a submission, an enrolment or a revocation is refused for, what an epoch or a
 * lookup failed with, and a store that does not agree with its log.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';

export class DirectoryError extends CodedError {}
