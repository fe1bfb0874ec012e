/**
 * The directory's map in its store (log/directory/directory-map.ts): a cache of a few rows serves the same
 * verified lookups over many epochs as a large one and stays within its bound; a store without map rows
 * (written by the release before them) is upgraded in place when it opens, and one whose accounts do not
 * give the signed map root is refused with nothing written; a root row or top node that does not give the
 * signed root is refused; the stored rows are exactly those a bulk build of the accounts makes.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../../wasm-free-crypto/bytes.js';
import { proveLookup } from '../../../log/directory/proof-builder.js';
import { buildStoredMap } from '../../../verifier/formats/map-build.js';
import {
  enrolProvider,
  identityKey,
  openTestDirectory,
  statementFor,
  type TestDirectory,
  type TestProvider,
} from '../../helpers/directory.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e) => (e as { code?: string }).code,
  );
}

/** Publishes `accounts` in one epoch, each at `version`. */
async function publishAll(t: TestDirectory, p: TestProvider, accounts: string[], version: number): Promise<void> {
  const accepted = [];
  for (const a of accounts) {
    const s = p.sign(statementFor(p, a, version, [identityKey()], t.clock.now));
    accepted.push(await t.dir.submit(s.statement, s.signature));
  }
  await t.dir.closeEpoch(false);
  await Promise.all(accepted.map((a) => a.committed));
}

async function expectVerified(t: TestDirectory, accounts: string[], version: number): Promise<void> {
  for (const a of accounts) {
    const result = t.verifier.verifyLookup(await proveLookup(t.dir, 'chat.example', a), 'chat.example', a);
    expect([a, result.status, result.statement?.version]).toEqual([a, 'present', version]);
  }
}

/** The store's map rows as sorted hex pairs. */
function mapRows(t: TestDirectory): string[] {
  const rows = t.db.prepare('SELECT key, node FROM dir_map').all() as { key: Uint8Array; node: Uint8Array }[];
  return rows.map((r) => `${toHex(r.key)}=${toHex(r.node)}`).sort();
}

const ACCOUNTS = Array.from({ length: 40 }, (_, i) => `user${i}@chat.example`);

describe("the directory's stored map", () => {
  it('serves the same verified lookups through a cache of three rows, over many epochs', async () => {
    const t = await openTestDirectory({ mapCacheRows: 3 });
    const chat = await enrolProvider(t, 'chat.example');
    for (let i = 0; i < ACCOUNTS.length; i += 8) await publishAll(t, chat, ACCOUNTS.slice(i, i + 8), 1);
    await publishAll(t, chat, ACCOUNTS.slice(0, 10), 2);
    await expectVerified(t, ACCOUNTS.slice(0, 10), 2);
    await expectVerified(t, ACCOUNTS.slice(10), 1);
    expect(t.dir.mapCacheStats.rows).toBeLessThanOrEqual(3);
    const absent = await proveLookup(t.dir, 'chat.example', 'nobody@chat.example');
    expect(t.verifier.verifyLookup(absent, 'chat.example', 'nobody@chat.example').status).toBe('absent');
    // The rows are exactly what one pass over the accounts builds (the stored tree is canonical).
    const leaves = (
      t.db.prepare('SELECT label, version, history FROM dir_accounts ORDER BY label').all() as {
        label: Uint8Array;
        version: number;
        history: Uint8Array;
      }[]
    ).map((r) => ({ label: new Uint8Array(r.label), version: r.version, historyHash: new Uint8Array(r.history) }));
    const built: string[] = [];
    buildStoredMap(leaves, (r) => built.push(`${toHex(r.key)}=${toHex(r.value)}`));
    expect(mapRows(t)).toEqual(built.sort());
    const again = await t.reopen();
    expect(toHex(again.dir.mapRoot())).toBe(toHex((await t.dir.snapshot()).snap.head.mapRoot));
  });

  it('upgrades a store without map rows in place, and refuses accounts that do not give the signed root', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await publishAll(t, chat, ACCOUNTS.slice(0, 20), 1);
    await publishAll(t, chat, ACCOUNTS.slice(0, 5), 2);
    const rows = mapRows(t);
    t.db.exec('DELETE FROM dir_map'); // as the release before the stored map left it
    const upgraded = await t.reopen();
    expect(mapRows(upgraded)).toEqual(rows);
    await expectVerified(upgraded, ACCOUNTS.slice(0, 5), 2);
    await publishAll(upgraded, chat, ACCOUNTS.slice(20, 25), 1);
    await expectVerified(upgraded, ACCOUNTS.slice(20, 25), 1);

    upgraded.db.exec('DELETE FROM dir_map');
    upgraded.db.exec('UPDATE dir_accounts SET version = version + 1 WHERE id = (SELECT MIN(id) FROM dir_accounts)');
    expect(await codeOf(upgraded.reopen())).toBe('corrupt_directory');
    expect(mapRows(upgraded)).toEqual([]); // the refused upgrade wrote nothing
  });

  it('refuses to open a root row or top node that does not give the signed map root', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    await publishAll(t, chat, ACCOUNTS.slice(0, 10), 1);
    const root = t.db.prepare("SELECT node FROM dir_map WHERE key = x''").get() as { node: Uint8Array };
    const flipped = Uint8Array.from(root.node);
    flipped[flipped.length - 1] ^= 1; // the top node's hash
    t.db.prepare("UPDATE dir_map SET node = ? WHERE key = x''").run(flipped);
    expect(await codeOf(t.reopen())).toBe('corrupt_directory');
    t.db.prepare("UPDATE dir_map SET node = ? WHERE key = x''").run(root.node);
    // The top node's own row: a child hash changed, so its hash no longer matches what the root row says.
    const topKey = root.node.subarray(1, root.node.length - 32);
    const top = t.db.prepare('SELECT node FROM dir_map WHERE key = ?').get(topKey) as { node: Uint8Array };
    const changed = Uint8Array.from(top.node);
    changed[changed.length - 1] ^= 1;
    t.db.prepare('UPDATE dir_map SET node = ? WHERE key = ?').run(changed, topKey);
    expect(await codeOf(t.reopen())).toBe('corrupt_directory');
    // A row that is not a node at all is a bad_node error, not a silent answer.
    t.db.prepare('UPDATE dir_map SET node = ? WHERE key = ?').run(Uint8Array.of(9), topKey);
    expect(await codeOf(t.reopen())).toBe('bad_node');
  });
});
