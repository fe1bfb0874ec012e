/**
 * The abuse scenario of issue 12, correctness only (its timings are `npm run bench`'s, bench/abuse-bench.ts):
 * a real Node server; hostile clients, each from its own loopback address, spend their whole allowance (and
 * more) on lookups of names the directory does not know, each of which costs a VRF proof. With the default
 * limits they are refused with 429 `rate_limited`; with the limits raised and a small VRF pool, with 503
 * `overloaded` once its read queue is full; never with another error. Meanwhile an honest client on another
 * address is never refused and each of its lookups verifies with the pins, a provider still publishes (each
 * publication waiting for its epoch), and epochs keep closing.
 */
import { describe, expect, it } from 'vitest';
import { lookupFromJson } from '../../../verifier/formats/proof-json.js';
import { http, PROVIDER, startNodeDirectory, type NodeDirectory } from '../../helpers/node-directory.js';

const HOSTILE_CLIENTS = 4;
const REQUESTS_IN_FLIGHT_PER_HOSTILE = 4;
const HONEST_LOOKUPS = 15;
const PRESENT = ['alice@chat.example', 'bob@chat.example', 'carol@chat.example'];

type Ask = () => { path: string; method?: string; body?: unknown };

/**
 * One hostile client at `from`: `REQUESTS_IN_FLIGHT_PER_HOSTILE` loops sending `ask()` back to back (50 ms
 * after a refusal, so that its allowance stays spent) until `done()`; how often each answer came.
 */
async function hostile(d: NodeDirectory, from: string, done: () => boolean, ask: Ask): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const loop = async () => {
    while (!done()) {
      const { path, method, body } = ask();
      const res = await http(`${d.url}${path}`, { method, body, from });
      const key = res.status === 200 ? '200' : `${res.status} ${JSON.parse(res.text).error?.code}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (res.status === 429 || res.status === 503) {
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: REQUESTS_IN_FLIGHT_PER_HOSTILE }, loop));
  return seen;
}

/** A fresh name no one has, for each call. */
let unknown = 0;
const nobody = () => `nobody-${unknown++}@chat.example`;

/** The honest client: `HONEST_LOOKUPS` lookups of known names, one at a time, within its allowance. */
async function honest(d: NodeDirectory): Promise<number> {
  let answered = 0;
  for (let i = 0; i < HONEST_LOOKUPS; i++) {
    const account = PRESENT[i % PRESENT.length];
    const res = await http(`${d.url}/v1/lookup/${PROVIDER}/${encodeURIComponent(account)}`, { from: '127.0.0.2' });
    expect(res.status, res.text).toBe(200);
    const verified = d.verifier.verifyLookup(lookupFromJson(JSON.parse(res.text)), PROVIDER, account);
    expect(verified.status).toBe('present');
    answered++;
    await new Promise((r) => setTimeout(r, 100)); // 10 lookups per second at most
  }
  return answered;
}

/**
 * Runs the hostile clients (from 127.0.0.10 on) while the honest client makes its lookups and two accounts
 * are published; checks what the honest side must see, and returns what each hostile client got.
 */
async function underAttack(d: NodeDirectory, ask: Ask): Promise<Map<string, number>[]> {
  for (const account of PRESENT) expect((await d.publish(account)).status).toBe(200);
  const epochBefore = d.server.directory!.epoch;
  let over = false;
  const hostiles = Array.from({ length: HOSTILE_CLIENTS }, (_, i) => hostile(d, `127.0.0.${10 + i}`, () => over, ask));
  const honestAnswered = honest(d);
  for (const account of ['dave@chat.example', 'erin@chat.example']) {
    const published = await d.publish(account);
    expect(published.status, published.text).toBe(200);
  }
  expect(await honestAnswered).toBe(HONEST_LOOKUPS);
  over = true;
  const statuses = await Promise.all(hostiles);
  // Epochs kept closing: at least those of the two publications.
  expect(d.server.directory!.epoch - epochBefore).toBeGreaterThanOrEqual(2);
  const after = await http(`${d.url}/v1/lookup/${PROVIDER}/erin%40chat.example`, { from: '127.0.0.3' });
  const verified = d.verifier.verifyLookup(lookupFromJson(JSON.parse(after.text)), PROVIDER, 'erin@chat.example');
  expect(verified.status).toBe('present');
  return statuses;
}

describe('the abuse scenario (issue 12): hostile clients spending their allowance on unknown names', () => {
  it('with the default limits, refuses them with 429 only, while the honest side goes on', async () => {
    const d = await startNodeDirectory({ epochIntervalMs: 100 });
    try {
      const batch = () => Array.from({ length: 32 }, () => ({ provider: PROVIDER, account: nobody() }));
      const statuses = await underAttack(d, () => ({ method: 'POST', path: '/v1/lookup', body: { lookups: batch() } }));
      for (const seen of statuses) {
        for (const key of seen.keys()) expect(['200', '429 rate_limited', '503 overloaded']).toContain(key);
        expect(seen.get('429 rate_limited') ?? 0).toBeGreaterThan(0); // each spent its whole allowance
      }
    } finally {
      await d.close();
    }
  });

  it('with the limits raised and one VRF thread, refuses them with 503 overloaded, while the honest side goes on', async () => {
    const limitless = { lookupBurst: 1_000_000, lookupRatePerSecond: 1_000_000, absentLookupCost: 1 };
    const d = await startNodeDirectory({ ...limitless, vrfThreads: 1, vrfReadQueue: 2, epochIntervalMs: 100 });
    try {
      const statuses = await underAttack(d, () => ({ path: `/v1/lookup/${PROVIDER}/${nobody()}` }));
      const all = new Map<string, number>();
      for (const seen of statuses) for (const [k, c] of seen) all.set(k, (all.get(k) ?? 0) + c);
      expect([...all.keys()].sort()).toEqual(['200', '503 overloaded']);
    } finally {
      await d.close();
    }
  });
});
