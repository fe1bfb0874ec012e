/**
 * The VRF pool (api/node/vrf-pool.ts): its threads compute the proofs `vrfProve` computes; the read queue is
 * bounded and refuses with `overloaded`; writes go before every waiting read and are never refused for the
 * reads' sake; a thread that dies fails its job with a clear error and is replaced; `close()` stops the
 * threads; on Linux the threads run at nice 10, or the nice value given (a reader process's, 15). The threads are the real ones (the module's `Worker` is only wrapped, to find them).
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Worker as NodeWorker } from 'node:worker_threads';
import { toHex } from '../../../wasm-free-crypto/bytes.js';
import { randomBytes } from '../../../wasm-free-crypto/random.js';
import { vrfProofToHash, vrfProve } from '../../../wasm-free-crypto/vrf.js';
import { DirectoryError } from '../../../log/directory/errors.js';
import { READER_VRF_NICE, startVrfPool, VrfPool, WRITES_IN_FLIGHT } from '../../../api/node/vrf-pool.js';
import { vrfPoolOptions, vrfPoolSettings } from '../../../api/node/vrf-pool-settings.js';
import { jsonLogger } from '../../../api/app/logger.js';
import { openDataDir } from '../../../api/node/data-dir.js';

/** Every thread the pool started, in order; while `wrongKeys` is above 0, that many get another key. */
const started = vi.hoisted(() => [] as NodeWorker[]);
const wrongKeys = vi.hoisted(() => ({ left: 0 }));
vi.mock('node:worker_threads', async (original) => {
  const real = await original<typeof import('node:worker_threads')>();
  class RecordedWorker extends real.Worker {
    constructor(...args: ConstructorParameters<typeof real.Worker>) {
      const data = args[1]?.workerData as { secretKey: Uint8Array } | undefined;
      if (wrongKeys.left > 0 && data) {
        wrongKeys.left--;
        args[1] = { ...args[1], workerData: { ...data, secretKey: data.secretKey.map((b) => b ^ 1) } };
      }
      super(...args);
      started.push(this);
    }
  }
  return { ...real, Worker: RecordedWorker };
});

const secretKey = randomBytes(32);
const pools: VrfPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

async function pool(threads: number, maxQueuedReads: number, lines: string[] = []): Promise<VrfPool> {
  const p = await startVrfPool({ secretKey, threads, maxQueuedReads, logger: jsonLogger((l) => lines.push(l)) });
  pools.push(p);
  return p;
}

const alpha = (i: number) => Uint8Array.of(0x61, i & 0xff, i >> 8);

/** The code of a rejection (or 'resolved'). */
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e) => (e instanceof DirectoryError ? e.code : `untyped: ${e}`),
  );

describe('the VRF pool (api/node/vrf-pool.ts)', () => {
  it('computes the proofs vrfProve computes, and their outputs, for reads and writes, on every thread', async () => {
    const p = await pool(2, 1000);
    const inputs = Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? alpha(i) : randomBytes(1 + (i % 70))));
    const answers = await Promise.all(inputs.map((a, i) => p.prove(a, i % 2 ? 'read' : 'write')));
    answers.forEach(({ proof, output }, i) => {
      const expected = vrfProve(secretKey, inputs[i]);
      expect(toHex(proof), `input ${i}`).toBe(toHex(expected));
      expect(toHex(output), `input ${i}`).toBe(toHex(vrfProofToHash(expected)));
    });
    expect(p.queued).toEqual({ reads: 0, writes: 0 });
  });

  it.runIf(process.platform === 'linux')(
    "lowers its threads' priority: nice 10 by default, a reader process's READER_VRF_NICE",
    async () => {
      /** The nice values of this process's threads (field 19 of /proc/self/task/TID/stat). */
      const nices = () =>
        readdirSync('/proc/self/task').map((tid) => {
          const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
        });
      const count = (n: number) => nices().filter((v) => v === n).length;
      const before = [count(10), count(READER_VRF_NICE)];
      const p = await pool(2, 10);
      expect([count(10), count(READER_VRF_NICE)]).toEqual([before[0] + 2, before[1]]);
      const reader = await startVrfPool({ secretKey, threads: 1, maxQueuedReads: 10, nice: READER_VRF_NICE });
      pools.push(reader);
      expect([count(10), count(READER_VRF_NICE)]).toEqual([before[0] + 2, before[1] + 1]);
      expect(READER_VRF_NICE).toBeGreaterThan(10);
      await p.prove(alpha(1), 'read');
    },
  );

  it('proves under another key when a request names one (a KEYTRANS deployment’s), and under its own after', async () => {
    const p = await pool(2, 1000);
    const other = randomBytes(32);
    const inputs = Array.from({ length: 12 }, (_, i) => alpha(i));
    const answers = await Promise.all(inputs.map((a, i) => p.prove(a, 'write', i % 2 ? other : undefined)));
    answers.forEach(({ proof }, i) =>
      expect(toHex(proof), `input ${i}`).toBe(toHex(vrfProve(i % 2 ? other : secretKey, inputs[i]))),
    );
  });

  it('gives a thread several writes at once, answered in order, but a read alone and only when it holds nothing', async () => {
    const p = await pool(1, 10);
    const order: string[] = [];
    const track = (name: string, job: Promise<unknown>) => job.then(() => order.push(name));
    const batches: number[] = [];
    started[started.length - 1].on('message', (m) => 'answers' in m && batches.push(m.answers.length));
    const n = WRITES_IN_FLIGHT + 2;
    const writes = Array.from({ length: n }, (_, i) => track(`write ${i}`, p.prove(alpha(i), 'write')));
    expect(p.queued.writes).toBe(2);
    const read = track('read', p.prove(alpha(500), 'read'));
    await Promise.all([...writes, read]);
    expect(order).toEqual([...Array.from({ length: n }, (_, i) => `write ${i}`), 'read']);
    // The writes it held came back a few per message; the read alone.
    expect(batches.slice(0, 2)).toEqual([4, 4]);
    expect(batches.at(-1)).toBe(1);
    expect(batches.reduce((a, b) => a + b)).toBe(n + 1);
    // A read given to the idle thread is alone on it until answered.
    const first = track('read 1', p.prove(alpha(60), 'read'));
    const second = track('read 2', p.prove(alpha(61), 'read'));
    expect(p.queued.reads).toBe(1);
    const write = track('write', p.prove(alpha(62), 'write'));
    expect(p.queued.writes).toBe(1);
    await Promise.all([first, second, write]);
    expect(order.slice(n + 1)).toEqual(['read 1', 'write', 'read 2']);
  });

  it('stops a thread whose check evaluation differs from its own, and does not start with it', async () => {
    const lines: string[] = [];
    wrongKeys.left = 1;
    const failed = await startVrfPool({
      secretKey,
      threads: 2,
      maxQueuedReads: 1,
      logger: jsonLogger((l) => lines.push(l)),
    })
      .then(() => 'started')
      .catch((e: Error) => e.message);
    expect(failed).toMatch(
      /^the VRF pool did not start: a VRF thread stopped before it was ready \(exit code 1: it computed a VRF proof that differs from this thread's\)$/,
    );
    expect(lines.map((l) => JSON.parse(l).event)).toContain('vrf_thread_stopped');
    expect(lines.join()).not.toContain(toHex(secretKey));
  });

  it('refuses reads beyond its queue with overloaded, and serves writes first meanwhile', async () => {
    const p = await pool(1, 3);
    const order: string[] = [];
    const track = (name: string, job: Promise<unknown>) => outcome(job.then((r) => (order.push(name), r)));
    // One read runs at once, three wait, the rest are refused at once.
    const reads = Array.from({ length: 10 }, (_, i) => track(`read ${i}`, p.prove(alpha(i), 'read')));
    expect(p.queued.reads).toBe(3);
    const writes = Array.from({ length: 5 }, (_, i) => track(`write ${i}`, p.prove(alpha(100 + i), 'write')));
    expect(p.queued.writes).toBe(5); // the thread holds read 0, alone
    const readOutcomes = await Promise.all(reads);
    expect(readOutcomes.slice(0, 4)).toEqual(['resolved', 'resolved', 'resolved', 'resolved']);
    expect(readOutcomes.slice(4)).toEqual(Array(6).fill('overloaded'));
    expect(await Promise.all(writes)).toEqual(Array(5).fill('resolved'));
    // The read already running finishes first; every write then goes before the reads that waited.
    expect(order).toEqual([
      'read 0',
      'write 0',
      'write 1',
      'write 2',
      'write 3',
      'write 4',
      'read 1',
      'read 2',
      'read 3',
    ]);
    expect(await outcome(p.prove(alpha(1), 'read'))).toBe('resolved'); // drained: reads are taken again
  });

  it('a refused read says why, and a write is refused only beyond its own bound', async () => {
    const p = new VrfPool({ secretKey, threads: 1, maxQueuedReads: 0, maxQueuedWrites: 1 });
    pools.push(p);
    // Before the thread is ready, nothing is idle: a read with no room is refused at once.
    const read = await p.prove(alpha(1), 'read').catch((e) => e);
    expect(read).toBeInstanceOf(DirectoryError);
    expect(read.code).toBe('overloaded');
    expect(read.message).toMatch(/reads are waiting for a VRF proof; retry later/);
    const write = p.prove(alpha(2), 'write');
    expect(await outcome(p.prove(alpha(3), 'write'))).toBe('overloaded');
    expect(toHex((await write).proof)).toBe(toHex(vrfProve(secretKey, alpha(2))));
  });

  it('fails the job of a thread that dies with a clear error, logs it and replaces the thread', async () => {
    const lines: string[] = [];
    const p = await pool(1, 10, lines);
    const first = started[started.length - 1];
    const job = p.prove(alpha(7), 'read');
    const next = p.prove(alpha(8), 'read'); // waits, and is served by the new thread
    await first.terminate();
    const error = await job.catch((e) => e);
    expect(error).toBeInstanceOf(DirectoryError);
    expect(error.code).toBe('internal');
    expect(error.message).toMatch(/the VRF thread computing this proof stopped \(exit code 1\)/);
    expect(toHex((await next).proof)).toBe(toHex(vrfProve(secretKey, alpha(8))));
    expect(p.replaced).toBe(1);
    expect(started[started.length - 1]).not.toBe(first);
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { level: 'error', event: 'vrf_thread_stopped', thread: 0, reason: 'exit code 1' },
    ]);
    expect(lines.join()).not.toContain(toHex(secretKey));
  });

  it('spreads writes over its threads, each to the one holding the fewest', async () => {
    const p = await pool(2, 10);
    const answers = started.slice(-2).map(() => 0);
    started.slice(-2).forEach((w, i) => w.on('message', (m) => 'answers' in m && (answers[i] += m.answers.length)));
    const proofs = await Promise.all(Array.from({ length: 6 }, (_, i) => p.prove(alpha(i), 'write')));
    expect(proofs).toHaveLength(6);
    expect(answers).toEqual([3, 3]);
  });

  it('when a thread dies holding several writes, fails the first and gives the others again', async () => {
    const lines: string[] = [];
    const p = await pool(1, 10, lines);
    const first = started[started.length - 1];
    const jobs = Array.from({ length: WRITES_IN_FLIGHT }, (_, i) => p.prove(alpha(200 + i), 'write'));
    expect(p.queued.writes).toBe(0); // all held by the thread
    await first.terminate();
    // It answers 4 at a time and is stopped at once: the first job it held when it stopped fails (the first,
    // unless it had posted 4 answers by then), every other one is proven, by the thread that replaced it.
    const outcomes = await Promise.all(jobs.map(outcome));
    const failed = outcomes.indexOf('internal');
    expect([0, 4]).toContain(failed);
    expect(outcomes.filter((o, i) => i !== failed)).toEqual(Array(WRITES_IN_FLIGHT - 1).fill('resolved'));
    for (const [i, job] of jobs.entries())
      if (i !== failed) expect(toHex((await job).proof)).toBe(toHex(vrfProve(secretKey, alpha(200 + i))));
    expect(p.replaced).toBe(1);
  });

  it('stops its threads on close, failing what waits, and takes no more work', async () => {
    const p = await pool(2, 10);
    const threads = started.slice(-2);
    const waiting = Array.from({ length: 6 }, (_, i) => outcome(p.prove(alpha(i), 'read')));
    await p.close();
    expect(await Promise.all(waiting)).toEqual(Array(6).fill('overloaded'));
    expect(threads.map((t) => t.threadId)).toEqual([-1, -1]); // exited
    expect(await outcome(p.prove(alpha(1), 'write'))).toBe('overloaded');
    expect(p.replaced).toBe(0);
  });
});

describe("the VRF pool's settings (api/node/vrf-pool-settings.ts)", () => {
  it('default to the cores and 32 waiting reads per thread, and take config.json values', () => {
    const defaults = vrfPoolOptions(vrfPoolSettings({}, 'config.json'), secretKey);
    expect(defaults.threads).toBeGreaterThanOrEqual(1);
    expect(defaults.maxQueuedReads).toBe(32 * defaults.threads);
    const set = vrfPoolOptions(vrfPoolSettings({ vrfThreads: 3, vrfReadQueue: 0 }, 'config.json'), secretKey);
    expect(set).toMatchObject({ threads: 3, maxQueuedReads: 0 });
  });

  it('refuse values that are not integers in their bounds, naming the setting and not the value', () => {
    for (const [key, bad] of [
      ['vrfThreads', 0],
      ['vrfThreads', 257],
      ['vrfThreads', 1.5],
      ['vrfThreads', '2'],
      ['vrfReadQueue', -1],
      ['vrfReadQueue', null],
    ] as const) {
      expect(() => vrfPoolSettings({ [key]: bad }, '/d/config.json'), `${key} ${bad}`).toThrow(
        new RegExp(`^/d/config.json: "${key}" must be an integer from \\d+ to \\d+$`),
      );
    }
  });

  it("are read from the data directory's config.json, and a bad one stops the server's start", () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-vrf-settings-'));
    const first = openDataDir(dir, 'example.com/vrf', () => {});
    expect(first.vrfPool).toEqual({});
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ origin: 'example.com/vrf', vrfThreads: 2, vrfReadQueue: 10 }));
    expect(openDataDir(dir, undefined, () => {}).vrfPool).toEqual({ threads: 2, readQueue: 10 });
    writeFileSync(config, JSON.stringify({ origin: 'example.com/vrf', vrfThreads: 'all' }));
    expect(() => openDataDir(dir, undefined, () => {})).toThrow(/"vrfThreads" must be an integer from 1 to 256/);
  });
});
