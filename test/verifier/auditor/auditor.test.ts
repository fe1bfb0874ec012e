/**
 * The auditor (verifier/auditor/auditor.ts) against the real app and against logs it cannot trust: an honest
 * directory audited in steps and resumed from saved state; the frontier checked against the definition at
 * every size up to 300; and logs signed with the log's key but rewritten, with an update dropped, a version
 * skipped, an epoch's map forged, or rolled back, each caught with its code. Enrolments are handed to the
 * enrolment check as they are read.
 */
import { describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { Auditor, type AuditorState } from '../../../verifier/auditor/auditor.js';
import { MemoryAuditStore, type AuditStore } from '../../../verifier/auditor/audit-store.js';
import { CheckpointVerifier } from '../../../verifier/verification/checkpoint-policy.js';
import { decodeEntry, encodeEntry } from '../../../verifier/formats/entries.js';
import { Frontier } from '../../../verifier/formats/frontier.js';
import { recordHash, rootFromLeafHashes } from '../../../verifier/formats/tlog.js';
import { entriesOf, fakeLog } from '../../attacks/malicious.js';
import {
  appOver,
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  publish,
  statementFor,
  type TestDirectory,
} from '../../helpers/directory.js';
import { legacyLeaves } from '../../helpers/legacy-audit.js';
import { ORIGIN, records } from '../../helpers/log.js';

const checkpoints = () =>
  new CheckpointVerifier({ origin: ORIGIN, logKey: parseVerifierKey(logSignerForTests.verifierKey) });

async function busyDirectory(): Promise<TestDirectory> {
  const t = await openTestDirectory();
  const chat = await enrolProvider(t, 'chat.example');
  for (let v = 1; v <= 3; v++) {
    for (const a of ['a', 'b', 'c'])
      await publish(t, chat.sign(statementFor(chat, `${a}@chat.example`, v, [identityKey()], t.clock.now)));
  }
  return t;
}

/** An audit from a store, or from a state the release before the stored map saved (with its leaves). */
const auditWith = (fetch: (url: string) => Response | Promise<Response>, from?: AuditStore | AuditorState) =>
  new Auditor({
    logUrl: 'http://kt.test/log',
    checkpoints: checkpoints(),
    enrolment: 'unchecked',
    fetch: async (url) => fetch(url),
    ...(from && ('savedState' in from ? { store: from } : { state: from })),
  }).audit();

/**
 * The state as the release before the stored map saved it: with every map leaf (label, uint64 version,
 * history hash), read from the directory's accounts now, right after the audit that returned `state`.
 */
function withLeaves(state: AuditorState, t: TestDirectory): AuditorState {
  return { ...state, replay: { ...state.replay, leaves: legacyLeaves(t) } };
}

/** A store that reads `store`'s map but gives a damaged copy of its state, or damaged map rows. */
function damaged(
  store: AuditStore,
  f: { state?: (s: AuditorState) => void; row?: (v: Uint8Array) => void },
): AuditStore {
  return {
    mapNode: (key) => {
      const v = store.mapNode(key)?.slice();
      if (v && key.length === 0) f.row?.(v);
      return v;
    },
    writeMapRows: (rows) => store.writeMapRows(rows),
    savedState: () => {
      const copy = structuredClone(store.savedState() as AuditorState);
      f.state?.(copy);
      return copy;
    },
    commit: () => {},
    rollback: () => store.rollback(),
  };
}

describe('the auditor', () => {
  it('audits an honest directory in steps, resuming from its store, and rolls the store back on a failure', async () => {
    const t = await busyDirectory();
    const app = appOver(t);
    const fetch = async (url: string) => app.request(url);
    const enrolled: number[] = [];
    const store = new MemoryAuditStore();
    const auditor = (s: AuditStore | AuditorState, f: typeof fetch = fetch) =>
      new Auditor({
        logUrl: 'http://kt.test/log',
        checkpoints: checkpoints(),
        fetch: f,
        ...('savedState' in s ? { store: s } : { state: s }),
        enrolment: { check: async (_e, i) => void enrolled.push(i) },
      });
    const first = await auditor(store).audit();
    expect([first.from, first.checkpoint.size]).toEqual([0, t.log.head.size]);
    expect(store.savedState()).toEqual(first.state);
    expect(enrolled).toHaveLength(1);
    const legacy = withLeaves(first.state, t);
    const chat = await enrolProvider(t, 'talk.example');
    await publish(t, chat.sign(statementFor(chat, 'd@talk.example', 1, [identityKey()], t.clock.now)));
    // A failed audit (the log's entries are not served) leaves the store as it was.
    const broken = async (url: string) =>
      url.includes('/entries/') ? new Response('gone', { status: 500 }) : fetch(url);
    await expect(auditor(store, broken).audit()).rejects.toBeTruthy();
    expect(store.savedState()).toEqual(first.state);
    const second = await auditor(store).audit();
    expect([second.from, second.checkpoint.size]).toEqual([first.checkpoint.size, t.log.head.size]);
    expect(enrolled).toHaveLength(2);
    const again = await auditWith(fetch, store);
    expect(again.from).toBe(t.log.head.size);
    // A state saved by the release before the stored map (every leaf in it) resumes too, in a fresh store.
    const resumed = await auditor(legacy).audit();
    expect([resumed.from, resumed.state]).toEqual([first.checkpoint.size, second.state]);
    // A damaged saved state, or a store of another map, is refused as such, not blamed on the log.
    const code = (from: AuditStore | AuditorState) =>
      auditWith(fetch, from).then(
        () => 'accepted',
        (e: { code: string; constructor: { name: string } }) => `${e.constructor.name} ${e.code}`,
      );
    const leaves = legacy.replay.leaves as Uint8Array;
    const flipped = leaves.slice();
    flipped[40] ^= 1;
    expect(await code({ ...legacy, replay: { ...legacy.replay, leaves: flipped } })).toBe(
      'ClientError bad_replay_state',
    );
    expect(await code({ ...legacy, replay: { ...legacy.replay, leaves: leaves.subarray(1) } })).toBe(
      'ClientError bad_replay_state',
    );
    expect(await code(damaged(store, { row: (v) => (v[v.length - 1] ^= 1) }))).toBe('ClientError bad_replay_state');
    expect(await code(damaged(store, { state: (st) => (st.frontier[0][0] ^= 1) }))).toBe(
      'ClientError bad_replay_state',
    );
    expect(await code(damaged(store, { state: (st) => st.replay.credentials.pop() }))).toBe(
      'ClientError bad_replay_state',
    );
    expect(await code(damaged(store, { state: (st) => (st.replay.size -= 1) }))).toBe('ClientError bad_replay_state');
    expect(await code(new MemoryAuditStore(second.state))).toBe('ClientError bad_replay_state'); // no map
  });

  it('says which enrolments were never checked, also when a later audit resumes with a check', async () => {
    const t = await busyDirectory();
    const app = appOver(t);
    const fetch = async (url: string) => app.request(url);
    const first = await auditWith(fetch);
    const unchecked = { ...first, state: withLeaves(first.state, t) };
    expect(unchecked.enrolments).toEqual({ checked: false, read: 1, uncheckedEarlier: 0 });
    expect(unchecked.state.uncheckedEnrolments).toBe(1);
    const chat = await enrolProvider(t, 'talk.example');
    await publish(t, chat.sign(statementFor(chat, 'd@talk.example', 1, [identityKey()], t.clock.now)));
    const checkedNow: number[] = [];
    const resume = (state: AuditorState) =>
      new Auditor({
        logUrl: 'http://kt.test/log',
        checkpoints: checkpoints(),
        fetch,
        state,
        enrolment: { check: async (_e, i) => void checkedNow.push(i) },
      }).audit();
    const checked = await resume(unchecked.state);
    expect(checked.enrolments).toEqual({ checked: true, read: 1, uncheckedEarlier: 1 });
    expect(checked.state.uncheckedEnrolments).toBe(1); // still unchecked: a new audit from 0 is needed
    expect(checkedNow).toHaveLength(1);
    // A state saved before the count was kept: every earlier enrolment counts as unchecked.
    const { uncheckedEnrolments: _, ...old } = unchecked.state;
    expect((await resume(old)).enrolments.uncheckedEarlier).toBe(1);
  });

  it('keeps the tree hash of every size up to 300 as the definition gives it', () => {
    const entries = records(0, 300);
    const f = new Frontier();
    for (let n = 0; n <= 300; n++) {
      expect(f.root(), `size ${n}`).toEqual(rootFromLeafHashes(entries.slice(0, n).map(recordHash)));
      const resumed = new Frontier(n, f.hashes());
      expect(resumed.root()).toEqual(f.root());
      if (n < 300) f.push(entries[n]);
    }
    expect(() => new Frontier(5, [])).toThrow();
  });

  it('catches a log that rewrites, drops or forks updates, forges an epoch map, or rolls back', async () => {
    const honest = await entriesOf(await busyDirectory());
    const updateAt = honest.findIndex((e) => decodeEntry(e).type === 'update');
    const headAt = honest.findIndex((e, i) => i > updateAt && decodeEntry(e).type === 'epoch');
    const mutate = (i: number, f: (e: ReturnType<typeof decodeEntry>) => void) =>
      honest.map((e, j) => {
        if (j !== i) return e;
        const d = decodeEntry(e);
        f(d);
        return encodeEntry(d);
      });
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (e: { code: string }) => e.code,
      );

    expect(await code(auditWith(fakeLog(honest)))).toBe('accepted');
    // The entries differ from the tree the log signed (a rewrite after signing).
    const served = fakeLog(honest);
    const rewritten = mutate(updateAt, (d) => d.type === 'update' && (d.commitment = new Uint8Array(32).fill(7)));
    const swapped = async (url: string) => (url.includes('/entries/') ? fakeLog(rewritten)(url) : served(url));
    expect(await code(auditWith(swapped))).toBe('inconsistent_checkpoint');
    // Signed, but not what the updates make: a changed commitment, a dropped update, a skipped version, a forged map.
    expect(await code(auditWith(fakeLog(rewritten)))).toBe('replay_map_root');
    expect(await code(auditWith(fakeLog(honest.filter((_e, i) => i !== updateAt))))).toBe('replay_epoch_range');
    expect(await code(auditWith(fakeLog(mutate(updateAt, (d) => d.type === 'update' && (d.version = 2)))))).toBe(
      'replay_version_fork',
    );
    expect(
      await code(auditWith(fakeLog(mutate(headAt, (d) => d.type === 'epoch' && (d.mapRoot = new Uint8Array(32)))))),
    ).toBe('replay_map_root');
    // Rolled back below what was audited.
    const store = new MemoryAuditStore();
    await auditWith(fakeLog(honest), store);
    expect(await code(auditWith(fakeLog(honest.slice(0, headAt + 1)), store))).toBe('rollback');
  });
});
