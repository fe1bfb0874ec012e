/**
 * The raw material of the fuzz corpus (test/attacks/fuzz-corpus.ts): a seeded pseudo-random generator, so that
 * every run sends the same requests and a failure names a request that can be replayed, and the hostile values
 * it picks from: path segments (unicode edge cases, overlong names, dot segments, percent-encoding), tile
 * paths that are not canonical, JSON values and texts that are not what a route expects, base64 that is not
 * canonical, numbers that do not fit, and odd header values.
 */
import { toBase64 } from '../../wasm-free-crypto/bytes.js';

/** A seeded generator (sfc32): the same seed gives the same sequence on every platform. */
export class Prng {
  private s: Uint32Array;

  constructor(seed: number) {
    this.s = new Uint32Array([0x9e3779b9, 0x243f6a88, 0xb7e15162, seed >>> 0]);
    for (let i = 0; i < 16; i++) this.next();
  }

  /** The next 32 random bits. */
  next(): number {
    const s = this.s;
    const t = (((s[0] + s[1]) >>> 0) + s[3]) >>> 0;
    s[3] = (s[3] + 1) >>> 0;
    s[0] = s[1] ^ (s[1] >>> 9);
    s[1] = (s[2] + (s[2] << 3)) >>> 0;
    s[2] = ((s[2] << 21) | (s[2] >>> 11)) >>> 0;
    s[2] = (s[2] + t) >>> 0;
    return t;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return this.next() % n;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }

  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.next() & 0xff);
  }
}

/** Path segments no provider id or account is, each as it is put in a URL (already percent-encoded or raw). */
export const HOSTILE_SEGMENTS: readonly string[] = [
  '%00',
  '%00chat.example',
  'chat.example%00',
  '%ED%A0%80', // a lone UTF-16 surrogate in UTF-8
  '%C0%AF', // an overlong encoding of '/'
  '%FF%FE',
  '%E2%80%AE', // right-to-left override
  '%E2%80%8B', // zero-width space
  'a%CC%81', // a combining accent
  '%F0%9F%98%80', // an emoji
  '%EF%BB%BF', // a byte order mark
  '%',
  '%2',
  '%zz',
  '%2F',
  '%2e%2e',
  '..',
  '.',
  '%20',
  '+',
  'CHAT.EXAMPLE',
  'chat.example.',
  '-chat.example',
  'chat..example',
  'a@b@c',
  '+1',
  '+12345678901234567890',
  'a'.repeat(254),
  'a'.repeat(1000),
  `${'%41'.repeat(300)}`,
  `${'x.'.repeat(200)}example`,
  'user%0D%0AX-Injected:%201',
  '%7B%22a%22%3A1%7D',
  '%5B%5D',
  'null',
  'undefined',
  '__proto__',
  'constructor',
];

/** Tile and bundle paths below /log/ that the protocol refuses or the log does not hold. */
export const HOSTILE_TILE_PATHS: readonly string[] = [
  'tile/0/x001/%2e%2e/000',
  'tile/0/x001/../000',
  'tile/0/./000',
  'tile/0/%2e/000',
  'tile//0/000',
  'tile/0//000',
  'tile/0/000/',
  'tile/0/0000',
  'tile/0/00',
  'tile/0/%30%30%30',
  'tile/00/000',
  'tile/64/000',
  'tile/-1/000',
  'tile/1e1/000',
  'tile/0/000.p/0',
  'tile/0/000.p/256',
  'tile/0/000.p/00',
  'tile/0/000.p/-1',
  'tile/0/000.p/1/2',
  'tile/0/000.P/1',
  'tile/0/000.p',
  'tile/0/X001/000',
  'tile/0/x000/000',
  'tile/0/x1000/000',
  'tile/0/x999/x999/x999/x999/x999/999',
  'tile/0/x999/x999/x999/x999/x999/x999/x999/999',
  'tile/0/abc',
  'tile/0/+1',
  'tile/entries',
  'tile/entries/',
  'tile/entries/x001/../000',
  'tile/entries/000.p/256',
  'tile/entries/999',
  'tile/entries/x999/x999/x999/x999/x999/999',
  'tile/ENTRIES/000',
  'tile/0/%ED%A0%80',
  'tile/0/000%00',
  'tile/0/000;x',
  `tile/0/${'x001/'.repeat(400)}000`,
];

/** JSON bodies that are not what any route expects. */
export const HOSTILE_JSON_TEXTS: readonly string[] = [
  '',
  ' ',
  '{',
  '}',
  '{"',
  '{"a":}',
  '{"a":1,}',
  "{'a':1}",
  'null',
  'true',
  '0',
  '"text"',
  '[]',
  '[{}]',
  '{}',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"x":1}}}',
  '\uFEFF{}',
  '{"a":1e999999}',
  '{"a":-0}',
  '{"a":123456789012345678901234567890}',
  '{"a":"\\ud800"}',
  '{"a":"\\u0000"}',
  '{"a":"\u202e"}',
  '{"a":1}{"b":2}',
  '{"a":1} trailing',
  `${'['.repeat(5000)}${']'.repeat(5000)}`,
  `{"a":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`,
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":undefined}',
  '{"a" 1}',
  '\x00\x01\x02',
];

/** Values that are not a canonical base64 string of anything useful (each built only when picked). */
export function hostileBase64(rng: Prng): unknown {
  const good = () => toBase64(rng.bytes(1 + rng.int(40)));
  return rng.pick<() => unknown>([
    () => good().replace(/=+$/, ''),
    () => `${good()}=`,
    () => `${good().slice(0, -1)}!`,
    () => `${good().replace(/\+/g, '-').replace(/\//g, '_')}-_`,
    () => ` ${good()}`,
    () => `${good()}\n`,
    () => 'A',
    () => 'AB=',
    () => '====',
    () => '',
    () => 'ZZ==', // non-zero padding bits
    () => 'é',
    () => '\u0000',
    () => 0,
    () => 1e308,
    () => -1,
    () => null,
    () => true,
    () => [],
    () => ({}),
    () => [good()],
    () => ({ statement: good() }),
    good, // well-formed base64 of random bytes: not a statement, not a signature
    () => toBase64(rng.bytes(5000)),
  ])();
}

/** Numbers and number-like values that do not fit a version, an index or a count. */
export const HOSTILE_NUMBERS: readonly string[] = [
  '-1',
  '-0',
  '0x10',
  '1e3',
  '1.5',
  '01',
  '9007199254740993',
  '99999999999999999999999999',
  '18446744073709551616',
  'Infinity',
  'NaN',
  '',
  ' 1',
  '1 ',
  '%31',
  '１', // a full-width digit
];

/** Odd values for headers a route may read. */
export const HOSTILE_HEADER_VALUES: readonly string[] = [
  '',
  ' ',
  'x'.repeat(8000),
  'gzip;q=abc',
  'gzip, gzip, gzip, br;q=2',
  '*;q=0',
  'application/json; charset=utf-16',
  'multipart/form-data; boundary=',
  'text/plain',
  'Bearer',
  'Bearer ',
  'Basic Og==',
  '\u00ff\u00fe',
  'null',
  'https://evil.example',
  '-1',
  '99999999999999999999',
  'a, b, c',
];
