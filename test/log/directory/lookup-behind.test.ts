/**
 * A lookup at an epoch older than the account's row (log/directory/proof-builder.ts): a replica whose newest
 * servable epoch waits for its witnesses, or a shard replicated ahead of its head, holds the account row of a
 * later version than the served epoch's leaf. The proof is then of the leaf's version, its previous history
 * hash recomputed from the versions before it (from the log for erased ones), and equals the proof the
 * directory gave at that epoch; a version erased since, or rows that do not make the leaf's history hash, are
 * never served (busy), nor is a leaf of more versions than a lookup replays. Histories, discoveries and daily
 * checks through such a source are the directory's of that epoch; a daily check of a version committed but not
 * served yet is busy, of one that does not exist a bad request.
 */
import { describe, expect, it } from 'vitest';
import { DirectoryError } from '../../../log/directory/errors.js';
import {
  proveDiscovery,
  proveHistory,
  proveLookup,
  proveMonitorCheck,
  type ProofSource,
} from '../../../log/directory/proof-builder.js';
import type { VersionRow } from '../../../log/directory/store.js';
import { enrolProvider, openTestDirectory, publishVersion, type TestDirectory } from '../../helpers/directory.js';

/**
 * The directory as a source that serves the epoch current now (its map proofs of `accounts`' labels), while
 * its store goes on; `versions` may rewrite the version rows the source reads.
 */
async function servingNow(
  t: TestDirectory,
  accounts: string[],
  versions: (rows: VersionRow[]) => VersionRow[] = (rows) => rows,
): Promise<ProofSource> {
  const served = new Map<string, Awaited<ReturnType<ProofSource['proveLabel']>>>();
  for (const a of accounts) {
    const { label } = await t.dir.labelFor('chat.example', a);
    served.set(label.join(), await t.dir.proveLabel(label));
  }
  const { snap } = await t.dir.snapshot();
  return {
    labelFor: (p, a, before) => t.dir.labelFor(p, a, before),
    proveLabel: async (label) => served.get(label.join())!,
    snapshot: async () => ({ snap }),
    credentials: t.dir.credentials,
    store: {
      account: (label) => t.dir.store.account(label),
      version: (label, v) => t.dir.store.version(label, v),
      versions: async (label, from, to) => versions(await t.dir.store.versions(label, from, to)),
    },
    entryBundle: (n, width) => t.dir.entryBundle(n, width),
  };
}

describe('a lookup at an epoch older than the account row', () => {
  it("proves the served epoch's version, as the directory proved it then, and verifies", async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    for (let v = 1; v <= 3; v++) await publishVersion(t, chat, 'alice@example.org', v);
    await publishVersion(t, chat, 'bob@example.org', 1);
    await publishVersion(t, chat, 'bob@example.org', 2);
    // Dave's version 1 was erased by his deletion (version 2): its commitment comes from the log.
    await publishVersion(t, chat, 'dave@example.org', 1);
    await publishVersion(t, chat, 'dave@example.org', 2, true);
    await publishVersion(t, chat, 'dave@example.org', 3);
    const accounts = ['alice@example.org', 'bob@example.org', 'carol@example.org', 'dave@example.org'];
    const then = await Promise.all(accounts.map((a) => proveLookup(t.dir, 'chat.example', a)));
    const source = await servingNow(t, accounts);
    // Later epochs: alice's version 4, bob's deletion (which erases versions 1 and 2), carol's first, dave's 4.
    await publishVersion(t, chat, 'alice@example.org', 4);
    await publishVersion(t, chat, 'bob@example.org', 3, true);
    await publishVersion(t, chat, 'carol@example.org', 1);
    await publishVersion(t, chat, 'dave@example.org', 4);
    const erased = async (a: string, v: number) =>
      (await t.dir.store.version((await t.dir.labelFor('chat.example', a)).label, v))?.opening === null;
    expect([await erased('dave@example.org', 1), await erased('bob@example.org', 2)]).toEqual([true, true]);
    for (const [i, a] of accounts.entries()) {
      if (a === 'bob@example.org') continue;
      const proof = await proveLookup(source, 'chat.example', a);
      t.verifier.verifyLookup(proof, 'chat.example', a);
      expect(proof).toEqual(then[i]);
    }
    // Bob's served version was erased since: its statement is never served again, not even at its epoch.
    const bob = await proveLookup(source, 'chat.example', 'bob@example.org').catch((e: unknown) => e);
    expect(bob).toBeInstanceOf(DirectoryError);
    expect((bob as DirectoryError).code).toBe('busy');
  });

  it('never serves version rows that do not make the leaf: a row missing, swapped or altered is busy', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    for (let v = 1; v <= 3; v++) await publishVersion(t, chat, 'alice@example.org', v);
    const tampered: [string, (rows: VersionRow[]) => VersionRow[]][] = [
      ['a version missing', (rows) => rows.slice(1)],
      ['two versions swapped', (rows) => [rows[1], rows[0], ...rows.slice(2)]],
      [
        'an opening altered',
        (rows) => rows.map((r, i) => (i === 0 ? { ...r, opening: r.opening!.map((b) => b ^ 1) } : r)),
      ],
      ['a version number altered', (rows) => rows.map((r, i) => (i === 1 ? { ...r, version: 1 } : r))],
    ];
    const sources = [];
    for (const [what, rewrite] of tampered)
      sources.push([what, await servingNow(t, ['alice@example.org'], rewrite)] as const);
    await publishVersion(t, chat, 'alice@example.org', 4);
    for (const [what, source] of sources) {
      const refused = await proveLookup(source, 'chat.example', 'alice@example.org').catch((e: unknown) => e);
      expect(refused, what).toBeInstanceOf(DirectoryError);
      expect((refused as DirectoryError).code, what).toBe('busy');
    }
  });

  it('answers histories, discoveries and daily checks at the served epoch; a version not served yet is busy', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    for (let v = 1; v <= 3; v++) await publishVersion(t, chat, 'alice@example.org', v);
    const then = {
      history: await proveHistory(t.dir, 'chat.example', 'alice@example.org', 0),
      discovery: await proveDiscovery(t.dir, 'alice@example.org'),
      check: await proveMonitorCheck(t.dir, 'chat.example', 'alice@example.org', 3),
      since2: await proveMonitorCheck(t.dir, 'chat.example', 'alice@example.org', 2),
    };
    const source = await servingNow(t, ['alice@example.org']);
    await publishVersion(t, chat, 'alice@example.org', 4);
    expect(await proveHistory(source, 'chat.example', 'alice@example.org', 0)).toEqual(then.history);
    expect(await proveDiscovery(source, 'alice@example.org')).toEqual(then.discovery);
    expect(await proveMonitorCheck(source, 'chat.example', 'alice@example.org', 3)).toEqual(then.check);
    expect(await proveMonitorCheck(source, 'chat.example', 'alice@example.org', 2)).toEqual(then.since2);
    // Version 4 is committed but not served: busy (the Worker's isolate then asks the object); version 5
    // does not exist: refused as the history refuses it.
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'answered',
        (e: DirectoryError) => e.code,
      );
    expect(await codeOf(proveMonitorCheck(source, 'chat.example', 'alice@example.org', 4))).toBe('busy');
    expect(await codeOf(proveMonitorCheck(source, 'chat.example', 'alice@example.org', 5))).toBe('bad_request');
  });

  it('replays at most MAX_VERSIONS_REPLAYED versions for a lookup: beyond, busy without reading them', async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    for (let v = 1; v <= 2; v++) await publishVersion(t, chat, 'alice@example.org', v);
    const source = await servingNow(t, ['alice@example.org']);
    await publishVersion(t, chat, 'alice@example.org', 3);
    let versionsRead = 0;
    // The served leaf and the rows as an account of 1,001 versions, rotated once since, would give them.
    const many: ProofSource = {
      ...source,
      proveLabel: async (label) => {
        const s = await source.proveLabel(label);
        return { ...s, leaf: s.leaf && { ...s.leaf, version: 1_001 } };
      },
      store: {
        account: async (label) => ({ ...(await source.store.account(label))!, version: 1_002 }),
        version: (label) => source.store.version(label, 2),
        versions: async () => (versionsRead++, []),
      },
    };
    const refused = await proveLookup(many, 'chat.example', 'alice@example.org').catch((e: DirectoryError) => e.code);
    expect([refused, versionsRead]).toEqual(['busy', 0]);
  });
});
