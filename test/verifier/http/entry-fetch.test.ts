/**
 * Chosen entries fetched from a log's bundles with their inclusion proofs from its tiles
 * (verifier/http/entry-fetch.ts), over a real log app of 300 entries (one full bundle, one partial):
 * every entry of every tree size checked verifies against that size's root, each bundle is fetched once,
 * and a flipped proof bit, a swapped entry, another index, a short bundle or an index outside the tree is
 * refused.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app/app.js';
import { jsonLogger } from '../../../api/app/logger.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { fetchLogEntries, readLogEntries, verifyLogEntry } from '../../../verifier/http/entry-fetch.js';
import { VerifyError } from '../../../verifier/verification/errors.js';
import { MemoryLogStorage } from '../../doubles/memory-log-storage.js';
import { logSigner, ORIGIN, records, rootOf } from '../../helpers/log.js';

const LOG = 'http://log.test/log';

async function logApp(n: number) {
  const storage = new MemoryLogStorage();
  const log = await LogAppender.open({ storage, signer: logSigner(), origin: ORIGIN });
  await log.append(records(0, n));
  const app = createApp({
    reader: new LogReader(storage, () => log.head),
    config: { origin: ORIGIN, logKey: '' },
    logger: jsonLogger(() => {}),
  });
  const fetched: string[] = [];
  const fetch = async (url: string) => (fetched.push(new URL(url).pathname), app.request(url));
  return { fetch, fetched };
}

describe('entries fetched with their inclusion proofs', () => {
  it('verify against the root of the tree they were proven in, for sizes across bundle edges', async () => {
    const { fetch } = await logApp(300);
    for (const size of [1, 2, 255, 256, 257, 300]) {
      const root = rootOf(records(0, size));
      const indexes = [...new Set([0, size - 1, Math.floor(size / 2), Math.min(size - 1, 255)])];
      for (const e of await fetchLogEntries(fetch, LOG, size, indexes))
        expect(new TextDecoder().decode(verifyLogEntry(e, size, root))).toBe(`record ${e.index}`);
    }
  });

  it('fetch each bundle once for entries that share it', async () => {
    const { fetch, fetched } = await logApp(300);
    const bundles = new Map();
    await readLogEntries(fetch, LOG, 300, [1, 2, 3], bundles);
    await readLogEntries(fetch, LOG, 300, [4, 299], bundles);
    expect(fetched.filter((p) => p.includes('/entries/'))).toEqual([
      '/log/tile/entries/000',
      '/log/tile/entries/001.p/44',
    ]);
  });

  it('are refused with a flipped proof bit, another entry, another index or another root', async () => {
    const { fetch } = await logApp(300);
    const root = rootOf(records(0, 300));
    const [e] = await fetchLogEntries(fetch, LOG, 300, [77]);
    for (let i = 0; i < e.proof.length; i++)
      for (const bit of [0, 7]) {
        const proof = e.proof.map((p) => p.slice());
        proof[i][bit] ^= 1;
        expect(() => verifyLogEntry({ ...e, proof }, 300, root)).toThrow(VerifyError);
      }
    expect(() => verifyLogEntry({ ...e, entry: records(78, 1)[0] }, 300, root)).toThrow(/not in the signed tree/);
    expect(() => verifyLogEntry({ ...e, index: 78 }, 300, root)).toThrow(/not in the signed tree/);
    expect(() => verifyLogEntry(e, 300, rootOf(records(0, 299)))).toThrow(/not in the signed tree/);
  });

  it('refuse a bundle of the wrong width and an index outside the tree', async () => {
    const { fetch } = await logApp(300);
    const short = async (url: string) => {
      const res = await fetch(url);
      if (!url.includes('/entries/')) return res;
      const body = new Uint8Array(await res.arrayBuffer());
      return new Response(body.slice(0, 2 + body[1])); // the first entry only
    };
    await expect(readLogEntries(short, LOG, 300, [5])).rejects.toThrow(/holds 1 entries, not 256/);
    await expect(readLogEntries(fetch, LOG, 300, [300])).rejects.toThrow(/not in the tree of 300 entries/);
    await expect(readLogEntries(fetch, LOG, 300, [-1])).rejects.toThrow(VerifyError);
  });
});
