/**
 * The size of an edge object's KEYTRANS reads (api/worker/edge-deployment-store.ts): an epoch that inserts many new
 * keys into a trimmed tree misses a node per key, and each miss reads 64 names from D1 (32 depths of its path and
 * their siblings). A round fetches for 2,000 misses at most, the rest in later rounds, so that the names and the
 * queries of one round stay bounded whatever the epoch's size; grouping the names by database is linear (it was a
 * copy per name, quadratic: about 30 s of the object's CPU for 1,000 keys). After its last round it runs the walk
 * once more; one that still misses rows is `busy` (try later) if some round was lost to a trim, else
 * `deployment_corrupt`.
 */
import { describe, expect, it } from 'vitest';
import { EdgeDeploymentStore } from '../../../api/worker/edge-deployment-store.js';
import { pathOf } from '../../../log/keytrans/deployment-store.js';

/** A D1 that holds nothing, at epoch 10, and records the statements of each batch. */
function emptyD1() {
  const db = {
    batches: [] as number[],
    prepare: (sql: string) => ({ sql, bind: () => ({ sql }) }),
    batch: async (statements: { sql: string }[]) => {
      db.batches.push(statements.length - 1);
      return statements.map((s) => ({ results: s.sql.includes('dir_replica') ? [{ epoch: 10 }] : [] }));
    },
  };
  return db;
}

describe('the D1 reads of a large epoch on a trimmed object', () => {
  it('fetch for at most 2,000 misses a round, every miss in the end', async () => {
    const db = emptyD1();
    const own = { heldPrefixNode: () => undefined, size: () => 1, versionCount: () => 0 };
    const layout = { meta: db, shards: [db], bits: 0 };
    const replica = { trimmed: true, replicatedEpoch: 10, trims: 0 };
    const store = new EdgeDeploymentStore(own as never, 'p', layout as never, replica);
    const keys = Array.from({ length: 5_000 }, () => crypto.getRandomValues(new Uint8Array(32)));
    const walk = () => keys.forEach((k) => store.prefixNode(12, pathOf(k, 12), 0, k));
    await store.settle(walk);
    // 2,000 misses of 64 names, 800 names a query: at most 160 queries in a round, so more than one round here
    // (5,000 keys miss about 3,000 distinct nodes at depth 12, some of them fetched as a sibling of another).
    expect(db.batches.length).toBeGreaterThan(1);
    expect(Math.max(...db.batches)).toBeLessThanOrEqual(160);
    expect(Math.min(...db.batches)).toBeGreaterThan(0);
    expect(walk).not.toThrow(); // every key's node is fetched now (empty in this D1): no read is refused
  }, 60_000);

  it('forgets what it fetched once the object trims, and reads it again', async () => {
    const db = emptyD1();
    const own = { heldPrefixNode: () => undefined, size: () => 1, versionCount: () => 0 };
    const replica = { trimmed: true, replicatedEpoch: 10, trims: 0 };
    const store = new EdgeDeploymentStore(own as never, 'p', { meta: db, shards: [db], bits: 0 } as never, replica);
    const key = crypto.getRandomValues(new Uint8Array(32));
    const read = () => store.prefixNode(3, pathOf(key, 3), 0, key);
    await store.settle(() => void read());
    expect(read()).toEqual({ kind: 'empty' });
    replica.trims++;
    expect(read).toThrow(expect.objectContaining({ code: 'busy' }));
    await store.settle(() => void read());
    expect(db.batches).toHaveLength(2);
    expect(read()).toEqual({ kind: 'empty' });
  });

  it('ends in busy, not deployment_corrupt, when the object trims during every round', async () => {
    const db = emptyD1();
    const own = { heldPrefixNode: () => undefined, size: () => 1, versionCount: () => 0 };
    const replica = { trimmed: true, replicatedEpoch: 10, trims: 0 };
    const racing = { ...db, batch: async (s: { sql: string }[]) => (replica.trims++, db.batch(s)) };
    const store = new EdgeDeploymentStore(
      own as never,
      'p',
      { meta: racing, shards: [racing], bits: 0 } as never,
      replica,
    );
    const key = crypto.getRandomValues(new Uint8Array(32));
    const settled = store.settle(() => void store.prefixNode(3, pathOf(key, 3), 0, key));
    await expect(settled).rejects.toMatchObject({ code: 'busy' });
    expect(db.batches).toHaveLength(240); // every round was fetched, and lost to a trim
  });

  it('settles when only the last of its rounds kept what it read, and is busy when rounds raced and it did not', async () => {
    const db = emptyD1();
    const own = { heldPrefixNode: () => undefined, size: () => 1, versionCount: () => 0 };
    const replica = { trimmed: true, replicatedEpoch: 10, trims: 0 };
    let round = 0;
    const racing = { ...db, batch: async (s: { sql: string }[]) => (++round < 240 && replica.trims++, db.batch(s)) };
    const layout = { meta: racing, shards: [racing], bits: 0 } as never;
    const store = new EdgeDeploymentStore(own as never, 'p', layout, replica);
    const key = crypto.getRandomValues(new Uint8Array(32));
    await store.settle(() => void store.prefixNode(3, pathOf(key, 3), 0, key)); // round 240 kept its rows
    expect(store.prefixNode(3, pathOf(key, 3), 0, key)).toEqual({ kind: 'empty' });
    // A walk that misses a new node after every fetch never settles: busy if some of its rounds raced with a
    // trim, deployment_corrupt if none did.
    // (at depth 128, so that a new random key never meets a node an earlier round fetched: at depth 20 about one
    // run in 20 did, and settled)
    const fresh = () => {
      const k = crypto.getRandomValues(new Uint8Array(32));
      store.prefixNode(128, pathOf(k, 128), 0, k);
    };
    round = 0;
    await expect(store.settle(fresh)).rejects.toMatchObject({ code: 'busy' });
    round = 1_000;
    await expect(store.settle(fresh)).rejects.toMatchObject({ code: 'deployment_corrupt' });
  });
});
