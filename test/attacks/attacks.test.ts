/**
 * The attack suite (DESIGN.md "What each party catches"): a malicious server under the test's control,
 * wrapping real directories and tampering with what they serve, plays each attack, and the test asserts
 * that the party that should catch it does, with the right error code; an honest run raises nothing.
 * Parties: the client (verifier/lookup-client/lookup-client.ts, with or without a witness policy), the owner monitor
 * (verifier/owner-monitor/owner-monitor.ts), the auditor (verifier/auditor/auditor.ts, with enrolment checks against the real roots)
 * and the witness (verifier/witness/witness.ts).
 */
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64, utf8 } from '../../wasm-free-crypto/bytes.js';
import { cosigner, parseCosignerKey, type Cosigner } from '../../wasm-free-crypto/cosignature.js';
import { splitNote } from '../../wasm-free-crypto/note.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { CheckpointVerifier } from '../../verifier/verification/checkpoint-policy.js';
import { decodeEntry, encodeEntry } from '../../verifier/formats/entries.js';
import { LookupClient } from '../../verifier/lookup-client/lookup-client.js';
import { MONITOR_START, monitorAccount } from '../../verifier/owner-monitor/owner-monitor.js';
import { decodeStatement, encodeStatement } from '../../verifier/formats/statement-binary.js';
import { addCheckpointBody } from '../../verifier/formats/add-checkpoint.js';
import { MemoryWitnessStore } from '../doubles/memory-witness-store.js';
import { Witness } from '../../verifier/witness/witness.js';
import {
  enrolProvider,
  identityKey,
  openTestDirectory,
  publish,
  statementFor,
  type TestDirectory,
} from '../helpers/directory.js';
import { makeRoot } from '../helpers/pki.js';
import { entriesOf, fakeLog, parties, serverOf, type Fetch } from './malicious.js';

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: { code?: string }) => e.code ?? String(e),
  );

/** An honest directory with one provider and an account at version 2, and the keys its owner made. */
async function world(opts: Parameters<typeof openTestDirectory>[0] = {}) {
  const t = await openTestDirectory(opts);
  const chat = await enrolProvider(t, 'chat.example');
  const keys = [identityKey(), identityKey()];
  for (const [i, k] of keys.entries())
    await publish(t, chat.sign(statementFor(chat, 'ann@chat.example', i + 1, [k], t.clock.now)));
  return { t, chat, ownerKeys: keys.map((k) => k.publicKey) };
}

/** Cosigns a directory's current checkpoint with `w` (a witness that has seen nothing else of that log). */
async function cosignedBy(t: TestDirectory, signers: Cosigner[], time?: bigint): Promise<string> {
  let note = t.log.head.checkpoint;
  for (const s of signers) {
    const w = new Witness({
      cosigner: time ? cosigner(s.name, sha256(utf8(s.name)), () => time) : s,
      store: new MemoryWitnessStore(),
      logs: [{ origin: splitNote(utf8(note)).text.split('\n')[0], keys: [parties.logKey] }],
    });
    note += (await w.addCheckpoint(addCheckpointBody(0, [], note))).body;
  }
  return note;
}

describe('attacks, and who catches them', () => {
  it('an honest directory passes every party, with no alarm', async () => {
    const { t, ownerKeys } = await world();
    const fetch = serverOf(t);
    const client = parties.client(fetch, t);
    expect((await client.lookup('chat.example', 'ann@chat.example')).status).toBe('present');
    expect((await monitorAccount(client, 'chat.example', 'ann@chat.example', ownerKeys, MONITOR_START)).alarms).toEqual(
      [],
    );
    expect(await code(parties.auditor(fetch, { enrolment: { trustedRoots: [t.root.der] } }).audit())).toBe('accepted');
  });

  it('key substitution for one client: the served statement names another key', async () => {
    const { t } = await world();
    const honest = serverOf(t);
    const substituted: Fetch = async (url, init) => {
      const res = await honest(url, init);
      if (!url.includes('/v1/lookup/')) return res;
      const json = await res.json();
      const s = decodeStatement(fromBase64(json.present.statement));
      json.present.statement = toBase64(
        encodeStatement({ ...s, keys: [{ ...s.keys[0], publicKey: identityKey().publicKey }] }),
      );
      return Response.json(json);
    };
    expect(await code(parties.client(substituted, t).lookup('chat.example', 'ann@chat.example'))).toBe(
      'bad_provider_signature',
    );
  });

  it("a key the provider never signed: the operator enrols its own key under the provider's name", async () => {
    // The operator's directory trusts a root of its own and enrols "chat.example" under it.
    const realRoot = await makeRoot();
    const { t, ownerKeys } = await world({ root: await makeRoot() });
    const fetch = serverOf(t);
    // The client checks that the credential is in the log's set, so it accepts; the owner sees a key it
    // did not make only if it was not the owner's (here the operator published the owner's keys); the
    // auditor checks enrolments against the real roots and catches it.
    expect(await code(parties.client(fetch, t).lookup('chat.example', 'ann@chat.example'))).toBe('accepted');
    expect(
      (await monitorAccount(parties.client(fetch, t), 'chat.example', 'ann@chat.example', ownerKeys, MONITOR_START))
        .alarms,
    ).toEqual([]);
    expect(await code(parties.auditor(fetch, { enrolment: { trustedRoots: [realRoot.der] } }).audit())).toBe(
      'bad_enrolment',
    );
  });

  it("a provider publishing outside its namespace: talk.example's answer carries chat.example's enrolment", async () => {
    const { t } = await world();
    const honest = serverOf(t);
    const outside: Fetch = async (url, init) =>
      url.includes('/v1/lookup/talk.example/')
        ? honest(url.replace('/talk.example/', '/chat.example/'), init)
        : honest(url, init);
    expect(await code(parties.client(outside, t).lookup('talk.example', 'ann@chat.example'))).toBe('wrong_account');
    // And the directory refuses the statement in the first place: talk.example may not sign for chat.example.
    const talk = await enrolProvider(t, 'talk.example');
    const signed = talk.sign({
      ...statementFor(talk, 'ann@chat.example', 1, [identityKey()], t.clock.now),
      provider: 'chat.example',
    });
    expect(await code(t.dir.submit(signed.statement, signed.signature))).toBe('namespace_violation');
  });

  it('a split view: a second tree signed by the log cannot get the witnesses a client requires', async () => {
    const root = await makeRoot();
    const vrfSecretKey = sha256(utf8('split view vrf'));
    const a = await world({ root, vrfSecretKey });
    const b = await world({ root, vrfSecretKey });
    await publish(b.t, b.chat.sign(statementFor(b.chat, 'ann@chat.example', 3, [identityKey()], b.t.clock.now)));
    const w = cosigner('witness.example/w1', sha256(utf8('witness.example/w1')));
    const witness = new Witness({
      cosigner: w,
      store: new MemoryWitnessStore(),
      logs: [{ origin: parties.origin, keys: [parties.logKey] }],
    });
    const note = a.t.log.head.checkpoint;
    const cosigned = note + (await witness.addCheckpoint(addCheckpointBody(0, [], note))).body;
    const forkNote = b.t.log.head.checkpoint;
    expect((await witness.addCheckpoint(addCheckpointBody(0, [], forkNote))).status).toBe(409); // the witness holds a's tree
    const policy = { witnesses: [parseCosignerKey(w.verifierKey)], quorum: 1 };
    // The honest tree, as cosigned, verifies; the other tree has no cosignature the client requires.
    const withNote =
      (t: TestDirectory, served: string): Fetch =>
      async (url, init) => {
        const res = await serverOf(t)(url, init);
        if (!url.includes('/v1/lookup/')) return res;
        const json = await res.json();
        json.epoch.checkpoint = served;
        return Response.json(json);
      };
    expect(
      await code(parties.client(withNote(a.t, cosigned), a.t, policy).lookup('chat.example', 'ann@chat.example')),
    ).toBe('accepted');
    expect(await code(parties.client(serverOf(b.t), b.t, policy).lookup('chat.example', 'ann@chat.example'))).toBe(
      'witness_quorum',
    );
  });

  it('a rollback to an old checkpoint, to hide a new key from a client that saw it', async () => {
    const { t, chat } = await world();
    const client = parties.client(serverOf(t), t);
    const old = await (await serverOf(t)('http://kt.test/v1/lookup/chat.example/ann@chat.example')).text();
    await publish(t, chat.sign(statementFor(chat, 'ann@chat.example', 3, [identityKey()], t.clock.now)));
    await client.lookup('chat.example', 'ann@chat.example');
    const rolledBack: Fetch = async (url, init) =>
      url.includes('/v1/lookup/') ? new Response(old) : serverOf(t)(url, init);
    expect(
      await code(
        new LookupClient({ ...client.opts, fetch: rolledBack, state: client.state }).lookup(
          'chat.example',
          'ann@chat.example',
        ),
      ),
    ).toBe('rollback');
  });

  it('a stale checkpoint past its maximum age: the witnesses last cosigned it too long ago', async () => {
    const { t } = await world();
    const w = cosigner('witness.example/w1', sha256(utf8('witness.example/w1')));
    const stale = await cosignedBy(t, [w], BigInt(Math.floor(Date.now() / 1000) - 7200));
    const serve: Fetch = async (url, init) => {
      const json = await (await serverOf(t)(url, init)).json();
      json.epoch.checkpoint = stale;
      return Response.json(json);
    };
    const policy = { witnesses: [parseCosignerKey(w.verifierKey)], quorum: 1, maxAgeSeconds: 3600 };
    expect(await code(parties.client(serve, t, policy).lookup('chat.example', 'ann@chat.example'))).toBe(
      'stale_checkpoint',
    );
    expect(
      await code(
        parties.client(serve, t, { ...policy, maxAgeSeconds: 86_400 }).lookup('chat.example', 'ann@chat.example'),
      ),
    ).toBe('accepted');
  });

  it('an update rewritten or dropped from the log, and an epoch whose map the replay cannot reproduce', async () => {
    const { t } = await world();
    const honest = await entriesOf(t);
    const at = honest.findIndex((e) => decodeEntry(e).type === 'update');
    const head = honest.findIndex((e, i) => i > at && decodeEntry(e).type === 'epoch');
    const change = (i: number, f: (d: ReturnType<typeof decodeEntry>) => void) =>
      honest.map((e, j) =>
        j === i
          ? (() => {
              const d = decodeEntry(e);
              f(d);
              return encodeEntry(d);
            })()
          : e,
      );
    const rewritten = change(at, (d) => d.type === 'update' && (d.commitment = new Uint8Array(32).fill(1)));
    expect(await code(parties.auditor(fakeLog(rewritten)).audit())).toBe('replay_map_root');
    expect(await code(parties.auditor(fakeLog(honest.filter((_e, i) => i !== at))).audit())).toBe('replay_epoch_range');
    expect(
      await code(
        parties
          .auditor(fakeLog(change(head, (d) => d.type === 'epoch' && (d.mapRoot = sha256(utf8('forged'))))))
          .audit(),
      ),
    ).toBe('replay_map_root');
    expect(await code(parties.auditor(fakeLog(honest)).audit())).toBe('accepted');
  });

  it("a forked version chain: the owner's history, and the log's versions, do not continue what was seen", async () => {
    const root = await makeRoot();
    const vrfSecretKey = sha256(utf8('fork vrf'));
    const a = await world({ root, vrfSecretKey });
    const seen = await monitorAccount(
      parties.client(serverOf(a.t), a.t),
      'chat.example',
      'ann@chat.example',
      a.ownerKeys,
      MONITOR_START,
    );
    const b = await world({ root, vrfSecretKey }); // the same account, another version history
    await publish(b.t, b.chat.sign(statementFor(b.chat, 'ann@chat.example', 3, [identityKey()], b.t.clock.now)));
    expect(
      await code(
        monitorAccount(parties.client(serverOf(b.t), b.t), 'chat.example', 'ann@chat.example', a.ownerKeys, seen.state),
      ),
    ).toBe('bad_history');
    const entries = await entriesOf(a.t);
    const at = entries.length - 1 - [...entries].reverse().findIndex((e) => decodeEntry(e).type === 'update');
    const forked = entries.map((e, i) =>
      i === at
        ? (() => {
            const d = decodeEntry(e);
            if (d.type === 'update') d.version = 5;
            return encodeEntry(d);
          })()
        : e,
    );
    expect(await code(parties.auditor(fakeLog(forked)).audit())).toBe('replay_version_fork');
  });

  it('a wrong VRF proof: the label is not the one the pinned VRF key gives for the account', async () => {
    const { t } = await world();
    const wrong: Fetch = async (url, init) => {
      const json = await (await serverOf(t)(url, init)).json();
      const proof = fromBase64(json.vrfProof);
      proof[5] ^= 1;
      json.vrfProof = toBase64(proof);
      return Response.json(json);
    };
    expect(await code(parties.client(wrong, t).lookup('chat.example', 'ann@chat.example'))).toBe('bad_vrf');
  });

  it('witness cosignatures below the quorum: one of the two required witnesses', async () => {
    const { t } = await world();
    const [w1, w2] = ['witness.example/w1', 'witness.example/w2'].map((n) => cosigner(n, sha256(utf8(n))));
    const one = await cosignedBy(t, [w1]);
    const serve: Fetch = async (url, init) => {
      const json = await (await serverOf(t)(url, init)).json();
      json.epoch.checkpoint = one;
      return Response.json(json);
    };
    const policy = { witnesses: [w1, w2].map((w) => parseCosignerKey(w.verifierKey)), quorum: 2 };
    expect(await code(parties.client(serve, t, policy).lookup('chat.example', 'ann@chat.example'))).toBe(
      'witness_quorum',
    );
    expect(
      await code(parties.client(serve, t, { ...policy, quorum: 1 }).lookup('chat.example', 'ann@chat.example')),
    ).toBe('accepted');
    expect(
      new CheckpointVerifier({
        origin: parties.origin,
        logKey: parties.logKey,
        policy: { ...policy, quorum: 1 },
      }).verify(one).cosignatures,
    ).toHaveLength(1);
  });
});
