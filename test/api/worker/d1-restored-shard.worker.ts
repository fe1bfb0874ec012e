/**
 * A shard of the D1 replica that went back (restored from D1's Time Travel, or a copy bound in its place) while the
 * meta database did not: its marker is below the served epoch and its rows are an older epoch's. The isolate's
 * reader (api/worker/d1-reader.ts) reads the label's shard with its marker and does not answer from it: the object
 * answers instead, with the current version, and its proof verifies; until the next replication run refills the
 * replica, after which the isolate answers again.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { indexLayout, labelShard } from '../../../api/worker/d1-layout.js';
import { replicateOutbox, replicatedEpoch } from '../../../api/worker/d1-replica.js';
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
  verifiedLookup,
  backupTables,
  restoreTables,
} from './helpers.js';

const PROVIDER = 'd1.example';
const TABLES = ['dir_accounts', 'dir_versions', 'dir_map_rows', 'dir_name_labels', 'dir_replica'];
const layout = () => indexLayout(env)!;

const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());
const objectAnswer = (path: string) => sequencer().fetch(new Request(`https://kt.example${path}`));

describe('a shard of the replica that went back', () => {
  it('is not read: the object answers until the replica is refilled', async () => {
    const leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    const accounts = Array.from({ length: 8 }, (_, i) => `restored${i}@d1.example`);
    const publish = (account: string, version: number) =>
      signStatement(
        'ed25519',
        leaf.secretKey,
        statementOf(PROVIDER, account, version, Date.now(), `${account} ${version}`),
      );
    const published = await settle(post('/v1/bindings?wait=1', { statements: accounts.map((a) => publish(a, 1)) }));
    expect(published.status).toBe(200);
    // An account whose label is in shard 1 (not the meta database).
    const labels = await inSequencer(async (o) =>
      Promise.all(accounts.map(async (a) => (await o.directory.store.accountByName(PROVIDER, a))!.account.label)),
    );
    const account = accounts[labels.findIndex((l) => labelShard(l, layout().bits) === 1)];
    const shard = layout().shards[1];
    const copy = await backupTables(shard, TABLES);
    // Two more versions of it, replicated, then the shard put back as it was.
    for (const v of [2, 3])
      expect((await settle(post('/v1/bindings?wait=1', { statements: [publish(account, v)] }))).status).toBe(200);
    const epoch = await inSequencer(async (o) => o.directory.epoch);
    await restoreTables(shard, copy);
    expect(await replicatedEpoch(shard)).toBeLessThan(epoch);
    const path = `/v1/lookup/${PROVIDER}/${encodeURIComponent(account)}`;
    const before = await invocations();
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    const res = await get(path, { headers: { 'cf-connecting-ip': '10.9.0.1' } }).finally(() => spy.mockRestore());
    expect(res.status).toBe(200);
    // Logged once, as a warning naming the database's epoch: a 503 busy of the read app, not an internal error.
    const events = lines.map((l) => JSON.parse(l)).filter((o) => o.event !== 'request');
    expect(events.filter((o) => o.answeredBy === undefined || o.event === 'd1_read_failed')).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'd1_read_failed',
        status: 503,
        code: 'busy',
        message: expect.stringMatching(/^a database of the replica is at epoch \d+, not \d+$/),
      }),
    ]);
    expect(await bytesOf(res.clone())).toEqual(await bytesOf(await objectAnswer(path)));
    expect(await invocations()).toBeGreaterThan(before); // the object answered
    expect(await verifiedLookup(PROVIDER, account, '10.9.0.2')).toEqual(['present', 3]);
    // The next replication run refills the replica; the isolate answers again.
    await inSequencer(async (_o, storage) => {
      let run = await replicateOutbox(storage, layout());
      while (run.more) run = await replicateOutbox(storage, layout());
    });
    expect(await replicatedEpoch(shard)).toBe(epoch);
    const again = await invocations();
    const answered = await get(path, { headers: { 'cf-connecting-ip': '10.9.0.3' } });
    expect([answered.status, await invocations()]).toEqual([200, again]); // the isolate answered
    expect(await verifiedLookup(PROVIDER, account, '10.9.0.4')).toEqual(['present', 3]);
  });
});
