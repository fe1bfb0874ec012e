/**
 * An audit saved part way (verifier/auditor/auditor.ts `progressEvery`, cli/audit-store.ts): a first audit of a log
 * of several entry bundles, cut by a network failure, leaves its state file at its last save (an epoch head, the
 * checkpoint it was auditing toward recorded); the next audit, in a new process's store, reads only the bundles
 * from there on and ends in the state an uninterrupted audit reaches. A checkpoint of fewer entries than that
 * target is a rollback; entries that do not make the target's tree are the log's fault, a damaged saved frontier
 * is the state's.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import { Auditor, type AuditorState } from '../../verifier/auditor/auditor.js';
import { MemoryAuditStore, type AuditStore } from '../../verifier/auditor/audit-store.js';
import { CheckpointVerifier } from '../../verifier/verification/checkpoint-policy.js';
import { TILE_WIDTH } from '../../verifier/formats/tiles.js';
import { SqliteAuditStore } from '../../cli/audit-store.js';
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

function auditor(store: AuditStore, fetch: Fetch, progressEvery = 64) {
  return new Auditor({
    logUrl: 'http://kt.test/log',
    checkpoints: new CheckpointVerifier({ origin: ORIGIN, logKey: parseVerifierKey(logSignerForTests.verifierKey) }),
    enrolment: 'unchecked',
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

  beforeAll(async () => {
    const t = await openTestDirectory();
    const chat = await enrolProvider(t, 'chat.example');
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
    // A target behind the replay is a damaged state too.
    const behindReplay = { ...damaged.savedState()!, target: earliest };
    expect(await codeOf(auditor(withState(damaged, behindReplay), fetch).audit())).toBe('ClientError bad_replay_state');
  });
});
