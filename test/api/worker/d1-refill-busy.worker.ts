/**
 * A refill of D1 (api/worker/d1-refill.ts) that copies fewer rows per run than the epochs closed between its runs
 * append: each epoch adds more accounts than a run copies, and their KEYTRANS rows (entries, log nodes, prefix-tree
 * nodes, versions) many times more. Accounts and KEYTRANS rows are only appended, and those of the epochs closed
 * since the refill began are in the outbox, written at its finish; so the refill copies only what the object held
 * when it began (its caps), and ends. Without the caps it chased the new rows for ever. After it, D1 holds every
 * row the object does, and the isolate answers lookups and KEYTRANS searches of accounts made during the refill
 * as the object does, without calling it.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { indexLayout } from '../../../api/worker/d1-layout.js';
import { replicateOutbox } from '../../../api/worker/d1-replica.js';
import type { Configuration } from '../../../verifier/keytrans/types.js';
import { makeLeaf, type PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import {
  supersededKeys,
  expectEpochsReadAsHeads,
  get,
  inSequencer,
  invocations,
  operator,
  post,
  sequencer,
  settle,
  testRoot,
} from './helpers.js';
import { keytransConfig, searchRequest, signedItem } from './keytrans-helpers.js';

const PROVIDER = 'busy.example';
const layout = () => indexLayout(env)!;
const TABLES = ['accounts', 'versions', 'name_labels'] as const;
const KEYTRANS_TABLES = ['entries', 'log_nodes', 'prefix_nodes', 'versions'] as const;

/** Rows of each table: the object's (`dir_X`, `kt_X`) and D1's, summed over the databases (`dir_X`, `ktr_X`). */
async function rowCounts(): Promise<{ object: number[]; d1: number[] }> {
  const object = await inSequencer(async (_o, storage) =>
    [...TABLES.map((t) => `dir_${t === 'name_labels' ? 'names' : t}`), ...KEYTRANS_TABLES.map((t) => `kt_${t}`)].map(
      (t) => storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`).one().n,
    ),
  );
  const d1: number[] = [];
  for (const t of [...TABLES.map((t) => `dir_${t}`), ...KEYTRANS_TABLES.map((t) => `ktr_${t}`)]) {
    let n = 0;
    for (const db of layout().shards)
      n += (await db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).first<{ n: number }>())!.n;
    d1.push(n);
  }
  return { object, d1 };
}

/** Publishes `accounts` (version 1, with their KEYTRANS updates) and closes the epoch without the alarm. */
async function publishUnreplicated(leaf: PkiCert, config: Configuration, accounts: string[]): Promise<void> {
  const statements = accounts.map((a) => signedItem(PROVIDER, leaf, config, a, 1));
  expect((await post('/v1/bindings', { statements })).status).toBe(202);
  await inSequencer(async (open) => void (await open.directory.closeEpoch(false)));
}

describe('a refill while each epoch appends more rows than a run copies', () => {
  it('copies what the object held when it began, ends, and D1 then answers as the object', async () => {
    const leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    // A first statement gives the deployment its first tree head, and with it a configuration to sign against.
    const first = signStatement('ed25519', leaf.secretKey, statementOf(PROVIDER, 'first', 1, Date.now(), 'f'));
    expect((await settle(post('/v1/bindings?wait=1', { statements: [first] }))).status).toBe(200);
    const config = await keytransConfig(PROVIDER);
    const early = Array.from({ length: 6 }, (_, i) => `early${i}`);
    const statements = early.map((a) => signedItem(PROVIDER, leaf, config, a, 1));
    expect((await settle(post('/v1/bindings?wait=1', { statements }))).status).toBe(200);
    // Shard 1 went back: the next run begins a refill, 5 rows a run (a chunk of 5 accounts, or of 5 rows).
    await layout().shards[1].prepare('DELETE FROM dir_replica').run();
    const replicate = () => inSequencer((_o, s) => replicateOutbox(s, layout(), {}, { refillRows: 5 }));
    let run = await replicate();
    expect(run.refilling).toBe(true);
    // Six new accounts an epoch between runs: more accounts than a run copies, and dozens of KEYTRANS rows.
    let made = 0;
    while (run.refilling) {
      await publishUnreplicated(
        leaf,
        config,
        Array.from({ length: 6 }, () => `late${made++}`),
      );
      run = await replicate();
      if (made > 6 * 60) throw new Error('the refill does not end');
    }
    expect(run.upTo).toBe(await inSequencer(async (o) => o.directory.epoch));
    const { object, d1 } = await rowCounts();
    expect(d1).toEqual(object);
    await expectEpochsReadAsHeads(layout(), run.upTo, run.upTo);
    // The last account made during the refill, and the first: the isolate answers as the object, alone.
    for (const account of [`late${made - 1}`, 'late0']) {
      for (const [path, init] of [
        [`/v1/lookup/${PROVIDER}/${account}`, { headers: { 'cf-connecting-ip': '10.43.0.2' } }],
        [`/keytrans/v1/${PROVIDER}/search`, searchRequest(config, account, null, '10.43.0.1')],
      ] as const) {
        const expected = await sequencer().fetch(new Request(`https://kt.example${path}`, searchRequestOr(init)));
        const before = await invocations();
        const res = await get(path, searchRequestOr(init));
        expect([res.status, await invocations()], path).toEqual([200, before]);
        expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array(await expected.arrayBuffer()));
      }
    }
  });

  it('goes on with a refill begun by the release before, which recorded no caps, to the end of every table', async () => {
    // Between runs no epoch closes, so copying to the end ends (this file's first test made the accounts and rows).
    await layout().shards[1].prepare('DELETE FROM dir_replica').run();
    const replicate = () => inSequencer((_o, s) => replicateOutbox(s, layout(), {}, { refillRows: 50 }));
    let run = await replicate();
    expect(run.refilling).toBe(true);
    await inSequencer(async (_o, storage) => void storage.sql.exec('DROP TABLE dir_refill_bounds'));
    for (let runs = 0; run.refilling; runs++) {
      expect(runs, 'the refill ends').toBeLessThan(200);
      run = await replicate();
    }
    const { object, d1 } = await rowCounts();
    expect(d1).toEqual(object);
    await expectEpochsReadAsHeads(layout(), run.upTo, run.upTo);
  });
});

/** A fresh copy of a request's init (a body is read once). */
function searchRequestOr(init: RequestInit): RequestInit {
  return { ...init, body: init.body instanceof Uint8Array ? init.body.slice() : init.body };
}

describe('a refill after which many epochs closed', () => {
  it('replays them a budget at a time before its finish, which replays at most 16', async () => {
    const provider = 'burst.example';
    const leaf = await makeLeaf(await testRoot(), { dnsNames: [provider], keyType: 'p256' });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    const statement = (account: string, version: number) =>
      signStatement(
        'p256',
        leaf.secretKey,
        statementOf(provider, account, version, Date.now(), `${account} ${version}`),
      );
    const accounts = Array.from({ length: 8 }, (_, i) => `burst${i}`);
    const published = await settle(post('/v1/bindings?wait=1', { statements: accounts.map((a) => statement(a, 1)) }));
    expect(published.status).toBe(200);
    await layout().shards[1].prepare('DELETE FROM dir_replica').run();
    const replicate = () => inSequencer((_o, s) => replicateOutbox(s, layout(), {}, { refillRows: 5 }));
    let run = await replicate();
    expect(run.refilling).toBe(true);
    // A burst of 40 epochs while the refill copies, each rotating one account, then none.
    for (let i = 0; i < 40; i++) {
      const rotation = statement(accounts[i % 8], Math.floor(i / 8) + 2);
      expect((await post('/v1/bindings', { statements: [rotation] })).status).toBe(202);
      await inSequencer(async (open) => void (await open.directory.closeEpoch(false)));
    }
    const state = () =>
      inSequencer(async (_o, s) => ({
        stage: s.sql.exec<{ stage: string }>('SELECT stage FROM dir_refill').toArray()[0]?.stage,
        replayed: s.sql.exec<{ e: number }>('SELECT replayed_upto AS e FROM dir_refill_bounds').toArray()[0]?.e,
      }));
    const seen: { stage?: string; replayed?: number }[] = [];
    while (run.refilling) {
      seen.push(await state());
      run = await replicate();
      if (seen.length > 2000) throw new Error('the refill does not end');
    }
    const end = run.upTo;
    expect(end).toBe(await inSequencer(async (o) => o.directory.epoch));
    // The replay stage ran over several calls, each gaining on the epochs left; the finish replayed at most 16.
    const replays = seen.filter((s) => s.stage === 'replay');
    expect(replays.length).toBeGreaterThan(10);
    expect(end - seen[seen.length - 1].replayed!).toBeLessThanOrEqual(16);
    expect(await supersededKeys(layout(), end)).toBe(0);
    await expectEpochsReadAsHeads(layout(), end, end);
    const { object, d1 } = await rowCounts();
    expect(d1).toEqual(object);
  });
});
