/**
 * The auditor's KEYTRANS history check (verifier/auditor/auditor.ts over verifier/keytrans-anchor/history.ts,
 * docs/PROTOCOL.md section 22.7): an honest log with KEYTRANS heads entries passes, also audited in two runs with
 * the history saved and restored; a KEYTRANS heads entry rewritten and re-signed with the log's key (a root that
 * is not its anchored entries', another tree's entry, a skipped size, a provider dropped) fails the audit with
 * `replay_keytrans_history` and leaves the saved state as it was; a continuation that only the restored history
 * can refuse is refused; a state without a history (an earlier release) gets one by reading the audited entries
 * again, which refuses what that release let pass; a damaged saved history is the state's fault, not the log's.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { Auditor, type AuditResult } from '../../../verifier/auditor/auditor.js';
import { MemoryAuditStore } from '../../../verifier/auditor/audit-store.js';
import { signCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { Frontier } from '../../../verifier/formats/frontier.js';
import { logLeafHash } from '../../../verifier/keytrans/log-tree.js';
import { KT_128_SHA256_Ed25519 as SUITE } from '../../../verifier/keytrans/suites.js';
import { CheckpointVerifier } from '../../../verifier/verification/checkpoint-policy.js';
import { MapReplay } from '../../../verifier/verification/map-replay.js';
import { fakeLog, type Fetch } from '../../attacks/malicious.js';
import { appOver, logSignerForTests } from '../../helpers/directory.js';
import { headsAt, keyTransLog, rewritten, type KeyTransLog } from '../../helpers/keytrans-log.js';
import { ORIGIN } from '../../helpers/log.js';

let log: KeyTransLog;
/** A size ending with an epoch head after the seventh KEYTRANS heads entry (a resume point past some of them). */
let cut: number;
beforeAll(async () => {
  log = await keyTransLog();
  cut = log.epochEnds.find((s) => s > log.heads[6])!;
  expect(log.heads.filter((i) => i > cut)).toHaveLength(4);
  expect(headsAt(log.entries, log.heads[5]).heads).toHaveLength(2);
});

const audit = (fetch: Fetch, store = new MemoryAuditStore()) =>
  new Auditor({
    logUrl: 'http://kt.test/log',
    checkpoints: new CheckpointVerifier({ origin: ORIGIN, logKey: parseVerifierKey(logSignerForTests.verifierKey) }),
    enrolment: 'unchecked',
    fetch,
    store,
  }).audit();

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: { code: string; constructor: { name: string } }) => `${e.constructor.name} ${e.code}`,
  );

describe('an epoch without its KEYTRANS heads', () => {
  it('is refused once a deployment exists, whatever else it holds', async () => {
    // The log's last epoch served without its KEYTRANS heads entry, its head counting one entry less, re-signed.
    const [prevEnd, end] = log.epochEnds.slice(-2);
    const at = log.heads.find((i) => i >= prevEnd && i < end)!;
    const entries = [...log.entries.slice(0, at), ...log.entries.slice(at + 1, end)];
    const forged = rewritten(entries, entries.length - 1, (e) => {
      if (e.type === 'epoch') e.count -= 1;
    });
    expect(await code(audit(fakeLog(forged)))).toBe('VerifyError replay_keytrans_history');
    expect(await code(audit(fakeLog(log.entries.slice(0, end))))).toBe('accepted');
  });
});

const headsBefore = (size: number) => log.heads.filter((i) => i < size).length;

/** The state the release before the history saved after auditing `entries` (which it let pass), in `store`. */
function releaseState(entries: Uint8Array[], store: MemoryAuditStore): void {
  const replay = new MapReplay(store);
  const frontier = new Frontier();
  entries.forEach((e, i) => {
    replay.apply(i, e);
    frontier.push(e);
  });
  const note = signCheckpoint({ origin: ORIGIN, size: entries.length, rootHash: frontier.root() }, logSignerForTests);
  store.commit({ checkpoint: note, frontier: frontier.hashes(), replay: replay.exportState() });
}

describe("the auditor's KEYTRANS history", () => {
  let whole: AuditResult;
  it('passes an honest log with KEYTRANS heads, audited at once or in two runs with the history saved', async () => {
    const app = appOver(log.t);
    whole = await audit(async (url) => app.request(url));
    expect(whole.keyTrans).toEqual({ read: log.heads.length, providers: 2, reread: 0 });
    const store = new MemoryAuditStore();
    const first = await audit(fakeLog(log.entries.slice(0, cut)), store);
    expect(first.keyTrans).toEqual({ read: headsBefore(cut), providers: 2, reread: 0 });
    expect(store.savedState()?.keyTransHistory).toEqual(first.state.keyTransHistory);
    const second = await audit(fakeLog(log.entries), store);
    expect([second.from, second.keyTrans.read]).toEqual([cut, log.heads.length - headsBefore(cut)]);
    expect(second.state.keyTransHistory).toEqual(whole.state.keyTransHistory);
  });

  it('refuses a KEYTRANS heads entry rewritten and re-signed: a root, another tree’s entry, a skipped size, a provider dropped', async () => {
    const at = log.heads.at(-2)!; // both providers are in it, and an entry follows it
    const heads = (f: (h: { root: Uint8Array; prefixRoot: Uint8Array; treeSize: number }[]) => unknown[]) =>
      rewritten(log.entries, at, (e) => (e.type === 'keytrans' ? { ...e, heads: f(e.heads) as typeof e.heads } : e));
    const forged = {
      root: heads((hs) => hs.map((h, i) => (i === 1 ? { ...h, root: h.root.map((x) => x ^ 1) } : h))),
      otherTree: heads((hs) => hs.map((h) => ({ ...h, prefixRoot: new Uint8Array(32).fill(5) }))),
      skipped: heads((hs) => hs.map((h, i) => (i === 0 ? { ...h, treeSize: h.treeSize + 1 } : h))),
      dropped: heads((hs) => hs.slice(1)),
    };
    for (const [what, entries] of Object.entries(forged))
      expect(`${what}: ${await code(audit(fakeLog(entries)))}`).toBe(`${what}: VerifyError replay_keytrans_history`);
    // Resumed past some of them, the failed audit leaves the saved state as it was.
    const store = new MemoryAuditStore();
    const first = await audit(fakeLog(log.entries.slice(0, cut)), store);
    expect(await code(audit(fakeLog(forged.dropped), store))).toBe('VerifyError replay_keytrans_history');
    expect(store.savedState()).toEqual(first.state);
  });

  it('refuses after a resume a tree started again, which only the restored history shows', async () => {
    // Every deployment anchored again at tree size 1 after the resume point, with a root that is its one entry's.
    const at = log.heads.find((i) => i > cut)!;
    const restarted = rewritten(log.entries, at, (e) =>
      e.type === 'keytrans'
        ? {
            ...e,
            heads: e.heads.map((h) => ({
              ...h,
              treeSize: 1,
              root: logLeafHash(SUITE, { timestamp: h.timestamp, prefixTree: h.prefixRoot }),
            })),
          }
        : e,
    ).slice(0, at + 2);
    const store = new MemoryAuditStore();
    await audit(fakeLog(log.entries.slice(0, cut)), store);
    expect(await code(audit(fakeLog(restarted), store))).toBe('VerifyError replay_keytrans_history');
    // The same continuation from an earlier release's state: the history built again refuses it too.
    const old = new MemoryAuditStore();
    releaseState(log.entries.slice(0, cut), old);
    expect(await code(audit(fakeLog(restarted), old))).toBe('VerifyError replay_keytrans_history');
  });

  it('builds the history of a state saved without one by reading the audited entries again', async () => {
    const store = new MemoryAuditStore();
    releaseState(log.entries.slice(0, cut), store);
    expect(store.savedState()?.keyTransHistory).toBeUndefined();
    const resumed = await audit(fakeLog(log.entries), store);
    expect([resumed.from, resumed.keyTrans]).toEqual([
      cut,
      { read: log.heads.length - headsBefore(cut), providers: 2, reread: cut },
    ]);
    expect(resumed.state.keyTransHistory).toEqual(whole.state.keyTransHistory);
    expect((await audit(fakeLog(log.entries), store)).keyTrans.reread).toBe(0);
    // What that release let pass (a provider dropped before the resume point) is refused now.
    const dropped = rewritten(log.entries, log.heads[5], (e) =>
      e.type === 'keytrans' ? { ...e, heads: e.heads.slice(1) } : e,
    );
    const passed = new MemoryAuditStore();
    releaseState(dropped.slice(0, cut), passed);
    expect(await code(audit(fakeLog(dropped), passed))).toBe('VerifyError replay_keytrans_history');
    expect(passed.savedState()?.keyTransHistory).toBeUndefined();
    // Entries served again that are not the ones audited (re-signed): the log's fault.
    const honest = new MemoryAuditStore();
    releaseState(log.entries.slice(0, cut), honest);
    expect(await code(audit(fakeLog(dropped), honest))).toBe('VerifyError inconsistent_checkpoint');
  });

  it('refuses a damaged saved history as the state’s fault', async () => {
    const store = new MemoryAuditStore();
    const first = await audit(fakeLog(log.entries.slice(0, cut)), store);
    const history = first.state.keyTransHistory!.slice();
    history[history.length - 1] ^= 1;
    store.commit({ ...first.state, keyTransHistory: history });
    expect(await code(audit(fakeLog(log.entries), store))).toBe('ClientError bad_replay_state');
    // A history of a later epoch than the replay's (another state's).
    store.commit({ ...first.state, keyTransHistory: whole.state.keyTransHistory });
    expect(await code(audit(fakeLog(log.entries), store))).toBe('ClientError bad_replay_state');
  });
});
