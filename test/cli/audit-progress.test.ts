/**
 * An audit saved part way (verifier/auditor/auditor.ts `progressEvery`, cli/audit-store.ts): a first audit of a log
 * of several entry bundles, cut by a network failure, leaves its state file at its last save (an epoch head, the
 * checkpoint it was auditing toward recorded); the next audit, in a new process's store, reads only the bundles
 * from there on and ends in the state an uninterrupted audit reaches (KEYTRANS history included). A save is made
 * only once the log's hash tiles prove the entries read the first of its signed tree (`prefixInTree`: entries
 * that are not are the log's fault if it serves them still, the state's if it no longer does; tiles that cannot
 * tell skip the save). Enrolments an interrupted unchecked audit read stay counted as unchecked when a checked one
 * goes on, and a save made after the KEYTRANS history of an earlier release's state was rebuilt holds it. A
 * checkpoint of fewer entries than the target is a rollback; entries that do not make the
 * target's tree are the log's fault, a damaged saved frontier or a target the log did not sign the state's.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import { Auditor, type AuditorState, type EnrolmentCheck } from '../../verifier/auditor/auditor.js';
import { MemoryAuditStore, type AuditStore } from '../../verifier/auditor/audit-store.js';
import { CheckpointVerifier } from '../../verifier/verification/checkpoint-policy.js';
import { TILE_WIDTH } from '../../verifier/formats/tiles.js';
import { SqliteAuditStore } from '../../cli/audit-store.js';
import { prefixInTree } from '../../verifier/auditor/audit-progress.js';
import { Frontier } from '../../verifier/formats/frontier.js';
import { fetchEntryBundle } from '../../verifier/http/entry-fetch.js';
import {
  appOver,
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  publish,
  statementFor,
} from '../helpers/directory.js';
import { ORIGIN } from '../helpers/log.js';

type Fetch = (url: string) => Promise<Response>;
const bundleOf = (url: string) => Number(/tile\/entries\/(?:x\d{3}\/)*(\d{3})/.exec(url)?.[1] ?? -1);

const LOG = 'http://kt.test/log';
const checkpoints = () =>
  new CheckpointVerifier({ origin: ORIGIN, logKey: parseVerifierKey(logSignerForTests.verifierKey) });

function auditor(store: AuditStore, fetch: Fetch, progressEvery = 64, enrolment: EnrolmentCheck = 'unchecked') {
  return new Auditor({
    logUrl: LOG,
    checkpoints: checkpoints(),
    enrolment,
    store,
    fetch: async (url) => fetch(url),
    progressEvery,
  });
}

/** `store` with `state` as its saved state (its map rows as they are). */
const withState = (store: AuditStore, state: AuditorState): AuditStore => ({
  mapNode: (key) => store.mapNode(key),
  writeMapRows: (rows) => store.writeMapRows(rows),
  savedState: () => state,
  commit: () => {},
  rollback: () => store.rollback(),
});

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: { code: string; constructor: { name: string } }) => `${e.constructor.name} ${e.code}`,
  );

describe('an audit saved part way', () => {
  let fetch: Fetch;
  let earliest: string;
  let early: string;
  let size: number;
  const bundles: number[] = [];
  const counting: Fetch = (url) => (bundles.push(bundleOf(url)), fetch(url));
  /** Fails every bundle from `n` on (a network failure). */
  const cutAt =
    (n: number): Fetch =>
    (url) =>
      bundleOf(url) >= n ? Promise.reject(new TypeError('fetch failed')) : fetch(url);

  /** Publishes `n` new accounts, an epoch each (`from` on in their names). */
  let publishMore: (from: number, n: number) => Promise<void>;

  beforeAll(async () => {
    const t = await openTestDirectory({ keytrans: true });
    const chat = await enrolProvider(t, 'chat.example');
    publishMore = async (from, n) => {
      for (let i = from; i < from + n; i++)
        await publish(t, chat.sign(statementFor(chat, `u${i}@chat.example`, 1, [identityKey()], t.clock.now)));
    };
    const app = appOver(t);
    fetch = async (url) => app.request(url);
    for (let i = 0; i < 330; i++) {
      await publish(t, chat.sign(statementFor(chat, `u${i}@chat.example`, 1, [identityKey()], t.clock.now)));
      if (i === 20) earliest = await (await fetch('http://kt.test/log/checkpoint')).text();
      if (i === 200) early = await (await fetch('http://kt.test/log/checkpoint')).text();
    }
    size = t.log.head.size;
    expect(size).toBeGreaterThan(2 * TILE_WIDTH);
  }, 60_000);

  it('goes on from its last save, in a new store over the file, to the state of an uninterrupted audit', async () => {
    const whole = await auditor(new MemoryAuditStore(), fetch).audit();
    expect(whole.keyTrans.providers).toBe(1); // the KEYTRANS history is saved part way too
    const path = join(mkdtempSync(join(tmpdir(), 'kt-progress-')), 'kt-audit.db');
    const first = SqliteAuditStore.open(path).store;
    await expect(auditor(first, cutAt(2)).audit()).rejects.toThrow('fetch failed');
    first.close();
    const second = SqliteAuditStore.open(path).store;
    const saved = second.savedState()!;
    // Saved at the last epoch head at least 64 entries after the one before, within the two bundles read.
    expect(saved.checkpoint).toBeNull();
    expect(saved.target).toBe(whole.state.checkpoint);
    expect(saved.replay.size).toBeGreaterThan(2 * TILE_WIDTH - 64 - 3);
    expect(saved.replay.size).toBeLessThanOrEqual(2 * TILE_WIDTH);
    bundles.length = 0;
    const resumed = await auditor(second, counting).audit();
    expect([resumed.from, resumed.continued]).toEqual([saved.replay.size, true]);
    expect(bundles.filter((n) => n >= 0)[0]).toBe(Math.floor(saved.replay.size / TILE_WIDTH));
    expect(resumed.state).toEqual(whole.state);
    expect(second.savedState()).toEqual(whole.state);
    second.close();
  });

  it('counts the enrolments an interrupted audit read unchecked as such when a checked audit goes on', async () => {
    const store = new MemoryAuditStore();
    await expect(auditor(store, cutAt(2)).audit()).rejects.toThrow('fetch failed');
    expect(store.savedState()?.uncheckedEnrolments).toBe(1); // the provider's, read before the save
    const checked: number[] = [];
    const resumed = await auditor(store, fetch, 64, { check: async (_e, i) => void checked.push(i) }).audit();
    expect(resumed.enrolments).toMatchObject({ checked: true, read: 0, uncheckedEarlier: 1 });
    expect([checked, resumed.state.uncheckedEnrolments]).toEqual([[], 1]);
  });

  it('is saved at epoch heads only, as often as asked, and not at all with progressEvery 0', async () => {
    const sizes: number[] = [];
    const store = new MemoryAuditStore();
    const commit = store.commit.bind(store);
    store.commit = (s: AuditorState) => (sizes.push(s.replay.size), commit(s));
    await auditor(store, fetch, 100).audit();
    expect(sizes.at(-1)).toBe(size);
    for (const [i, n] of sizes.slice(0, -1).entries()) expect(n - (sizes[i - 1] ?? 0)).toBeGreaterThanOrEqual(100);
    expect(sizes.length).toBeGreaterThan(3);
    sizes.length = 0;
    await auditor(store, fetch, 0).audit();
    const none = new MemoryAuditStore();
    const noneCommits: number[] = [];
    none.commit = (s: AuditorState) => void noneCommits.push(s.replay.size);
    await auditor(none, fetch, 0).audit();
    expect(noneCommits).toEqual([size]);
  });

  it("refuses a checkpoint below its target as a rollback, and blames the log's entries or the state rightly", async () => {
    const interrupted = async () => {
      const store = new MemoryAuditStore();
      await expect(auditor(store, cutAt(1)).audit()).rejects.toThrow('fetch failed');
      expect(store.savedState()?.target).toBeDefined();
      return store;
    };
    // The log now signs fewer entries than the checkpoint the interrupted audit was reaching.
    const behind = await interrupted();
    expect(await codeOf(auditor(behind, fetch).audit(early))).toBe('VerifyError rollback');
    // The log serves an entry after the save that is not the one it signed.
    const altered: Fetch = async (url) => {
      const res = await fetch(url);
      if (bundleOf(url) !== 1) return res;
      const body = new Uint8Array(await res.arrayBuffer());
      body[body.length - 1] ^= 1;
      return new Response(body);
    };
    expect(await codeOf(auditor(await interrupted(), altered).audit())).toBe('VerifyError inconsistent_checkpoint');
    // The saved frontier is damaged: the log's entries make its tree, so the state is at fault.
    const damaged = await interrupted();
    const state = structuredClone(damaged.savedState()!);
    state.frontier[0][0] ^= 1;
    expect(await codeOf(auditor(withState(damaged, state), fetch).audit())).toBe('ClientError bad_replay_state');
    // A target that is not a checkpoint the log signed (its root or size altered) is a damaged state.
    const saved = damaged.savedState()!;
    const alteredRoot = saved.target!.replace(
      /\n([A-Za-z0-9+/]{43}=)\n/,
      (_m, root: string) => `\n${root.startsWith('A') ? 'B' : 'A'}${root.slice(1)}\n`,
    );
    const alteredSize = saved.target!.replace(/\n(\d+)\n/, (_m, n: string) => `\n${Number(n) + 1}\n`);
    expect([alteredRoot, alteredSize].every((t) => t !== saved.target)).toBe(true);
    for (const target of [alteredRoot, alteredSize])
      expect(await codeOf(auditor(withState(damaged, { ...saved, target }), fetch).audit())).toBe(
        'ClientError bad_replay_state',
      );
    // A target behind the replay is a damaged state too.
    const behindReplay = { ...damaged.savedState()!, target: earliest };
    expect(await codeOf(auditor(withState(damaged, behindReplay), fetch).audit())).toBe('ClientError bad_replay_state');
  });

  it("is saved only once the log's tiles prove the entries read the first of its signed tree", async () => {
    const note = await (await fetch('http://kt.test/log/checkpoint')).text();
    const tree = checkpoints().verify(note).checkpoint;
    const entries = [
      ...(await fetchEntryBundle(fetch, LOG, 0, TILE_WIDTH)),
      ...(await fetchEntryBundle(fetch, LOG, 1, TILE_WIDTH)),
    ].slice(0, 300);
    const frontierOf = (list: Uint8Array[]) => {
      const f = new Frontier();
      for (const e of list) f.push(e);
      return f;
    };
    const altered = entries.map((e, i) => (i === 123 ? e.map((b, j) => (j === e.length - 1 ? b ^ 1 : b)) : e));
    // The log serving that altered entry (entry 123's last byte, in bundle 0: each entry has a u16 length first).
    const last123 = entries.slice(0, 124).reduce((n, e) => n + 2 + e.length, 0) - 1;
    const alteredLog: Fetch = async (url) => {
      const res = await fetch(url);
      if (bundleOf(url) !== 0) return res;
      const body = new Uint8Array(await res.arrayBuffer());
      body[last123] ^= 1;
      return new Response(body);
    };
    expect(await prefixInTree(fetch, LOG, frontierOf(entries), tree, tree.size)).toBe(true);
    // Entries that are not the signed tree's first, the log's entries being so: the state is at fault.
    expect(await codeOf(prefixInTree(fetch, LOG, frontierOf(altered), tree, tree.size))).toBe(
      'ClientError bad_replay_state',
    );
    // Entries the log serves that are not its signed tree's, its tiles being so: the log is at fault.
    expect(await codeOf(prefixInTree(alteredLog, LOG, frontierOf(altered), tree, tree.size))).toBe(
      'VerifyError inconsistent_checkpoint',
    );
    // Tiles that are unavailable, or not the signed tree's, cannot tell: no save, no verdict.
    const noTiles: Fetch = async (url) =>
      /\/tile\/\d\//.test(url) ? new Response('gone', { status: 404 }) : fetch(url);
    expect(await prefixInTree(noTiles, LOG, frontierOf(entries), tree, tree.size)).toBe(false);
    const badTiles: Fetch = async (url) => {
      const res = await fetch(url);
      if (!/\/tile\/\d\//.test(url)) return res;
      const body = new Uint8Array(await res.arrayBuffer());
      body[0] ^= 1;
      return new Response(body);
    };
    expect(await prefixInTree(badTiles, LOG, frontierOf(altered), tree, tree.size)).toBe(false);
    // An audit cut short whose tiles cannot be fetched saves nothing part way.
    const store = new MemoryAuditStore();
    const cutWithoutTiles: Fetch = (url) =>
      bundleOf(url) >= 2 ? Promise.reject(new TypeError('fetch failed')) : noTiles(url);
    await expect(auditor(store, cutWithoutTiles).audit()).rejects.toThrow('fetch failed');
    expect(store.savedState()).toBeUndefined();
  });

  it('goes on from a save made after it rebuilt the KEYTRANS history of a state of an earlier release', async () => {
    const store = new MemoryAuditStore();
    const first = await auditor(store, fetch, 0).audit();
    const { keyTransHistory: _history, ...older } = first.state;
    store.commit(older); // as a release before the KEYTRANS history saved it
    await publishMore(1_000, 300);
    const cut = Math.floor(first.checkpoint.size / TILE_WIDTH) + 2;
    await expect(auditor(store, cutAt(cut)).audit()).rejects.toThrow('fetch failed');
    const saved = store.savedState()!;
    expect(saved.keyTransHistory).toBeDefined(); // rebuilt, then saved with the rest
    expect(saved.target).toBeDefined();
    expect(saved.replay.size).toBeGreaterThan(first.checkpoint.size);
    const resumed = await auditor(store, fetch).audit();
    expect([resumed.continued, resumed.keyTrans.reread]).toEqual([true, 0]);
    expect(resumed.state).toEqual((await auditor(new MemoryAuditStore(), fetch).audit()).state);
  });
});
