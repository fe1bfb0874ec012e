/**
 * Benchmarks of the directory (DESIGN.md "Performance targets"): publish rate for key rotations of
 * existing accounts and for new accounts (against the VRF-prove rate measured in the same run), and the
 * publish-to-verifiable-lookup latency with the real epoch timer. Everything runs through the real code
 * path (on one core, but for new accounts' VRF proofs, on the Node server's pool of threads): statements are signed by a provider enrolled from an X.509 chain, submitted (decoded,
 * signature-checked, version-checked), committed in epochs to SQLite, then looked up and verified.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import Database from 'better-sqlite3';
import { spawnThread } from '../api/node/threads.js';
import { startVrfPool } from '../api/node/vrf-pool.js';
import type { VrfProver } from '../log/directory/vrf-prover.js';
import { randomBytes } from '../wasm-free-crypto/random.js';
import { vrfProve } from '../wasm-free-crypto/vrf.js';
import { proveLookup } from '../log/directory/proof-builder.js';
import {
  enrolProvider,
  identityKey,
  openTestDirectory,
  statementFor,
  type TestDirectory,
  type TestProvider,
} from '../test/helpers/directory.js';
import { median, opsPerSecond, type Figure } from './harness.js';

interface Bench {
  t: TestDirectory;
  p: TestProvider;
  cleanup: () => void;
}

async function freshDirectory(vrf?: { vrfSecretKey: Uint8Array; vrfProver: VrfProver }): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'kt-dirbench-'));
  const db = new Database(join(dir, 'kt.db'));
  const t = await openTestDirectory({ db, maxQueue: 1_000_000, ...vrf });
  const p = await enrolProvider(t, 'chat.example');
  return {
    t,
    p,
    cleanup: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function signedBatch(b: Bench, accounts: number, version: number): { statement: Uint8Array; signature: Uint8Array }[] {
  const key = identityKey();
  return Array.from({ length: accounts }, (_, i) =>
    b.p.sign(statementFor(b.p, `user${i}@chat.example`, version, [key], b.t.clock.now)),
  );
}

/** Submits every statement and commits them in epochs of `perEpoch`; returns updates per second. */
async function publishAll(
  b: Bench,
  signed: { statement: Uint8Array; signature: Uint8Array }[],
  perEpoch: number,
): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < signed.length; i += perEpoch) {
    await Promise.all(signed.slice(i, i + perEpoch).map((s) => b.t.dir.submit(s.statement, s.signature)));
    await b.t.dir.closeEpoch(false);
  }
  return (signed.length * 1000) / (performance.now() - start);
}

/**
 * Submits every statement at once, as clients streaming them would, and closes an epoch whenever `perEpoch`
 * more have been accepted since the last one began (or the last have): epochs commit while further
 * submissions are being checked and their VRF proofs computed, as on the server, whose epochs close on a
 * timer. Returns updates per second, until the last is committed.
 */
async function publishStreaming(
  b: Bench,
  signed: { statement: Uint8Array; signature: Uint8Array }[],
  perEpoch: number,
): Promise<number> {
  const start = performance.now();
  let accepted = 0;
  const committed = signed.map((s) => b.t.dir.submit(s.statement, s.signature).then((a) => (accepted++, a.committed)));
  for (let closedAt = 0; closedAt < signed.length; ) {
    while (accepted - closedAt < perEpoch && accepted < signed.length) await new Promise((r) => setTimeout(r, 1));
    closedAt = accepted;
    await b.t.dir.closeEpoch(false);
  }
  await Promise.all(committed);
  return (signed.length * 1000) / (performance.now() - start);
}

/**
 * Key rotations of 3,000 existing accounts, 1,000 per epoch: the median of three rounds (versions 2, 3
 * and 4), each signed before it is timed.
 */
export async function benchRotations(): Promise<Figure> {
  const b = await freshDirectory();
  try {
    await publishAll(b, signedBatch(b, 3000, 1), 1000);
    const rates: number[] = [];
    for (const version of [2, 3, 4]) rates.push(await publishAll(b, signedBatch(b, 3000, version), 1000));
    const rate = median(rates);
    return {
      id: 'publish_rotations',
      name: 'directory publish, key rotation of existing accounts (submit + validate + epoch commit, 1,000 per epoch, median of 3 rounds)',
      value: rate,
      unit: 'updates/s',
      target: '>= 3,000 updates/s [WhatsApp epochs every 30-48 s, Messenger ~2 min, Rekor v2 ~20 s]',
      pass: rate >= 3000,
    };
  } finally {
    b.cleanup();
  }
}

/** Proofs per second of `threads` threads proving at once, nothing else running (bench/vrf-rate-thread.ts). */
export async function vrfRateTogether(secretKey: Uint8Array, threads: number, ms: number): Promise<number> {
  const counts = await Promise.all(
    Array.from({ length: threads }, () => {
      const worker = spawnThread(import.meta.url, 'vrf-rate-thread', { secretKey, ms });
      return new Promise<{ proofs: number; ms: number }>((resolve, reject) => {
        worker.once('message', (m) => void worker.terminate().then(() => resolve(m)));
        worker.once('error', reject);
      });
    }),
  );
  return counts.reduce((sum, c) => sum + (c.proofs * 1000) / c.ms, 0);
}

/**
 * New accounts (each needs a VRF proof), streamed and committed 1,000 per epoch, with the VRFs proven on
 * the Node server's pool of threads, one per core (api/node/vrf-pool.ts, submissions in its write queue), against the VRF-prove rate of those cores:
 * as many threads as the pool's proving at once with nothing else running (on a machine whose cores share
 * a physical core, or its host, that is less than one core's rate times the threads, which is reported
 * too), measured before and after the run in the same process.
 */
export async function benchNewAccounts(): Promise<Figure> {
  const sk = randomBytes(32);
  const threads = availableParallelism();
  let i = 0;
  const oneCore = () =>
    opsPerSecond(() => void vrfProve(sk, new Uint8Array([i & 255, (i++ >> 8) & 255, 1])), 1, { rounds: 3, minMs: 500 });
  const pool = await startVrfPool({ secretKey: sk, threads, maxQueuedReads: 64 });
  const b = await freshDirectory({ vrfSecretKey: sk, vrfProver: pool });
  try {
    const single = oneCore();
    const before = await vrfRateTogether(sk, threads, 1500);
    const rate = await publishStreaming(b, signedBatch(b, 3000, 1), 1000);
    // The reference is the better of two measurements around the run, so load on the machine can only
    // make the target harder, never easier.
    const vrfRate = Math.max(before, await vrfRateTogether(sk, threads, 1500));
    const singleTimes = Math.max(single, oneCore()) * threads;
    return {
      id: 'publish_new_accounts',
      name: `directory publish, new accounts streamed (VRF label on ${threads} threads + the rest, 1,000 per epoch)`,
      value: rate,
      unit: 'updates/s',
      target: '>= 80% of the VRF-prove rate of the cores used (the VRF is the floor)',
      pass: rate >= 0.8 * vrfRate,
      peer: {
        name: `VRF prove (ECVRF-EDWARDS25519-SHA512-TAI), ${threads} threads proving at once`,
        value: vrfRate,
        unit: 'proofs/s',
      },
      note:
        `${((100 * rate) / vrfRate).toFixed(0)}% of the VRF-prove rate of ${threads} cores; ` +
        `one core alone proves ${(singleTimes / threads).toFixed(0)}/s (times ${threads}: ${singleTimes.toFixed(0)}/s, ` +
        `${((100 * rate) / singleTimes).toFixed(0)}% of that)`,
    };
  } finally {
    await pool.close();
    b.cleanup();
  }
}

/** Time from submit to a lookup that verifies and shows the new version, with the 1 s epoch timer. */
export async function benchPublishLatency(): Promise<Figure> {
  const b = await freshDirectory();
  const latencies: number[] = [];
  try {
    await publishAll(b, signedBatch(b, 20, 1), 20);
    b.t.dir.start({ epochIntervalMs: 1000, heartbeatMs: 60_000 });
    for (let v = 2; v < 12; v++) {
      const account = `user${v}@chat.example`;
      const s = b.p.sign(statementFor(b.p, account, 2, [identityKey()], b.t.clock.now));
      const start = performance.now();
      const accepted = await b.t.dir.submit(s.statement, s.signature);
      await accepted.committed;
      const result = b.t.verifier.verifyLookup(
        await proveLookup(b.t.dir, 'chat.example', account),
        'chat.example',
        account,
      );
      if (result.statement?.version !== 2) throw new Error('lookup did not show the new version');
      latencies.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, 137 * (v % 7)));
    }
    await b.t.dir.stop();
    const p50 = median(latencies) / 1000;
    return {
      id: 'publish_to_lookup',
      name: 'publish-to-verifiable-lookup latency, 1 s epochs (p50 of 10)',
      value: p50,
      unit: 's',
      target: 'p50 <= 1.5 s',
      pass: p50 <= 1.5,
      note: `max ${(Math.max(...latencies) / 1000).toFixed(2)} s`,
    };
  } finally {
    b.cleanup();
  }
}
