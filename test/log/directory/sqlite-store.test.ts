/**
 * The Node store's read of an account by name (log/directory/sqlite-store.ts), which reads the row's seven
 * BLOBs packed in one (BY_NAME_PACKED in directory-sql.ts): it gives what the plain by-name query gives,
 * row for row, for a current version, an erased one (NULL statement, signature and opening), an account
 * whose version row is missing, and BLOBs of unusual lengths (empty, with zero bytes, long); and a packed
 * row whose lengths do not add up is refused, not split wrongly.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DIRECTORY_QUERIES, rowReaders, unpackNamedRow } from '../../../log/directory/directory-sql.js';
import { SqliteDirectoryStore } from '../../../log/directory/sqlite-store.js';

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff);
const plain = rowReaders<Uint8Array>(
  (b) => new Uint8Array(b),
  (b) => (b === null ? null : new Uint8Array(b)),
);

function storeWith(
  accounts: { id: number; name: string; blobs: number[]; version: 'full' | 'erased' | 'none' }[],
  encoding = 'UTF-8',
) {
  const db = new Database(':memory:');
  db.pragma(`encoding = '${encoding}'`); // before the first table: a database's encoding is fixed then
  const store = new SqliteDirectoryStore(db);
  const account = db.prepare(
    'INSERT INTO dir_accounts (id, label, version, history, prev_history, vrf_proof) VALUES (?, ?, 3, ?, ?, ?)',
  );
  const name = db.prepare("INSERT INTO dir_names (provider, account, id) VALUES ('chat.example', ?, ?)");
  const version = db.prepare(
    'INSERT INTO dir_versions (id, version, opening, statement, signature, credential, log_index) VALUES (?, 3, ?, ?, ?, 2, 77)',
  );
  for (const a of accounts) {
    const [label, history, prev, vrf, opening, statement, signature] = a.blobs.map((n, i) => bytesOf(n, a.id + i));
    account.run(a.id, label, history, prev, vrf);
    name.run(a.name, a.id);
    if (a.version === 'full') version.run(a.id, opening, statement, signature);
    if (a.version === 'erased') version.run(a.id, null, null, null);
  }
  return { db, store };
}

describe('the store’s read of an account by name', () => {
  const accounts = [
    { id: 1, name: 'full', blobs: [32, 32, 32, 80, 32, 116, 64], version: 'full' as const },
    { id: 2, name: 'erased', blobs: [32, 32, 32, 80, 0, 0, 0], version: 'erased' as const },
    { id: 3, name: 'no version row', blobs: [32, 32, 32, 80, 0, 0, 0], version: 'none' as const },
    { id: 4, name: 'odd lengths', blobs: [32, 0, 1, 3000, 0, 5001, 1], version: 'full' as const },
  ];

  it.each(['UTF-8', 'UTF-16le', 'UTF-16be'])(
    'gives what the plain by-name query gives, for every kind of row (%s)',
    async (encoding) => {
      const { db, store } = storeWith(accounts, encoding);
      expect(db.pragma('encoding', { simple: true })).toBe(encoding);
      const byName = db.prepare(DIRECTORY_QUERIES.byName);
      for (const a of accounts) {
        const expected = plain.named(byName.get('chat.example', a.name) as never);
        const got = await store.accountByName('chat.example', a.name);
        expect(got, a.name).toEqual(expected);
        expect(got!.latest === undefined, a.name).toBe(a.version === 'none');
      }
      expect((await store.accountByName('chat.example', 'erased'))!.latest).toMatchObject({
        opening: null,
        statement: null,
        signature: null,
      });
      expect(await store.accountByName('chat.example', 'nobody')).toBeUndefined();
      // The account's byte strings are copies of their own (the sequencer may keep them), not views of the row.
      const { account } = (await store.accountByName('chat.example', 'full'))!;
      for (const b of [account.label, account.history, account.previousHistory, account.vrfProof])
        expect(b.buffer.byteLength).toBe(b.length);
    },
  );

  it('refuses a packed row whose lengths do not add up to its bytes', () => {
    const { db } = storeWith([{ id: 1, name: 'a', blobs: [32, 32, 32, 80, 32, 116, 64], version: 'full' }]);
    const row = db.prepare(DIRECTORY_QUERIES.byNamePacked).get('chat.example', 'a') as never as {
      packed: Uint8Array;
      n3: number;
    };
    const packed = new Uint8Array(row.packed);
    expect(() => unpackNamedRow(row as never, packed)).not.toThrow();
    expect(() => unpackNamedRow({ ...row, n3: row.n3 - 1 } as never, packed)).toThrow(/do not add up/);
    expect(() => unpackNamedRow(row as never, packed.subarray(1))).toThrow(/do not add up/);
  });
});
