/**
 * What opening a directory reads (issue 14: "opening a directory reads no more than the cache needs: its
 * cost does not grow with the number of accounts"): a directory of a few accounts and one of many are
 * opened again over a store that counts its calls; both make the same calls, read of the map only its root
 * row and top node, and neither lists the map's leaves or reads an account.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { randomBytes } from '../../../wasm-free-crypto/random.js';
import { Directory } from '../../../log/directory/directory.js';
import { SqliteDirectoryStore } from '../../../log/directory/sqlite-store.js';
import type { DirectoryStore } from '../../../log/directory/store.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import {
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  statementFor,
} from '../../helpers/directory.js';
import { ORIGIN } from '../../helpers/log.js';

/** A directory of `accounts` accounts in a database of its own, and its VRF key. */
async function directoryOf(accounts: number) {
  const db = new Database(':memory:');
  const vrfSecretKey = randomBytes(32);
  const t = await openTestDirectory({ db, vrfSecretKey });
  const chat = await enrolProvider(t, 'chat.example');
  for (let i = 0; i < accounts; i++) {
    const signed = chat.sign(statementFor(chat, `user${i}@chat.example`, 1, [identityKey()], t.clock.now));
    await t.dir.submit(signed.statement, signed.signature);
    if (i % 50 === 49) await t.dir.closeEpoch();
  }
  await t.dir.closeEpoch();
  await t.dir.stop();
  return { db, t, vrfSecretKey };
}

/** Opens the directory of `db` again over a store that counts each method's calls. */
async function reopenCounting({ db, t, vrfSecretKey }: Awaited<ReturnType<typeof directoryOf>>) {
  const calls: Record<string, number> = {};
  const store = new SqliteDirectoryStore(db);
  const counting = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[String(name)] = (calls[String(name)] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  }) as DirectoryStore;
  const storage = new SqliteLogStorage(db);
  const log = await LogAppender.open({ storage, signer: logSignerForTests, origin: ORIGIN });
  const dir = await Directory.open({
    log,
    reader: new LogReader(storage, () => log.head),
    store: counting,
    vrfSecretKey,
    trustedRoots: [t.root.der],
    now: () => t.clock.now,
  });
  return { dir, calls };
}

describe('opening a directory', () => {
  it('reads the same, and of the map no more than its root and top node, whatever the number of accounts', async () => {
    const few = await directoryOf(3);
    const many = await directoryOf(300);
    const a = await reopenCounting(few);
    const b = await reopenCounting(many);
    expect(b.calls).toEqual(a.calls);
    // Whether the store has map rows yet (else it is upgraded), then the root row and the top node through the
    // cache, checked against the signed root.
    expect(a.calls.mapNode).toBe(3);
    for (const listing of ['leavesAfter', 'versions', 'account', 'accountByName'])
      expect(a.calls[listing], listing).toBeUndefined();
    expect(b.dir.mapCacheStats.rows).toBeLessThanOrEqual(2);
    expect(b.dir.epoch).toBe(many.t.dir.epoch);
  }, 60_000);
});
