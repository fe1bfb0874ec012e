/**
 * The Node server is operable (README "Operations"): its log is JSON lines, one per event, with the request
 * id every answer carries; no line holds a secret (the operator token, the keys, an Authorization header),
 * an account name or a provider-account pair, though requests name them; /metrics holds the epoch-duration
 * histogram and the queue depth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosigner } from '../../../wasm-free-crypto/cosignature.js';
import { toHex } from '../../../wasm-free-crypto/bytes.js';
import { jsonLogger } from '../../../api/app/logger.js';
import {
  http,
  PROVIDER,
  startNodeDirectory,
  type HttpAnswer,
  type NodeDirectory,
} from '../../helpers/node-directory.js';

const ACCOUNT = 'zebulon.private@chat.example';
const ABSENT = 'quintessa.unknown@chat.example';
/** A witness nobody listens on: every epoch logs its failure. */
const WITNESS = {
  key: cosigner('witness.example/w1', new Uint8Array(32).fill(7)).verifierKey,
  url: 'http://127.0.0.1:9',
};

describe('the Node server, operated', () => {
  const lines: string[] = [];
  const answers: HttpAnswer[] = [];
  let d: NodeDirectory;

  beforeAll(async () => {
    d = await startNodeDirectory(
      { accessLog: true, epochIntervalMs: 20, witnesses: [WITNESS] },
      jsonLogger((line) => lines.push(line)),
    );
    const token = d.server.data.operatorToken;
    const enc = encodeURIComponent;
    const requests: [string, Parameters<typeof http>[1]][] = [
      [`/v1/bindings?wait=1`, { method: 'POST', body: { statements: [d.signed(ACCOUNT, 1)] } }],
      [`/v1/lookup/${PROVIDER}/${enc(ACCOUNT)}`, { headers: { 'X-Request-Id': ACCOUNT } }],
      [`/v1/lookup/${PROVIDER}/${enc(ABSENT)}?account=${enc(ACCOUNT)}`, {}],
      [`/v1/lookup`, { method: 'POST', body: { lookups: [{ provider: PROVIDER, account: ACCOUNT }] } }],
      [`/v1/history/${PROVIDER}/${enc(ACCOUNT)}`, {}],
      [`/v1/lookup`, { method: 'POST', body: { discover: ACCOUNT } }],
      [`/v1/providers/revoke`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: {} }],
      [`/v1/providers/revoke`, { method: 'POST', headers: { Authorization: `Bearer not-${token}` }, body: {} }],
      [`/v1/bindings`, { method: 'POST', body: { statements: [{ ...d.signed(ACCOUNT, 2), signature: 'AAAA' }] } }],
    ];
    for (const [path, opts] of requests) answers.push(await http(`${d.url}${path}`, opts));
  }, 60_000);
  afterAll(() => d?.close());

  it('writes one JSON object per line, one per event, with time, level and event', () => {
    expect(lines.length).toBeGreaterThan(answers.length);
    for (const line of lines) {
      const o = JSON.parse(line);
      expect(Object.keys(o).slice(0, 3)).toEqual(['time', 'level', 'event']);
      expect(new Date(o.time).toISOString()).toBe(o.time);
      expect(['info', 'warn', 'error']).toContain(o.level);
    }
    const events = new Set(lines.map((l) => JSON.parse(l).event));
    expect(events).toContain('request');
    expect(events).toContain('witness_failed');
  });

  it('logs each request under the id its answer carries, by route pattern', () => {
    const logged = lines.map((l) => JSON.parse(l)).filter((o) => o.event === 'request');
    for (const a of answers) {
      const id = a.headers['x-request-id'] as string;
      expect(id).toMatch(/^[0-9a-f]{32}$/); // an account offered as an id is not taken
      expect(logged.filter((o) => o.requestId === id)).toHaveLength(1);
    }
    expect(logged.map((o) => o.route)).toContain('/v1/lookup/:provider/:account');
    expect(answers.map((a) => a.status).slice(0, 8)).toEqual([200, 200, 200, 200, 200, 200, 400, 401]);
    expect(answers[8].status).toBeGreaterThanOrEqual(400); // a statement refused (its signature is not one)
    expect(answers[8].status).toBeLessThan(500);
  });

  it('writes no secret, account or provider-account pair in any line', () => {
    const data = d.server.data;
    const secrets = [
      data.operatorToken,
      toHex(data.vrfSecretKey),
      // The key's base64 (name+hash+base64): the base64 may hold '+' itself, so everything after the hash.
      data.signer.verifierKey.split('+').slice(2).join('+'),
      'Bearer',
      'zebulon',
      'quintessa',
      `${PROVIDER}/`,
    ];
    const text = lines.join('\n');
    for (const s of secrets) expect(text, s).not.toContain(s);
  });

  it('reports epoch durations as a histogram and the queue depth in /metrics', async () => {
    const metrics = (await http(`${d.url}/metrics`)).text;
    const count = Number(/^kt_epoch_duration_seconds_count (\d+)$/m.exec(metrics)?.[1]);
    expect(count).toBeGreaterThanOrEqual(2); // the enrolment's epoch and the publication's at least
    expect(metrics).toMatch(/^# TYPE kt_epoch_duration_seconds histogram$/m);
    expect(metrics).toContain(`kt_epoch_duration_seconds_bucket{le="+Inf"} ${count}\n`);
    expect(Number(/^kt_epoch_duration_seconds_sum (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(/^kt_queue_depth 0$/m);
  });
});
