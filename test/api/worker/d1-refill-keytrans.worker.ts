/**
 * The KEYTRANS rows a refill (api/worker/d1-refill.ts) does not copy because they are past its caps (each
 * deployment's log size when it began, d1-keytrans-refill.ts) come from the outbox epochs it replays: a deployment
 * made during the refill (none of its rows copied: it had no size then), and a version written and then erased
 * during it. After the refill D1 holds the object's KEYTRANS rows, and the isolate answers searches of both as
 * the object does, the erased version's as erased, without calling the object. During it, the new deployment's
 * configuration is the object's to answer: the isolate, which read a servable epoch before the refill, had
 * answered 404 (no such deployment) from a replica that had not copied it.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { indexLayout } from '../../../api/worker/d1-layout.js';
import { replicateOutbox } from '../../../api/worker/d1-replica.js';
import type { Configuration } from '../../../verifier/keytrans/types.js';
import { makeLeaf, type PkiCert } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { get, inSequencer, invocations, operator, post, sequencer, settle, testRoot } from './helpers.js';
import { keytransConfig, searchRequest, signedItem } from './keytrans-helpers.js';

const layout = () => indexLayout(env)!;
const TABLES = ['deployments', 'entries', 'log_nodes', 'prefix_nodes', 'versions'] as const;

/** Each KEYTRANS table's rows in the object and in D1 (summed over the databases), and D1's erased openings. */
async function keyTransRows(): Promise<{ object: number[]; d1: number[] }> {
  const object = await inSequencer(async (_o, storage) =>
    TABLES.map((t) => storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM kt_${t}`).one().n),
  );
  const d1: number[] = [];
  for (const t of TABLES) {
    let n = 0;
    for (const db of layout().shards)
      n += (await db.prepare(`SELECT COUNT(*) AS n FROM ktr_${t}`).first<{ n: number }>())!.n;
    d1.push(n);
  }
  return { object, d1 };
}

/**
 * Closes the epoch without the alarm: not replicated (the refill replays it), and served at once, as the alarm
 * would once the witnesses cosigned it (a deployment's config is answered from a served head).
 */
const closeUnreplicated = () =>
  inSequencer(async (open, storage) => {
    await open.directory.closeEpoch(false);
    storage.sql.exec(
      'INSERT OR REPLACE INTO dir_served (id, epoch, checkpoint) SELECT 1, epoch, checkpoint FROM dir_epoch',
    );
  });

/** Enrols `provider` and gives its deployment a first tree head (a statement without KEYTRANS), unreplicated. */
async function enrolDuringRefill(provider: string): Promise<{ leaf: PkiCert; config: Configuration }> {
  const leaf = await makeLeaf(await testRoot(), { dnsNames: [provider] });
  expect((await post('/v1/providers', { chain: leaf.pem }, operator())).status).toBe(202);
  await closeUnreplicated();
  const first = signStatement('ed25519', leaf.secretKey, statementOf(provider, 'first', 1, Date.now(), 'f'));
  expect((await post('/v1/bindings', { statements: [first] })).status).toBe(202);
  await closeUnreplicated();
  return { leaf, config: await keytransConfig(provider) };
}

/** Publishes `items` and closes the epoch, unreplicated. */
async function publishUnreplicated(items: unknown[]): Promise<void> {
  expect((await post('/v1/bindings', { statements: items })).status).toBe(202);
  await closeUnreplicated();
}

describe('a refill during which a KEYTRANS deployment is made and a new version erased', () => {
  it('ends with the object’s KEYTRANS rows in D1, and the isolate answers their searches as the object', async () => {
    // Before the refill: a deployment with one account.
    const leafA = await makeLeaf(await testRoot(), { dnsNames: ['kta.example'] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leafA.pem }, operator()))).status).toBe(200);
    const firstA = signStatement('ed25519', leafA.secretKey, statementOf('kta.example', 'first', 1, Date.now(), 'f'));
    expect((await settle(post('/v1/bindings?wait=1', { statements: [firstA] }))).status).toBe(200);
    const configA = await keytransConfig('kta.example');
    const carol = signedItem('kta.example', leafA, configA, 'carol', 1);
    expect((await settle(post('/v1/bindings?wait=1', { statements: [carol] }))).status).toBe(200);
    // Shard 1 went back: a refill begins, a few rows a run.
    await layout().shards[1].prepare('DELETE FROM dir_replica').run();
    const replicate = () => inSequencer((_o, s) => replicateOutbox(s, layout(), {}, { refillRows: 5 }));
    let run = await replicate();
    expect(run.refilling).toBe(true);
    // During it: another provider's deployment is made and used; an account of the first is made and deleted.
    const { leaf: leafB, config: configB } = await enrolDuringRefill('ktb.example');
    await publishUnreplicated([signedItem('ktb.example', leafB, configB, 'dave', 1)]);
    run = await replicate();
    await publishUnreplicated([signedItem('kta.example', leafA, configA, 'erin', 1)]);
    await publishUnreplicated([signedItem('kta.example', leafA, configA, 'erin', 2, true)]);
    for (let runs = 0; run.refilling; runs++) {
      expect(runs, 'the refill ends').toBeLessThan(500);
      run = await replicate();
    }
    expect(run.upTo).toBe(await inSequencer(async (o) => o.directory.epoch));
    const { object, d1 } = await keyTransRows();
    expect(d1).toEqual(object);
    // The searches: dave (the deployment made during the refill), erin's first version (erased), carol.
    for (const [provider, config, account, version, status] of [
      ['ktb.example', configB, 'dave', null, 200],
      ['kta.example', configA, 'erin', 0, 410],
      ['kta.example', configA, 'carol', null, 200],
    ] as const) {
      const path = `/keytrans/v1/${provider}/search`;
      const init = () => searchRequest(config, account, version, '10.44.0.1');
      const expected = await sequencer().fetch(new Request(`https://kt.example${path}`, init()));
      const before = await invocations();
      const res = await get(path, init());
      expect([res.status, await invocations()], `${provider} ${account}`).toEqual([status, before]);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array(await expected.arrayBuffer()));
    }
  });
});
