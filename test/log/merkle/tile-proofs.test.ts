/**
 * Proofs over tiles read asynchronously from the log's storage (`withTileSource`, as witnessing and the R2
 * publication compute them) equal the proofs from stored hashes, for indexes and sizes across tile levels.
 */
import { describe, expect, it } from 'vitest';
import { LogAppender } from '../../../log/merkle/appender.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { withTileSource, type Tile } from '../../../verifier/formats/tiles.js';
import { proveRecord, proveTree, recordHash, verifyInclusion } from '../../../verifier/formats/tlog.js';
import { MemoryLogStorage } from '../../doubles/memory-log-storage.js';
import { logSigner, MemoryHashStore, ORIGIN, records } from '../../helpers/log.js';

describe('proofs from tiles', () => {
  it('match stored-hash proofs across tile levels', async () => {
    const storage = new MemoryLogStorage();
    const log = await LogAppender.open({ storage, signer: logSigner(), origin: ORIGIN });
    const all = records(0, 66_000);
    await log.append(all.slice(0, 30_000));
    await log.append(all.slice(30_000));
    const reader = new LogReader(storage, () => log.head);
    const readTile = async (t: Tile) => {
      const data = await reader.tile(t);
      if (!data) throw new Error(`tile ${t.level}/${t.n} is not in the published tree`);
      return data;
    };
    const store = new MemoryHashStore();
    all.forEach((r) => store.append(r));
    const size = all.length;
    for (const index of [0, 1, 255, 256, 65_535, 65_536, 65_999, 12_345]) {
      const proof = await withTileSource(readTile, size, (r) => proveRecord(size, index, r));
      expect(proof).toEqual(proveRecord(size, index, store));
      verifyInclusion(index, size, recordHash(all[index]), proof, log.checkpoint.rootHash);
    }
    for (const old of [1, 300, 30_000, 65_536]) {
      expect(await withTileSource(readTile, size, (r) => proveTree(size, old, r))).toEqual(proveTree(size, old, store));
    }
    await expect(withTileSource(readTile, size + 1, (r) => proveRecord(size + 1, 5, r))).rejects.toThrow(
      /not in the published tree/,
    );
  });
});
