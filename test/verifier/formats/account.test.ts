/**
 * Account canonicalisation (verifier/formats/account.ts): a table of spellings and their canonical form, a table of
 * refusals with their codes, the 256-byte limit measured after canonicalisation, idempotence on the
 * tables and on random strings, and provider ids.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../wasm-free-crypto/bytes.js';
import {
  assertCanonicalAccount,
  canonicalAccount,
  isCanonicalAccount,
  providerIdValid,
} from '../../../verifier/formats/account.js';
import { errorCode } from '../../helpers/error-code.js';

const CANONICAL: [string, string][] = [
  ['tel:+1 (555) 010-0000', 'tel:+15550100000'],
  ['TEL:+15550100000', 'tel:+15550100000'],
  ['Tel:+44.20.7946.0958', 'tel:+442079460958'],
  ['tel:+1\u00a0555\u00a00100000', 'tel:+15550100000'],
  ['tel:+12', 'tel:+12'],
  ['tel:+123456789012345', 'tel:+123456789012345'],
  ['alice@example.org', 'alice@example.org'],
  ['Alice@Example.ORG', 'Alice@example.org'],
  ['a@b@EXAMPLE.org', 'a@b@example.org'],
  ['"a b"@Mail-1.Example.COM', '"a b"@mail-1.example.com'],
  ['Zoë@BÜCHER.example', 'Zoë@bücher.example'],
  ['user@ПРИМЕР.рф', 'user@пример.рф'],
  ['alice@localhost', 'alice@localhost'],
  ['@alice:example.org', '@alice:example.org'],
  ['@Alice:Example.org', '@Alice:Example.org'],
  ['alice', 'alice'],
  ['Alice Smith', 'Alice Smith'],
  ['山田太郎', '山田太郎'],
  ['\u2126', '\u03a9'], // OHM SIGN is canonically equivalent to GREEK CAPITAL LETTER OMEGA
  ['\u1100\u1161\u11a8', '\uac01'], // conjoining jamo compose to a Hangul syllable
];

const REFUSED: [string, string][] = [
  ['', 'account_empty'],
  ['a\u200db', 'account_control_char'], // zero-width joiner (Cf)
  ['alice\u202e@example.org', 'account_control_char'], // right-to-left override (Cf)
  ['\ufeffalice', 'account_control_char'], // byte order mark (Cf)
  ['ali\u00adce', 'account_control_char'], // soft hyphen (Cf)
  ['a\u0000b', 'account_control_char'],
  ['alice\n', 'account_control_char'],
  ['a\tb', 'account_control_char'],
  ['a\u0085b', 'account_control_char'],
  ['a\u2028b', 'account_control_char'], // line separator (Zl)
  ['a\u2029b', 'account_control_char'], // paragraph separator (Zp)
  ['a\ue000b', 'account_control_char'], // private use (Co)
  ['a\u{f0000}b', 'account_control_char'], // supplementary private use (Co)
  ['a\u0378b', 'account_control_char'], // unassigned (Cn)
  ['a\ufffeb', 'account_control_char'], // noncharacter (Cn)
  ['a\ud800b', 'account_bad_utf8'], // lone high surrogate
  ['a\udc00', 'account_bad_utf8'], // lone low surrogate
  [' alice', 'account_not_canonical'],
  ['alice ', 'account_not_canonical'],
  ['\u00a0alice', 'account_not_canonical'],
  ['alice\u3000', 'account_not_canonical'],
  ['tel:+0123456', 'account_bad_phone'], // country code cannot start with 0
  ['tel:+1234567890123456', 'account_bad_phone'], // 16 digits
  ['tel:+1', 'account_bad_phone'], // 1 digit
  ['tel:15550100000', 'account_bad_phone'], // no +
  ['tel:+1/555/0100000', 'account_bad_phone'],
  ['tel:+1555010000x', 'account_bad_phone'],
  ['tel:+\uff11\uff15\uff15\uff15', 'account_bad_phone'], // full-width digits
  ['tel:+\u0661\u0662\u0663', 'account_bad_phone'], // Arabic-Indic digits
  ['tel:', 'account_bad_phone'],
  ['tel:alice@example.org', 'account_bad_phone'],
  ['alice@', 'account_bad_email'],
  ['alice@.example.org', 'account_bad_email'],
  ['alice@example.org.', 'account_bad_email'],
  ['alice@example..org', 'account_bad_email'],
  ['alice@exa mple.org', 'account_bad_email'],
  ['alice@-example.org', 'account_bad_email'],
  ['alice@example-.org', 'account_bad_email'],
  ['alice@exa_mple.org', 'account_bad_email'],
  ['alice@[192.0.2.1]', 'account_bad_email'],
  ['alice@xn--bcher-kva.example', 'account_bad_email'], // A-label: write bücher.example
  ['alice@XN--BCHER-KVA.example', 'account_bad_email'],
  ['alice@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.org', 'account_bad_email'], // full-width letters
  ['alice@example\u3002org', 'account_bad_email'], // ideographic full stop
  ['alice@example\uff0eorg', 'account_bad_email'], // full-width full stop
  [`alice@${'a'.repeat(64)}.org`, 'account_bad_email'],
  [`alice@${'a.'.repeat(126)}ab`, 'account_bad_email'], // 254-character host
];

describe('canonical accounts', () => {
  it.each(CANONICAL)('%j canonicalises to %j', (input, canonical) => {
    expect(canonicalAccount(input)).toBe(canonical);
    expect(canonicalAccount(canonical)).toBe(canonical);
    expect(isCanonicalAccount(canonical)).toBe(true);
    expect(isCanonicalAccount(input)).toBe(input === canonical);
  });

  it('NFC and NFD spellings of é are one account', () => {
    const nfc = 'caf\u00e9@example.org';
    const nfd = 'cafe\u0301@example.org';
    expect(nfc).not.toBe(nfd);
    expect(canonicalAccount(nfd)).toBe(nfc);
    expect(canonicalAccount(nfc)).toBe(nfc);
    expect(canonicalAccount('Ame\u0301lie')).toBe('Am\u00e9lie');
    expect(isCanonicalAccount(nfd)).toBe(false);
  });

  it.each(REFUSED)('refuses %j with %s', (input, code) => {
    expect(errorCode(() => canonicalAccount(input))).toBe(code);
    expect(isCanonicalAccount(input)).toBe(false);
  });

  it('assertCanonicalAccount distinguishes refused accounts from other spellings of valid ones', () => {
    expect(errorCode(() => assertCanonicalAccount('tel:+15550100000'))).toBe('no error');
    expect(errorCode(() => assertCanonicalAccount('TEL:+15550100000'))).toBe('account_not_canonical');
    expect(errorCode(() => assertCanonicalAccount('alice@Example.org'))).toBe('account_not_canonical');
    expect(errorCode(() => assertCanonicalAccount('a\u0000'))).toBe('account_control_char');
    expect(errorCode(() => assertCanonicalAccount(42 as unknown as string))).toBe('account_bad_utf8');
  });

  it('limits the canonical form to 256 bytes of UTF-8', () => {
    expect(canonicalAccount('a'.repeat(256))).toBe('a'.repeat(256));
    expect(errorCode(() => canonicalAccount('a'.repeat(257)))).toBe('account_too_long');
    expect(canonicalAccount('\u00e9'.repeat(128))).toHaveLength(128); // 256 bytes
    expect(errorCode(() => canonicalAccount(`${'\u00e9'.repeat(128)}a`))).toBe('account_too_long');
    expect(errorCode(() => canonicalAccount('😀'.repeat(65)))).toBe('account_too_long'); // 260 bytes
    expect(errorCode(() => canonicalAccount('a'.repeat(100_000)))).toBe('account_too_long');
  });

  it('measures the length after canonicalisation, not before', () => {
    // Separators are removed: a long spelling of a short number is accepted.
    const spaced = `tel:+1${' '.repeat(300)}5550100000`;
    expect(utf8(spaced).length).toBeGreaterThan(256);
    expect(canonicalAccount(spaced)).toBe('tel:+15550100000');
    // Lower-casing U+0130 (2 bytes) gives i + U+0307 (3 bytes): 256 bytes in, 257 out.
    const dotted = `${'x'.repeat(249)}@\u0130.org`;
    expect(utf8(dotted).length).toBe(256);
    expect(errorCode(() => canonicalAccount(dotted))).toBe('account_too_long');
    expect(canonicalAccount(`${'x'.repeat(248)}@\u0130.org`)).toBe(`${'x'.repeat(248)}@i\u0307.org`);
  });

  it('is idempotent and returns NFC on random strings', () => {
    const alphabet = [
      'a',
      'B',
      'é',
      'e\u0301',
      'İ',
      'Σ',
      'ß',
      '@',
      '.',
      '-',
      ' ',
      '+',
      '1',
      '0',
      'tel:',
      'TEL:',
      '(',
      ')',
      '\u00a0',
      '山',
      'ｅ',
      '\u0307',
      'xn--',
      'ﬁ',
    ];
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const s = Array.from({ length: 1 + next(12) }, () => alphabet[next(alphabet.length)]).join('');
      let c: string;
      try {
        c = canonicalAccount(s);
      } catch {
        continue;
      }
      accepted++;
      expect(canonicalAccount(c)).toBe(c);
      expect(c.normalize('NFC')).toBe(c);
      expect(isCanonicalAccount(c)).toBe(true);
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});

describe('provider ids', () => {
  const max = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
  it.each(['chat.example.com', 'a.b', 'xn--bcher-kva.example', '1.2', 'a-b.c-d.example', `${'a'.repeat(63)}.com`, max])(
    'accepts %s',
    (id) => {
      expect(providerIdValid(id)).toBe(true);
    },
  );
  it.each([
    '',
    'example',
    'Example.com',
    'example.com.',
    '.example.com',
    '-a.com',
    'a-.com',
    'a..com',
    'a_b.com',
    `${'a'.repeat(64)}.com`,
    `${max}x`,
    'ex ample.com',
    'bücher.example',
    'example.com/x',
    'user@example.com',
  ])('refuses %j', (id) => {
    expect(providerIdValid(id)).toBe(false);
  });
  it('the longest valid id is 253 characters', () => expect(max).toHaveLength(253));
});
