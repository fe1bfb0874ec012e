/**
 * "Watch my account" (explorer/app/watch.ts) in Node over a real directory's app: the owner's daily check
 * raises an alarm for a version binding a key the owner did not make, on the first check (its history proof
 * kept as a monitor proof) and on a later one (a monitor proof), each with an evidence file that
 * `verifyEvidence` proves; an answer altered in transit is a failed check with no evidence.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { toBase64 } from '../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import { fromBase64 } from '../../wasm-free-crypto/bytes.js';
import { verifyEvidence } from '../../verifier/verification/evidence.js';
import { checkWatched, newWatched } from '../../explorer/app/watch.js';
import { openSession } from '../../explorer/app/session.js';
import { pinsFromConfig } from '../../explorer/app/trust.js';
import {
  directoryApp,
  identityKey,
  providerFor,
  publish,
  statementFor,
  type TestDirectory,
} from '../helpers/directory.js';
import { useAppAsBrowser } from './browser-globals.js';

const SERVER = 'http://kt.test';
let t: TestDirectory;
let chat: ReturnType<typeof providerFor>;
let app: Awaited<ReturnType<typeof directoryApp>>['app'];
let config: Record<string, unknown>;
const mine = identityKey('mine');
const theirs = identityKey('theirs');

const session = () => {
  const s = openSession({ pins: pinsFromConfig(config, SERVER), source: 'server', at: 0 }, SERVER);
  s.config = config;
  return s;
};
const pins = () => ({
  origin: config.origin as string,
  logKey: parseVerifierKey(config.logKey as string),
  vrfKey: fromBase64(config.vrfKey as string),
});

beforeAll(async () => {
  ({ t, chat, app } = await directoryApp());
  await publish(t, chat.sign(statementFor(chat, 'alice@example.org', 1, [mine], Date.now())));
  useAppAsBrowser(app);
  config = (await (await fetch(`${SERVER}/v1/config`)).json()) as Record<string, unknown>;
});

afterEach(() => vi.unstubAllGlobals());

describe('watching an account', () => {
  it('raises no alarm for the owner’s keys, then one with proven evidence for a key the owner did not make', async () => {
    useAppAsBrowser(app);
    const first = await checkWatched(
      session(),
      newWatched('chat.example', 'alice@example.org', toBase64(mine.publicKey)),
    );
    expect([first.alarms, first.lastResult, first.state.version]).toEqual([[], 'present', 1]);
    await publish(t, chat.sign(statementFor(chat, 'alice@example.org', 2, [theirs], Date.now())));
    const second = await checkWatched(session(), first);
    expect(second.alarms.map((a) => [a.kind, a.version])).toEqual([['unexpected_key', 2]]);
    expect(second.state.version).toBe(2);
    expect(verifyEvidence(second.alarms[0].evidence, pins())).toMatchObject({ kind: 'unexpected_key', proven: true });
    const third = await checkWatched(session(), second);
    expect([third.alarms.length, third.lastResult]).toEqual([1, 'unchanged']); // each version alarms once
  });

  it('proves an alarm of the first check too (its history proof kept as a monitor proof)', async () => {
    useAppAsBrowser(app);
    const w = await checkWatched(
      session(),
      newWatched('chat.example', 'alice@example.org', toBase64(theirs.publicKey)),
    );
    expect(w.alarms.map((a) => [a.kind, a.version])).toEqual([['unexpected_key', 1]]);
    expect(verifyEvidence(w.alarms[0].evidence, pins())).toMatchObject({ kind: 'unexpected_key', proven: true });
  });

  it('records an answer altered in transit as a failed check, not an alarm', async () => {
    useAppAsBrowser(app, (path, body) => {
      if (!path.startsWith('/v1/history/')) return body;
      const json = JSON.parse(new TextDecoder().decode(body));
      json.lookup.vrfProof = toBase64(new Uint8Array(80));
      return new TextEncoder().encode(JSON.stringify(json));
    });
    const w = await checkWatched(session(), newWatched('chat.example', 'alice@example.org', toBase64(mine.publicKey)));
    expect(w.lastResult).toMatch(/^check failed: VerifyError \[bad_vrf\]/);
    expect(w.alarms).toEqual([]); // a forgery in transit proves nothing: a failed check, not an alarm
    expect(w.state.version).toBe(0);
  });
});
