/**
 * The auditor's SQLite state file (cli/audit-store.ts): the state and the replayed map are committed
 * together after an audit that passed and rolled back after one that failed; the file survives a reopen;
 * and a JSON state file of the release before the stored map (every leaf in it, in that release's format)
 * is upgraded in place, at its own path or from kt-audit.json into kt-audit.db, and a damaged one is refused
 * with nothing written.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import { Auditor, type AuditorState } from '../../verifier/auditor/auditor.js';
import type { AuditStore } from '../../verifier/auditor/audit-store.js';
import { CheckpointVerifier } from '../../verifier/verification/checkpoint-policy.js';
import { SqliteAuditStore } from '../../cli/audit-store.js';
import {
  appOver,
  enrolProvider,
  identityKey,
  logSignerForTests,
  openTestDirectory,
  publish,
  statementFor,
  type TestDirectory,
} from '../helpers/directory.js';
import { legacyLeaves } from '../helpers/legacy-audit.js';
import { ORIGIN } from '../helpers/log.js';

function auditor(t: TestDirectory, store: AuditStore, fetch?: (url: string) => Promise<Response>): Auditor {
  const app = appOver(t);
  return new Auditor({
    logUrl: 'http://kt.test/log',
    checkpoints: new CheckpointVerifier({ origin: ORIGIN, logKey: parseVerifierKey(logSignerForTests.verifierKey) }),
    enrolment: 'unchecked',
    fetch: fetch ?? (async (url) => app.request(url)),
    store,
  });
}

async function publishSome(t: TestDirectory, provider: string, n: number): Promise<void> {
  const p = await enrolProvider(t, provider);
  for (let i = 0; i < n; i++)
    await publish(t, p.sign(statementFor(p, `u${i}@${provider}`, 1, [identityKey()], t.clock.now)));
}

/** `state` as the release before the stored map wrote kt-audit.json: JSON, base64, every leaf in it. */
function legacyJson(state: AuditorState, t: TestDirectory): string {
  const leaves = legacyLeaves(t);
  return JSON.stringify({
    checkpoint: state.checkpoint,
    frontier: state.frontier.map(toBase64),
    replay: {
      size: state.replay.size,
      lastEpoch: state.replay.lastEpoch,
      leaves: toBase64(leaves),
      credentials: state.replay.credentials.map(toBase64),
      lastHead: state.replay.lastHead && toBase64(state.replay.lastHead),
    },
    uncheckedEnrolments: state.uncheckedEnrolments,
  });
}

const folder = () => mkdtempSync(join(tmpdir(), 'kt-audit-store-'));

describe("the auditor's state file", () => {
  it('is held by one audit at a time: a second opening is refused until the first closes', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'kt-audit-lock-')), 'audit.db');
    const first = SqliteAuditStore.open(path).store;
    expect(() => SqliteAuditStore.open(path)).toThrow(`${path} is in use by another audit`);
    first.close();
    SqliteAuditStore.open(path).store.close();
  });

  it('commits the state with the map after an audit that passed, and keeps the last one after a failure', async () => {
    const t = await openTestDirectory();
    await publishSome(t, 'chat.example', 5);
    const path = join(folder(), 'kt-audit.db');
    let { store } = SqliteAuditStore.open(path);
    const first = await auditor(t, store).audit();
    store.close();
    await publishSome(t, 'talk.example', 3);
    ({ store } = SqliteAuditStore.open(path));
    expect(store.savedState()).toEqual(first.state);
    // Entries served with their last byte changed: every epoch before it replays (and writes its rows), then
    // the audit fails; the store rolls back to the last audit's state and map.
    const app = appOver(t);
    const tampered = async (url: string) => {
      const res = await app.request(url);
      if (!url.includes('/entries/')) return res;
      const body = new Uint8Array(await res.arrayBuffer());
      body[body.length - 1] ^= 1;
      return new Response(body, { status: 200 });
    };
    const rootRow = store.mapNode(new Uint8Array(0));
    await expect(auditor(t, store, tampered).audit()).rejects.toMatchObject({ code: expect.any(String) });
    expect(store.savedState()).toEqual(first.state);
    expect(store.mapNode(new Uint8Array(0))).toEqual(rootRow);
    const second = await auditor(t, store).audit();
    expect(second.from).toBe(first.checkpoint.size);
    store.close();
    ({ store } = SqliteAuditStore.open(path));
    expect((await auditor(t, store).audit()).from).toBe(t.log.head.size);
    store.close();
  });

  it('upgrades a JSON state of the earlier release in place, and refuses a damaged one with nothing written', async () => {
    const t = await openTestDirectory();
    await publishSome(t, 'chat.example', 6);
    const memory = await new Auditor({
      logUrl: 'http://kt.test/log',
      checkpoints: new CheckpointVerifier({ origin: ORIGIN, logKey: parseVerifierKey(logSignerForTests.verifierKey) }),
      enrolment: 'unchecked',
      fetch: async (url) => appOver(t).request(url),
    }).audit();
    const json = legacyJson(memory.state, t);
    await publishSome(t, 'talk.example', 2);

    // The default names: kt-audit.json becomes kt-audit.db, which resumes where the JSON state stood.
    const dir = folder();
    writeFileSync(join(dir, 'kt-audit.json'), json);
    const opened = SqliteAuditStore.open(join(dir, 'kt-audit.db'), join(dir, 'kt-audit.json'));
    expect(opened.upgradedFrom).toBe(join(dir, 'kt-audit.json'));
    // That release kept no KEYTRANS history: the state opens without one (the next audit builds it).
    const { keyTransHistory: _history, ...withoutHistory } = memory.state;
    expect(opened.store.savedState()).toEqual(withoutHistory);
    expect((await auditor(t, opened.store).audit()).from).toBe(memory.checkpoint.size);
    opened.store.close();

    // An explicit --state file in JSON is upgraded at its own path.
    const own = join(folder(), 'state.json');
    writeFileSync(own, json);
    const inPlace = SqliteAuditStore.open(own);
    expect(inPlace.upgradedFrom).toBe(own);
    expect(readFileSync(own).subarray(0, 15).toString()).toBe('SQLite format 3');
    expect((await auditor(t, inPlace.store).audit()).from).toBe(memory.checkpoint.size);
    inPlace.store.close();

    // A damaged JSON state (a leaf changed) is refused; the file is left as it was and no database is made.
    const bad = JSON.parse(json);
    const leaves = Buffer.from(bad.replay.leaves, 'base64');
    leaves[40] ^= 1;
    bad.replay.leaves = leaves.toString('base64');
    const badDir = folder();
    writeFileSync(join(badDir, 'kt-audit.json'), JSON.stringify(bad));
    expect(() => SqliteAuditStore.open(join(badDir, 'kt-audit.db'), join(badDir, 'kt-audit.json'))).toThrow(
      /cannot be upgraded/,
    );
    expect(existsSync(join(badDir, 'kt-audit.db'))).toBe(false);
    expect(existsSync(join(badDir, 'kt-audit.db.upgrade'))).toBe(false);
    expect(JSON.parse(readFileSync(join(badDir, 'kt-audit.json'), 'utf8'))).toEqual(bad);
  });
});
