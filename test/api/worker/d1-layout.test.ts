/**
 * The D1 replica's layout (api/worker/d1-layout.ts) and its run budget (d1-replica.ts): `INDEX_SHARDS` is a power
 * of two from 1 to 32, each shard bound (`INDEX_1` ... `INDEX_{n-1}`), anything else a configuration error; the
 * routing works to 8 bits (256 shards, one byte of prefix, what the design to 1B accounts needs): every label, name
 * and map row routes to a shard in range, the nodes above depth 8 and the root to the meta database; a run applies
 * fewer epochs the more shards it writes. The replica over 32 shards is tested in workerd (many-shards.worker.ts).
 */
import { describe, expect, it } from 'vitest';
import { indexLayout, labelShard, mapRowShard, MAX_SHARDS, nameShard } from '../../../api/worker/d1-layout.js';
import { epochsPerRun, REPLICATION_EPOCHS } from '../../../api/worker/d1-replica.js';
import { MAP_ROOT_KEY, mapNodeKey } from '../../../verifier/formats/map-nodes.js';
import { randomBytes } from '../../../wasm-free-crypto/random.js';

/** Bindings of `bound` databases (INDEX, INDEX_1, ...) with INDEX_SHARDS set to `shards`. */
function bindings(shards: unknown, bound: number): Record<string, unknown> {
  const env: Record<string, unknown> = { INDEX_SHARDS: shards };
  for (let i = 0; i < bound; i++) env[i === 0 ? 'INDEX' : `INDEX_${i}`] = { name: `db${i}` };
  return env;
}

describe('the D1 replica laid out over shards', () => {
  it('takes 1 to 32 shards, a power of two, each bound; refuses anything else', () => {
    expect(MAX_SHARDS).toBe(32);
    for (const n of [1, 2, 4, 8, 16, 32]) {
      const layout = indexLayout(bindings(String(n), n))!;
      expect([layout.shards.length, layout.bits, layout.shards[n - 1]]).toEqual([
        n,
        Math.log2(n),
        { name: `db${n - 1}` },
      ]);
    }
    expect(indexLayout({})).toBeNull();
    for (const bad of ['0', '3', '64', '1.5', 'x', '-2'])
      expect(() => indexLayout(bindings(bad, 64)), bad).toThrow('INDEX_SHARDS must be a power of two from 1 to 32');
    expect(() => indexLayout(bindings('32', 31))).toThrow('the binding INDEX_31 is missing');
  });

  it('routes every label, name and map row to a shard in range at 8 bits, the top of the map to the meta database', () => {
    const bits = 8;
    const seen = new Set<number>();
    for (let i = 0; i < 2_000; i++) {
      const label = randomBytes(32);
      expect(labelShard(label, bits)).toBe(label[0]);
      const name = nameShard('chat.example', `user${i}@chat.example`, bits);
      expect(name >= 0 && name < 256).toBe(true);
      seen.add(name);
      for (const depth of [8, 9, 20, 255]) expect(mapRowShard(mapNodeKey(label, depth), bits)).toBe(label[0]);
      for (const depth of [0, 1, 7]) expect(mapRowShard(mapNodeKey(label, depth), bits)).toBe(-1);
    }
    expect(mapRowShard(MAP_ROOT_KEY, bits)).toBe(-1);
    expect(seen.size).toBeGreaterThan(200); // names spread over the shards
  });

  it('applies fewer epochs a run the more shards it writes, so that its batches stay bounded', () => {
    expect(epochsPerRun(1)).toBe(REPLICATION_EPOCHS);
    expect([2, 16, 32].map((n) => epochsPerRun(n))).toEqual([250, 31, 15]);
    // At 32 shards, a run's batches with its marker reads and the schema's on a fresh isolate (a query per database
    // each), and an epoch's plan of about three queries per database, within D1's 1,000 queries an invocation.
    expect(epochsPerRun(32) * 32 + 32 + 32 + 3 * 32).toBeLessThanOrEqual(1_000);
    expect(epochsPerRun(16, { epochs: 4 })).toBe(4);
    expect(epochsPerRun(2 ** 20)).toBe(1);
  });
});
