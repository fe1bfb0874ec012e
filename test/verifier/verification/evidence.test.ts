/**
 * Evidence files (verifier/verification/evidence.ts): a fork caught by a client is proven by the file alone (same size,
 * or a larger tree with the prefix root and consistency proof from the log's own tiles); a rollback is
 * shown, not proven; a key the owner did not make is proven by the verified history, also from a file written
 * before proof formats carried a version. Every tampering of a file, and a file about an honest log, proves
 * nothing; a proof in a format this verifier does not read is refused as such.
 */
import { describe, expect, it } from 'vitest';
import { toBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { signCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { verifyEvidence } from '../../../verifier/verification/evidence.js';
import { LookupClient, type CheckpointEvidence } from '../../../verifier/lookup-client/lookup-client.js';
import { monitorAccount, MONITOR_START } from '../../../verifier/owner-monitor/owner-monitor.js';
import {
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  publish,
  statementFor,
} from '../../helpers/directory.js';
import { makeRoot } from '../../helpers/pki.js';
import { parties, serverOf } from '../../attacks/malicious.js';

const pinsOf = (vrfKey: Uint8Array) => ({ origin: parties.origin, logKey: parties.logKey, vrfKey });
const file = (e: CheckpointEvidence) => ({
  type: 'kt-evidence/v1',
  kind: e.kind,
  origin: parties.origin,
  observedAt: '2026-11-26T00:00:00Z',
  accepted: e.accepted,
  offered: e.offered,
  ...(e.prefixRoot ? { prefixRoot: toBase64(e.prefixRoot), proof: e.proof!.map(toBase64) } : {}),
});
const verdict = (e: unknown, vrfKey: Uint8Array) => {
  try {
    return verifyEvidence(e, pinsOf(vrfKey));
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe('evidence', () => {
  it('proves a fork from what a client caught, and nothing once tampered with', async () => {
    const root = await makeRoot();
    const vrfSecretKey = sha256(utf8('evidence vrf'));
    const [a, b] = [await openTestDirectory({ root, vrfSecretKey }), await openTestDirectory({ root, vrfSecretKey })];
    for (const t of [a, b]) {
      const chat = await enrolProvider(t, 'chat.example');
      const n = t === a ? 2 : 5;
      for (let v = 1; v <= n; v++)
        await publish(
          t,
          chat.sign(statementFor(chat, `${t === a ? 'a' : 'b'}${v}@chat.example`, 1, [identityKey()], t.clock.now)),
        );
    }
    const caught: CheckpointEvidence[] = [];
    const client = new LookupClient({
      baseUrl: 'http://kt.test',
      pins: pinsOf(a.dir.vrfPublicKey),
      fetch: serverOf(a),
      onEvidence: (e) => caught.push(e),
    });
    await client.lookup('chat.example', 'a1@chat.example');
    await expect(
      new LookupClient({ ...client.opts, fetch: serverOf(b), state: client.state }).lookup(
        'chat.example',
        'a1@chat.example',
      ),
    ).rejects.toMatchObject({ code: 'inconsistent_checkpoint' });
    const evidence = file(caught[0]);
    expect(verdict(evidence, a.dir.vrfPublicKey)).toMatchObject({ kind: 'fork', proven: true });
    expect(
      verdict({ ...evidence, accepted: evidence.offered, offered: evidence.accepted }, a.dir.vrfPublicKey),
    ).toMatchObject({ kind: 'fork', proven: true });

    const flipped = Buffer.from(evidence.prefixRoot!, 'base64');
    flipped[0] ^= 1;
    const acceptedRoot = toBase64(Buffer.from(evidence.accepted.split('\n')[2], 'base64'));
    for (const bad of [
      { ...evidence, prefixRoot: flipped.toString('base64') },
      { ...evidence, prefixRoot: acceptedRoot },
      { ...evidence, proof: evidence.proof!.slice(1) },
      { ...evidence, origin: 'example.com/other' },
      { ...evidence, accepted: evidence.accepted.replace(/\n\n.*$/s, '\n\n— example.com/kt-test-log AAAAAAAA\n') },
      { ...evidence, type: 'something/v2' },
    ])
      expect(verdict(bad, a.dir.vrfPublicKey)).toBe('evidence_invalid');

    // The same log growing honestly: the smaller tree is a prefix of the larger, so no fork is proven.
    const before = a.log.head.checkpoint;
    await a.dir.closeEpoch(true); // a heartbeat epoch: the log grows by one entry
    const honestClient = new LookupClient({
      baseUrl: 'http://kt.test',
      pins: pinsOf(a.dir.vrfPublicKey),
      fetch: serverOf(a),
      state: { checkpoint: before },
    });
    await honestClient.lookup('chat.example', 'a1@chat.example'); // consistent: accepted
    expect(
      verdict(
        {
          ...evidence,
          accepted: before,
          offered: a.log.head.checkpoint,
          prefixRoot: Buffer.from(before.split('\n')[2], 'base64').toString('base64'),
          proof: [],
        },
        a.dir.vrfPublicKey,
      ),
    ).toBe('evidence_invalid');
  });

  it('proves two different trees of one size, and shows a rollback without proving it', () => {
    const cp = (size: number, seed: string) =>
      signCheckpoint({ origin: parties.origin, size, rootHash: sha256(utf8(seed)) }, logSignerForTests);
    const vrfKey = new Uint8Array(32);
    const base = { type: 'kt-evidence/v1', origin: parties.origin, observedAt: 'now' };
    expect(verdict({ ...base, kind: 'fork', accepted: cp(9, 'x'), offered: cp(9, 'y') }, vrfKey)).toMatchObject({
      proven: true,
    });
    expect(verdict({ ...base, kind: 'fork', accepted: cp(9, 'x'), offered: cp(9, 'x') }, vrfKey)).toBe(
      'evidence_invalid',
    );
    expect(verdict({ ...base, kind: 'rollback', accepted: cp(9, 'x'), offered: cp(4, 'y') }, vrfKey)).toMatchObject({
      kind: 'rollback',
      proven: false,
    });
    expect(verdict({ ...base, kind: 'rollback', accepted: cp(4, 'x'), offered: cp(9, 'y') }, vrfKey)).toBe(
      'evidence_invalid',
    );
    expect(
      verdict(
        { ...base, kind: 'audit_failure', checkpoint: cp(9, 'x'), code: 'replay_map_root', auditedFrom: null },
        vrfKey,
      ),
    ).toMatchObject({ kind: 'audit_failure', proven: false });
    expect(
      verdict(
        { ...base, kind: 'audit_failure', checkpoint: cp(9, 'x').replace('\n9\n', '\n8\n'), code: 'replay_map_root' },
        vrfKey,
      ),
    ).toBe('evidence_invalid');
    // The target of the interrupted audit the failed one went on from: named, and signed by the log too.
    const failure = { ...base, kind: 'audit_failure', checkpoint: cp(9, 'x'), code: 'rollback', auditedFrom: null };
    expect(verdict({ ...failure, target: cp(12, 'y') }, vrfKey)).toMatchObject({
      kind: 'audit_failure',
      proven: false,
      summary: expect.stringContaining('interrupted audit of the signed tree of 12 entries'),
    });
    expect(verdict({ ...failure, target: cp(12, 'y').replace('\n12\n', '\n13\n') }, vrfKey)).toBe('evidence_invalid');
  });

  it("proves a key the owner did not make from the monitor's verified proof", async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const mine = identityKey();
    await publish(t, chat.sign(statementFor(chat, 'own@chat.example', 1, [mine], t.clock.now)));
    const client = new LookupClient({
      baseUrl: 'http://kt.test',
      pins: pinsOf(t.dir.vrfPublicKey),
      fetch: serverOf(t),
    });
    const seen = await monitorAccount(client, 'chat.example', 'own@chat.example', [mine.publicKey], MONITOR_START);
    await publish(t, chat.sign(statementFor(chat, 'own@chat.example', 2, [identityKey('other')], t.clock.now)));
    const report = await monitorAccount(client, 'chat.example', 'own@chat.example', [mine.publicKey], seen.state);
    expect(report.alarms).toHaveLength(1);
    const evidence = {
      type: 'kt-evidence/v1',
      kind: 'unexpected_key',
      origin: parties.origin,
      provider: 'chat.example',
      account: 'own@chat.example',
      ownerKeys: [toBase64(mine.publicKey)],
      since: { version: seen.state.version, historyHash: toBase64(seen.state.historyHash) },
      proof: client.lastProofJson,
    };
    expect(verdict(evidence, t.dir.vrfPublicKey)).toMatchObject({ kind: 'unexpected_key', proven: true });
    // A file written before proof formats carried a version still proves it (PROTOCOL.md section 17.3); a file
    // whose proof is in a format this verifier does not read is not judged.
    const stripped = JSON.parse(JSON.stringify(evidence.proof, (k, v) => (k === 'format' ? undefined : v)));
    expect(JSON.stringify(stripped)).not.toContain('"format"');
    expect(verdict({ ...evidence, proof: stripped }, t.dir.vrfPublicKey)).toMatchObject({ proven: true });
    const newer = { ...(evidence.proof as object), format: 2 };
    expect(verdict({ ...evidence, proof: newer }, t.dir.vrfPublicKey)).toBe('unsupported_format');
    const other = (report as unknown as { alarms: { statement: { keys: { publicKey: Uint8Array }[] } }[] }).alarms[0]
      .statement.keys[0].publicKey;
    expect(verdict({ ...evidence, ownerKeys: [toBase64(mine.publicKey), toBase64(other)] }, t.dir.vrfPublicKey)).toBe(
      'evidence_invalid',
    );
    expect(
      verdict(
        { ...evidence, since: { ...evidence.since, historyHash: toBase64(new Uint8Array(32)) } },
        t.dir.vrfPublicKey,
      ),
    ).toBe('evidence_invalid');
    // Fields of the wrong form are the file's failure too (`kt verify-evidence` exits 1), named in the message.
    const malformed = [
      { ...evidence, ownerKeys: ['AA='] },
      { ...evidence, ownerKeys: 'x' },
      { ...evidence, since: { ...evidence.since, historyHash: 'AA=' } },
    ];
    for (const m of malformed) expect(verdict(m, t.dir.vrfPublicKey)).toBe('evidence_invalid');
    expect(() =>
      verifyEvidence(
        { ...evidence, since: { ...evidence.since, historyHash: toBase64(new Uint8Array(32)) } },
        pinsOf(t.dir.vrfPublicKey),
      ),
    ).toThrow(/\(bad_history\)/);
  });
});
