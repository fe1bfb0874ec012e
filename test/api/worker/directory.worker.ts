/**
 * The directory through the Worker, inside workerd: provider certificates issued here with test/helpers/pki.ts
 * (over workerd's WebCrypto) under the test root the Worker trusts, enrolled by the operator, statements
 * published and committed by the Durable Object's alarm, lookups, histories and receipts verified with
 * the project's verifier and the pins from /v1/config; refusals with the Node server's codes; heartbeat
 * epochs; a restart that reopens everything from the Durable Object's storage; and DoDirectoryStore on its
 * own, atomic with the log's commit. The Worker's settings are in vitest.workers.config.ts (epochs one hour
 * after queued work, heartbeats daily, so that only the tests' `runDurableObjectAlarm` closes epochs).
 */
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { openNote, parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { nextAlarmTime, runEpochAlarm } from '../../../api/worker/epoch-alarm.js';
import { bufferedRequest } from '../../../api/worker/forwarding.js';
import { directorySecrets, type SequencerState, type SequencerVars } from '../../../api/worker/sequencer-state.js';
import { ConfigError, settingsFromVars } from '../../../api/wiring/settings.js';
import { HISTORY_ZERO } from '../../../verifier/formats/directory-hashes.js';
import { DoDirectoryStore } from '../../../api/worker/do-directory-store.js';
import { DoLogStorage } from '../../../api/worker/do-log-storage.js';
import type { EpochWrites } from '../../../log/directory/store.js';
import { historyFromJson, lookupFromJson, monitorFromJson } from '../../../verifier/formats/proof-json.js';
import { LookupVerifier } from '../../../verifier/verification/lookup-verifier.js';
import { makeLeaf, makeRoot, type PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { fixture, get, operator, post, sequencer, settle, testRoot } from './helpers.js';

const INTERVAL = 3_600_000;
const HEARTBEAT = 86_400_000;

async function verifier(): Promise<LookupVerifier> {
  const c = (await (await get('/v1/config')).json()) as { origin: string; logKey: string; vrfKey: string };
  return new LookupVerifier({ origin: c.origin, logKey: parseVerifierKey(c.logKey), vrfKey: fromBase64(c.vrfKey) });
}

const alarmAt = () => runInDurableObject(sequencer(), (_i, state) => state.storage.getAlarm());
const epochNow = async () =>
  ((await (await get('/v1/lookup/none.example/x')).json()) as { epoch: { headIndex: number } }).epoch.headIndex;
const errorCode = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];

function publishBody(leaf: PkiCert, provider: string, account: string, version: number, seed: string | null) {
  return {
    statements: [
      signStatement(
        leaf.algorithm as 'ed25519' | 'p256',
        leaf.secretKey,
        statementOf(provider, account, version, Date.now(), seed),
      ),
    ],
  };
}

describe('directory settings', () => {
  const good: SequencerVars = {
    VRF_SECRET_KEY: 'ab'.repeat(32),
    TRUSTED_ROOTS_PEM: fixture.rootPem,
    OPERATOR_TOKEN: 'a-long-enough-token',
  };

  /** The directory's secrets and settings, read from the vars as the sequencer reads them. */
  const directorySettings = (vars: SequencerVars) => ({ ...directorySecrets(vars), ...settingsFromVars(vars) });

  it('reads secrets and vars with the Node defaults and bounds', () => {
    const s = directorySettings(good);
    expect(s).toMatchObject({
      operatorToken: 'a-long-enough-token',
      epochIntervalMs: 1000,
      heartbeatMs: 60_000,
      lookupBurst: 60,
      lookupRatePerSecond: 10,
    });
    expect(s.trustedRoots).toHaveLength(1);
    expect(
      directorySettings({ ...good, EPOCH_INTERVAL_MS: 250, HEARTBEAT_MS: ' 5000 ', LOOKUP_BURST: '1' }),
    ).toMatchObject({ epochIntervalMs: 250, heartbeatMs: 5000, lookupBurst: 1 });
  });

  it('refuses missing or malformed settings without echoing them', () => {
    const secret = 'c0ffee'.repeat(10) + 'abcd';
    const bad: [SequencerVars, RegExp][] = [
      [{ ...good, VRF_SECRET_KEY: undefined }, /VRF_SECRET_KEY is not set/],
      [{ ...good, WITNESSES: '[{"key": 1' }, /WITNESSES must be a JSON list/],
      [
        { ...good, WITNESSES: '[{"key": "nope", "url": "https://w.example"}]' },
        /WITNESSES item 0: the key is not a cosigner key/,
      ],
      [{ ...good, WITNESSES: '[]', WITNESS_QUORUM: '1' }, /WITNESS_QUORUM is above the number of witnesses/],
      [{ ...good, VRF_SECRET_KEY: secret.toUpperCase() }, /VRF_SECRET_KEY must be 64 lower-case hex/],
      [{ ...good, VRF_SECRET_KEY: secret.slice(2) }, /VRF_SECRET_KEY must be 64 lower-case hex/],
      [{ ...good, TRUSTED_ROOTS_PEM: ' ' }, /TRUSTED_ROOTS_PEM is not set/],
      [{ ...good, TRUSTED_ROOTS_PEM: 'no certificates here' }, /TRUSTED_ROOTS_PEM is not PEM certificates/],
      [
        { ...good, TRUSTED_ROOTS_PEM: '-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n' },
        /TRUSTED_ROOTS_PEM is not PEM certificates/,
      ],
      [{ ...good, OPERATOR_TOKEN: undefined }, /OPERATOR_TOKEN is not set/],
      [{ ...good, OPERATOR_TOKEN: 'short-secret' }, /OPERATOR_TOKEN must be 16 or more/],
      [{ ...good, OPERATOR_TOKEN: 'has a space in the middle' }, /OPERATOR_TOKEN must be 16 or more/],
      [{ ...good, EPOCH_INTERVAL_MS: '9' }, /EPOCH_INTERVAL_MS must be an integer >= 10/],
      [{ ...good, HEARTBEAT_MS: '1e5' }, /HEARTBEAT_MS must be an integer >= 10/],
      [{ ...good, LOOKUP_RATE_PER_SECOND: '0' }, /LOOKUP_RATE_PER_SECOND must be an integer >= 1/],
    ];
    for (const [env, message] of bad) {
      let err: unknown;
      try {
        directorySettings(env);
      } catch (e) {
        err = e;
      }
      expect(err, String(message)).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(message);
      for (const s of [secret, secret.toUpperCase(), 'short-secret', 'has a space'])
        expect((err as Error).message).not.toContain(s);
    }
  });

  it('plans the alarm: soon while work is queued, else the next heartbeat, never in the past', () => {
    const base = { now: 1_000_000, epochIntervalMs: 1000, heartbeatMs: 60_000 };
    expect(nextAlarmTime({ ...base, queueDepth: 3, lastEpochTime: 999_000 })).toBe(1_001_000);
    expect(nextAlarmTime({ ...base, queueDepth: 0, lastEpochTime: 990_000 })).toBe(1_050_000);
    expect(nextAlarmTime({ ...base, queueDepth: 0, lastEpochTime: 0 })).toBe(1_001_000);
  });
});

describe('the Worker directory', () => {
  it('enrols a provider certified in workerd and publishes through the alarm, with verified proofs and receipts', async () => {
    const root = await testRoot();
    const leaf = await makeLeaf(root, { dnsNames: ['talk.example'] });

    // The heartbeat alarm is armed when the directory opens.
    expect((await get('/healthz')).status).toBe(200);
    const heartbeatAlarm = await alarmAt();
    expect(heartbeatAlarm).toBeGreaterThan(Date.now() + INTERVAL);

    // An enrolment is queued (202) and asks for an epoch one interval from now.
    let res = await post('/v1/providers', { chain: leaf.pem }, operator());
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ providerId: 'talk.example', status: 'accepted' });
    const epochAlarm = (await alarmAt())!;
    expect(epochAlarm).toBeLessThanOrEqual(Date.now() + INTERVAL);
    expect(epochAlarm).toBeLessThan(heartbeatAlarm!);
    const before = await epochNow();
    expect(await runDurableObjectAlarm(sequencer())).toBe(true);
    expect(await epochNow()).toBeGreaterThan(before);
    expect((await alarmAt())!).toBeGreaterThan(Date.now() + INTERVAL); // back to the heartbeat
    const config = (await (await get('/v1/config')).json()) as {
      providers: { providerId: string; algorithm: string; revoked: boolean }[];
      vrfKey: string;
    };
    expect(config.providers).toContainEqual(
      expect.objectContaining({ providerId: 'talk.example', algorithm: 'ed25519', revoked: false }),
    );

    // A publication without ?wait=1: a receipt signed by the log, the account still absent until the alarm.
    const v = await verifier();
    res = await post('/v1/bindings', publishBody(leaf, 'talk.example', 'alice@talk.example', 1, 'alice 1'));
    expect(res.status).toBe(202);
    const [result] = (
      (await res.json()) as { results: { status: string; label: string; version: number; receipt: string }[] }
    ).results;
    expect(result).toMatchObject({ status: 'accepted', version: 1 });
    const receipt = openNote(result.receipt, [v.pins.logKey]);
    expect(receipt.text.split('\n').slice(0, 3)).toEqual(['kt/v2/receipt', result.label, '1']);
    const absent = v.verifyLookup(
      lookupFromJson(await (await get('/v1/lookup/talk.example/alice@talk.example')).json()),
      'talk.example',
      'alice@talk.example',
    );
    expect(absent.status).toBe('absent');
    expect(toBase64(absent.label)).toBe(result.label);
    expect((await alarmAt())!).toBeLessThanOrEqual(Date.now() + INTERVAL); // the statement asked for an epoch

    expect(await runDurableObjectAlarm(sequencer())).toBe(true);
    const presentJson = (await (await get('/v1/lookup/talk.example/alice%40talk.example')).json()) as {
      epoch: { checkpoint: string };
    };
    const present = v.verifyLookup(lookupFromJson(presentJson), 'talk.example', 'alice@talk.example');
    expect(present).toMatchObject({ status: 'present', statement: { version: 1, account: 'alice@talk.example' } });
    // The alarm also published the epoch to R2, from where the Worker serves the log.
    const published = await (await env.TILES!.get(`${env.TILES_PREFIX ?? ''}checkpoint`))!.text();
    expect(published).toBe(presentJson.epoch.checkpoint);
    expect(await (await get('/log/checkpoint')).text()).toBe(published);

    // A rotation with ?wait=1, then the history of both versions.
    res = await settle(
      post('/v1/bindings?wait=1', publishBody(leaf, 'talk.example', 'alice@talk.example', 2, 'alice 2')),
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as { results: unknown[] }).results[0]).toMatchObject({
      status: 'committed',
      version: 2,
    });
    const h = v.verifyHistory(
      historyFromJson(await (await get('/v1/history/talk.example/alice@talk.example?since=0')).json()),
      'talk.example',
      'alice@talk.example',
      HISTORY_ZERO,
    );
    expect(h.statements.map((s) => s?.version)).toEqual([1, 2]);
    const since1 = v.verifyHistory(
      historyFromJson(await (await get('/v1/history/talk.example/alice@talk.example?since=1')).json()),
      'talk.example',
      'alice@talk.example',
      present.historyHash!,
    );
    expect(since1.lookup.status).toBe('present');
    // The owner's daily check: unchanged at version 2 (gzip-compressed when asked), the history from version 1.
    const known = { label: since1.lookup.label, version: 2, historyHash: since1.lookup.historyHash! };
    const daily = await get('/v1/monitor/talk.example/alice@talk.example?version=2', {
      headers: { 'Accept-Encoding': 'gzip' },
    });
    expect([daily.status, daily.headers.get('Content-Encoding')]).toEqual([200, 'gzip']);
    const unchanged = monitorFromJson(await daily.json());
    expect('unchanged' in unchanged && v.verifyUnchanged(unchanged.unchanged, known).epoch).toBeGreaterThan(0);
    const changed = monitorFromJson(await (await get('/v1/monitor/talk.example/alice@talk.example?version=1')).json());
    expect(
      'history' in changed &&
        v
          .verifyHistory(changed.history, 'talk.example', 'alice@talk.example', present.historyHash!)
          .statements.map((x) => x?.version),
    ).toEqual([2]);

    const metrics = await (await get('/metrics')).text();
    expect(metrics).toMatch(/^kt_queue_depth 0$/m);
    expect(metrics).toMatch(/^kt_epoch \d+$/m);
  });

  it('enrols a P-256 provider and revokes its credential', async () => {
    const leaf = await makeLeaf(await testRoot(), { dnsNames: ['p256.example'], keyType: 'p256' });
    let res = await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ providerId: 'p256.example', status: 'committed' });
    res = await settle(post('/v1/bindings?wait=1', publishBody(leaf, 'p256.example', 'bob@p256.example', 1, 'bob 1')));
    expect(res.status).toBe(200);
    const v = await verifier();
    expect(
      v.verifyLookup(
        lookupFromJson(await (await get('/v1/lookup/p256.example/bob@p256.example')).json()),
        'p256.example',
        'bob@p256.example',
      ).status,
    ).toBe('present');

    const { providers } = (await (await get('/v1/config')).json()) as {
      providers: { providerId: string; fingerprint: string; revoked: boolean }[];
    };
    const fingerprint = providers.find((p) => p.providerId === 'p256.example')!.fingerprint;
    const revoke = { providerId: 'p256.example', fingerprint, reason: 'key compromise' };
    expect((await post('/v1/providers/revoke', revoke)).status).toBe(401);
    // The revocation is answered once committed; meanwhile it has asked for an epoch.
    const revoking = post('/v1/providers/revoke', revoke, operator());
    await expect.poll(async () => (await alarmAt())! <= Date.now() + INTERVAL).toBe(true);
    res = await settle(revoking);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ providerId: 'p256.example', fingerprint, status: 'committed' });
    const after = (await (await get('/v1/config')).json()) as { providers: { providerId: string; revoked: boolean }[] };
    expect(after.providers.find((p) => p.providerId === 'p256.example')!.revoked).toBe(true);
    expect(
      await errorCode(await post('/v1/bindings', publishBody(leaf, 'p256.example', 'bob@p256.example', 2, 'bob 2'))),
    ).toEqual([403, 'cert_revoked']);
    expect(await errorCode(await post('/v1/providers/revoke', revoke, operator()))).toEqual([
      404,
      'unknown_credential',
    ]);
    // The committed version still verifies: its enrolment is in the credential set.
    expect(
      v.verifyLookup(
        lookupFromJson(await (await get('/v1/lookup/p256.example/bob@p256.example')).json()),
        'p256.example',
        'bob@p256.example',
      ).status,
    ).toBe('present');
  });

  it("refuses bad requests with the Node server's codes, and never serves the test-only append route", async () => {
    const root = await testRoot();
    const leaf = await makeLeaf(root, { dnsNames: ['refusals.example'] });
    expect(await errorCode(await post('/v1/providers', { chain: leaf.pem }))).toEqual([401, 'unauthorized']);
    expect(
      await errorCode(
        await post('/v1/providers', { chain: leaf.pem }, { Authorization: 'Bearer not-the-operator-token' }),
      ),
    ).toEqual([401, 'unauthorized']);
    const stranger = await makeLeaf(await makeRoot(), { dnsNames: ['stranger.example'] });
    expect(await errorCode(await post('/v1/providers', { chain: stranger.pem }, operator()))).toEqual([
      403,
      'cert_untrusted',
    ]);
    expect(await errorCode(await post('/v1/providers', { chain: ['!!'] }, operator()))).toEqual([400, 'bad_request']);
    expect(
      await errorCode(await post('/v1/bindings', publishBody(leaf, 'refusals.example', 'x@refusals.example', 1, 'x'))),
    ).toEqual([403, 'unknown_provider']);
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    expect(await errorCode(await post('/v1/providers', { chain: leaf.pem }, operator()))).toEqual([
      409,
      'already_enrolled',
    ]);
    expect(
      await errorCode(await post('/v1/bindings', publishBody(leaf, 'refusals.example', 'x@refusals.example', 2, 'x'))),
    ).toEqual([409, 'version_gap']);
    expect(
      await errorCode(
        await get('/v1/bindings', { method: 'POST', body: '{', headers: { 'Content-Type': 'application/json' } }),
      ),
    ).toEqual([400, 'bad_request']);
    expect(await errorCode(await get('/v1/lookup/refusals.example/%00bad'))).toEqual([400, 'account_control_char']);
    // Provider ids and accounts beyond their bounds, refused before any VRF work (the D1 path forwards them).
    const longProvider = `${'a'.repeat(62)}.`.repeat(5).slice(0, 254);
    expect(await errorCode(await get(`/v1/lookup/${longProvider}/x`))).toEqual([400, 'bad_request']);
    expect(await errorCode(await get(`/v1/lookup/refusals.example/${'a'.repeat(257)}`))).toEqual([
      400,
      'account_too_long',
    ]);
    expect(await errorCode(await get('/v1/history/refusals.example/x@refusals.example?since=-1'))).toEqual([
      400,
      'bad_request',
    ]);
    // The production Worker has no append route (only the log test project's Worker does).
    expect(await errorCode(await post('/__test/append', ['AA==']))).toEqual([404, 'not_found']);
    // Bodies over 2 MiB stop at the Worker, as the Node server's body limit stops them.
    expect(
      await errorCode(
        await post('/v1/bindings', { statements: [{ statement: 'A'.repeat(3 * 1024 * 1024), signature: '' }] }),
      ),
    ).toEqual([413, 'too_large']);
    expect(await errorCode(await post('/v1/providers', { chain: 'A'.repeat(100 * 1024) }, operator()))).toEqual([
      413,
      'too_large',
    ]);
  });

  it('reads request bodies in the Worker, up to a limit, also without a Content-Length, and refuses a broken one', async () => {
    const stream = (n: number) =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < n; i++) c.enqueue(new Uint8Array(100).fill(65));
          c.close();
        },
      });
    const req = (n: number) => new Request('https://kt.example/v1/bindings', { method: 'POST', body: stream(n) });
    const small = await bufferedRequest(req(3), 1000);
    expect(small).toBeInstanceOf(Request);
    expect(await (small as Request).text()).toBe('A'.repeat(300));
    const big = await bufferedRequest(req(11), 1000);
    expect(big).toBeInstanceOf(Response);
    expect((big as Response).status).toBe(413);
    expect(await bufferedRequest(new Request('https://kt.example/healthz'))).toBeInstanceOf(Request);
    // A body that fails while it is read (a client gone mid-body) is the client's 400, not an uncaught error.
    const failing = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(100).fill(65));
        c.error(new Error('the client went away'));
      },
    });
    const cut = await bufferedRequest(new Request('https://kt.example/v1/bindings', { method: 'POST', body: failing }));
    expect(cut).toBeInstanceOf(Response);
    expect(await errorCode(cut as Response)).toEqual([400, 'bad_request']);
  });

  it('closes a heartbeat epoch when one is due, and re-arms the alarm', async () => {
    await get('/healthz');
    await runInDurableObject(sequencer(), async (instance, state) => {
      const { directory, settings } = (instance as unknown as { state: SequencerState }).state;
      if (!directory) throw new Error('the sequencer has no directory');
      const epoch = directory.epoch;
      const lastTime = async () => (await directory.snapshot()).snap.head.time;
      // Nothing queued, heartbeat not due: no epoch; the alarm is set for the heartbeat.
      await runEpochAlarm(directory, settings, state.storage);
      expect(directory.epoch).toBe(epoch);
      expect(await state.storage.getAlarm()).toBe((await lastTime()) + HEARTBEAT);
      // A day later (by the alarm's clock): an empty epoch; the next alarm is not in that clock's past.
      const later = Date.now() + HEARTBEAT + 1;
      await runEpochAlarm(directory, settings, state.storage, () => later);
      expect(directory.epoch).toBe(epoch + 1);
      const expected = nextAlarmTime({
        now: later,
        queueDepth: 0,
        lastEpochTime: await lastTime(),
        epochIntervalMs: INTERVAL,
        heartbeatMs: HEARTBEAT,
      });
      expect(expected).toBe(later + INTERVAL);
      expect(await state.storage.getAlarm()).toBe(expected);
    });
  });

  it("reopens the log and the directory from the Durable Object's storage after a restart", async () => {
    const leaf = await makeLeaf(await testRoot(), { dnsNames: ['restart.example'] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    expect(
      (
        await settle(
          post('/v1/bindings?wait=1', publishBody(leaf, 'restart.example', 'carol@restart.example', 1, 'carol 1')),
        )
      ).status,
    ).toBe(200);
    const lookupBefore = await (await get('/v1/lookup/restart.example/carol@restart.example')).json();
    const configBefore = await (await get('/v1/config')).json();
    const checkpointBefore = await (await get('/log/checkpoint')).text();

    await abortAllDurableObjects();
    expect(await get('/log/checkpoint').then((r) => r.text())).toBe(checkpointBefore);
    expect(await (await get('/v1/config')).json()).toEqual(configBefore);
    expect(await (await get('/v1/lookup/restart.example/carol@restart.example')).json()).toEqual(lookupBefore);
    expect(await alarmAt()).not.toBeNull();

    // The next version chains on the history stored before the restart.
    expect(
      (
        await settle(
          post('/v1/bindings?wait=1', publishBody(leaf, 'restart.example', 'carol@restart.example', 2, 'carol 2')),
        )
      ).status,
    ).toBe(200);
    const v = await verifier();
    const h = v.verifyHistory(
      historyFromJson(await (await get('/v1/history/restart.example/carol@restart.example?since=0')).json()),
      'restart.example',
      'carol@restart.example',
      HISTORY_ZERO,
    );
    expect(h.statements.map((s) => s?.version)).toEqual([1, 2]);
  });
});

describe('DoDirectoryStore', () => {
  const b = (fill: number, n = 32) => new Uint8Array(n).fill(fill);

  it('writes an epoch atomically with the log commit, reads it back, and erases', async () => {
    // Another instance of the class (its own storage, emptied first), so the sequencer is left alone.
    await runInDurableObject(env.LOG.get(env.LOG.idFromName('store-scratch')), async (_i, state) => {
      const storage = state.storage;
      storage.sql.exec(
        'DROP TABLE IF EXISTS log_head; DROP TABLE IF EXISTS log_tiles; DROP TABLE IF EXISTS log_bundles;',
      );
      storage.sql.exec(
        'DROP TABLE IF EXISTS dir_accounts; DROP TABLE IF EXISTS dir_names; DROP TABLE IF EXISTS dir_versions; DROP TABLE IF EXISTS dir_credentials; DROP TABLE IF EXISTS dir_epoch;',
      );
      const log = new DoLogStorage(storage);
      const store = new DoDirectoryStore(storage);
      const label = b(7);
      const writes = (epoch: number, version: number): EpochWrites => ({
        names: version === 1 ? [{ provider: 'p.example', account: 'a@p.example', label }] : [],
        accounts: [{ label, version, history: b(10 + version), previousHistory: b(9 + version), vrfProof: b(5, 80) }],
        versions: [
          {
            label,
            version,
            opening: b(20 + version),
            statement: b(30 + version, 40),
            signature: b(40 + version, 64),
            credentialIndex: 0,
            logIndex: 2 * epoch - 1,
          },
        ],
        credentials:
          epoch === 1
            ? [{ logIndex: 0, providerId: 'p.example', fingerprint: b(1), entry: b(2, 50), revokedIndex: null }]
            : [],
        revocations: [],
        erasures: version === 3 ? [{ label, below: 3 }] : [],
        epoch: { epoch, logIndex: 2 * epoch, entry: b(60 + epoch, 90), proof: b(70, 64), checkpoint: `cp ${epoch}\n` },
      });
      const commit = (size: number, w: EpochWrites, fail = false) =>
        log.commit({
          expectedSize: size,
          head: { size: size + 2, checkpoint: `cp ${size + 2}\n` },
          tiles: [],
          bundles: [],
          withinCommit: () => {
            store.epochWriter(w)();
            if (fail) throw new Error('the log refused the batch');
          },
        });

      // A failed commit leaves neither the log nor the directory changed.
      await expect(commit(0, writes(1, 1), true)).rejects.toThrow('the log refused the batch');
      expect(await log.loadHead()).toBeNull();
      expect(await store.accountByName('p.example', 'a@p.example')).toBeUndefined();
      expect(await store.credentials()).toEqual([]);
      expect(await store.latestEpoch()).toBeUndefined();

      await commit(0, writes(1, 1));
      await commit(2, writes(2, 2));
      const named = await store.accountByName('p.example', 'a@p.example');
      expect(named?.account).toEqual({ label, version: 2, history: b(12), previousHistory: b(11), vrfProof: b(5, 80) });
      expect(named?.latest).toEqual(await store.version(label, 2));
      expect(await store.account(label)).toEqual(named?.account);
      expect(await store.account(b(8))).toBeUndefined();
      expect(await store.version(label, 1)).toEqual({
        label,
        version: 1,
        opening: b(21),
        statement: b(31, 40),
        signature: b(41, 64),
        credentialIndex: 0,
        logIndex: 1,
      });
      expect((await store.versions(label, 1, 2)).map((r) => r.version)).toEqual([1, 2]);
      expect(await store.credentials()).toEqual([
        { logIndex: 0, providerId: 'p.example', fingerprint: b(1), entry: b(2, 50), revokedIndex: null },
      ]);
      expect(await store.latestEpoch()).toEqual({
        epoch: 2,
        logIndex: 4,
        entry: b(62, 90),
        proof: b(70, 64),
        checkpoint: 'cp 2\n',
      });
      expect(store.leavesAfter(null, 10)).toEqual([{ label, version: 2, historyHash: b(12) }]);
      expect(store.leavesAfter(label, 10)).toEqual([]);

      // A deletion erases the earlier versions' openings, statements and signatures, and a revocation lands.
      await commit(4, { ...writes(3, 3), revocations: [{ logIndex: 0, revokedIndex: 5 }] });
      expect((await store.versions(label, 1, 3)).map((r) => [r.version, r.opening, r.statement, r.signature])).toEqual([
        [1, null, null, null],
        [2, null, null, null],
        [3, b(23), b(33, 40), b(43, 64)],
      ]);
      expect((await store.credentials())[0].revokedIndex).toBe(5);
      expect(store.afterErasure()).toBe(true); // nothing to do on a Durable Object (api/worker/do-directory-store.ts)
      // Reopening over the same storage sees the same state.
      expect(await new DoDirectoryStore(storage).latestEpoch()).toEqual(await store.latestEpoch());
    });
  });
});
