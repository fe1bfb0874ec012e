/**
 * Receipts are a promise kept on the Worker too (docs/PROTOCOL.md section 16), inside workerd: statements
 * posted without `wait` get 202 receipts, every Durable Object is aborted before the alarm closes their epoch
 * (its memory is lost, its storage kept), and the reopened object has replayed its durable queue: a
 * conflicting statement is refused, the same one answers the same receipt, and the next alarm commits each
 * receipted statement, served as that statement. Also a Durable Object storage left by the release before
 * the queue (no `dir_queue` table) gets the table when the store opens it, and one left by the release before
 * the stored map (no `dir_map` rows) gets the map's rows built when the object opens it, answering the same proofs.
 */
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { fromBase64 } from '../../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { DoDirectoryStore } from '../../../api/worker/do-directory-store.js';
import { DIRECTORY_SCHEMA } from '../../../log/directory/directory-sql.js';
import { lookupFromJson } from '../../../verifier/formats/proof-json.js';
import { openReceipt, receiptStatementHash } from '../../../verifier/formats/receipt.js';
import { checkReceipt } from '../../../verifier/verification/receipt-check.js';
import { makeLeaf } from '../../helpers/pki.js';
import { signStatement, statementOf } from './directory-script.js';
import { get, operator, post, sequencer, settle, testRoot } from './helpers.js';

const PROVIDER = 'receipts.example';
const N = 4;

async function pins() {
  const c = (await (await get('/v1/config')).json()) as { origin: string; logKey: string; vrfKey: string };
  return { origin: c.origin, logKey: parseVerifierKey(c.logKey), vrfKey: fromBase64(c.vrfKey) };
}

const queueRows = () =>
  runInDurableObject(
    sequencer(),
    (_i, state) => state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM dir_queue').toArray()[0].n,
  );

async function errorCode(res: Response): Promise<[number, string]> {
  return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
}

describe('receipts on the Worker', () => {
  it('replays the durable queue after the Durable Object is reset, and commits every receipted statement', async () => {
    const leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] });
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    const p = await pins();
    const sign = (i: number, seed: string) =>
      signStatement('ed25519', leaf.secretKey, statementOf(PROVIDER, `u${i}@${PROVIDER}`, 1, Date.now(), seed));
    const signed = Array.from({ length: N }, (_, i) => sign(i, `u${i} v1`));
    const res = await post('/v1/bindings', { statements: signed });
    expect(res.status).toBe(202);
    const receipts = ((await res.json()) as { results: { receipt: string }[] }).results.map((r) => r.receipt);
    receipts.forEach((note, i) =>
      expect(openReceipt(note, p.logKey).statementHash).toEqual(receiptStatementHash(fromBase64(signed[i].statement))),
    );
    expect(await queueRows()).toBe(N);

    // The object is reset before its alarm: its memory is gone, its storage (the queue) is not. As if it had
    // stopped after storing the statements and before asking for their epoch, the alarm is days away.
    await runInDurableObject(sequencer(), (_i, state) => state.storage.setAlarm(Date.now() + 10 * 86_400_000));
    await abortAllDurableObjects();
    expect(await errorCode(await post('/v1/bindings', { statements: [sign(0, 'other')] }))).toEqual([
      409,
      'version_conflict',
    ]);
    // The reopened directory replayed its queue and asked for an epoch within one interval.
    const alarm = await runInDurableObject(sequencer(), (_i, state) => state.storage.getAlarm());
    expect(alarm).toBeLessThanOrEqual(Date.now() + 3_600_000);
    const again = await post('/v1/bindings', { statements: [signed[2]] });
    expect(((await again.json()) as { results: { receipt: string }[] }).results[0].receipt).toBe(receipts[2]);

    expect(await runDurableObjectAlarm(sequencer())).toBe(true);
    for (let i = 0; i < N; i++) {
      const account = `u${i}@${PROVIDER}`;
      const proof = lookupFromJson(await (await get(`/v1/lookup/${PROVIDER}/${account}`)).json());
      expect(proof.present?.statement).toEqual(fromBase64(signed[i].statement));
      expect(checkReceipt(receipts[i], { lookup: proof }, PROVIDER, account, p).status).toBe('honoured');
    }
    expect(await queueRows()).toBe(0);
    expect(await errorCode(await post('/v1/bindings', { statements: [sign(0, 'other')] }))).toEqual([
      409,
      'version_conflict',
    ]);
  });

  it('builds the stored map of a Durable Object storage written before it existed, when the object opens', async () => {
    const mapRows = async () =>
      runInDurableObject(
        sequencer(),
        (_i, state) => state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM dir_map').toArray()[0].n,
      );
    const before = await Promise.all(
      Array.from({ length: N }, async (_, i) => (await get(`/v1/lookup/${PROVIDER}/u${i}@${PROVIDER}`)).text()),
    );
    expect(await mapRows()).toBeGreaterThan(0);
    // What the release before the stored map left: the accounts and epochs, no map rows. The object restarts.
    await runInDurableObject(sequencer(), (_i, state) => void state.storage.sql.exec('DELETE FROM dir_map'));
    expect(await mapRows()).toBe(0);
    await abortAllDurableObjects();
    for (let i = 0; i < N; i++) {
      const account = `u${i}@${PROVIDER}`;
      const text = await (await get(`/v1/lookup/${PROVIDER}/${account}`)).text();
      expect(text).toBe(before[i]); // the same proofs, from the rows built on opening
      const proof = lookupFromJson(JSON.parse(text));
      expect(proof.present?.version).toBe(1);
    }
    expect(await mapRows()).toBeGreaterThan(N - 1); // the root row and an internal node per pair of leaves
    // Epochs go on over the built rows.
    const leaf = await makeLeaf(await testRoot(), { dnsNames: [PROVIDER] }); // a second credential, enrolled
    expect((await settle(post('/v1/providers?wait=1', { chain: leaf.pem }, operator()))).status).toBe(200);
    const late = signStatement(
      'ed25519',
      leaf.secretKey,
      statementOf(PROVIDER, `late@${PROVIDER}`, 1, Date.now(), 'late'),
    );
    expect((await settle(post('/v1/bindings?wait=1', { statements: [late] }))).status).toBe(200);
    const proof = lookupFromJson(await (await get(`/v1/lookup/${PROVIDER}/late@${PROVIDER}`)).json());
    expect(proof.present?.statement).toEqual(fromBase64(late.statement));
  });

  it('adds the queue table to a Durable Object storage written before it existed', async () => {
    await runInDurableObject(env.LOG.get(env.LOG.idFromName('queue-upgrade')), async (_i, state) => {
      const sql = state.storage.sql;
      // What the release before the queue left: the directory's tables, no dir_queue.
      sql.exec('DROP TABLE IF EXISTS dir_queue');
      sql.exec(DIRECTORY_SCHEMA);
      const tables = () =>
        sql
          .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'dir_queue'")
          .toArray().length;
      expect(tables()).toBe(0);
      const store = new DoDirectoryStore(state.storage);
      expect(tables()).toBe(1);
      expect(await store.queued()).toEqual([]);
      const row = {
        label: new Uint8Array(32).fill(1),
        version: 1,
        statement: new Uint8Array([1, 2, 3]),
        signature: new Uint8Array(64).fill(2),
        credentialIndex: 0,
        vrfProof: new Uint8Array(80).fill(3),
        acceptedAt: 1000,
        deadline: 2000,
      };
      const [id] = store.enqueue([row]);
      expect(await new DoDirectoryStore(state.storage).queued()).toEqual([{ id, ...row, keytransSignature: null }]);
      expect(() => store.enqueue([row])).toThrow(); // one row per (label, version)
    });
  });
});
