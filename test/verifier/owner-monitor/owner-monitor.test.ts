/**
 * The owner monitor (verifier/owner-monitor/owner-monitor.ts) against the real app: rotations to keys the owner made pass and
 * advance the state; a version binding a key the owner did not make, and an erased version, raise their
 * alarms once; a directory whose history of already-seen versions differs (a fork) fails verification.
 */
import { describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { sha256 } from '../../../wasm-free-crypto/sha256.js';
import { utf8 } from '../../../wasm-free-crypto/bytes.js';
import { LookupClient } from '../../../verifier/lookup-client/lookup-client.js';
import { MONITOR_START, monitorAccount } from '../../../verifier/owner-monitor/owner-monitor.js';
import {
  appOver,
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  publish,
  statementFor,
  type TestDirectory,
} from '../../helpers/directory.js';
import { makeRoot } from '../../helpers/pki.js';
import { ORIGIN } from '../../helpers/log.js';

function clientOf(t: TestDirectory, seen: string[] = [], tamper: (json: any) => void = () => {}) {
  const app = appOver(t);
  const fetch = async (url: string, init?: RequestInit) => {
    seen.push(new URL(url).pathname);
    const res = await app.request(url, init);
    if (!url.includes('/v1/monitor/')) return res;
    const json = await res.json();
    tamper(json);
    return Response.json(json);
  };
  return new LookupClient({
    baseUrl: 'http://kt.test',
    pins: { origin: ORIGIN, logKey: parseVerifierKey(logSignerForTests.verifierKey), vrfKey: t.dir.vrfPublicKey },
    fetch,
  });
}

describe('the owner monitor', () => {
  it("passes the owner's own rotations and raises an alarm, once, for a key the owner did not make", async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const mine = [identityKey('identity'), identityKey('identity')];
    const client = clientOf(t);
    let report = await monitorAccount(
      client,
      'chat.example',
      'own@chat.example',
      mine.map((k) => k.publicKey),
      MONITOR_START,
    );
    expect(report).toMatchObject({ status: 'absent', newVersions: [], alarms: [] });
    await publish(t, chat.sign(statementFor(chat, 'own@chat.example', 1, [mine[0]], t.clock.now)));
    await publish(t, chat.sign(statementFor(chat, 'own@chat.example', 2, [mine[1]], t.clock.now)));
    report = await monitorAccount(
      client,
      'chat.example',
      'own@chat.example',
      mine.map((k) => k.publicKey),
      report.state,
    );
    expect(report).toMatchObject({ status: 'present', newVersions: [1, 2], alarms: [], state: { version: 2 } });
    // The provider (or an operator with its key) binds another key.
    await publish(
      t,
      chat.sign(statementFor(chat, 'own@chat.example', 3, [mine[1], identityKey('sneaky')], t.clock.now)),
    );
    const alarmed = await monitorAccount(
      client,
      'chat.example',
      'own@chat.example',
      mine.map((k) => k.publicKey),
      report.state,
    );
    expect(alarmed.alarms).toMatchObject([
      { kind: 'unexpected_key', version: 3, message: expect.stringContaining('sneaky') },
    ]);
    expect(client.lastProofJson).toMatchObject({ history: { since: 2 } });
    const quiet = await monitorAccount(
      client,
      'chat.example',
      'own@chat.example',
      mine.map((k) => k.publicKey),
      alarmed.state,
    );
    expect(quiet).toMatchObject({ newVersions: [], alarms: [] });
  });

  it('checks an unchanged account with the map proof of the leaf it knows, and refuses a tampered one', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    const key = identityKey();
    await publish(t, chat.sign(statementFor(chat, 'own@chat.example', 1, [key], t.clock.now)));
    const first = await monitorAccount(clientOf(t), 'chat.example', 'own@chat.example', [key.publicKey], MONITOR_START);
    expect(first.state.label).toHaveLength(32);
    await t.dir.closeEpoch(true); // a heartbeat: a new epoch, no change to the account
    const seen: string[] = [];
    const daily = await monitorAccount(
      clientOf(t, seen),
      'chat.example',
      'own@chat.example',
      [key.publicKey],
      first.state,
    );
    expect(daily).toMatchObject({ status: 'unchanged', newVersions: [], alarms: [] });
    expect(seen).toEqual(['/v1/monitor/chat.example/own%40chat.example']);
    // Another leaf, a flipped map proof, or another epoch head: refused.
    const wrongLeaf = { ...first.state, historyHash: new Uint8Array(32).fill(3) };
    await expect(
      monitorAccount(clientOf(t), 'chat.example', 'own@chat.example', [key.publicKey], wrongLeaf),
    ).rejects.toMatchObject({ code: 'bad_map_proof' });
    const flip = (json: any) => {
      const m = Buffer.from(json.unchanged.map, 'base64');
      m[m.length - 1] ^= 1;
      json.unchanged.map = m.toString('base64');
    };
    await expect(
      monitorAccount(clientOf(t, [], flip), 'chat.example', 'own@chat.example', [key.publicKey], first.state),
    ).rejects.toMatchObject({ code: expect.stringMatching(/bad_map_proof|bad_proof_json/) });
    await expect(
      monitorAccount(
        clientOf(t, [], (json) => (json.extra = 1)),
        'chat.example',
        'own@chat.example',
        [key.publicKey],
        first.state,
      ),
    ).rejects.toMatchObject({ code: 'bad_proof_json' });
    await expect(
      monitorAccount(
        clientOf(t, [], (json) => (json.unchanged.epoch.headIndex -= 1)),
        'chat.example',
        'own@chat.example',
        [key.publicKey],
        first.state,
      ),
    ).rejects.toMatchObject({ code: 'epoch_not_last' });
    // A replayed answer from an older epoch (to hide a change made since) is a rollback.
    const app = appOver(t);
    const old = await (await app.request(`/v1/monitor/chat.example/own@chat.example?version=1`)).text();
    await t.dir.closeEpoch(true);
    const current = await monitorAccount(clientOf(t), 'chat.example', 'own@chat.example', [key.publicKey], daily.state);
    const replaying = new LookupClient({
      ...clientOf(t).opts,
      fetch: async (url, init) => (url.includes('/v1/monitor/') ? new Response(old) : app.request(url, init)),
    });
    await expect(
      monitorAccount(replaying, 'chat.example', 'own@chat.example', [key.publicKey], current.state),
    ).rejects.toMatchObject({ code: 'rollback' });
    // After a change, the same check answers the history, and the new version is checked.
    await publish(t, chat.sign(statementFor(chat, 'own@chat.example', 2, [identityKey('intruder')], t.clock.now)));
    const changed = await monitorAccount(clientOf(t), 'chat.example', 'own@chat.example', [key.publicKey], first.state);
    expect(changed).toMatchObject({
      newVersions: [2],
      alarms: [{ kind: 'unexpected_key', version: 2 }],
      state: { version: 2 },
    });
  });

  it('fails verification when the directory shows another history of versions the owner saw', async () => {
    const root = await makeRoot();
    const vrfSecretKey = sha256(utf8('fork vrf key'));
    const honest = await openTestDirectory({ root, vrfSecretKey });
    const forked = await openTestDirectory({ root, vrfSecretKey });
    const key = identityKey();
    const providers = [await enrolProvider(honest, 'chat.example'), await enrolProvider(forked, 'chat.example')];
    // Version 1 differs between the two directories (the forked one bound another key, then hid it).
    await publish(
      honest,
      providers[0].sign(statementFor(providers[0], 'own@chat.example', 1, [key], honest.clock.now)),
    );
    await publish(
      forked,
      providers[1].sign(statementFor(providers[1], 'own@chat.example', 1, [identityKey('other')], forked.clock.now)),
    );
    const seen = await monitorAccount(
      clientOf(honest),
      'chat.example',
      'own@chat.example',
      [key.publicKey],
      MONITOR_START,
    );
    expect(seen).toMatchObject({ newVersions: [1], alarms: [] });
    for (const [i, t] of [honest, forked].entries())
      await publish(t, providers[i].sign(statementFor(providers[i], 'own@chat.example', 2, [key], t.clock.now)));
    expect(
      (await monitorAccount(clientOf(honest), 'chat.example', 'own@chat.example', [key.publicKey], seen.state)).alarms,
    ).toEqual([]);
    await expect(
      monitorAccount(clientOf(forked), 'chat.example', 'own@chat.example', [key.publicKey], seen.state),
    ).rejects.toMatchObject({ code: 'bad_history' });
  });
});
