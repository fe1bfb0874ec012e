/**
 * Tampering: every byte of every field of a lookup proof (present, absent, and of a provider that is not
 * enrolled) and of a history proof is changed in turn, every number is moved by one, fields are swapped
 * between proofs, and each mutated proof must be refused by the client's verifier with a VerifyError. A
 * directory can neither claim that an enrolled provider is not enrolled nor leave out that one is not.
 */
import { describe, expect, it } from 'vitest';
import { signSync } from '../../../wasm-free-crypto/signatures.js';
import { HISTORY_ZERO } from '../../../verifier/formats/directory-hashes.js';
import { proveHistory, proveLookup } from '../../../log/directory/proof-builder.js';
import { continuityMessage } from '../../../verifier/formats/statement-binary.js';
import { VerifyError } from '../../../verifier/verification/errors.js';
import { enrolProvider, identityKey, openTestDirectory, publish, statementFor } from '../../helpers/directory.js';

type Mutant = { path: string; value: unknown };

/** Every single-field mutation of `value`: one bit per byte of byte arrays, ±1 on numbers, one character of strings. */
function mutants(value: unknown, path = ''): Mutant[] {
  const out: Mutant[] = [];
  if (value instanceof Uint8Array) {
    for (let i = 0; i < value.length; i++) {
      const m = value.slice();
      m[i] ^= 1 << (i % 8);
      out.push({ path: `${path}[${i}]`, value: m });
    }
  } else if (typeof value === 'number') {
    out.push({ path: `${path}+1`, value: value + 1 }, { path: `${path}-1`, value: value - 1 });
  } else if (typeof value === 'string') {
    const step = Math.max(1, Math.floor(value.length / 40));
    for (let i = 0; i < value.length; i += step) {
      const c = value.charCodeAt(i);
      if (c === 10) continue;
      out.push({
        path: `${path}@${i}`,
        value: value.slice(0, i) + String.fromCharCode(c === 0x41 ? 0x42 : 0x41) + value.slice(i + 1),
      });
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) =>
      out.push(
        ...mutants(v, `${path}[${i}]`).map((m) => ({
          path: m.path,
          value: value.map((x, j) => (j === i ? m.value : x)),
        })),
      ),
    );
    if (value.length > 0)
      out.push(
        { path: `${path} dropped`, value: value.slice(1) },
        { path: `${path} extended`, value: [...value, value[0]] },
      );
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(
        ...mutants(v, `${path}.${k}`).map((m) => ({ path: m.path, value: { ...(value as object), [k]: m.value } })),
      );
    }
  }
  return out;
}

function expectAllRefused(ms: Mutant[], verify: (v: any) => unknown): void {
  const accepted: string[] = [];
  for (const m of ms) {
    try {
      verify(m.value);
      accepted.push(m.path);
    } catch (e) {
      if (!(e instanceof VerifyError)) accepted.push(`${m.path} (threw ${(e as Error).name}, not VerifyError)`);
    }
  }
  expect(accepted).toEqual([]);
}

async function populated() {
  const t = await openTestDirectory();
  const chat = await enrolProvider(t, 'chat.example');
  const k1 = identityKey('id1');
  await publish(t, chat.sign(statementFor(chat, 'alice@chat.example', 1, [k1], t.clock.now)));
  const v2 = statementFor(chat, 'alice@chat.example', 2, [identityKey('id2')], t.clock.now);
  v2.continuity = { keyId: 'id1', signature: signSync('ed25519', k1.seed, continuityMessage(v2)) };
  await publish(t, chat.sign(v2));
  await publish(t, chat.sign(statementFor(chat, 'alice@chat.example', 3, [identityKey('id3')], t.clock.now)));
  for (let i = 0; i < 6; i++)
    await publish(t, chat.sign(statementFor(chat, `u${i}@chat.example`, 1, [identityKey()], t.clock.now)));
  return t;
}

describe('proof tampering', () => {
  it('refuses every mutation of a present lookup, and proofs of other accounts', async () => {
    const t = await populated();
    const proof = await proveLookup(t.dir, 'chat.example', 'alice@chat.example');
    expect(t.verifier.verifyLookup(proof, 'chat.example', 'alice@chat.example').status).toBe('present');
    expectAllRefused(mutants(proof), (p) => t.verifier.verifyLookup(p, 'chat.example', 'alice@chat.example'));
    const other = await proveLookup(t.dir, 'chat.example', 'u1@chat.example');
    const swaps = [
      { path: 'other proof', value: other },
      { path: 'other vrf proof', value: { ...proof, vrfProof: other.vrfProof } },
      { path: 'other map proof', value: { ...proof, map: other.map } },
      { path: 'other statement', value: { ...proof, present: other.present } },
      { path: 'present dropped', value: { ...proof, present: undefined } },
      {
        path: 'absence claimed',
        value: { ...proof, present: undefined, map: { kind: 'absent', path: proof.map.path, terminal: null } },
      },
    ];
    expectAllRefused(swaps, (p) => t.verifier.verifyLookup(p, 'chat.example', 'alice@chat.example'));
  }, 120_000);

  it('refuses every mutation of an absent lookup, and an absence claimed for a present account', async () => {
    const t = await populated();
    const proof = await proveLookup(t.dir, 'chat.example', 'nobody@chat.example');
    expect(t.verifier.verifyLookup(proof, 'chat.example', 'nobody@chat.example').status).toBe('absent');
    expectAllRefused(mutants(proof), (p) => t.verifier.verifyLookup(p, 'chat.example', 'nobody@chat.example'));
    const present = await proveLookup(t.dir, 'chat.example', 'u2@chat.example');
    expectAllRefused(
      [{ path: 'absent map for present label', value: { ...present, present: undefined, map: proof.map } }],
      (p) => t.verifier.verifyLookup(p, 'chat.example', 'u2@chat.example'),
    );
  }, 120_000);

  it('refuses every mutation of a not-enrolled lookup, and every false claim about enrolment', async () => {
    const t = await populated();
    const typo = ['chat.exmaple', 'alice@chat.example'] as const;
    const earlier = await proveLookup(t.dir, ...typo); // the credential set of one epoch: chat.example only
    await enrolProvider(t, 'talk.example', 'p256');
    const proof = await proveLookup(t.dir, ...typo);
    expect(proof.notEnrolled!.credentials).toHaveLength(2);
    expect(t.verifier.verifyLookup(proof, ...typo)).toMatchObject({
      status: 'not_enrolled',
      providers: ['chat.example', 'talk.example'],
    });
    expectAllRefused(mutants(proof), (p) => t.verifier.verifyLookup(p, ...typo));
    const enrolled = await proveLookup(t.dir, 'chat.example', 'nobody@chat.example');
    expect(t.verifier.verifyLookup(enrolled, 'chat.example', 'nobody@chat.example').status).toBe('absent');
    const set = proof.notEnrolled!.credentials;
    const codeOf = (p: unknown, provider: string, account: string) => {
      try {
        t.verifier.verifyLookup(p as typeof proof, provider, account);
        return 'accepted';
      } catch (e) {
        return (e as VerifyError).code;
      }
    };
    const claims: [string, unknown, string][] = [
      ['reordered set', { ...proof, notEnrolled: { credentials: [...set].reverse() } }, 'bad_not_enrolled'],
      ['an entry removed', { ...proof, notEnrolled: { credentials: set.slice(1) } }, 'bad_not_enrolled'],
      ["another epoch's set", { ...proof, notEnrolled: earlier.notEnrolled }, 'bad_not_enrolled'],
      ['no claim', { ...proof, notEnrolled: undefined }, 'bad_enrolment'],
      ["another provider's enrolment", { ...proof, notEnrolled: undefined, absent: enrolled.absent }, 'bad_enrolment'],
      ['both claims', { ...proof, absent: enrolled.absent }, 'bad_enrolment'],
    ];
    for (const [what, p, code] of claims) expect(codeOf(p, ...typo), what).toBe(code);
    // Claiming that an enrolled provider is not: with the epoch's set (which holds it), or a set without it.
    const lies: [string, unknown, string][] = [
      ['the epoch set', { ...enrolled, absent: undefined, notEnrolled: { credentials: set } }, 'bad_not_enrolled'],
      [
        'a set without it',
        { ...enrolled, absent: undefined, notEnrolled: { credentials: [set[1]] } },
        'bad_not_enrolled',
      ],
      ['no enrolment', { ...enrolled, absent: undefined }, 'bad_enrolment'],
    ];
    for (const [what, p, code] of lies) expect(codeOf(p, 'chat.example', 'nobody@chat.example'), what).toBe(code);
  }, 120_000);

  it('refuses every mutation of a history proof, and a history that does not start where the owner was', async () => {
    const t = await populated();
    const proof = await proveHistory(t.dir, 'chat.example', 'alice@chat.example', 0);
    expect(t.verifier.verifyHistory(proof, 'chat.example', 'alice@chat.example', HISTORY_ZERO).statements).toHaveLength(
      3,
    );
    const historyOnly = mutants({ since: proof.since, versions: proof.versions }).map((m) => ({
      path: m.path,
      value: { ...proof, ...(m.value as object) },
    }));
    expectAllRefused(historyOnly, (p) =>
      t.verifier.verifyHistory(p, 'chat.example', 'alice@chat.example', HISTORY_ZERO),
    );
    const wrongStart = new Uint8Array(32).fill(1);
    expectAllRefused([{ path: 'wrong remembered hash', value: proof }], (p) =>
      t.verifier.verifyHistory(p, 'chat.example', 'alice@chat.example', wrongStart),
    );
  }, 120_000);
});
