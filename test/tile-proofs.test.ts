/** Proofs from asynchronously read tiles equal the proofs from stored hashes, for every index and size. */
import { describe, expect, it } from 'vitest';
import { LogAppender } from '../log/appender.js';
import { LogReader } from '../log/reader.js';
import { MemoryLogStorage } from '../log/storage.js';
import { proveConsistencyFromTiles, proveInclusionFromTiles } from '../log/tile-proofs.js';
import { proveRecord, proveTree, recordHash, verifyInclusion } from '../verifier/formats/tlog.js';
import { logSigner, MemoryHashStore, ORIGIN, records } from './log-helpers.js';

describe('proofs from tiles', () => {
  it('match stored-hash proofs across tile levels', async () => {
    const storage = new MemoryLogStorage();
    const log = await LogAppender.open({ storage, signer: logSigner(), origin: ORIGIN });
    const all = records(0, 66_000);
    await log.append(all.slice(0, 30_000));
    await log.append(all.slice(30_000));
    const reader = new LogReader(storage, () => log.head);
    const store = new MemoryHashStore();
    all.forEach((r) => store.append(r));
    const size = all.length;
    for (const index of [0, 1, 255, 256, 65_535, 65_536, 65_999, 12_345]) {
      const proof = await proveInclusionFromTiles(reader, index, size);
      expect(proof).toEqual(proveRecord(size, index, store));
      verifyInclusion(index, size, recordHash(all[index]), proof, log.checkpoint.rootHash);
    }
    for (const old of [1, 300, 30_000, 65_536])
      expect(await proveConsistencyFromTiles(reader, old, size)).toEqual(proveTree(size, old, store));
    await expect(proveInclusionFromTiles(reader, 5, size + 1)).rejects.toMatchObject({ code: 'bad_index' });
  });
});
