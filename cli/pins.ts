/**
 * The pins file of `kt` (`kt-pins.json` by default): what a client trusts, fetched once with `kt trust
 * --server URL --save FILE` and checked out of band, then used by every verifying command. Its format and
 * checks are the client library's (verifier/client/pins.ts), so that a script using the library and `kt`
 * read the same file; here a refusal becomes a usage error (exit 2).
 */
import { readFileSync } from 'node:fs';
import type { Pins } from '../verifier/verification/lookup-verifier.js';
import * as pinsJson from '../verifier/client/pins.js';
import { UsageError } from './output.js';

export type PinsFile = ReturnType<typeof pinsJson.checkPins>;

function usageOnBadPins<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof pinsJson.PinsError) throw new UsageError(e.message, 'bad_pins');
    throw e;
  }
}

/** Checks a parsed pins object (from a file or from /v1/config) and returns it with only the pin fields. */
export function checkPins(v: unknown, where: string): PinsFile {
  return usageOnBadPins(() => pinsJson.checkPins(v, where));
}

export function readPins(path: string): PinsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read the pins file ${path} (${(e as Error).message}); make one with \`kt trust --server URL --save ${path}\``,
      'no_pins',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${path} is not valid JSON: ${(e as Error).message}`, 'bad_pins');
  }
  return checkPins(parsed, path);
}

/** The verifier's pins from a pins file. */
export function toVerifierPins(p: PinsFile, where = 'pins'): Pins {
  return usageOnBadPins(() => pinsJson.toVerifierPins(p, where));
}
