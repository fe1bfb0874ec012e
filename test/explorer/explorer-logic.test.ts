/**
 * The explorer's pure parts: the check lines of a verified and of a failed answer (explorer/app/checks.ts),
 * the pins kept in the browser and their comparison with the server's /v1/config (explorer/app/trust.ts),
 * the account's timeline (explorer/app/account.ts), the evidence files (explorer/app/evidence.ts) and the
 * watched account's input (explorer/app/watch.ts).
 */
import { describe, expect, it } from 'vitest';
import { failedChecks, passedChecks, type VerifiedAnswer } from '../../explorer/app/checks.js';
import {
  comparePins,
  directoryUrl,
  loadPins,
  pinsFromConfig,
  pinsFromText,
  savePins,
} from '../../explorer/app/trust.js';
import { timeline } from '../../explorer/app/account.js';
import { checkpointEvidence, evidenceFileName } from '../../explorer/app/evidence.js';
import { DAY_MS, isDue, loadWatched, newWatched, saveWatched } from '../../explorer/app/watch.js';
import { exclusive, logStateKey, type Session } from '../../explorer/app/session.js';
import { PinsError } from '../../verifier/client/pins.js';
import { toBase64 } from '../../wasm-free-crypto/bytes.js';
import { parseVerifierKey } from '../../wasm-free-crypto/note.js';
import { logSigner } from '../helpers/log.js';
import type { Statement } from '../../verifier/formats/statement.js';

const signer = logSigner('example.com/log');
const PINS = { origin: 'example.com/log', logKey: signer.verifierKey, vrfKey: toBase64(new Uint8Array(32).fill(2)) };
const CONFIG = { ...PINS, witnesses: [], witnessQuorum: 0, epochIntervalMs: 1000 };

function memory() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), m };
}

describe('check lines', () => {
  const answer = (over: Partial<VerifiedAnswer> = {}): VerifiedAnswer => ({
    result: {
      status: 'absent',
      checkpoint: { origin: 'example.com/log', size: 10, rootHash: new Uint8Array(32) },
      epoch: 3,
      head: {
        type: 'epoch',
        epoch: 3,
        time: 0,
        mapRoot: new Uint8Array(32),
        credentialsRoot: new Uint8Array(32),
        credentialCount: 1,
        firstIndex: 5,
        count: 4,
      },
      label: new Uint8Array(32),
    },
    cosignatures: [],
    policy: { quorum: 0, witnesses: [] },
    now: 1000,
    ...over,
  });

  it('of a verified answer: one line per check, a warning without a witness policy, the consistency seen', () => {
    const lines = passedChecks(answer({ keptSize: 7 }));
    expect(lines.map((l) => l.id)).toEqual([
      'answer',
      'checkpoint',
      'witnesses',
      'epoch',
      'vrf',
      'provider',
      'map',
      'consistency',
    ]);
    expect(lines.find((l) => l.id === 'witnesses')!.state).toBe('warning');
    expect(lines.at(-1)!.text).toMatch(/7 → 10 entries/);
    expect(passedChecks(answer()).at(-1)!.text).toMatch(/^First checkpoint/);
    const witnessed = passedChecks(
      answer({
        cosignatures: [{ name: 'w1', keyId: 1, timestamp: 900n }],
        policy: { quorum: 1, witnesses: ['w1', 'w2'] },
        now: 901_000,
      }),
    ).find((l) => l.id === 'witnesses')!;
    expect(witnessed.state).toBe('passed');
    expect(witnessed.details).toEqual([
      'w1: cosigned at 1970-01-01T00:15:00Z (1 s ago)',
      'w2: no cosignature on this checkpoint',
    ]);
  });

  it('of a failure: the checks before the failing one passed, it failed in words, the rest were not made', () => {
    const cases: [string, string][] = [
      ['bad_checkpoint', 'checkpoint'],
      ['witness_quorum', 'witnesses'],
      ['bad_epoch_inclusion', 'epoch'],
      ['bad_vrf', 'vrf'],
      ['bad_provider_signature', 'provider'],
      ['bad_map_proof', 'map'],
      ['bad_history', 'history'],
      ['inconsistent_checkpoint', 'consistency'],
      ['a_code_never_seen', 'answer'],
    ];
    for (const [code, id] of cases) {
      const lines = failedChecks(code, 'why', true);
      const at = lines.findIndex((l) => l.state === 'failed');
      expect(lines[at].id, code).toBe(id);
      expect(lines[at].text).toContain(`FAILED (${code}): why`);
      expect(lines.slice(0, at).every((l) => l.state === 'passed')).toBe(true);
      expect(lines.slice(at + 1).every((l) => l.state === 'not_checked')).toBe(true);
    }
    expect(failedChecks('bad_vrf', 'x', false).some((l) => l.id === 'history')).toBe(false);
  });
});

describe('pins', () => {
  it('are kept in the browser, and kept pins that no longer parse are an error, not ignored', () => {
    const s = memory();
    expect(loadPins(s)).toBeUndefined();
    savePins(s, { pins: pinsFromText(JSON.stringify(PINS), 'x'), source: 'file', at: 5 });
    expect(loadPins(s)).toMatchObject({
      pins: { origin: PINS.origin, witnesses: [], witnessQuorum: 0 },
      source: 'file',
    });
    s.m.set('kt-explorer/pins', JSON.stringify({ pins: { ...PINS, vrfKey: 'AAAA' }, source: 'file', at: 5 }));
    expect(() => loadPins(s)).toThrow(PinsError);
  });

  it('kept with a bad source, time or directory URL are refused, never half used', () => {
    const s = memory();
    const pins = pinsFromText(JSON.stringify(PINS), 'x');
    for (const bad of [
      { pins, source: 'elsewhere', at: 0 },
      { pins, source: 'file' },
      { pins, source: 'file', at: 0, server: 'ftp://kt.test' },
      { pins, source: 'file', at: 0, server: 'http://kt.test/?q' },
    ]) {
      s.m.set('kt-explorer/pins', JSON.stringify(bad));
      expect(() => loadPins(s), JSON.stringify(bad)).toThrow(PinsError);
    }
    s.m.set('kt-explorer/pins', '{not json');
    expect(() => loadPins(s)).toThrow(/not JSON/);
  });

  it('key the state kept in the browser by the log’s origin and key, so another log under the same name starts afresh', () => {
    const other = logSigner('example.com/log').verifierKey;
    expect(logStateKey('state', PINS)).toMatch(/^kt-explorer\/state\/example.com\/log\/[0-9a-f]{16}$/);
    expect(logStateKey('state', { ...PINS, logKey: other })).not.toBe(logStateKey('state', PINS));
    expect(logStateKey('watch', PINS)).not.toBe(logStateKey('state', PINS));
  });

  it('from text are checked strictly', () => {
    expect(() => pinsFromText('not json', 'pasted')).toThrow(/not JSON/);
    expect(() => pinsFromText(JSON.stringify({ ...PINS, extra: 1 }), 'pasted')).toThrow(/unknown fields extra/);
    expect(() => pinsFromText(JSON.stringify({ ...PINS, witnessQuorum: 1 }), 'pasted')).toThrow(/quorum/);
    expect(pinsFromConfig(CONFIG, 'http://kt.test')).toMatchObject({ ...PINS, server: 'http://kt.test' });
  });

  it('differing from /v1/config: another origin, log key or VRF key is an alarm, another witness policy a notice', () => {
    const pins = pinsFromText(JSON.stringify(PINS), 'x');
    expect(comparePins(pins, CONFIG)).toEqual([]);
    for (const field of ['origin', 'logKey', 'vrfKey'] as const)
      expect(comparePins(pins, { ...CONFIG, [field]: 'other' })).toEqual([
        { field, severity: 'alarm', pinned: PINS[field], served: 'other' },
      ]);
    expect(comparePins(pins, { ...CONFIG, vrfKey: undefined })[0]).toMatchObject({ field: 'vrfKey', served: '(none)' });
    const w = 'witness.example+01020304+AAAA';
    expect(
      comparePins(pins, { ...CONFIG, witnesses: [w], witnessQuorum: 1 }).map((d) => [d.field, d.severity]),
    ).toEqual([
      ['witnesses', 'notice'],
      ['witnessQuorum', 'notice'],
    ]);
    expect(parseVerifierKey(PINS.logKey).name).toBe(PINS.origin);
  });

  it('name the directory: the URL set, else the page’s own directory, else the pins’ server', () => {
    const kept = {
      pins: pinsFromText(JSON.stringify({ ...PINS, server: 'https://a.test' }), 'x'),
      source: 'file' as const,
      at: 0,
    };
    expect(directoryUrl({ ...kept, server: 'https://set.test' }, 'https://own.test')).toBe('https://set.test');
    expect(directoryUrl(kept, 'https://own.test')).toBe('https://own.test');
    expect(directoryUrl(kept, undefined)).toBe('https://a.test');
    expect(directoryUrl(undefined, undefined)).toBeUndefined();
  });
});

describe('the timeline', () => {
  const key = (id: string, b: number) => ({
    id,
    algorithm: 'ed25519' as const,
    publicKey: new Uint8Array(32).fill(b),
    protocol: 'p',
    capabilities: [],
  });
  const st = (version: number, keys: ReturnType<typeof key>[]): Statement => ({
    provider: 'p.example',
    account: 'a',
    version,
    issuedAt: 0,
    status: 'active',
    keys,
  });

  it('gives each version the keys it added and removed, by public key, and marks erased versions', () => {
    const t = timeline([st(1, [key('a', 1)]), undefined, st(3, [key('a', 2), key('b', 3)]), st(4, [key('b', 3)])]);
    const names = (xs: string[]) => xs.map((x) => x.replace(/ \(.*/, ''));
    expect(t.map((v) => [v.version, v.statement?.version, names(v.added), names(v.removed)])).toEqual([
      [1, 1, ['a'], []],
      [2, undefined, [], []],
      [3, 3, ['a', 'b'], ['a']],
      [4, 4, [], ['a']],
    ]);
    expect(t[0].added[0]).toMatch(/^a \([0-9a-f]{4} [0-9a-f]{4}…\)$/);
  });
});

describe('evidence files and watched accounts', () => {
  it('write a fork as kt does, with its proof, under a safe file name', () => {
    const e = checkpointEvidence(
      { kind: 'fork', accepted: 'a', offered: 'b', prefixRoot: new Uint8Array(32), proof: [new Uint8Array(32)] },
      PINS,
      'http://kt.test',
      0,
    );
    expect(e).toMatchObject({
      type: 'kt-evidence/v1',
      kind: 'fork',
      origin: PINS.origin,
      accepted: 'a',
      offered: 'b',
      proof: [toBase64(new Uint8Array(32))],
    });
    expect(evidenceFileName('fork', 0)).toBe('kt-evidence-fork-1970-01-01T00-00-00-000Z.json');
  });

  it('kept in a list that is not one are an error, not dropped', () => {
    const s = memory();
    expect(loadWatched(s, PINS)).toEqual([]);
    s.m.set(logStateKey('watch', PINS), JSON.stringify([{ provider: 'p.example' }]));
    expect(() => loadWatched(s, PINS)).toThrow(/not readable/);
    const w = newWatched('chat.example', 'alice', 'AAAA');
    saveWatched(s, PINS, [w]);
    expect(loadWatched(s, PINS)).toEqual([w]);
  });

  it('take the owner’s keys as base64, and are due once a day', () => {
    const w = newWatched('chat.example', 'alice', ' AAAA\nAQID, BAUG ');
    expect(w.ownerKeys).toEqual(['AAAA', 'AQID', 'BAUG']);
    expect(() => newWatched('chat.example', 'alice', 'not base64!')).toThrow();
    expect(isDue(w, 0)).toBe(true);
    expect(isDue({ ...w, lastCheck: 0 }, DAY_MS - 1)).toBe(false);
    expect(isDue({ ...w, lastCheck: 0 }, DAY_MS)).toBe(true);
  });
});

describe('the session’s operations', () => {
  it('run one at a time, each with the evidence reported during it', async () => {
    const session = { last: Promise.resolve() } as Session;
    const order: string[] = [];
    const fork = { kind: 'fork' as const, accepted: 'a', offered: 'b' };
    const first = exclusive(session, async () => {
      order.push('first starts');
      await new Promise((r) => setTimeout(r, 20));
      session.evidence = fork;
      order.push('first ends');
      throw new Error('caught a fork');
    });
    const second = exclusive(session, async () => {
      order.push('second starts');
      return 2;
    });
    expect(await first).toEqual({ ok: false, error: new Error('caught a fork'), evidence: fork });
    expect(await second).toEqual({ ok: true, value: 2 });
    expect(order).toEqual(['first starts', 'first ends', 'second starts']);
    expect(session.evidence).toBeUndefined();
  });
});
