/**
 * A shard of the D1 replica that went back to before a KEYTRANS deletion (restored from Time Travel, or another
 * copy bound in its place) while the meta database did not: the isolate's KEYTRANS reads
 * (api/worker/d1-keytrans-reader.ts) go with each database's marker, so the isolate does not answer from it, with
 * the erased version's value; the object answers (410), as for the directory's reads (d1-restored-shard.worker.ts).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { indexLayout } from '../../../api/worker/d1-layout.js';
import { keyTransLabelShard } from '../../../api/worker/d1-keytrans.js';
import { replicatedEpoch } from '../../../api/worker/d1-replica.js';
import { fromBase64, toHex } from '../../../wasm-free-crypto/bytes.js';
import { makeLeaf } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import {
  get,
  inSequencer,
  invocations,
  operator,
  post,
  sequencer,
  settle,
  testRoot,
  backupTables,
  restoreTables,
} from './helpers.js';
import { keytransConfig, searchRequest, signedItem } from './keytrans-helpers.js';

const PROVIDER = 'ktrestored.example';
const layout = () => indexLayout(env)!;
const utf8 = (s: string) => new TextEncoder().encode(s);
const TABLES = [
  'ktr_versions',
  'ktr_prefix_nodes',
  'dir_accounts',
  'dir_versions',
  'dir_map_rows',
  'dir_name_labels',
  'dir_replica',
];

describe('a shard restored to before a KEYTRANS deletion', () => {
  it('is not answered from by the isolate', async () => {
    const leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    const unsigned = signStatement('ed25519', leaf.secretKey, statementOf(PROVIDER, 'carol', 1, Date.now(), 'c'));
    expect((await settle(post('/v1/bindings?wait=1', { statements: [unsigned] }))).status).toBe(200);
    const config = await keytransConfig(PROVIDER);
    // An account whose KEYTRANS versions are in shard 1 (not the meta database).
    const account = Array.from({ length: 64 }, (_, i) => `erased${i}`).find(
      (a) => keyTransLabelShard(PROVIDER, utf8(a), layout().bits) === 1,
    )!;
    const first = signedItem(PROVIDER, leaf, config, account, 1);
    expect((await settle(post('/v1/bindings?wait=1', { statements: [first] }))).status).toBe(200);
    const shard = layout().shards[1];
    const copy = await backupTables(shard, TABLES);
    // Deleted: version 1's opening and value are erased, in the object and in D1.
    const deleted = signedItem(PROVIDER, leaf, config, account, 2, true);
    expect((await settle(post('/v1/bindings?wait=1', { statements: [deleted] }))).status).toBe(200);
    const epoch = await inSequencer(async (o) => o.directory.epoch);
    await restoreTables(shard, copy); // Time Travel, or another copy bound in its place
    expect(await replicatedEpoch(shard)).toBeLessThan(epoch);

    const path = `/keytrans/v1/${PROVIDER}/search`;
    const object = await sequencer().fetch(
      new Request(`https://kt.example${path}`, searchRequest(config, account, 0, '10.42.0.1')),
    );
    expect(object.status).toBe(410); // the object: erased
    const before = await invocations();
    const isolate = await get(path, searchRequest(config, account, 0, '10.42.0.1'));
    const answer = new Uint8Array(await isolate.arrayBuffer());
    expect(isolate.status).toBe(410); // the object's answer: erased
    expect(await invocations()).toBeGreaterThan(before);
    expect(toHex(answer)).not.toContain(toHex(fromBase64(first.statement)));
  });
});
