/**
 * The one error shape of the project: an Error with a stable, machine-readable `code` (documented with
 * each format in docs/PROTOCOL.md) and a human message. Each module subclasses it under its own name,
 * so callers can branch on `instanceof` or on `code`, and the HTTP layer maps codes to JSON errors.
 */
export class CodedError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}
