/**
 * Public keys checked for their declared algorithm (docs/PROTOCOL.md section 12.3, issue 12 "strict inputs"): a
 * submission whose key is not a valid key of its algorithm is refused with `statement_bad_public_key` (after the
 * provider's signature is checked), and a client refuses a lookup whose statement holds one, even when the log
 * really holds it: a statement published before the check existed (played here by turning the directory's check
 * off while it is submitted) now fails client verification of that version, and its owner can still replace it.
 */
import { ED25519_TORSION_SUBGROUP, ed25519, x25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it, vi } from 'vitest';
import { fromHex, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { randomBytes } from '../../../wasm-free-crypto/random.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { signSync, type SignatureAlgorithm } from '../../../wasm-free-crypto/signatures.js';
import { proveHistory, proveLookup } from '../../../log/directory/proof-builder.js';
import type { Statement, StatementKey } from '../../../verifier/formats/statement.js';
import {
  continuityMessage,
  encodeStatement,
  providerSignedMessage,
} from '../../../verifier/formats/statement-binary.js';
import { HISTORY_ZERO } from '../../../verifier/formats/directory-hashes.js';
import {
  enrolProvider,
  identityKey,
  openTestDirectory,
  publish,
  statementFor,
  type TestProvider,
} from '../../helpers/directory.js';
import { rejectionCode } from '../../helpers/error-code.js';

// The directory's check (submission.ts calls checkPublicKeys), which a test turns off to publish a statement as a
// directory before this check would have. decodeStatement's check, which clients run, calls the same export
// (statement-binary.ts imports it): it is off only while that test publishes, never while a client verifies.
const check = vi.hoisted(() => ({ on: true }));
vi.mock('../../../verifier/formats/statement.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../../verifier/formats/statement.js')>();
  return { ...m, checkPublicKeys: (s: Statement) => check.on && m.checkPublicKeys(s) };
});

/** The statement's bytes with `key`'s public key replaced by `publicKey` (no check), signed by the provider. */
function signedWith(p: TestProvider, s: Statement, key: StatementKey, publicKey: Uint8Array) {
  const good = encodeStatement(s);
  const at = Buffer.from(good).indexOf(Buffer.from(key.publicKey));
  expect(at).toBeGreaterThan(0);
  const statement = good.slice();
  statement.set(publicKey, at);
  const signature = signSync(
    p.leaf.algorithm as SignatureAlgorithm,
    p.leaf.secretKey,
    providerSignedMessage(statement),
  );
  return { statement, signature };
}

/** 32-byte strings, deterministic, sorted into those that are Ed25519 points and those that are not. */
function ed25519Strings(n: number): { points: Uint8Array[]; notPoints: Uint8Array[] } {
  const points: Uint8Array[] = [];
  const notPoints: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const b = sha256(utf8(`not a key ${i}`));
    try {
      ed25519.Point.fromBytes(b, false);
      points.push(b);
    } catch {
      notPoints.push(b);
    }
  }
  return { points, notPoints };
}

describe('public keys at submission', () => {
  it('refuses keys that are not valid for their algorithm with statement_bad_public_key, nothing queued', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const { points, notPoints } = ed25519Strings(64);
    expect(notPoints.length).toBeGreaterThan(16); // about half of random strings
    let n = 0;
    // Each statement is made with a valid key of the algorithm, whose bytes are then replaced.
    const valid = {
      ed25519: () => identityKey().publicKey,
      x25519: () => x25519.getPublicKey(randomBytes(32)),
      p256: () => p256.getPublicKey(p256.utils.randomSecretKey(), true),
    };
    const submit = (algorithm: keyof typeof valid, publicKey: Uint8Array) => {
      const key = { ...identityKey(), algorithm, publicKey: valid[algorithm]() };
      const s = statementFor(chat, `k${n++}@chat.example`, 1, [key], t.clock.now);
      const signed = signedWith(chat, s, key, publicKey);
      return rejectionCode(t.dir.submit(signed.statement, signed.signature));
    };
    for (const b of notPoints) expect(await submit('ed25519', b)).toBe('statement_bad_public_key');
    for (const h of ED25519_TORSION_SUBGROUP)
      expect(await submit('ed25519', fromHex(h))).toBe('statement_bad_public_key');
    const pMinus1 = fromHex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    for (const u of [new Uint8Array(32), pMinus1, fromHex(`${'ff'.repeat(31)}7f`)])
      expect(await submit('x25519', u)).toBe('statement_bad_public_key');
    expect(await submit('p256', Uint8Array.of(2, ...new Uint8Array(32).fill(0xff)))).toBe('statement_bad_public_key');
    expect(t.dir.queueDepth).toBe(0);
    // The same statements with valid keys are accepted.
    for (const b of points.slice(0, 3)) expect(await submit('ed25519', b)).toBe('no error');
    expect(await submit('x25519', x25519.getPublicKey(sha256(utf8('x'))))).toBe('no error');
    expect(t.dir.queueDepth).toBe(4);
  });

  it("checks the provider's signature first: an unsigned statement with a bad key is bad_signature", async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const key = identityKey();
    const signed = signedWith(
      chat,
      statementFor(chat, 'u@chat.example', 1, [key], t.clock.now),
      key,
      new Uint8Array(32),
    );
    const forged = signed.signature.slice();
    forged[0] ^= 1;
    expect(await rejectionCode(t.dir.submit(signed.statement, forged))).toBe('bad_signature');
    expect(await rejectionCode(t.dir.submit(signed.statement, signed.signature))).toBe('statement_bad_public_key');
  });
});

describe('a statement with a bad key already in the log', () => {
  it('fails client verification of that version; the owner replaces it with a continuity by its valid key', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const owner = identityKey('id1');
    const prekey = { ...identityKey('pre') };
    const v1 = statementFor(chat, 'l@chat.example', 1, [owner, prekey], t.clock.now);
    const badKey = ed25519Strings(8).notPoints[0];
    check.on = false;
    try {
      await publish(t, signedWith(chat, v1, prekey, badKey)); // as a directory without the check would have
    } finally {
      check.on = true;
    }
    // Everything else about the lookup is right (the log holds it); the client refuses the statement.
    const lookup = await proveLookup(t.dir, 'chat.example', 'l@chat.example');
    expect(() => t.verifier.verifyLookup(lookup, 'chat.example', 'l@chat.example')).toThrow(
      expect.objectContaining({
        code: 'bad_statement',
        message: expect.stringMatching(/keys\[1\] \(ed25519\): Ed25519 public key is not a curve point/),
      }),
    );
    // The owner publishes version 2 with a continuity signature by its (valid) key of version 1.
    const v2 = statementFor(chat, 'l@chat.example', 2, [identityKey('id2')], t.clock.now);
    v2.continuity = { keyId: 'id1', signature: signSync('ed25519', owner.seed, continuityMessage(v2)) };
    await publish(t, chat.sign(v2));
    const now = await proveLookup(t.dir, 'chat.example', 'l@chat.example');
    expect(t.verifier.verifyLookup(now, 'chat.example', 'l@chat.example').statement?.version).toBe(2);
    // A history that shows version 1 still fails on it.
    const history = await proveHistory(t.dir, 'chat.example', 'l@chat.example', 0);
    expect(() => t.verifier.verifyHistory(history, 'chat.example', 'l@chat.example', HISTORY_ZERO)).toThrow(
      expect.objectContaining({ code: 'bad_statement' }),
    );
  });
});
