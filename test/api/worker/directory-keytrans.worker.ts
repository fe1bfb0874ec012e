/**
 * KEYTRANS on the Worker, inside workerd: a provider enrolled with an Ed25519 certificate gets its deployment in the
 * Durable Object's SQLite storage (api/worker/do-deployment-store.ts); statements published with the provider's
 * UpdateTBS signature enter it; the KEYTRANS client (verifier/keytrans-client/client.ts), given only the C2SP pins
 * of /v1/config, verifies searches and owner monitoring and checks each head against the log's checkpoint; the
 * deployments, and a queued statement's UpdateTBS signature (dir_queue_keytrans), survive the object's reset; a
 * deletion erases the earlier versions there; and
 * the `KEYTRANS` and `OBJECT_STORAGE` vars combine as documented (sequencer-state.ts, `runsKeyTrans`).
 */
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { DoDeploymentStores } from '../../../api/worker/do-deployment-store.js';
import { DoDirectoryStore } from '../../../api/worker/do-directory-store.js';
import { DIRECTORY_SCHEMA, QUEUE_QUERIES, QUEUE_SCHEMA } from '../../../log/directory/directory-sql.js';
import { describe, expect, it } from 'vitest';
import { runsKeyTrans } from '../../../api/worker/sequencer-state.js';
import { ConfigError } from '../../../api/wiring/settings.js';
import { KeyTransClient } from '../../../verifier/keytrans-client/client.js';
import { KEYTRANS_MEDIA_TYPE } from '../../../verifier/keytrans/messages.js';
import { decodeConfiguration, encodeUpdateTbs } from '../../../verifier/keytrans/signed-structures.js';
import type { Configuration } from '../../../verifier/keytrans/types.js';
import { CheckpointVerifier } from '../../../verifier/verification/checkpoint-policy.js';
import { fromBase64, toBase64 } from '../../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { signSync } from '../../../wasm-free-crypto/signatures.js';
import { makeLeaf, type PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { get, operator, post, sequencer, settle, testRoot } from './helpers.js';

const PROVIDER = 'keytrans.example';
/** The tables KEYTRANS on the Worker added to the object's database. */
const NEW_TABLES = [
  'dir_queue_keytrans',
  ...['deployments', 'entries', 'log_nodes', 'prefix_nodes', 'anchors', 'versions'].map((t) => `kt_${t}`),
];
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The item of POST /v1/bindings for `account` version `version`, with the UpdateTBS signature of `config`. */
function signedItem(leaf: PkiCert, config: Configuration, account: string, version: number, deleted = false) {
  const seed = deleted ? null : `${account} ${version}`;
  const item = signStatement('ed25519', leaf.secretKey, statementOf(PROVIDER, account, version, Date.now(), seed));
  const tbs = encodeUpdateTbs(config, utf8(account), version - 1, fromBase64(item.statement));
  return { ...item, keytrans_signature: toBase64(signSync('ed25519', leaf.secretKey, tbs)) };
}

async function keytransConfig(): Promise<Configuration> {
  const res = await get(`/keytrans/v1/${PROVIDER}/config`);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('content-type')).toBe(KEYTRANS_MEDIA_TYPE);
  return decodeConfiguration(new Uint8Array(await res.arrayBuffer()));
}

/** A KEYTRANS client of the Worker, pinned to the log's origin and key from /v1/config, its state in memory. */
async function keytransClient(): Promise<KeyTransClient> {
  const c = (await (await get('/v1/config')).json()) as { origin: string; logKey: string };
  const checkpoints = new CheckpointVerifier({ origin: c.origin, logKey: parseVerifierKey(c.logKey) });
  let kept: string | undefined;
  const store = { load: async () => kept, save: async (text: string) => void (kept = text) };
  const fetch = (url: string, init?: RequestInit) => get(url.slice('https://kt.example'.length), init);
  return new KeyTransClient({ server: 'https://kt.example', provider: PROVIDER, fetch, checkpoints, store });
}

describe('KEYTRANS on the Worker', () => {
  it('serves a deployment from the object that the KEYTRANS client verifies and anchors, across a reset', async () => {
    const leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    // The epoch after the enrolment makes the deployment (an account published without KEYTRANS closes one).
    const unsigned = signStatement('ed25519', leaf.secretKey, statementOf(PROVIDER, 'carol', 1, Date.now(), 'c'));
    expect((await settle(post('/v1/bindings?wait=1', { statements: [unsigned] }))).status).toBe(200);
    const config = await keytransConfig();
    expect(config.mode).toBe('thirdPartyManagement');
    expect(config.leafPublicKey).toEqual(leaf.publicKey);

    const items = [signedItem(leaf, config, 'alice', 1), signedItem(leaf, config, 'alice', 2)];
    for (const item of items)
      expect((await settle(post('/v1/bindings?wait=1', { statements: [item] }))).status).toBe(200);
    const client = await keytransClient();
    const found = await client.search('alice');
    expect(found.version).toBe(1);
    expect(found.value).toEqual(fromBase64(items[1].statement));
    expect((await client.search('alice', 0)).value).toEqual(fromBase64(items[0].statement));
    const owned = await client.ownerMonitor('alice'); // initialised at the rightmost distinguished entry
    expect(owned.treeSize).toBe(found.treeSize);
    expect([0, 1]).toContain(owned.version);

    // Accepted (202, its signature in dir_queue_keytrans), then the object is reset before any epoch takes it.
    const queued = signedItem(leaf, config, 'alice', 3);
    expect((await post('/v1/bindings', { statements: [queued] })).status).toBe(202);
    await abortAllDurableObjects();
    await runDurableObjectAlarm(sequencer());
    const later = await client.search('alice');
    expect(later.version).toBe(2);
    expect(later.value).toEqual(fromBase64(queued.statement));
    expect(later.treeSize).toBeGreaterThan(found.treeSize);
    expect((await client.ownerMonitor('alice')).treeSize).toBe(later.treeSize);

    // A deletion erases the earlier versions' openings and values in the object's deployment too.
    const deleted = signedItem(leaf, config, 'alice', 4, true);
    expect((await settle(post('/v1/bindings?wait=1', { statements: [deleted] }))).status).toBe(200);
    expect((await client.search('alice')).value).toEqual(fromBase64(deleted.statement));
    for (const v of [0, 1, 2])
      await expect(client.search('alice', v)).rejects.toMatchObject({ code: 'kt_version_erased' });
  });

  it('adds the KEYTRANS tables in place to a Durable Object storage written before them, keeping its queue', async () => {
    await runInDurableObject(env.LOG.get(env.LOG.idFromName('keytrans-upgrade')), async (_i, state) => {
      const sql = state.storage.sql;
      // What the release before KEYTRANS on the Worker left: the directory's tables and its queue, one row queued
      // (the object made the newer tables when it opened: they are dropped first).
      for (const table of NEW_TABLES) sql.exec(`DROP TABLE IF EXISTS ${table}`);
      sql.exec(DIRECTORY_SCHEMA);
      sql.exec(QUEUE_SCHEMA);
      const row = [Uint8Array.of(1), 1, Uint8Array.of(1, 2, 3), Uint8Array.of(2), 0, Uint8Array.of(3), 1000, 2000];
      const bound = row.map((v) => (v instanceof Uint8Array ? v.slice().buffer : v));
      sql.exec(QUEUE_QUERIES.put, ...bound).toArray(); // RETURNING id: the cursor read to its end
      const tables = () =>
        sql
          .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
          .toArray()
          .filter((t) => NEW_TABLES.includes(t.name)).length;
      expect(tables()).toBe(0);
      const store = new DoDirectoryStore(state.storage);
      const stores = new DoDeploymentStores(state.storage);
      expect(tables()).toBe(NEW_TABLES.length);
      expect((await store.queued()).map((q) => [q.version, q.keytransSignature])).toEqual([[1, null]]);
      expect(stores.configured()).toEqual(new Map());
      expect(stores.anchor(1)).toBeNull();
    });
  });

  it('answers a provider without a deployment with a typed 404', async () => {
    const res = await get('/keytrans/v1/nobody.example/config');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('runs KEYTRANS by default with OBJECT_STORAGE "full", not with "edge", and refuses KEYTRANS = 1 with "edge"', () => {
    expect(runsKeyTrans({}, true)).toBe(true);
    expect(runsKeyTrans({ KEYTRANS: '0' } as never, false)).toBe(false);
    expect(runsKeyTrans({ OBJECT_STORAGE: 'edge' }, true)).toBe(false);
    expect(runsKeyTrans({ OBJECT_STORAGE: 'edge', KEYTRANS: '0' } as never, false)).toBe(false);
    expect(() => runsKeyTrans({ OBJECT_STORAGE: 'edge', KEYTRANS: '1' } as never, true)).toThrow(ConfigError);
  });
});
