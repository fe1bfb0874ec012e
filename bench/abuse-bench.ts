/**
 * The abuse figures of issue 12, from one run of the real `npm start` entry (api/node/main.ts, its VRF
 * pool sized to the cores) in its own process, the clients in processes of their own (bench/abuse-load.ts)
 * bound to distinct loopback addresses, so that each is a client of its own to the rate limits:
 * (a) with the default limits, an honest client's lookup p99 alone, then while 1 and then 16 hostile
 *     clients spend their whole allowance on batches of unknown names (target: at most twice the p99
 *     alone), and the interval between epochs meanwhile, under a publisher that keeps one statement
 *     waiting (target: the epoch interval kept, within 10 %);
 * (b) with the limits raised (so that the limit is not what is measured), unknown names answered per
 *     second against the VRF proofs per second the cores compute (`vrfProve` on one thread of this
 *     process, times the cores; target at least 80 %);
 * (c) with the limits raised, a 70 % known / 30 % unknown mix of GET lookups at 64 connections
 *     (autocannon, bench/http-load.ts): requests per second and p99, against issue 12's figures before the
 *     pool (563 requests/s, p99 151 ms).
 * The server's own settings are used throughout (its rate limiter, its absent-lookup cost), not a limiter
 * of this benchmark's.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toBase64 } from '../wasm-free-crypto/bytes.js';
import { randomBytes } from '../wasm-free-crypto/random.js';
import { vrfProve } from '../wasm-free-crypto/vrf.js';
import { openDataDir } from '../api/node/data-dir.js';
import { issueProviderCertificate, loadDevCa } from '../api/node/dev-ca.js';
import { DEFAULT_SETTINGS } from '../api/wiring/settings.js';
import { signedIdentityStatement } from '../test/helpers/directory.js';
import { opsPerSecond, type Figure } from './harness.js';

const PHASE_S = 20;
const HONEST_PER_SECOND = 8;
const KNOWN_ACCOUNTS = 200;
const MIX_CONNECTIONS = 64;
/** (b): requests in flight (each proves its names one at a time, so at most this many wait for a thread). */
const ABSENT_LOOPS = 32;
const ABSENT_BATCH = 8;
/** Issue 12's figures for the 70/30 mix before the pool. */
const MIX_BEFORE = { rps: 563, p99: 151 };

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const known = (i: number) => `user${i}@chat.example`;

/** Starts the server entry on `dir` and resolves with its URL once it listens. */
function startServer(dir: string): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', here('../api/node/main.ts'), '--data', dir, '--port', '0'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1], child });
    });
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}: ${out.slice(-2000)}`)));
  });
}

async function stopServer(server: { child: ChildProcess }): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  await exited;
}

/** Runs bench/abuse-load.ts in its own process and returns its JSON line. */
function runLoad<T>(role: string, url: string, seconds: number, options: unknown): Promise<T> {
  const args = ['--import', 'tsx', here('./abuse-load.ts'), role, url, String(seconds), JSON.stringify(options)];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`the ${role} load failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as T);
    });
  });
}

async function post(url: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The provider of the benchmark: chat.example, enrolled with a development-CA certificate. */
async function enrolProvider(url: string, dir: string, token: string) {
  const cert = await issueProviderCertificate(await loadDevCa(dir), 'chat.example');
  await post(`${url}/v1/providers?wait=1`, { chain: [toBase64(cert.der)] }, token);
  return (account: string, version: number) => {
    const { statement, signature } = signedIdentityStatement('chat.example', cert.secretKey, account, version);
    return { statement: toBase64(statement), signature: toBase64(signature) };
  };
}

type Sign = Awaited<ReturnType<typeof enrolProvider>>;

/**
 * A publisher that keeps one statement waiting for its epoch (`?wait=1`, one at a time) until stopped;
 * the mean interval between the epochs that committed them, in ms.
 */
function publisher(url: string, sign: Sign, account: string): { stop(): Promise<number> } {
  let running = true;
  const epochs: { epoch: number; at: number }[] = [];
  const done = (async () => {
    for (let version = 1; running; version++) {
      const r = await post(`${url}/v1/bindings?wait=1`, { statements: [sign(account, version)] });
      const result = (r.results as { epoch: number }[])[0];
      epochs.push({ epoch: result.epoch, at: performance.now() });
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      const first = epochs[1]; // the first answer may have waited for an epoch begun before the phase
      const last = epochs[epochs.length - 1];
      return first && last.epoch > first.epoch ? (last.at - first.at) / (last.epoch - first.epoch) : NaN;
    },
  };
}

interface Phase {
  hostiles: number;
  p50: number;
  p99: number;
  honestRefused: number;
  epochMs: number;
  hostileStatuses: Record<string, number>;
  hostileAnswered: number;
}

/** One phase of (a): the honest client, `hostiles` hostile clients and the publisher, for PHASE_S. */
async function phase(url: string, sign: Sign, hostiles: number, firstAddress: number): Promise<Phase> {
  const pub = publisher(url, sign, `publisher-${hostiles}@chat.example`);
  const accounts = Array.from({ length: KNOWN_ACCOUNTS }, (_, i) => known(i));
  const honestRun = runLoad<{ p50: number; p99: number; statuses: Record<string, number> }>('honest', url, PHASE_S, {
    from: '127.0.0.2',
    accounts,
    perSecond: HONEST_PER_SECOND,
  });
  const addresses = Array.from({ length: hostiles }, (_, i) => `127.0.0.${firstAddress + i}`);
  const hostileRun =
    hostiles > 0
      ? runLoad<{ statuses: Record<string, number>; answered: number }>('hostile', url, PHASE_S, {
          addresses,
          batch: 32,
          inFlight: 2,
        })
      : Promise.resolve({ statuses: {}, answered: 0 });
  const [h, bad] = await Promise.all([honestRun, hostileRun]);
  const epochMs = await pub.stop();
  const honestRefused = Object.entries(h.statuses).reduce((n, [s, c]) => n + (s === '200' ? 0 : c), 0);
  return {
    hostiles,
    p50: h.p50,
    p99: h.p99,
    honestRefused,
    epochMs,
    hostileStatuses: bad.statuses,
    hostileAnswered: bad.answered,
  };
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

function phaseFigures(alone: Phase, p: Phase): Figure[] {
  const statuses = Object.entries(p.hostileStatuses)
    .map(([s, c]) => `${c} x ${s}`)
    .join(', ');
  const interval = DEFAULT_SETTINGS.epochIntervalMs;
  return [
    {
      id: `abuse_honest_p99_${p.hostiles}_hostile`,
      name: `honest client's lookup p99 while ${p.hostiles} hostile client(s) spend their allowance on unknown names`,
      value: p.p99,
      unit: 'ms',
      target: `<= 2x the p99 alone (${ms(2 * alone.p99)})`,
      pass: p.p99 <= 2 * alone.p99 && p.honestRefused === 0,
      note: `p50 ${ms(p.p50)} (alone ${ms(alone.p50)}); honest refused ${p.honestRefused}; hostile answers: ${statuses}; unknown names answered to them ${p.hostileAnswered}`,
    },
    {
      id: `abuse_epoch_interval_${p.hostiles}_hostile`,
      name: `epoch interval under a waiting publication while ${p.hostiles} hostile client(s) do so`,
      value: p.epochMs,
      unit: 'ms',
      target: `the epoch interval kept: <= ${interval * 1.1} ms (${interval} ms + 10 %)`,
      pass: p.epochMs <= interval * 1.1,
      note: `alone ${ms(alone.epochMs)}`,
    },
  ];
}

/** Writes config.json with the limits raised far beyond the load (keeping every other setting). */
function raiseLimits(dir: string): void {
  const path = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeFileSync(path, JSON.stringify({ ...config, lookupBurst: 1e9, lookupRatePerSecond: 1e9 }));
}

/** (b) and (c), on the server restarted with raised limits. */
async function throughputFigures(url: string, vrfRate: number, root: string): Promise<Figure[]> {
  const b = await runLoad<{ perSecond: number; statuses: Record<string, number> }>('absent', url, 10, {
    loops: ABSENT_LOOPS,
    batch: ABSENT_BATCH,
  });
  const share = b.perSecond / vrfRate;
  const paths = Array.from({ length: 1000 }, (_, i) =>
    i % 10 < 7
      ? `/v1/lookup/chat.example/${encodeURIComponent(known(i % KNOWN_ACCOUNTS))}`
      : `/v1/lookup/chat.example/nobody-${i}-${toBase64(randomBytes(6)).replace(/[+/=]/g, 'x')}%40chat.example`,
  );
  const pathsFile = join(root, 'mix-paths.json');
  writeFileSync(pathsFile, JSON.stringify(paths));
  const mix = await new Promise<{ rps: number; p50: number; p99: number; non2xx: number; errors: number }>(
    (resolve, reject) => {
      const args = ['--import', 'tsx', here('./http-load.ts'), url, pathsFile, String(MIX_CONNECTIONS), '10', '3'];
      execFile(process.execPath, args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop()!)),
      );
    },
  );
  const cores = availableParallelism();
  return [
    {
      id: 'abuse_absent_lookups_per_second',
      name: `unknown names answered per second (batches of ${ABSENT_BATCH}, ${ABSENT_LOOPS} in flight, limits raised)`,
      value: b.perSecond,
      unit: 'lookups/s',
      target: ">= 80% of the cores' VRF-prove rate",
      pass: share >= 0.8,
      peer: {
        name: `VRF proofs/s of ${cores} cores (vrfProve on one thread x ${cores})`,
        value: vrfRate,
        unit: 'proofs/s',
      },
      note: `${(100 * share).toFixed(0)}% of the cores' rate; answers: ${JSON.stringify(b.statuses)}`,
    },
    {
      id: 'abuse_mix_throughput',
      name: `70% known / 30% unknown GET lookups, ${MIX_CONNECTIONS} connections (limits raised)`,
      value: mix.rps,
      unit: 'requests/s',
      target: `> ${MIX_BEFORE.rps} requests/s (issue 12, before the pool)`,
      pass: mix.rps > MIX_BEFORE.rps && mix.errors === 0,
      note: `${mix.non2xx} non-2xx, ${mix.errors} errors`,
    },
    {
      id: 'abuse_mix_p99',
      name: `70% known / 30% unknown GET lookups p99, ${MIX_CONNECTIONS} connections`,
      value: mix.p99,
      unit: 'ms',
      target: `< ${MIX_BEFORE.p99} ms (issue 12, before the pool)`,
      pass: mix.p99 < MIX_BEFORE.p99,
      note: `p50 ${mix.p50} ms`,
    },
  ];
}

/** The VRF proofs per second of the cores: `vrfProve` on this thread, times the cores. */
function coresVrfRate(): number {
  const sk = randomBytes(32);
  let i = 0;
  const alpha = () => Uint8Array.of(i & 255, (i++ >> 8) & 255);
  return availableParallelism() * opsPerSecond(() => void vrfProve(sk, alpha()), 1, { rounds: 3, minMs: 500 });
}

export async function benchAbuse(): Promise<Figure[]> {
  const root = mkdtempSync(join(tmpdir(), 'kt-abuse-'));
  const dir = join(root, 'data');
  const data = openDataDir(dir, 'bench.example/abuse', () => {});
  let server = await startServer(dir);
  try {
    const sign = await enrolProvider(server.url, dir, data.operatorToken);
    for (let from = 0; from < KNOWN_ACCOUNTS; from += 100) {
      const statements = Array.from({ length: 100 }, (_, k) => sign(known(from + k), 1));
      await post(`${server.url}/v1/bindings?wait=1`, { statements });
    }
    const alone = await phase(server.url, sign, 0, 0);
    const one = await phase(server.url, sign, 1, 10);
    const sixteen = await phase(server.url, sign, 16, 20);
    const aloneFigure: Figure = {
      id: 'abuse_honest_p99_alone',
      name: `honest client's lookup p99 alone (${HONEST_PER_SECOND} GET lookups/s of known names, default limits)`,
      value: alone.p99,
      unit: 'ms',
      target: 'the reference of the two figures below; every lookup answered',
      pass: alone.honestRefused === 0,
      note: `p50 ${ms(alone.p50)}; epoch interval ${ms(alone.epochMs)}`,
    };
    await stopServer(server);
    raiseLimits(dir);
    const vrfRate = coresVrfRate(); // measured now, while no server runs, for (b)
    server = await startServer(dir);
    const throughput = await throughputFigures(server.url, vrfRate, root);
    return [aloneFigure, ...phaseFigures(alone, one), ...phaseFigures(alone, sixteen), ...throughput];
  } finally {
    await stopServer(server).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}
