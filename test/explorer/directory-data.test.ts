/**
 * The explorer's directory overview (explorer/app/directory-data.ts), run in Node against a real directory's
 * app (its fetch is the app's `request`, its localStorage a map): what it shows is what the log holds
 * (epochs walked back from the checkpoint, enrolments and a revocation proven in the tree), and a
 * `/v1/config` that hides, adds or misplaces an enrolment or a revocation, or an entry bundle altered in
 * transit, is refused with a VerifyError.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { useAppAsBrowser } from './browser-globals.js';
import { loadOverview, epochCadence } from '../../explorer/app/directory-data.js';
import { openSession } from '../../explorer/app/session.js';
import { pinsFromConfig } from '../../explorer/app/trust.js';
import { VerifyError } from '../../verifier/verification/errors.js';
import { directoryApp, enrolProvider, type TestDirectory } from '../helpers/directory.js';

const SERVER = 'http://kt.test';
type Provider = { providerId: string; fingerprint: string; logIndex: number; revokedIndex: number | null };

let app: Awaited<ReturnType<typeof directoryApp>>['app'];
let t: TestDirectory;
let config: Record<string, unknown>;

/** The browser's globals over the app; `alter` may change an answer's body. */
function useApp(alter?: (path: string, body: Uint8Array) => Uint8Array): void {
  useAppAsBrowser(app, alter);
}

/** The overview with `/v1/config` listing `providers(the real list)`, and the other answers altered by `alter`. */
async function overviewWith(
  providers: (list: Provider[]) => Provider[],
  alter: (path: string, body: Uint8Array) => Uint8Array = (_p, b) => b,
) {
  const served = { ...config, providers: providers(structuredClone(config.providers as Provider[])) };
  useApp((path, body) =>
    path === '/v1/config' ? new TextEncoder().encode(JSON.stringify(served)) : alter(path, body),
  );
  const session = openSession({ pins: pinsFromConfig(config, SERVER), source: 'server', at: 0 }, SERVER);
  return loadOverview(session);
}

beforeAll(async () => {
  ({ t, app } = await directoryApp());
  await enrolProvider(t, 'talk.example');
  useApp();
  const listed = (await (await fetch(`${SERVER}/v1/config`)).json()) as Record<string, unknown>;
  const talkRow = (listed.providers as Provider[]).find((p) => p.providerId === 'talk.example')!;
  const revoked = t.dir.revoke(
    'talk.example',
    Uint8Array.from(Buffer.from(talkRow.fingerprint, 'hex')),
    'key compromise',
  );
  await t.dir.closeEpoch();
  await revoked;
  config = (await (await fetch(`${SERVER}/v1/config`)).json()) as Record<string, unknown>;
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the directory overview', () => {
  it('shows the epochs and the enrolments as the log holds them, a listed revocation proven', async () => {
    useApp();
    const o = await overviewWith((l) => l);
    expect(o.epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
    expect(o.epochs.at(-1)!.treeSize).toBe(o.checkpoint.size);
    expect(epochCadence(o.epochs)).toBeGreaterThanOrEqual(0);
    expect(o.providers.map((p) => [p.providerId, p.subject, p.revocation?.reason])).toEqual([
      ['chat.example', expect.stringMatching(/^CN=KT Test Provider/), undefined],
      ['talk.example', expect.stringMatching(/^CN=KT Test Provider/), 'key compromise'],
    ]);
    const listed = config.providers as Provider[];
    expect(o.providers.map((p) => p.fingerprint)).toEqual(listed.map((p) => p.fingerprint));
    expect(o.providers[1].revocation!.logIndex).toBe(listed[1].revokedIndex);
  });

  it('walks back no further than asked', async () => {
    useApp();
    const session = openSession({ pins: pinsFromConfig(config, SERVER), source: 'server', at: 0 }, SERVER);
    expect((await loadOverview(session, 2)).epochs.map((e) => e.epoch)).toEqual([2, 3]);
  });

  const lies: [string, (l: Provider[]) => Provider[], RegExp][] = [
    ['hides an enrolment', (l) => l.slice(0, 1), /not the epoch's credential set/],
    ['lists one twice', (l) => [l[0], l[0], l[1]], /not the epoch's credential set/],
    [
      'misplaces an enrolment',
      (l) => [l[0], { ...l[1], logIndex: l[1].logIndex - 1 }],
      /not the epoch's credential set/,
    ],
    ['renames a provider', (l) => [l[0], { ...l[1], providerId: 'mail.example' }], /not the one \/v1\/config names/],
    [
      'swaps fingerprints',
      (l) => [
        { ...l[0], fingerprint: l[1].fingerprint },
        { ...l[1], fingerprint: l[0].fingerprint },
      ],
      /not the one/,
    ],
    ['calls an epoch head a revocation', (l) => [{ ...l[0], revokedIndex: 0 }, l[1]], /is not a revocation/],
    [
      'pins a revocation on the wrong provider',
      (l) => [{ ...l[0], revokedIndex: l[1].revokedIndex }, l[1]],
      /does not revoke chat.example/,
    ],
  ];
  for (const [what, lie, message] of lies)
    it(`refuses a /v1/config that ${what}`, async () => {
      useApp();
      const err = await overviewWith(lie).catch((e) => e);
      expect(err).toBeInstanceOf(VerifyError);
      expect(err.message).toMatch(message);
    });

  it('refuses an entry bundle altered in transit: bytes of the epoch head 0 and of an enrolment flipped', async () => {
    const listed = config.providers as Provider[];
    for (const at of [0, 1, 8, 60, 104]) {
      const flipHead = (path: string, body: Uint8Array) => {
        if (!path.startsWith('/log/tile/entries/')) return body;
        const out = body.slice();
        out[2 + at] ^= 0x80; // entry 0: the first epoch head, 105 bytes
        return out;
      };
      const err = await overviewWith((l) => l, flipHead).catch((e) => e);
      expect(err, `head byte ${at}`).toBeInstanceOf(VerifyError);
    }
    for (const at of [3, 40, 200, 400]) {
      const flipEnrolment = (path: string, body: Uint8Array) => {
        if (!path.startsWith('/log/tile/entries/')) return body;
        const out = body.slice();
        // the bundle's second entry is chat.example's enrolment (entry 1): flip one of its bytes
        const start = 2 + ((body[0] << 8) | body[1]) + 2;
        out[start + Math.min(at, ((body[start - 2] << 8) | body[start - 1]) - 1)] ^= 0x01;
        return out;
      };
      const err = await overviewWith((l) => l, flipEnrolment).catch((e) => e);
      expect(err, `byte ${at}`).toBeInstanceOf(VerifyError);
      expect(listed[0].logIndex).toBe(1);
    }
  });
});
