/**
 * The hostile suite's judge (test/attacks/hostile-contract.ts) on answers made up to break each rule, so that
 * the fuzz tests' "no breach" means something: a 5xx, an error that is not JSON or not exactly
 * `{"error":{"code","message"}}`, a status that is not its code's, an accepted write; and what it lets pass.
 */
import { describe, expect, it } from 'vitest';
import type { FuzzRequest } from './fuzz-corpus.js';
import { breachOf, breaches } from './hostile-contract.js';

const get: FuzzRequest = { name: 'a read', method: 'GET', target: '/v1/config', headers: [] };
const publish: FuzzRequest = {
  name: 'a write',
  method: 'POST',
  target: '/v1/bindings?wait=1',
  headers: [],
  body: '{}',
};
const json = (body: unknown, status: number) => Response.json(body, { status });
const error = (code: string, status: number) => json({ error: { code, message: 'm' } }, status);

describe('the contract every hostile request is held to', () => {
  it('finds each kind of breach', async () => {
    const cases: [FuzzRequest, Response, RegExp][] = [
      [get, error('internal', 500), /^a 500/],
      [get, new Response('Bad Request', { status: 400 }), /Content-Type text\/plain/],
      [get, new Response('{', { status: 400, headers: { 'Content-Type': 'application/json' } }), /not JSON/],
      [get, json({ code: 'bad_request', message: 'm' }, 400), /not \{"error"/],
      [get, json({ error: { code: 'bad_request', message: 'm' }, extra: 1 }, 400), /not \{"error"/],
      [get, json({ error: { code: 'bad_request' } }, 400), /not \{code, message\}/],
      [get, json({ error: { code: 'bad_request', message: 'm', detail: 'x' } }, 400), /not \{code, message\}/],
      [get, error('bad_request', 404), /STATUS_BY_CODE says 400/],
      [get, error('no_such_code', 400), /STATUS_BY_CODE says undefined/],
      [get, new Response(null, { status: 413 }), /a 413 with Content-Type null/],
      [publish, json({ results: [] }, 202), /write route accepted/],
    ];
    for (const [req, res, breach] of cases) expect(await breachOf(req, res), String(breach)).toMatch(breach);
  });

  it('lets the contract pass: reads answered, refusals in the JSON form, bare statuses the platform keeps', async () => {
    expect(await breachOf(get, json({ origin: 'x' }, 200))).toBeNull();
    expect(await breachOf(publish, error('bad_signature', 403))).toBeNull();
    expect(await breachOf(get, error('rate_limited', 429))).toBeNull();
    expect(await breachOf({ ...get, method: 'HEAD' }, new Response(null, { status: 404 }))).toBeNull();
    expect(await breachOf(get, new Response(null, { status: 431 }), [431])).toBeNull();
    expect(await breachOf(get, new Response('text', { status: 431 }), [431])).toMatch(/Content-Type/);
  });

  it('names each breach by its request, counts a request without an answer, and skips a client that left', async () => {
    const found = await breaches([get, publish, get], async (req) => {
      if (req === publish) return null;
      throw new Error('connection reset');
    });
    expect(found).toEqual([
      '#0 GET /v1/config (a read): no answer: connection reset',
      '#2 GET /v1/config (a read): no answer: connection reset',
    ]);
  });
});
