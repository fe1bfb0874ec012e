/**
 * Property test: random sequences of enrolments, new accounts, rotations and deletions, in random epoch
 * splits; after each run an independent replay of the log's entries (read back from the entry bundles)
 * reproduces every epoch head's map root, both with the auditor's incremental replay and with a from-scratch
 * recomputation of the map from the definition. A rewritten or dropped update makes the replay fail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../../cli/audit-store.js';
import { toHex } from '../../../wasm-free-crypto/bytes.js';
import { historyHash, HISTORY_ZERO } from '../../../verifier/formats/directory-hashes.js';
import { decodeEntry, encodeEntry, type EpochHeadEntry } from '../../../verifier/formats/entries.js';
import { rootFromLeaves, syntheticLog } from '../../helpers/map-definition.js';
import { type MapLeaf } from '../../../verifier/formats/map-proof.js';
import { decodeEntryBundle } from '../../../verifier/formats/tiles.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import { MapReplay } from '../../../verifier/verification/map-replay.js';
import { MemoryMapStore, StoredMap } from '../../../verifier/formats/stored-map.js';
import {
  enrolProvider,
  identityKey,
  openTestDirectory,
  statementFor,
  type TestDirectory,
} from '../../helpers/directory.js';
import { prng } from '../../helpers/log.js';

async function logEntries(t: TestDirectory): Promise<Uint8Array[]> {
  const reader = new LogReader(new SqliteLogStorage(t.db), () => t.log.head);
  const size = t.log.head.size;
  const out: Uint8Array[] = [];
  for (let n = 0; n * 256 < size; n++)
    out.push(...decodeEntryBundle((await reader.entryBundle(n, Math.min(256, size - n * 256)))!));
  return out;
}

/** The map roots of every epoch head, recomputed from the definition (no PrefixTree). */
function independentRoots(entries: Uint8Array[]): { epoch: number; expected: string; got: string }[] {
  const leaves = new Map<string, MapLeaf>();
  const out: { epoch: number; expected: string; got: string }[] = [];
  for (const bytes of entries) {
    const e = decodeEntry(bytes);
    if (e.type === 'update') {
      const prev = leaves.get(toHex(e.label));
      leaves.set(toHex(e.label), {
        label: e.label,
        version: e.version,
        historyHash: historyHash(prev?.historyHash ?? HISTORY_ZERO, e.version, e.commitment),
      });
    } else if (e.type === 'epoch') {
      out.push({ epoch: e.epoch, expected: toHex(e.mapRoot), got: toHex(rootFromLeaves([...leaves.values()])) });
    }
  }
  return out;
}

function replay(entries: Uint8Array[]): MapReplay {
  const r = new MapReplay();
  entries.forEach((e, i) => r.apply(i, e));
  return r;
}

describe('directory replay', () => {
  it('reproduces every epoch map root from the log alone, over random update sequences', async () => {
    for (const seed of [1, 2, 3]) {
      const rand = prng(seed);
      const t = await openTestDirectory();
      const providers = [await enrolProvider(t, 'chat.example'), await enrolProvider(t, 'talk.example', 'p256')];
      const versions = new Map<string, number>();
      for (let op = 0; op < 60; op++) {
        const p = providers[Math.floor(rand() * 2)];
        const account = `user${Math.floor(rand() * 15)}@${p.id}`;
        const key = `${p.id}/${account}`;
        const next = (versions.get(key) ?? 0) + 1;
        const deleted = next > 1 && rand() < 0.15;
        const s = statementFor(p, account, next, deleted ? [] : [identityKey()], t.clock.now);
        const signed = p.sign(deleted ? { ...s, status: 'deleted' } : s);
        await t.dir.submit(signed.statement, signed.signature);
        versions.set(key, next);
        if (rand() < 0.3) await t.dir.closeEpoch(rand() < 0.2);
      }
      await t.dir.closeEpoch();
      const entries = await logEntries(t);
      const r = replay(entries);
      expect(r.size).toBe(t.log.head.size);
      expect(r.lastHead!.epoch).toBe((await t.dir.snapshot()).snap.epoch);
      const roots = independentRoots(entries);
      expect(roots.filter((x) => x.expected !== x.got)).toEqual([]);
      expect(roots.length).toBeGreaterThan(5);
    }
  }, 120_000);

  it("writes the same rows to a store in memory and to kt audit's SQLite store, which reads through its cache", async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
    for (let i = 0; i < 120; i++) {
      const s = statementFor(chat, `user${i % 80}@chat.example`, i < 80 ? 1 : 2, [identityKey()], t.clock.now);
      const signed = chat.sign(s);
      await t.dir.submit(signed.statement, signed.signature);
      if (i % 20 === 19) await t.dir.closeEpoch();
    }
    const entries = await logEntries(t);
    const memory = new MemoryMapStore();
    const dir = mkdtempSync(join(tmpdir(), 'kt-replay-'));
    const { store: file } = SqliteAuditStore.open(join(dir, 'audit.db'));
    try {
      const a = new MapReplay(memory);
      const b = new MapReplay(file);
      entries.forEach((e, i) => (a.apply(i, e), b.apply(i, e)));
      expect(toHex(a.lastHead!.mapRoot)).toBe(toHex(b.lastHead!.mapRoot));
      // Both stores hold the same map: the same root row, and the same proof of every label.
      expect(file.mapNode(new Uint8Array(0))).toEqual(memory.mapNode(new Uint8Array(0)));
      const [sa, sb] = [new StoredMap(memory), new StoredMap(file)];
      for (const e of entries.map(decodeEntry))
        if (e.type === 'update') expect(sa.prove(e.label)).toEqual(sb.prove(e.label));
    } finally {
      file.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails the replay when an update is rewritten, dropped or reordered, or an epoch root is forged', async () => {
    const t = await openTestDirectory();
    const p = await enrolProvider(t, 'chat.example');
    for (let v = 1; v <= 3; v++) {
      const s = p.sign(statementFor(p, 'x@chat.example', v, [identityKey()], t.clock.now));
      await t.dir.submit(s.statement, s.signature);
      await t.dir.closeEpoch();
    }
    const entries = await logEntries(t);
    const updates = entries
      .map((e, i) => [i, decodeEntry(e)] as const)
      .filter(([, e]) => e.type === 'update')
      .map(([i]) => i);
    const heads = entries
      .map((e, i) => [i, decodeEntry(e)] as const)
      .filter(([, e]) => e.type === 'epoch')
      .map(([i]) => i);
    const codeOf = (es: Uint8Array[]) => {
      try {
        replay(es);
        return 'no error';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    const rewritten = entries.slice();
    const u = decodeEntry(entries[updates[1]]) as {
      type: 'update';
      label: Uint8Array;
      version: number;
      commitment: Uint8Array;
    };
    rewritten[updates[1]] = encodeEntry({ ...u, commitment: new Uint8Array(32).fill(7) });
    expect(codeOf(rewritten)).toBe('replay_map_root');
    const dropped = entries.filter((_, i) => i !== updates[1]);
    expect(codeOf(dropped)).toMatch(/^replay_/);
    const forged = entries.slice();
    const h = decodeEntry(entries[heads[heads.length - 1]]) as any;
    forged[heads[heads.length - 1]] = encodeEntry({ ...h, mapRoot: new Uint8Array(32).fill(1) });
    expect(codeOf(forged)).toBe('replay_map_root');
    const credsForged = entries.slice();
    credsForged[heads[heads.length - 1]] = encodeEntry({ ...h, credentialsRoot: new Uint8Array(32).fill(2) });
    expect(codeOf(credsForged)).toBe('replay_credentials_root');
    const forked = entries.slice();
    forked[updates[2]] = encodeEntry({ ...(decodeEntry(entries[updates[2]]) as any), version: 2 });
    expect(codeOf(forked)).toBe('replay_version_fork');
    expect(codeOf(entries)).toBe('no error');
  });
});

describe('the replay of a label updated several times', () => {
  const [a, b] = [new Uint8Array(32).fill(0xa0), new Uint8Array(32).fill(0x0b)];
  const c = (n: number) => new Uint8Array(32).fill(n);
  const fork = (entries: Uint8Array[]) => {
    try {
      replay(entries);
    } catch (e) {
      return { code: (e as { code: string }).code, message: (e as Error).message };
    }
    return { code: 'no error', message: '' };
  };

  it("chains the updates of one epoch and of later epochs onto the label's leaf", () => {
    const epochs = [
      [],
      [
        { label: a, version: 1, commitment: c(1) },
        { label: a, version: 2, commitment: c(2) },
        { label: b, version: 1, commitment: c(3) },
      ],
      [
        { label: a, version: 3, commitment: c(4) },
        { label: b, version: 2, commitment: c(5) },
        { label: b, version: 3, commitment: c(6) },
      ],
    ];
    const entries = syntheticLog(epochs);
    expect(replay(entries).size).toBe(entries.length);
  });

  it("refuses an update that does not follow the label's last version, naming its entry", () => {
    // A later update in the same epoch that skips a version: refused at its own entry.
    const skipped = syntheticLog([
      [],
      [
        { label: a, version: 1, commitment: c(1) },
        { label: a, version: 3, commitment: c(2) },
      ],
    ]);
    const r = new MapReplay();
    r.apply(0, skipped[0]);
    r.apply(1, skipped[1]);
    expect(() => r.apply(2, skipped[2])).toThrow(
      expect.objectContaining({
        code: 'replay_version_fork',
        message: expect.stringContaining('entry 2: version 3 does not follow version 1'),
      }),
    );
    // A label's first update of an epoch that does not follow the map: refused at the epoch's head, naming it.
    const fresh = syntheticLog([
      [],
      [
        { label: b, version: 1, commitment: c(1) },
        { label: a, version: 2, commitment: c(2) },
      ],
    ]);
    expect(fork(fresh)).toEqual({
      code: 'replay_version_fork',
      message: 'entry 2: version 2 does not follow version 0 of its label',
    });
    const again = syntheticLog([
      [],
      [{ label: a, version: 1, commitment: c(1) }],
      [
        { label: b, version: 1, commitment: c(2) },
        { label: a, version: 1, commitment: c(3) },
      ],
    ]);
    expect(fork(again)).toEqual({
      code: 'replay_version_fork',
      message: 'entry 4: version 1 does not follow version 1 of its label',
    });
    // The first fork in log order is named, whichever is found first: an earlier label's first update
    // (checked against the map) before a later label's skipped version (checked as it comes), and a
    // label's first update as soon as its second comes.
    const b3 = { label: b, version: 3, commitment: c(3) };
    const earlier = syntheticLog([
      [],
      [{ label: a, version: 5, commitment: c(1) }, { label: b, version: 1, commitment: c(2) }, b3],
    ]);
    expect(fork(earlier)).toEqual({
      code: 'replay_version_fork',
      message: 'entry 1: version 5 does not follow version 0 of its label',
    });
    const twice = syntheticLog([
      [],
      [
        { label: a, version: 2, commitment: c(1) },
        { label: a, version: 3, commitment: c(2) },
      ],
    ]);
    const r2 = new MapReplay();
    r2.apply(0, twice[0]);
    r2.apply(1, twice[1]);
    expect(() => r2.apply(2, twice[2])).toThrow(
      expect.objectContaining({ message: expect.stringContaining('entry 1: version 2 does not follow version 0') }),
    );
    const laterFirst = syntheticLog([
      [],
      [
        { label: b, version: 1, commitment: c(1) },
        { label: a, version: 4, commitment: c(2) },
        { label: a, version: 5, commitment: c(3) },
      ],
    ]);
    expect(fork(laterFirst).message).toBe('entry 2: version 4 does not follow version 0 of its label');
    // The first fork in the log is the one named, before the head's own checks.
    const both = syntheticLog([[], [{ label: a, version: 2, commitment: c(1) }]]);
    both[2] = encodeEntry({ ...(decodeEntry(both[2]) as EpochHeadEntry), mapRoot: c(9) });
    expect(fork(both)).toEqual({
      code: 'replay_version_fork',
      message: 'entry 1: version 2 does not follow version 0 of its label',
    });
  });
});

describe('the replay of KEYTRANS heads entries (type 0x04)', () => {
  it('accepts each just before its own epoch head, and refuses one anywhere else', async () => {
    const t = await openTestDirectory({ keytrans: true });
    await enrolProvider(t, 'chat.example');
    for (let i = 0; i < 3; i++) await t.dir.closeEpoch();
    const entries = await logEntries(t);
    const kinds = entries.map((e) => decodeEntry(e).type);
    expect(kinds.filter((k) => k === 'keytrans')).toHaveLength(3);
    kinds.forEach((k, i) => k === 'keytrans' && expect(kinds[i + 1]).toBe('epoch'));
    expect(replay(entries).size).toBe(entries.length);
    const at = kinds.indexOf('keytrans');
    const moved = [...entries.slice(0, at), entries[at + 1], entries[at], ...entries.slice(at + 2)];
    expect(() => replay(moved)).toThrow(expect.objectContaining({ name: 'VerifyError' }));
    const other = decodeEntry(entries[at]);
    if (other.type !== 'keytrans') throw new Error('unreachable');
    const wrongEpoch = [...entries];
    wrongEpoch[at] = encodeEntry({ ...other, epoch: other.epoch + 1 });
    expect(() => replay(wrongEpoch)).toThrow(expect.objectContaining({ code: 'replay_keytrans_heads' }));
  });
});
