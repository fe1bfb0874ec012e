/**
 * Account canonicalisation, so that two spellings of one account can never hold two keys: every account
 * a statement names must already be in the canonical form `canonicalAccount` computes (Unicode NFC, no
 * control, format, private-use, unassigned or separator characters, no leading or trailing white space,
 * 1..256 bytes of UTF-8), with two provider-independent spellings normalised: `tel:` accounts become E.164
 * (`tel:+15550100000`) and the host part of e-mail-like accounts is lower-cased. Anything else (Matrix ids,
 * user names) is kept exactly as written after NFC. Spellings that cannot be normalised safely (IDNA
 * A-labels, compatibility characters in a host) are refused rather than guessed at. Provider ids are
 * lower-case ASCII DNS names (`providerIdValid`). Pure string code: runs in browsers and Workers.
 */
import { utf8 } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';

export type AccountErrorCode =
  | 'account_empty'
  | 'account_too_long'
  | 'account_control_char'
  | 'account_bad_phone'
  | 'account_bad_email'
  | 'account_not_canonical'
  | 'account_bad_utf8';

/** An account that is not, or cannot be made, canonical. */
export class AccountError extends CodedError<AccountErrorCode> {
  override readonly name = 'AccountError';
}

/** Maximum length of a canonical account, in bytes of UTF-8. */
export const MAX_ACCOUNT_BYTES = 256;
/** Maximum length of a provider id (an ASCII DNS name), in bytes. */
export const MAX_PROVIDER_ID_BYTES = 253;
/** Inputs longer than this many UTF-16 code units are refused before any processing. */
export const MAX_ACCOUNT_INPUT = 1024;

// General categories never allowed in an account: controls, format characters (ZWJ, bidi overrides,
// BOM, soft hyphen), private use, unassigned, line and paragraph separators. Lone surrogates (Cs) are
// refused separately as text that has no UTF-8 encoding.
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;
const SURROGATE = /\p{Cs}/u;
const EDGE_SPACE = /^\p{White_Space}|\p{White_Space}$/u;
const TEL_PREFIX = /^tel:/i;
const TEL_SEPARATORS = /[ \u00a0\-.()]/g;
const E164 = /^\+[1-9][0-9]{1,14}$/;
// An internationalised host label: letters, combining marks and decimal digits, inner hyphens.
const HOST_LABEL = /^[\p{L}\p{Nd}](?:[\p{L}\p{M}\p{Nd}-]*[\p{L}\p{M}\p{Nd}])?$/u;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function fail(code: AccountErrorCode, message: string): never {
  throw new AccountError(code, message);
}

function codePoint(s: string): string {
  return `U+${s.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The canonical form of an account, or an AccountError. In order: NFC; refuse lone surrogates,
 * characters of category Cc, Cf, Co, Cn, Zl, Zp and leading or trailing white space; then `tel:`
 * accounts to E.164, e-mail-like accounts (a '@' after position 0, split at the last '@') with a
 * lower-cased host, anything else unchanged; finally 1..256 bytes of UTF-8.
 */
export function canonicalAccount(input: string): string {
  if (typeof input !== 'string') fail('account_bad_utf8', 'account must be a string');
  if (input.length > MAX_ACCOUNT_INPUT)
    fail('account_too_long', `account input longer than ${MAX_ACCOUNT_INPUT} UTF-16 code units`);
  const surrogate = SURROGATE.exec(input);
  if (surrogate) fail('account_bad_utf8', `account contains a lone surrogate ${codePoint(surrogate[0])}`);
  const s = input.normalize('NFC');
  if (s.length === 0) fail('account_empty', 'account is empty');
  const bad = FORBIDDEN.exec(s);
  if (bad)
    fail(
      'account_control_char',
      `account contains the forbidden character ${codePoint(bad[0])} at offset ${bad.index}`,
    );
  if (EDGE_SPACE.test(s)) fail('account_not_canonical', 'account has leading or trailing white space');
  let out: string;
  if (TEL_PREFIX.test(s)) out = canonicalPhone(s);
  else if (s.lastIndexOf('@') > 0) out = canonicalEmail(s);
  else out = s;
  const bytes = utf8(out).length;
  if (bytes > MAX_ACCOUNT_BYTES)
    fail('account_too_long', `account is ${bytes} bytes of UTF-8, more than ${MAX_ACCOUNT_BYTES}`);
  return out;
}

/** `tel:` (any case) then an E.164 number once visual separators (space, NBSP, - . ( )) are removed. */
function canonicalPhone(s: string): string {
  const number = s.slice(4).replace(TEL_SEPARATORS, '');
  if (!E164.test(number)) {
    fail(
      'account_bad_phone',
      'a tel: account must be + and 2 to 15 digits, the first not 0 (E.164), with only space, -, ., ( and ) as separators',
    );
  }
  return `tel:${number}`;
}

/**
 * Local part kept as written; host lower-cased (locale-independent `toLowerCase`, then NFC again) and
 * checked as a DNS name whose labels may be internationalised (U-labels). A-labels (`xn--`) and hosts
 * that NFKC would change (full-width letters, ligatures) are refused: they are other spellings of a
 * host that has exactly one accepted spelling.
 */
function canonicalEmail(s: string): string {
  const at = s.lastIndexOf('@');
  const local = s.slice(0, at);
  const host = s
    .slice(at + 1)
    .toLowerCase()
    .normalize('NFC');
  if (host.length === 0) fail('account_bad_email', 'e-mail-like account has an empty host');
  if ([...host].length > 253) fail('account_bad_email', 'host name longer than 253 characters');
  if (host.normalize('NFKC') !== host)
    fail('account_bad_email', 'host contains compatibility characters (for example full-width letters)');
  for (const label of host.split('.')) {
    if (label.length === 0) fail('account_bad_email', 'host has an empty label (leading, trailing or doubled dot)');
    if (!HOST_LABEL.test(label))
      fail('account_bad_email', `host label ${JSON.stringify(label)} is not letters, digits and inner hyphens`);
    if ([...label].length > 63) fail('account_bad_email', 'host label longer than 63 characters');
    if (label.startsWith('xn--'))
      fail('account_bad_email', 'write internationalised host labels in Unicode (U-labels), not xn-- A-labels');
  }
  return `${local}@${host}`;
}

/** Whether `s` is already canonical: `canonicalAccount(s) === s` (false when it is refused). */
export function isCanonicalAccount(s: string): boolean {
  try {
    return canonicalAccount(s) === s;
  } catch {
    return false;
  }
}

/**
 * Throws the AccountError for a refused account, or `account_not_canonical` when `s` is valid but spelled otherwise.
 */
export function assertCanonicalAccount(s: string): void {
  const c = canonicalAccount(s);
  if (c !== s)
    fail('account_not_canonical', `account is not in canonical form; the canonical spelling is ${JSON.stringify(c)}`);
}

/**
 * A provider id: a lower-case ASCII DNS name of at least two labels, each 1..63 letters, digits and
 * inner hyphens, 1..253 characters in all, no trailing dot.
 */
export function providerIdValid(id: string): boolean {
  if (typeof id !== 'string' || id.length < 1 || id.length > MAX_PROVIDER_ID_BYTES) return false;
  const labels = id.split('.');
  return labels.length >= 2 && labels.every((l) => LDH_LABEL.test(l));
}
