/**
 * The one error shape of the project: an Error with a stable, machine-readable `code` (documented with
 * each format in docs/PROTOCOL.md) and a human message. Each module subclasses it under its own name with
 * the union of its codes (`class NoteError extends CodedError<NoteErrorCode>`), so that the compiler
 * refuses a code the class does not declare; callers branch on `instanceof` or on `code`, and the HTTP
 * layer maps every code it can meet to a status (api/app/errors.ts). Each subclass also names itself with
 * a string (`override readonly name = 'NoteError'`): a minifier renames classes, and a browser bundle's
 * errors must still say what they are.
 */
export class CodedError<Code extends string = string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}
