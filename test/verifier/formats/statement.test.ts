/**
 * Binding statements (verifier/formats/statement.ts, statement-binary.ts, statement-json.ts): the checked-in
 * vectors (test/vectors/statements.json) against the encoder, the decoder and the generator; round trips;
 * every refusal code, reached both through objects or JSON and through hand-built bytes; and mutations of
 * every vector: each truncation and each appended byte is refused, and each flipped byte is refused or
 * decodes to a different statement that re-encodes to exactly the flipped bytes.
 */
import { readFileSync } from 'node:fs';
import { ED25519_TORSION_SUBGROUP, ed25519, x25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { concatBytes, equalBytes, fromHex, toBase64, toHex, u64be, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { ed25519KeyPairFromSeed, ed25519Verify } from '../../../wasm-free-crypto/ed25519.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import {
  checkPublicKeys,
  validateStatement,
  StatementError,
  type Statement,
  type StatementKey,
} from '../../../verifier/formats/statement.js';
import {
  continuityMessage,
  decodeStatement,
  encodeStatement,
  providerSignedMessage,
} from '../../../verifier/formats/statement-binary.js';
import { statementFromJson, statementToJson } from '../../../verifier/formats/statement-json.js';
import { makeStatementVectors, VECTORS_PATH, type StatementVector } from '../../fixtures/make-statement-vectors.js';
import { errorCode } from '../../helpers/error-code.js';

const vectors = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as StatementVector[];
const code = errorCode;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** A valid Ed25519 public key, one per `fill` (the public key of the seed of 32 such bytes). */
const edPublic = (fill: number): Uint8Array => ed25519KeyPairFromSeed(new Uint8Array(32).fill(fill)).publicKey;
/** A valid compressed P-256 public key. */
const p256Public = (): Uint8Array => p256.getPublicKey(new Uint8Array(32).fill(5), true);
const edKey = (id: string, fill = 7, capabilities: string[] = []): StatementKey => ({
  id,
  algorithm: 'ed25519',
  publicKey: edPublic(fill),
  protocol: 'signal/v3',
  capabilities,
});
const base = (): Statement => ({
  provider: 'chat.example.com',
  account: 'alice@example.org',
  version: 2,
  issuedAt: 1767225600000,
  status: 'active',
  keys: [edKey('a', 1, ['fs', 'pq']), edKey('b', 2)],
  continuity: { keyId: 'old', signature: new Uint8Array(64).fill(9) },
});

/** Hand-built bytes in the statement layout, with no validation, for reaching decoder refusals. */
interface RawKey {
  id: string;
  alg: number;
  pk: Uint8Array;
  protocol: string;
  caps: string[];
}
interface Raw {
  format: number;
  provider: Uint8Array;
  account: Uint8Array;
  version: bigint;
  issuedAt: bigint;
  status: number;
  keyCount?: number;
  keys: RawKey[];
  flag: number;
  keyId: string;
  sig: Uint8Array;
}
const rawKey = (id: string, fill = 7, caps: string[] = []): RawKey => ({
  id,
  alg: 1,
  pk: edPublic(fill),
  protocol: 'signal/v3',
  caps,
});
const RAW: Raw = {
  format: 1,
  provider: utf8('chat.example.com'),
  account: utf8('alice@example.org'),
  version: 2n,
  issuedAt: 1767225600000n,
  status: 1,
  keys: [rawKey('a', 1, ['fs', 'pq']), rawKey('b', 2)],
  flag: 1,
  keyId: 'old',
  sig: new Uint8Array(64).fill(9),
};
const b8 = (b: Uint8Array) => concatBytes(Uint8Array.of(b.length), b);
const b16 = (b: Uint8Array) => concatBytes(Uint8Array.of(b.length >> 8, b.length & 255), b);
function raw(o: Partial<Raw> = {}): Uint8Array {
  const r = { ...RAW, ...o };
  const keys = r.keys.map((k) =>
    concatBytes(
      b8(utf8(k.id)),
      Uint8Array.of(k.alg),
      b16(k.pk),
      b8(utf8(k.protocol)),
      Uint8Array.of(k.caps.length),
      ...k.caps.map((c) => b8(utf8(c))),
    ),
  );
  const tail = r.flag === 1 ? concatBytes(Uint8Array.of(1), b8(utf8(r.keyId)), b16(r.sig)) : Uint8Array.of(r.flag);
  return concatBytes(
    Uint8Array.of(r.format),
    b8(r.provider),
    b16(r.account),
    u64be(r.version),
    u64be(r.issuedAt),
    Uint8Array.of(r.status, r.keyCount ?? r.keys.length),
    ...keys,
    tail,
  );
}
const decodeCode = (o: Partial<Raw>) => code(() => decodeStatement(raw(o)));

describe('statement vectors', () => {
  it('the checked-in file is what the generator writes', () => {
    expect(vectors).toEqual(clone(makeStatementVectors()));
    expect(vectors.length).toBeGreaterThanOrEqual(8);
    const algorithms = new Set(vectors.flatMap((v) => v.json.keys.map((k) => k.algorithm)));
    expect([...algorithms].sort()).toEqual(['ed25519', 'ml-dsa-65', 'ml-kem-768', 'p256', 'x25519']);
  });

  it.each(vectors.map((v) => [v.name, v] as const))(
    '%s: JSON encodes to the hex, the hex decodes to the JSON',
    (_, v) => {
      const fromJson = statementFromJson(clone(v.json));
      expect(toHex(encodeStatement(fromJson))).toBe(v.statement);
      const decoded = decodeStatement(fromHex(v.statement));
      expect(decoded).toEqual(fromJson);
      expect(statementToJson(decoded)).toEqual(v.json);
      expect(toHex(providerSignedMessage(fromHex(v.statement)))).toBe(v.providerSignedMessage);
      expect(v.providerSignedMessage.startsWith(toHex(utf8('kt/v1/statement\u0000')))).toBe(true);
    },
  );

  it("continuity signatures verify with the previous version's key over the continuity message", () => {
    const chained = vectors.filter((v) => v.json.continuity);
    expect(chained.length).toBe(2);
    for (const v of chained) {
      const s = decodeStatement(fromHex(v.statement));
      const msg = continuityMessage(s);
      expect(toHex(msg)).toBe(v.continuityMessage);
      const { continuity: _, ...bare } = s;
      expect(toHex(msg)).toBe(toHex(concatBytes(utf8('kt/v1/continuity\u0000'), encodeStatement(bare))));
      expect(ed25519Verify(fromHex(v.continuityPublicKey!), msg, s.continuity!.signature)).toBe(true);
      expect(
        ed25519Verify(
          fromHex(v.continuityPublicKey!),
          providerSignedMessage(fromHex(v.statement)),
          s.continuity!.signature,
        ),
      ).toBe(false);
    }
  });
});

describe('encoding', () => {
  it('round-trips objects and bytes', () => {
    const s = base();
    const b = encodeStatement(s);
    expect(b).toEqual(raw());
    expect(decodeStatement(b)).toEqual(s);
    expect(encodeStatement(decodeStatement(b))).toEqual(b);
    expect(statementFromJson(clone(statementToJson(s)))).toEqual(s);
  });

  it('sorts a copy of keys and capabilities on encode, leaving the input alone', () => {
    const s = base();
    s.keys = [edKey('b', 2), edKey('a', 1, ['pq', 'fs'])];
    expect(encodeStatement(s)).toEqual(encodeStatement(base()));
    expect(s.keys.map((k) => k.id)).toEqual(['b', 'a']);
    expect(s.keys[1].capabilities).toEqual(['pq', 'fs']);
    expect(decodeStatement(encodeStatement(s))).toEqual(base());
    expect(statementToJson(s)).toEqual(statementToJson(base()));
  });

  it('treats continuity: undefined as no continuity', () => {
    const s: Statement = { ...base(), version: 1, continuity: undefined };
    expect(encodeStatement(s).at(-1)).toBe(0);
    expect(decodeStatement(encodeStatement(s))).toEqual({ ...base(), version: 1, continuity: undefined });
  });

  it('decodes into fresh arrays that do not alias the input', () => {
    const b = encodeStatement(base());
    const s = decodeStatement(b);
    b.fill(0);
    expect(s).toEqual(base());
  });

  it('prefixes the provider-signed and continuity messages with their domains', () => {
    const b = encodeStatement(base());
    expect(providerSignedMessage(b)).toEqual(concatBytes(utf8('kt/v1/statement\u0000'), b));
    const { continuity: _, ...bare } = base();
    expect(continuityMessage(base())).toEqual(concatBytes(utf8('kt/v1/continuity\u0000'), encodeStatement(bare)));
    expect(continuityMessage(bare)).toEqual(continuityMessage(base()));
  });
});

describe('refusals', () => {
  const obj = (f: (s: Statement) => void): string => {
    const s = base();
    f(s);
    return code(() => encodeStatement(s));
  };
  const json = (f: (j: any) => void): string => {
    const j: any = clone(statementToJson(base()));
    f(j);
    return code(() => statementFromJson(j));
  };

  it('statement_malformed', () => {
    expect(code(() => decodeStatement(new Uint8Array(0)))).toBe('statement_malformed');
    expect(decodeCode({ format: 2 })).toBe('statement_malformed');
    expect(decodeCode({ issuedAt: 2n ** 53n })).toBe('statement_malformed');
    expect(obj((s) => (s.issuedAt = -1))).toBe('statement_malformed');
    expect(obj((s) => (s.issuedAt = 1.5))).toBe('statement_malformed');
    expect(json((j) => (j.issuedAt = -0))).toBe('statement_malformed');
    expect(json((j) => (j.issuedAt = '1767225600000'))).toBe('statement_malformed');
    expect(json((j) => delete j.keys)).toBe('statement_malformed');
    expect(json((j) => delete j.keys[0].capabilities)).toBe('statement_malformed');
    expect(json((j) => (j.keys = {}))).toBe('statement_malformed');
    expect(json((j) => (j.continuity = null))).toBe('statement_malformed');
    for (const v of [null, [], 'x', 1]) expect(code(() => statementFromJson(v))).toBe('statement_malformed');
  });

  it('statement_trailing_bytes', () => {
    expect(code(() => decodeStatement(concatBytes(raw(), Uint8Array.of(0))))).toBe('statement_trailing_bytes');
  });

  it('statement_bad_version', () => {
    expect(obj((s) => (s.version = 0))).toBe('statement_bad_version');
    expect(obj((s) => (s.version = 2 ** 53))).toBe('statement_bad_version');
    expect(decodeCode({ version: 0n })).toBe('statement_bad_version');
    expect(decodeCode({ version: 2n ** 53n })).toBe('statement_bad_version');
    expect(decodeCode({ version: 2n ** 64n - 1n })).toBe('statement_bad_version');
    expect(json((j) => (j.version = 2.5))).toBe('statement_bad_version');
    expect(json((j) => (j.version = '2'))).toBe('statement_bad_version');
  });

  it('statement_bad_provider', () => {
    for (const p of ['Chat.example.com', 'localhost', 'chat.example.com.', 'bücher.example', ''])
      expect(obj((s) => (s.provider = p))).toBe('statement_bad_provider');
    expect(decodeCode({ provider: utf8('CHAT.example.com') })).toBe('statement_bad_provider');
    expect(decodeCode({ provider: Uint8Array.of(0x61, 0x2e, 0xff) })).toBe('statement_bad_provider');
  });

  it('statement_bad_account, carrying the account code in the message', () => {
    for (const a of ['TEL:+15550100000', 'alice@Example.org', 'cafe\u0301', 'a\u200db', '', ' a', 'a'.repeat(257)]) {
      expect(obj((s) => (s.account = a))).toBe('statement_bad_account');
    }
    const s = base();
    s.account = 'alice@EXAMPLE.org';
    expect(() => encodeStatement(s)).toThrow(/account_not_canonical.*alice@example\.org/);
    expect(decodeCode({ account: Uint8Array.of(0x61, 0xc3) })).toBe('statement_bad_account');
    expect(decodeCode({ account: Uint8Array.of(0xc0, 0xaf) })).toBe('statement_bad_account'); // overlong '/'
    expect(decodeCode({ account: utf8('cafe\u0301') })).toBe('statement_bad_account');
  });

  it('statement_too_many_keys', () => {
    const keys = Array.from({ length: 17 }, (_, i) => edKey(`k${String(i).padStart(2, '0')}`));
    expect(obj((s) => (s.keys = keys))).toBe('statement_too_many_keys');
    expect(obj((s) => (s.keys = keys.slice(0, 16)))).toBe('no error');
    expect(decodeCode({ keyCount: 17 })).toBe('statement_too_many_keys');
    expect(json((j) => (j.keys = Array.from({ length: 17 }, () => j.keys[0])))).toBe('statement_too_many_keys');
  });

  it('statement_bad_key: public key lengths and formats', () => {
    const valid = {
      ed25519: edPublic(2),
      x25519: new Uint8Array(32).fill(2),
      p256: p256Public(),
      'ml-kem-768': new Uint8Array(1184).fill(2),
      'ml-dsa-65': new Uint8Array(1952).fill(2),
    } as const;
    for (const [algorithm, key] of Object.entries(valid) as [StatementKey['algorithm'], Uint8Array][]) {
      const n = key.length;
      const pk = (len: number) => concatBytes(key, new Uint8Array(1)).subarray(0, len);
      expect(obj((s) => (s.keys = [{ ...edKey('a'), algorithm, publicKey: pk(n) }]))).toBe('no error');
      expect(obj((s) => (s.keys = [{ ...edKey('a'), algorithm, publicKey: pk(n - 1) }]))).toBe('statement_bad_key');
      expect(obj((s) => (s.keys = [{ ...edKey('a'), algorithm, publicKey: pk(n + 1) }]))).toBe('statement_bad_key');
    }
    // Either parity of a valid x is a point (y or p - y); any other prefix is not SEC 1 compressed.
    const withPrefix = (first: number) => Uint8Array.of(first, ...p256Public().subarray(1));
    for (const first of [2, 3])
      expect(obj((s) => (s.keys = [{ ...edKey('a'), algorithm: 'p256', publicKey: withPrefix(first) }]))).toBe(
        'no error',
      );
    for (const first of [0, 1, 4, 0xff])
      expect(obj((s) => (s.keys = [{ ...edKey('a'), algorithm: 'p256', publicKey: withPrefix(first) }]))).toBe(
        'statement_bad_key',
      );
    expect(obj((s) => (s.keys[0].algorithm = 'rsa' as never))).toBe('statement_bad_key');
    expect(obj((s) => (s.keys[0].algorithm = 'toString' as never))).toBe('statement_bad_key');
    expect(obj((s) => (s.keys[0].publicKey = Array.from(new Uint8Array(32)) as never))).toBe('statement_bad_key');
    for (const alg of [0, 6, 0xff]) expect(decodeCode({ keys: [{ ...rawKey('a'), alg }] })).toBe('statement_bad_key');
    expect(json((j) => (j.keys[0].publicKey = j.keys[0].publicKey.replace('=', '')))).toBe('statement_bad_key');
    expect(json((j) => (j.keys[0].publicKey = toBase64(edPublic(3))))).toBe('no error');
    expect(json((j) => (j.keys[0].publicKey = 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQF='))).toBe(
      'statement_bad_key',
    ); // non-canonical last symbol
    expect(json((j) => (j.keys[0].publicKey = ` ${j.keys[0].publicKey}`))).toBe('statement_bad_key');
    expect(json((j) => (j.keys[0].publicKey = 'A'.repeat(100_000)))).toBe('statement_bad_key');
  });

  it('statement_bad_key: ids, protocols and capabilities', () => {
    for (const id of ['', 'a b', 'a/b', 'é', 'x'.repeat(65)])
      expect(obj((s) => (s.keys[0].id = id))).toBe('statement_bad_key');
    expect(obj((s) => (s.keys[0].id = 'A.z_0:9-'))).toBe('no error');
    for (const p of ['', 'signal v3', 'x'.repeat(65), 'é', '\u007f'])
      expect(obj((s) => (s.keys[0].protocol = p))).toBe('statement_bad_key');
    for (const c of ['', 'a b', 'x'.repeat(65), 'ü'])
      expect(obj((s) => (s.keys[0].capabilities = [c]))).toBe('statement_bad_key');
    expect(obj((s) => (s.keys[0].capabilities = ['fs', 'fs']))).toBe('statement_bad_key');
    expect(obj((s) => (s.keys[0].capabilities = Array.from({ length: 17 }, (_, i) => `c${i}`)))).toBe(
      'statement_bad_key',
    );
    expect(obj((s) => (s.keys[0].capabilities = 'fs' as never))).toBe('statement_bad_key');
    expect(obj((s) => (s.keys[0].capabilities = [1 as never]))).toBe('statement_bad_key');
    expect(
      decodeCode({
        keys: [{ ...rawKey('a'), caps: Array.from({ length: 17 }, (_, i) => `c${String(i).padStart(2, '0')}`) }],
      }),
    ).toBe('statement_bad_key');
    expect(decodeCode({ keys: [{ ...rawKey('a'), caps: ['fs', 'fs'] }] })).toBe('statement_bad_key');
    expect(decodeCode({ keys: [rawKey('')] })).toBe('statement_bad_key');
    expect(decodeCode({ keys: [{ ...rawKey('a'), protocol: '' }] })).toBe('statement_bad_key');
  });

  it('statement_duplicate_key', () => {
    expect(obj((s) => (s.keys = [edKey('a', 1), edKey('a', 2)]))).toBe('statement_duplicate_key');
    expect(decodeCode({ keys: [rawKey('a', 1), rawKey('a', 2)] })).toBe('statement_duplicate_key');
  });

  it('statement_not_canonical: unsorted keys or capabilities on the wire', () => {
    expect(decodeCode({ keys: [rawKey('b'), rawKey('a')] })).toBe('statement_not_canonical');
    expect(decodeCode({ keys: [rawKey('B'), rawKey('a')] })).toBe('no error'); // byte order: 'B' < 'a'
    expect(decodeCode({ keys: [rawKey('a', 1, ['pq', 'fs'])] })).toBe('statement_not_canonical');
    expect(json((j) => j.keys.reverse())).toBe('statement_not_canonical');
    expect(json((j) => j.keys[0].capabilities.reverse())).toBe('statement_not_canonical');
  });

  it('statement_bad_status', () => {
    expect(obj((s) => (s.status = 'revoked' as never))).toBe('statement_bad_status');
    expect(obj((s) => (s.keys = []))).toBe('statement_bad_status');
    expect(obj((s) => (s.status = 'deleted'))).toBe('statement_bad_status');
    expect(obj((s) => ((s.status = 'deleted'), (s.keys = [])))).toBe('no error');
    for (const status of [0, 3, 0xff]) expect(decodeCode({ status })).toBe('statement_bad_status');
    expect(decodeCode({ status: 2 })).toBe('statement_bad_status');
    expect(decodeCode({ status: 2, keys: [] })).toBe('no error');
    expect(decodeCode({ keys: [] })).toBe('statement_bad_status');
  });

  it('statement_too_large', () => {
    expect(code(() => decodeStatement(new Uint8Array(64 * 1024 + 1)))).toBe('statement_too_large');
    // The largest statement the limits allow stays under 64 KiB.
    const big: Statement = {
      ...base(),
      provider: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`,
      account: 'x'.repeat(256),
      keys: Array.from({ length: 16 }, (_, i) => ({
        id: `${String(i).padStart(2, '0')}${'k'.repeat(62)}`,
        algorithm: 'ml-dsa-65',
        publicKey: new Uint8Array(1952),
        protocol: 'p'.repeat(64),
        capabilities: Array.from({ length: 16 }, (_, j) => `${String(j).padStart(2, '0')}${'c'.repeat(62)}`),
      })),
      continuity: { keyId: 'i'.repeat(64), signature: new Uint8Array(4096) },
    };
    const b = encodeStatement(big);
    expect(b.length).toBeLessThanOrEqual(64 * 1024);
    expect(decodeStatement(b)).toEqual(big);
  });

  it('statement_unknown_field, at every level, in JSON and in objects', () => {
    expect(json((j) => (j.extra = 1))).toBe('statement_unknown_field');
    expect(json((j) => (j.keys[0].extra = 1))).toBe('statement_unknown_field');
    expect(json((j) => (j.continuity.extra = 1))).toBe('statement_unknown_field');
    expect(json((j) => (j.Version = j.version))).toBe('statement_unknown_field');
    expect(code(() => statementFromJson(JSON.parse('{"__proto__": {}, "provider": "a.b"}')))).toBe(
      'statement_unknown_field',
    );
    expect(obj((s) => ((s as any).extra = 1))).toBe('statement_unknown_field');
    expect(obj((s) => ((s.keys[1] as any).extra = undefined))).toBe('statement_unknown_field');
    expect(obj((s) => ((s.continuity as any).extra = 1))).toBe('statement_unknown_field');
  });

  it('statement_bad_continuity', () => {
    expect(obj((s) => (s.version = 1))).toBe('statement_bad_continuity');
    expect(decodeCode({ version: 1n })).toBe('statement_bad_continuity');
    expect(decodeCode({ version: 1n, flag: 0 })).toBe('no error');
    for (const flag of [2, 0xff]) expect(decodeCode({ flag })).toBe('statement_bad_continuity');
    expect(decodeCode({ sig: new Uint8Array(0) })).toBe('statement_bad_continuity');
    expect(decodeCode({ sig: new Uint8Array(4096) })).toBe('no error');
    expect(decodeCode({ sig: new Uint8Array(4097) })).toBe('statement_bad_continuity');
    expect(decodeCode({ keyId: '' })).toBe('statement_bad_continuity');
    expect(decodeCode({ keyId: 'a b' })).toBe('statement_bad_continuity');
    expect(obj((s) => (s.continuity!.signature = new Uint8Array(4097)))).toBe('statement_bad_continuity');
    expect(json((j) => (j.continuity.signature = j.continuity.signature.slice(0, -4)))).toBe('no error');
    expect(json((j) => (j.continuity.signature = `${j.continuity.signature.slice(0, -4)}CR==`))).toBe(
      'statement_bad_continuity',
    );
    expect(json((j) => (j.continuity.signature = j.continuity.signature.slice(0, -2)))).toBe(
      'statement_bad_continuity',
    );
    expect(json((j) => (j.continuity.signature = 'CR=='))).toBe('statement_bad_continuity'); // canonical is CQ==
    expect(json((j) => (j.continuity.signature = ''))).toBe('statement_bad_continuity');
    expect(code(() => continuityMessage({ ...base(), version: 1, continuity: undefined }))).toBe(
      'statement_bad_continuity',
    );
  });

  it('throws only StatementErrors, including on garbage objects', () => {
    for (const v of [
      undefined,
      {},
      { ...base(), keys: [null] },
      { ...base(), keys: [1] },
      { ...base(), keys: new Array(1) },
      { ...base(), continuity: 'x' },
    ]) {
      expect(() => validateStatement(v as never)).toThrow(StatementError);
    }
    expect(() => decodeStatement('01' as never)).toThrow(StatementError);
  });
});

describe('statement_bad_public_key: each public key checked for its algorithm', () => {
  /** A deterministic stream of 32-byte strings (SHA-256 of a counter), the same on every run. */
  const strings = (label: string, n: number): Uint8Array[] =>
    Array.from({ length: n }, (_, i) => sha256(utf8(`${label} ${i}`)));
  const withKey = (algorithm: StatementKey['algorithm'], publicKey: Uint8Array): Statement => ({
    ...base(),
    keys: [{ ...edKey('a'), algorithm, publicKey }],
  });
  /** The code of each way in: an object to encode, its JSON form, and the bytes of the raw layout. */
  const codes = (algorithm: StatementKey['algorithm'], publicKey: Uint8Array): string[] => {
    const s = withKey(algorithm, publicKey);
    const j: any = clone(statementToJson({ ...base(), keys: [edKey('a')] }));
    j.keys[0].algorithm = algorithm;
    j.keys[0].publicKey = toBase64(publicKey);
    const alg = { ed25519: 1, x25519: 2, p256: 3, 'ml-kem-768': 4, 'ml-dsa-65': 5 }[algorithm];
    return [
      code(() => encodeStatement(s)),
      code(() => statementFromJson(j)),
      decodeCode({ keys: [{ ...rawKey('a', 1, ['fs', 'pq']), alg, pk: publicKey }] }),
    ];
  };
  const refused = ['statement_bad_public_key', 'statement_bad_public_key', 'statement_bad_public_key'];
  const accepted = ['no error', 'no error', 'no error'];
  const SMALL_ORDER_ED = ED25519_TORSION_SUBGROUP.map(fromHex);

  it('Ed25519: random 32-byte strings that are not curve points are refused, the others accepted', () => {
    let notPoints = 0;
    for (const b of strings('ed25519', 512)) {
      let point = true;
      try {
        ed25519.Point.fromBytes(b, false); // noble's strict RFC 8032 decoding, the reference
      } catch {
        point = false;
      }
      if (!point) notPoints++;
      expect(codes('ed25519', b), toHex(b)).toEqual(point ? accepted : refused); // none is of small order
    }
    // About half of all 32-byte strings are not points (the finding); all of those are refused.
    expect(notPoints).toBeGreaterThan(512 * 0.35);
    expect(notPoints).toBeLessThan(512 * 0.65);
  });

  it('Ed25519: the eight small-order points and non-canonical encodings are refused', () => {
    expect(SMALL_ORDER_ED).toHaveLength(8);
    for (const t of SMALL_ORDER_ED) expect(codes('ed25519', t), toHex(t)).toEqual(refused);
    const nonCanonical = [
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1
      '0100000000000000000000000000000000000000000000000000000000000080', // y = 1, x = "-0"
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // y = p - 1, x = "-0"
    ].map(fromHex);
    for (const b of nonCanonical) expect(codes('ed25519', b), toHex(b)).toEqual(refused);
    // A point with a small-order component (not itself of small order) is a valid RFC 8032 key: accepted.
    const mixed = ed25519.Point.fromBytes(edPublic(4)).add(ed25519.Point.fromHex(ED25519_TORSION_SUBGROUP[1]));
    expect(codes('ed25519', mixed.toBytes())).toEqual(accepted);
  });

  it('X25519: non-canonical encodings and the five small-order u-coordinates are refused, any other u accepted', () => {
    const smallOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ].map(fromHex);
    const scalar = sha256(utf8('x25519 test scalar'));
    for (const u of smallOrder) {
      // Each gives the all-zero result for any scalar (noble refuses to return it).
      expect(() => x25519.scalarMult(scalar, u), toHex(u)).toThrow();
      expect(codes('x25519', u), toHex(u)).toEqual(refused);
    }
    for (const u of [
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1
      'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // 2^255 - 1
      '0900000000000000000000000000000000000000000000000000000000000080', // 9 with the top bit set
    ].map(fromHex))
      expect(codes('x25519', u), toHex(u)).toEqual(refused);
    for (const b of strings('x25519', 256)) {
      const u = b.slice();
      u[31] &= 0x7f;
      expect(() => x25519.scalarMult(scalar, u)).not.toThrow(); // on the curve or its twist, never degenerate
      expect(codes('x25519', u), toHex(u)).toEqual(accepted);
      if (b[31] & 0x80) expect(codes('x25519', b), toHex(b)).toEqual(refused);
    }
    expect(codes('x25519', x25519.getPublicKey(scalar))).toEqual(accepted);
  });

  it('P-256: compressed x-coordinates that are not on the curve, or not below p, are refused', () => {
    let off = 0;
    for (const b of strings('p256', 256)) {
      const key = Uint8Array.of(0x02 | (b[0] & 1), ...b);
      let point = true;
      try {
        p256.Point.fromBytes(key); // noble's SEC 1 decoding, the reference
      } catch {
        point = false;
      }
      if (!point) off++;
      expect(codes('p256', key), toHex(key)).toEqual(point ? accepted : refused);
    }
    expect(off).toBeGreaterThan(256 * 0.3);
    expect(off).toBeLessThan(256 * 0.7);
    expect(codes('p256', Uint8Array.of(2, ...new Uint8Array(32).fill(0xff)))).toEqual(refused); // x >= p
  });

  it('ML-KEM-768 and ML-DSA-65: any bytes of the length are accepted', () => {
    expect(codes('ml-kem-768', new Uint8Array(1184).fill(0xff))).toEqual(accepted);
    expect(codes('ml-dsa-65', new Uint8Array(1952).fill(0xff))).toEqual(accepted);
  });

  it('names the key and the algorithm; checkPublicKeys: false leaves the check to checkPublicKeys', () => {
    const bad = fromHex(ED25519_TORSION_SUBGROUP[0]);
    const s: Statement = { ...base(), keys: [edKey('a', 1), { ...edKey('b'), publicKey: bad }] };
    expect(() => validateStatement(s)).toThrow(/keys\[1\] \(ed25519\): small-order Ed25519 public key/);
    const b = raw({ keys: [rawKey('a', 1), { ...rawKey('b'), pk: bad }] });
    expect(code(() => decodeStatement(b))).toBe('statement_bad_public_key');
    const lenient = decodeStatement(b, { checkPublicKeys: false });
    expect(lenient.keys[1].publicKey).toEqual(bad);
    expect(code(() => checkPublicKeys(lenient))).toBe('statement_bad_public_key');
    expect(code(() => checkPublicKeys(decodeStatement(raw())))).toBe('no error');
    // The other rules still apply without the key check.
    expect(code(() => decodeStatement(raw({ version: 0n }), { checkPublicKeys: false }))).toBe('statement_bad_version');
  });
});

describe('mutations of every vector', () => {
  const all = vectors.map((v) => [v.name, fromHex(v.statement)] as const);

  it.each(all)('%s: every truncation and every appended byte is refused', (_, b) => {
    for (let n = 0; n < b.length; n++)
      expect(code(() => decodeStatement(b.subarray(0, n)))).toBe('statement_malformed');
    for (let x = 0; x < 256; x++)
      expect(code(() => decodeStatement(concatBytes(b, Uint8Array.of(x))))).toBe('statement_trailing_bytes');
  });

  it.each(all)(
    '%s: every flipped byte is refused or decodes to a different statement that re-encodes to it',
    (_, b) => {
      const original = JSON.stringify(statementToJson(decodeStatement(b)));
      let accepted = 0;
      for (let i = 0; i < b.length; i++) {
        for (const mask of [0x01, 0x20, 0x80, 0xff]) {
          const m = b.slice();
          m[i] ^= mask;
          let d: Statement;
          try {
            d = decodeStatement(m);
          } catch (e) {
            expect(e).toBeInstanceOf(StatementError);
            continue;
          }
          accepted++;
          expect(JSON.stringify(statementToJson(d))).not.toBe(original);
          expect(equalBytes(encodeStatement(d), m)).toBe(true);
        }
      }
      expect(accepted).toBeLessThan(4 * b.length);
    },
  );
});
