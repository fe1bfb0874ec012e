/**
 * KEYTRANS on an object that moves its bulk to D1 (api/worker/object-trim.ts, edge-deployment-store.ts), in workerd
 * with two index shards: once trimmed, the object keeps of a deployment only its last log entry, its log tree's
 * right edge, the newest rows of its prefix tree's upper levels and the last anchor; rotations and new accounts are
 * accepted and committed reading the rest from D1; the KEYTRANS client verifies them (the isolate answering from
 * D1); the prefix tree D1 holds recomputes, from its leaves alone, to the root of the newest log entry; and the
 * object refuses (503 `busy`) the KEYTRANS answers it can no longer give, never answering from rows it lacks; and
 * D1 is read only once the object has replicated since it opened, and only where D1 is at or past that epoch.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { indexLayout, REPLICA_QUERIES } from '../../../api/worker/d1-layout.js';
import { EdgeDeploymentStores } from '../../../api/worker/edge-deployment-store.js';
import { encodeMessage, KEYTRANS_MEDIA_TYPE } from '../../../verifier/keytrans/messages.js';
import { prefixTreeRoot } from '../../../verifier/keytrans/prefix-tree.js';
import { KT_128_SHA256_Ed25519 } from '../../../verifier/keytrans/suites.js';
import type { Configuration } from '../../../verifier/keytrans/types.js';
import { fromBase64, toHex, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { makeLeaf, type PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { inSequencer, operator, post, sequencer, settle, testRoot } from './helpers.js';
import { d1PrefixTree, keytransClient, keytransConfig, signedItem, trimAll } from './keytrans-helpers.js';

const PROVIDER = 'kt-trim.example';
const ACCOUNTS = Array.from({ length: 24 }, (_, i) => `k${i}`);

/** The object's KEYTRANS rows of PROVIDER's deployment, by table, and how many prefix-tree names they hold. */
const objectRows = () =>
  inSequencer(async (_o, storage) => {
    const [{ id }] = storage.sql
      .exec<{ id: number }>('SELECT id FROM kt_deployments WHERE provider = ?', PROVIDER)
      .toArray();
    const count = (q: string) => storage.sql.exec<{ n: number }>(q, id).toArray()[0].n;
    const size = count('SELECT MAX(position) + 1 AS n FROM kt_entries WHERE deployment = ?');
    return {
      size,
      versions: count('SELECT COUNT(*) AS n FROM kt_versions WHERE deployment = ?'),
      entries: count('SELECT COUNT(*) AS n FROM kt_entries WHERE deployment = ?'),
      logNodes: count('SELECT COUNT(*) AS n FROM kt_log_nodes WHERE deployment = ?'),
      deepNodes: count('SELECT COUNT(*) AS n FROM kt_prefix_nodes WHERE deployment = ? AND depth >= 2'),
      upperRows: count('SELECT COUNT(*) AS n FROM kt_prefix_nodes WHERE deployment = ?'),
      upperNames: count('SELECT COUNT(DISTINCT depth || path) AS n FROM kt_prefix_nodes WHERE deployment = ?'),
      anchors: count('SELECT COUNT(*) + 0 * ? AS n FROM kt_anchors'),
    };
  });

/** The number of 1 bits of `n`: the balanced subtrees of a log of n entries. */
const ones = (n: number) => n.toString(2).replaceAll('0', '').length;

describe('KEYTRANS on an object that moved its bulk to D1', () => {
  let leaf: PkiCert;
  let config: Configuration;
  const item = (account: string, version: number) => signedItem(PROVIDER, leaf, config, account, version);

  it('keeps only what its writer needs, and commits rotations and new accounts reading the rest from D1', async () => {
    leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    const unsigned = signStatement('ed25519', leaf.secretKey, statementOf(PROVIDER, 'plain', 1, Date.now(), 'p'));
    expect((await settle(post('/v1/bindings?wait=1', { statements: [unsigned] }))).status).toBe(200);
    config = await keytransConfig(PROVIDER);
    const first = ACCOUNTS.map((a) => item(a, 1));
    expect((await settle(post('/v1/bindings?wait=1', { statements: first }))).status).toBe(200);

    expect(await trimAll(2)).toBeGreaterThan(ACCOUNTS.length);
    const trimmed = await objectRows();
    expect(trimmed).toMatchObject({ versions: 0, entries: 1, deepNodes: 0, anchors: 1 });
    expect(trimmed.logNodes).toBe(ones(trimmed.size)); // the right edge
    expect(trimmed.upperRows).toBe(trimmed.upperNames); // the newest row of each upper name
    expect(trimmed.upperNames).toBeGreaterThan(0);

    // Accepted against D1's versions: a rotation without its UpdateTBS signature is refused, with it accepted.
    const bare = signStatement('ed25519', leaf.secretKey, statementOf(PROVIDER, ACCOUNTS[0], 2, Date.now(), 'x'));
    const refused = await post('/v1/bindings', { statements: [bare] });
    expect(await refused.json()).toMatchObject({ error: { code: 'bad_keytrans_update' } });
    // More new keys in one epoch than a settle has rounds: each round fetches what every key missed.
    const many = Array.from({ length: 40 }, (_, i) => item(`more-${i}`, 1));
    const second = [item(ACCOUNTS[0], 2), item(ACCOUNTS[1], 2), item('new-1', 1), item('new-2', 1), ...many];
    expect((await settle(post('/v1/bindings?wait=1', { statements: second }))).status).toBe(200);
    expect(await trimAll(2)).toBeGreaterThan(0);
    const third = [item(ACCOUNTS[0], 3), item('new-1', 2), item('new-3', 1)];
    expect((await settle(post('/v1/bindings?wait=1', { statements: third }))).status).toBe(200);
    await inSequencer(async (o) => void (await o.replica!.replicate()));

    // A client address per account searched: a search costs a lookup of an unknown name (6 tokens) and its
    // anchor one more, so nine of them from one address pass the default burst of 60 on a fast machine.
    const clientFor = (n: number) => keytransClient(PROVIDER, `10.18.1.${n}`);
    let n = 0;
    for (const [account, version, statement] of [
      [ACCOUNTS[0], 2, third[0].statement],
      [ACCOUNTS[1], 1, second[1].statement],
      [ACCOUNTS[7], 0, first[7].statement],
      ['new-1', 1, third[1].statement],
      ['new-2', 0, second[3].statement],
      ['new-3', 0, third[2].statement],
      ['more-39', 0, many[39].statement],
    ] as const) {
      const found = await (await clientFor(n++)).search(account);
      expect([account, found.version]).toEqual([account, version]);
      expect(found.value).toEqual(fromBase64(statement));
    }
    const client = await clientFor(n);
    expect((await client.search(ACCOUNTS[0], 1)).value).toEqual(fromBase64(second[0].statement));
    expect((await client.search(ACCOUNTS[0], 0)).value).toEqual(fromBase64(first[0].statement));

    // Recomputed from D1's leaves alone: the root of the newest log entry.
    const tree = await d1PrefixTree(PROVIDER);
    expect(tree.leaves).toHaveLength(ACCOUNTS.length + second.length + third.length);
    expect(toHex(prefixTreeRoot(KT_128_SHA256_Ed25519, tree.leaves))).toBe(toHex(tree.root));
  });

  it('refuses the KEYTRANS answers it can no longer give from its own rows (503 busy)', async () => {
    await trimAll(2);
    const body = encodeMessage(
      'SearchRequest',
      { last: null, label: utf8(ACCOUNTS[3]), version: null },
      { suite: 2, mode: config.mode },
    ) as Uint8Array<ArrayBuffer>;
    const res = await sequencer().fetch(
      new Request(`https://kt.example/keytrans/v1/${PROVIDER}/search`, {
        method: 'POST',
        headers: { 'Content-Type': KEYTRANS_MEDIA_TYPE, 'cf-connecting-ip': '10.18.0.2' },
        body,
      }),
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'busy' } });
  });

  it('reads D1 only at or past the epoch it last replicated, and never takes a row it lacks as empty', async () => {
    const layout = indexLayout(env)!;
    const setMarkers = (epoch: number) =>
      Promise.all(layout.shards.map((db) => db.prepare(REPLICA_QUERIES.setMarker).bind(epoch).run()));
    const marker = (await layout.meta.prepare(REPLICA_QUERIES.marker).first<{ epoch: number }>())!.epoch;
    const outcome = await inSequencer(async (_o, storage) => {
      const replica = { trimmed: true, replicatedEpoch: undefined as number | undefined, trims: 0 };
      const store = new EdgeDeploymentStores(storage, layout, replica).open(PROVIDER, config);
      const label = utf8(ACCOUNTS[5]);
      const codeOf = (p: Promise<unknown>) =>
        p.then(
          () => 'read',
          (e: { code?: string }) => e.code,
        );
      const count = () => store.settle(() => void store.versionCount(label));
      const codes = [await codeOf(count())]; // not replicated to since it opened
      replica.replicatedEpoch = marker;
      await setMarkers(marker - 1);
      codes.push(await codeOf(count())); // D1 went back behind it
      await setMarkers(marker);
      codes.push(await codeOf(count()));
      const held = store.versionCount(label); // fetched by the last settle
      let outside: unknown;
      try {
        store.prefixNode(8, new Uint8Array(1), store.size() - 1); // trimmed, and not fetched
      } catch (e) {
        outside = (e as { code?: string }).code;
      }
      return { codes, held, outside };
    });
    expect(outcome).toEqual({ codes: ['busy', 'busy', 'read'], held: 1, outside: 'busy' });
  });
});
