/** Every refusal of the directory, each with its stable code, and none of them changing the log. */
import { describe, expect, it } from 'vitest';
import { signSync } from '../../../wasm-free-crypto/signatures.js';
import {
  continuityMessage,
  encodeStatement,
  providerSignedMessage,
} from '../../../verifier/formats/statement-binary.js';
import {
  enrolProvider,
  identityKey,
  openTestDirectory,
  providerFor,
  publish,
  statementFor,
  type TestDirectory,
} from '../../helpers/directory.js';
import { makeLeaf, makeRoot, malleateEcdsaSignature } from '../../helpers/pki.js';
import { rejectionCode } from '../../helpers/error-code.js';

async function setup(): Promise<
  TestDirectory & { chat: ReturnType<typeof providerFor>; talk: ReturnType<typeof providerFor> }
> {
  const t = await openTestDirectory({ maxQueue: 3 });
  const chat = await enrolProvider(t, 'chat.example');
  const talk = await enrolProvider(t, 'talk.example', 'p256');
  return { ...t, chat, talk };
}

describe('directory refusals', () => {
  it('refuses statements the provider did not sign, or signed outside its namespace', async () => {
    const t = await setup();
    const s = statementFor(t.chat, 'a@chat.example', 1, [identityKey()], t.clock.now);
    const bytes = encodeStatement(s);
    const byTalk = t.talk.sign(s);
    expect(await rejectionCode(t.dir.submit(bytes, byTalk.signature))).toBe('namespace_violation');
    const good = t.chat.sign(s);
    const bad = good.signature.slice();
    bad[5] ^= 1;
    expect(await rejectionCode(t.dir.submit(bytes, bad))).toBe('bad_signature');
    expect(await rejectionCode(t.dir.submit(bytes, good.signature.subarray(0, 63)))).toBe('bad_signature');
    const unknown = { ...s, provider: 'nobody.example' };
    expect(
      await rejectionCode(
        t.dir.submit(
          encodeStatement(unknown),
          signSync('ed25519', new Uint8Array(32).fill(9), providerSignedMessage(encodeStatement(unknown))),
        ),
      ),
    ).toBe('unknown_provider');
    const truncated = t.chat.sign(s);
    expect(await rejectionCode(t.dir.submit(truncated.statement.subarray(0, 20), truncated.signature))).toMatch(
      /^statement_/,
    );
    expect(t.dir.queueDepth).toBe(0);
  });

  it('refuses version gaps and conflicts, a deletion of nothing and statements from the future', async () => {
    const t = await setup();
    const key = identityKey();
    expect(await rejectionCode(t.dir.submit(...signed(t, 'b@chat.example', 2)))).toBe('version_gap');
    await publish(t, t.chat.sign(statementFor(t.chat, 'b@chat.example', 1, [key], t.clock.now)));
    expect(await rejectionCode(t.dir.submit(...signed(t, 'b@chat.example', 1)))).toBe('version_conflict');
    expect(await rejectionCode(t.dir.submit(...signed(t, 'b@chat.example', 3)))).toBe('version_gap');
    await t.dir.submit(...signed(t, 'b@chat.example', 2));
    expect(await rejectionCode(t.dir.submit(...signed(t, 'b@chat.example', 2)))).toBe('version_conflict');
    const del = t.chat.sign({ ...statementFor(t.chat, 'never@chat.example', 1, [], t.clock.now), status: 'deleted' });
    expect(await rejectionCode(t.dir.submit(del.statement, del.signature))).toBe('statement_bad_status');
    const future = t.chat.sign(statementFor(t.chat, 'c@chat.example', 1, [key], t.clock.now + 3_600_000));
    expect(await rejectionCode(t.dir.submit(future.statement, future.signature))).toBe('statement_from_future');
  });

  it('refuses a continuity signature by a key the previous version did not have, or that does not verify', async () => {
    const t = await setup();
    const k1 = identityKey('id1');
    await publish(t, t.chat.sign(statementFor(t.chat, 'd@chat.example', 1, [k1], t.clock.now)));
    const v2 = statementFor(t.chat, 'd@chat.example', 2, [identityKey('id2')], t.clock.now);
    const other = identityKey('id1');
    v2.continuity = { keyId: 'id1', signature: signSync('ed25519', other.seed, continuityMessage(v2)) };
    expect(await rejectionCode(submitAsChat(t, v2))).toBe('bad_continuity');
    v2.continuity = { keyId: 'nope', signature: signSync('ed25519', k1.seed, continuityMessage(v2)) };
    expect(await rejectionCode(submitAsChat(t, v2))).toBe('bad_continuity');
    v2.continuity = { keyId: 'id1', signature: signSync('ed25519', k1.seed, continuityMessage(v2)) };
    expect(await rejectionCode(submitAsChat(t, v2))).toBe('no error');
  });

  it('refuses revoked and expired credentials', async () => {
    const t = await setup();
    const fingerprint = t.dir.credentials.all().find((c) => c.entry.providerId === 'chat.example')!.fingerprint;
    const revoked = t.dir.revoke('chat.example', fingerprint, 'key compromise');
    await t.dir.closeEpoch();
    await revoked;
    expect(await rejectionCode(t.dir.submit(...signed(t, 'e@chat.example', 1)))).toBe('cert_revoked');
    expect(await rejectionCode(async () => t.dir.revoke('chat.example', fingerprint, 'again'))).toBe(
      'unknown_credential',
    );
    // Re-enrolling the revoked certificate, even re-encoded with the twin ECDSA signature, is refused.
    const leaf = t.dir.credentials.all().find((c) => c.entry.providerId === 'chat.example')!.entry.chain[0];
    expect(await rejectionCode(t.dir.enrol([leaf]))).toBe('cert_revoked');
    expect(await rejectionCode(t.dir.enrol([malleateEcdsaSignature(leaf)]))).toBe('cert_revoked');
    t.clock.now += 400 * 86_400_000; // past the test certificates' one-year validity
    const s = t.talk.sign(statementFor(t.talk, 'e@talk.example', 1, [identityKey()], t.clock.now));
    expect(await rejectionCode(t.dir.submit(s.statement, s.signature))).toBe('cert_expired');
  });

  it('refuses enrolments that do not chain to a trusted root, and duplicates', async () => {
    const t = await setup();
    const stranger = await makeLeaf(await makeRoot(), { dnsNames: ['evil.example'] });
    expect(await rejectionCode(t.dir.enrol([stranger.der]))).toBe('cert_untrusted');
    const again = t.dir.credentials.all()[0];
    expect(await rejectionCode(t.dir.enrol(again.entry.chain))).toBe('already_enrolled');
  });

  it('pushes back when the queue is full, without losing what it accepted', async () => {
    const t = await setup();
    for (let i = 0; i < 3; i++) await t.dir.submit(...signed(t, `q${i}@chat.example`, 1));
    expect(await rejectionCode(t.dir.submit(...signed(t, 'q3@chat.example', 1)))).toBe('queue_full');
    await t.dir.closeEpoch();
    expect(t.dir.queueDepth).toBe(0);
    expect(await rejectionCode(t.dir.submit(...signed(t, 'q3@chat.example', 1)))).toBe('no error');
  });
});

function signed(t: Awaited<ReturnType<typeof setup>>, account: string, version: number): [Uint8Array, Uint8Array] {
  const s = t.chat.sign(statementFor(t.chat, account, version, [identityKey()], t.clock.now));
  return [s.statement, s.signature];
}

function submitAsChat(t: Awaited<ReturnType<typeof setup>>, statement: Parameters<TestDirectoryProvider['sign']>[0]) {
  const s = t.chat.sign(statement);
  return t.dir.submit(s.statement, s.signature);
}

type TestDirectoryProvider = ReturnType<typeof providerFor>;
