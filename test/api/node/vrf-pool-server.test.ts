/**
 * The VRF pool in the Node server (api/node/server.ts with api/node/vrf-pool.ts), over HTTP: lookups of
 * unknown names are proven by the pool and verify with the pins; with the read queue full, such a lookup is
 * answered 503 `overloaded` with `Retry-After`, while a lookup of a known name (no VRF) and a publication
 * (its proof a write, served before every waiting read) still succeed; `close()` stops the pool's threads.
 * The load is put on the pool directly, writes holding its one thread, so that the read queue is full for
 * certain when the requests arrive.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Worker as NodeWorker } from 'node:worker_threads';
import { lookupFromJson } from '../../../verifier/formats/proof-json.js';
import { http, PROVIDER, startNodeDirectory, type NodeDirectory } from '../../helpers/node-directory.js';

const started = vi.hoisted(() => [] as NodeWorker[]);
vi.mock('node:worker_threads', async (original) => {
  const real = await original<typeof import('node:worker_threads')>();
  class RecordedWorker extends real.Worker {
    constructor(...args: ConstructorParameters<typeof real.Worker>) {
      super(...args);
      // The VRF pool's threads: those given a key (the server's WAL checkpointer is given none).
      if ((args[1]?.workerData as { secretKey?: unknown } | undefined)?.secretKey) started.push(this);
    }
  }
  return { ...real, Worker: RecordedWorker };
});

const open: NodeDirectory[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

async function directory(settings: Record<string, unknown>): Promise<NodeDirectory> {
  const d = await startNodeDirectory(settings);
  open.push(d);
  return d;
}

const lookup = (d: NodeDirectory, account: string) =>
  http(`${d.url}/v1/lookup/${PROVIDER}/${encodeURIComponent(account)}`);

describe('the Node server proves VRF labels in its pool (api/node/vrf-pool.ts)', () => {
  it('answers 503 overloaded with Retry-After when the read queue is full, and still serves known names and writes', async () => {
    const d = await directory({ vrfThreads: 1, vrfReadQueue: 400, epochIntervalMs: 50 });
    const pool = d.server.vrfPool!;
    expect((await d.publish('known@chat.example')).status).toBe(200);
    // The one thread holds 100 writes (a read goes to a thread only when it holds nothing), and 400 reads wait
    // behind them: the read queue stays full while the thread proves the writes, whatever the machine's speed
    // (with one read running instead, the queue had room again once it ended, a few ms later).
    const busy = Array.from({ length: 100 }, (_, i) => pool.prove(Uint8Array.of(2, i), 'write'));
    const flood = Array.from({ length: 400 }, (_, i) => pool.prove(Uint8Array.of(1, i >> 8, i & 255), 'read'));
    expect(pool.queued.reads).toBe(400);

    const refused = await lookup(d, 'unknown@chat.example');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: 'overloaded' } });
    expect(JSON.parse(refused.text).error.message).toMatch(/waiting for a VRF proof; retry later/);

    const known = await lookup(d, 'known@chat.example');
    expect(known.status).toBe(200);
    expect(d.verifier.verifyLookup(lookupFromJson(JSON.parse(known.text)), PROVIDER, 'known@chat.example').status).toBe(
      'present',
    );

    // A new account's label is a write: it goes before the reads that wait, and the epoch commits it.
    const published = await d.publish('new@chat.example');
    expect(published.status, published.text).toBe(200);
    expect(pool.queued.reads).toBeGreaterThan(200);

    await Promise.all([...busy, ...flood]);
    const absent = await lookup(d, 'unknown@chat.example');
    expect(absent.status).toBe(200);
    const verified = d.verifier.verifyLookup(lookupFromJson(JSON.parse(absent.text)), PROVIDER, 'unknown@chat.example');
    expect(verified.status).toBe('absent');
  });

  it('answers a batch of unknown names, each proof from the pool verifying with the pins', async () => {
    const d = await directory({ vrfThreads: 2 });
    const accounts = Array.from({ length: 8 }, (_, i) => `nobody-${i}@chat.example`);
    const res = await http(`${d.url}/v1/lookup`, {
      method: 'POST',
      body: { lookups: accounts.map((account) => ({ provider: PROVIDER, account })) },
    });
    expect(res.status, res.text).toBe(200);
    const proofs = (JSON.parse(res.text) as { lookups: unknown[] }).lookups;
    proofs.forEach((p, i) =>
      expect(d.verifier.verifyLookup(lookupFromJson(p), PROVIDER, accounts[i]).status).toBe('absent'),
    );
  });

  it('stops the threads of its pool on close', async () => {
    const before = started.length;
    const d = await startNodeDirectory({ vrfThreads: 2 });
    const threads = started.slice(before);
    expect(threads).toHaveLength(2);
    expect(threads.every((t) => t.threadId > 0)).toBe(true);
    await d.close();
    expect(threads.map((t) => t.threadId)).toEqual([-1, -1]);
    await expect(d.server.vrfPool!.prove(Uint8Array.of(1), 'write')).rejects.toMatchObject({ code: 'overloaded' });
  });
});
