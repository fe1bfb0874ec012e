/**
 * The rows an edge object's KEYTRANS store fetches from D1 (api/worker/edge-deployment-store.ts) may be older
 * than rows the object still holds (D1 not yet at the epoch that wrote them): the object's row answers while it
 * holds it, and once a trim deletes it, what was fetched before the trim is forgotten and read again. Here:
 * epoch E's rows are hidden from D1 (D1 not yet at E), a settle of the next epoch's insertion runs (as an epoch
 * that then fails before its append would), E is replicated and trimmed: the row is then refused as `busy`
 * outside a settle, not answered from the older fetch, and the next epoch signs the prefix root of its leaves.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { indexLayout } from '../../../api/worker/d1-layout.js';
import type { EdgeDeploymentStore } from '../../../api/worker/edge-deployment-store.js';
import { pathOf, siblingKey } from '../../../log/keytrans/deployment-store.js';
import { insertPrefixLeaves } from '../../../log/keytrans/prefix-insert.js';
import { prefixTreeRoot } from '../../../verifier/keytrans/prefix-tree.js';
import { KT_128_SHA256_Ed25519 } from '../../../verifier/keytrans/suites.js';
import { encodeVrfInput } from '../../../verifier/keytrans/signed-structures.js';
import type { Configuration } from '../../../verifier/keytrans/types.js';
import { toHex, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { makeLeaf, type PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { inSequencer, operator, post, settle, testRoot } from './helpers.js';
import { d1PrefixTree, keytransConfig, signedItem, trimAll } from './keytrans-helpers.js';

const PROVIDER = 'kt-stale.example';
const ACCOUNTS = Array.from({ length: 24 }, (_, i) => `s${i}`);
const KEPT = 2;

type Deployment = { store: EdgeDeploymentStore; operator: { vrf(i: Uint8Array): { output: Uint8Array } } };
const deployment = (o: { directory: unknown }) =>
  (o.directory as { opts: { keytrans: { byProvider: Map<string, Deployment> } } }).opts.keytrans.byProvider.get(
    PROVIDER,
  )!;

describe('rows fetched from D1 older than the rows the object held', () => {
  let leaf: PkiCert;
  let config: Configuration;
  const item = (account: string, version: number) => signedItem(PROVIDER, leaf, config, account, version);

  it('are not used once a trim deletes the newer rows (the signed prefix root stays the tree of its leaves)', async () => {
    leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    const unsigned = signStatement('ed25519', leaf.secretKey, statementOf(PROVIDER, 'plain', 1, Date.now(), 'p'));
    expect((await settle(post('/v1/bindings?wait=1', { statements: [unsigned] }))).status).toBe(200);
    config = await keytransConfig(PROVIDER);
    expect((await settle(post('/v1/bindings?wait=1', { statements: ACCOUNTS.map((a) => item(a, 1)) }))).status).toBe(
      200,
    );
    await trimAll(KEPT);
    // Epoch E: new keys; the object holds E's rows (replicated by the alarm, but not yet trimmed).
    const atE = [item('e-0', 1)];
    expect((await settle(post('/v1/bindings?wait=1', { statements: atE }))).status).toBe(200);

    const layout = indexLayout(env)!;
    // A label of the next epoch whose path first misses a trimmed node M whose sibling S was written at E (held).
    const found = await inSequencer(async (o, storage) => {
      const d = deployment(o);
      const [{ id }] = storage.sql
        .exec<{ id: number }>('SELECT id FROM kt_deployments WHERE provider = ?', PROVIDER)
        .toArray();
      const pE = d.store.size() - 1;
      const heldAt = (depth: number, path: Uint8Array) =>
        storage.sql
          .exec<{ position: number }>(
            'SELECT position FROM kt_prefix_nodes WHERE deployment = ? AND depth = ? AND path = ? ORDER BY position DESC LIMIT 1',
            id,
            depth,
            path,
          )
          .toArray()[0]?.position;
      for (let i = 0; i < 400; i++) {
        const account = `f-${i}`;
        const key = d.operator.vrf(encodeVrfInput({ label: utf8(account), version: 0 })).output;
        let depth = 0;
        while (depth < 64 && heldAt(depth, pathOf(key, depth)) !== undefined) depth++;
        if (depth !== KEPT) continue; // its parent kept by the object: the retried walk misses nothing above it
        const s = pathOf(siblingKey(key, depth), depth);
        if (heldAt(depth, s) !== pE) continue;
        return { account, key, depth, s, pE };
      }
      return undefined;
    });
    expect(found).toBeDefined();
    const { account, key, depth, s, pE } = found!;
    const sName = `${depth}:${toHex(s)}`;

    // D1 not yet at E (as when E's replication failed): its rows of position E hidden.
    type Row = Record<string, unknown>;
    const hidden: { db: (typeof layout.shards)[number]; rows: Row[] }[] = [];
    for (const db of layout.shards) {
      const { results } = await db
        .prepare('SELECT * FROM ktr_prefix_nodes WHERE provider = ? AND position = ?')
        .bind(PROVIDER, pE)
        .all<Row>();
      hidden.push({ db, rows: results });
      await db.prepare('DELETE FROM ktr_prefix_nodes WHERE provider = ? AND position = ?').bind(PROVIDER, pE).run();
    }

    // The next epoch's insertion settles (then, say, the epoch fails before its append: D1, a VRF, the log).
    const cached = await inSequencer(async (o) => {
      const { store } = deployment(o);
      const insert = () =>
        insertPrefixLeaves(KT_128_SHA256_Ed25519, (dp, path, k) => store.prefixNode(dp, path, pE, k), [
          { vrfOutput: key, commitment: new Uint8Array(32) },
        ]);
      await store.settle(() => void insert());
      const fetched = (store as unknown as { nodes: Map<string, unknown> }).nodes.get(sName);
      const own = store.prefixNode(depth, s, pE);
      return { fetched: JSON.stringify(fetched), own: JSON.stringify(own) };
    });
    expect(cached.fetched).not.toBe(cached.own); // D1's older S, fetched beside the missed M

    // E reaches D1, and the object trims its rows of E.
    for (const { db, rows } of hidden)
      for (const r of rows)
        await db
          .prepare('INSERT INTO ktr_prefix_nodes (provider, depth, path, position, node) VALUES (?, ?, ?, ?, ?)')
          .bind(r.provider, r.depth, r.path, r.position, r.node)
          .run();
    expect(await trimAll(KEPT)).toBeGreaterThan(0);
    const read = await inSequencer(async (o) => {
      try {
        return JSON.stringify(deployment(o).store.prefixNode(depth, s, pE));
      } catch (e) {
        return (e as { code?: string }).code;
      }
    });
    expect(read).toBe('busy'); // not the older row fetched before the trim: neither held nor fetched since

    // The epoch again: the insertion through M reads S from D1 again, as the trim left it (E's row).
    expect((await settle(post('/v1/bindings?wait=1', { statements: [item(account, 1)] }))).status).toBe(200);
    await inSequencer(async (o) => void (await o.replica!.replicate()));
    const tree = await d1PrefixTree(PROVIDER);
    expect(tree.leaves).toHaveLength(ACCOUNTS.length + atE.length + 1);
    expect(toHex(prefixTreeRoot(KT_128_SHA256_Ed25519, tree.leaves))).toBe(toHex(tree.root));
  });

  it("refuses an older epoch's anchor, which the trim left in D1 only, as busy (not as an epoch without one)", async () => {
    await trimAll(KEPT);
    const codes = await inSequencer(async (o) => {
      type Stores = { anchor(e: number): unknown };
      const { stores } = (o.directory as unknown as { opts: { keytrans: { stores: Stores } } }).opts.keytrans;
      const epoch = o.directory!.servedSnapshot.epoch;
      const codeOf = (e: number) => {
        try {
          return stores.anchor(e) ? 'anchor' : 'none';
        } catch (err) {
          return (err as { code?: string }).code;
        }
      };
      return { newest: codeOf(epoch), older: codeOf(epoch - 1), later: codeOf(epoch + 1) };
    });
    expect(codes).toEqual({ newest: 'anchor', older: 'busy', later: 'none' });
  });
});
