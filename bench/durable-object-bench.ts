/**
 * The Durable Object's working set, measured in workerd (which does not enforce the 128 MB limit): the Worker
 * (bench/workerd/bench-worker.ts, the production Worker plus a build route) is bundled with esbuild and run by
 * Miniflare, whose workerd process is the measured one. First, on an empty directory, the object is woken
 * and serves lookups: the process's resident memory then is the baseline. Then N accounts (default 2,000,000)
 * are built below the VRF into the object's own storage (bench/scale-build.ts), workerd is stopped, started
 * again on the same storage, and the object opens it, serves its first lookup (timed) and 2,000 lookups of
 * random accounts: the figure is the resident memory then, minus the baseline. Lookups reach the object (no
 * D1 binding), which proves them from its stored map through its bounded cache. Not part of the default run
 * (the build takes about half an hour on 2 cores): `npm run bench -- --only durable [--accounts N]`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { ensureDevCa } from '../api/node/dev-ca.js';
import { toHex } from '../wasm-free-crypto/bytes.js';
import { generateSignerKey } from '../wasm-free-crypto/note.js';
import { randomBytes } from '../wasm-free-crypto/random.js';
import type { Figure } from './harness.js';
import { BATCH } from './scale-build.js';

const MiB = 2 ** 20;
const LOOKUPS = 2_000;
/** The object's map cache (MAP_CACHE_ROWS): the setting's default unless the environment says otherwise. */
const MAP_CACHE_ROWS = process.env.KT_BENCH_MAP_CACHE_ROWS;

async function bundle(dir: string): Promise<string> {
  const outfile = join(dir, 'bench-worker.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./workerd/bench-worker.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*'],
    target: 'es2022',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

/** The Worker's settings: new keys, the development CA as trusted root, lookups never rate limited. */
async function vars(dir: string): Promise<Record<string, string>> {
  await ensureDevCa(dir);
  const origin = 'bench.example/durable-object';
  return {
    LOG_ORIGIN: origin,
    LOG_SIGNER_KEY: generateSignerKey(origin).signerKey,
    VRF_SECRET_KEY: toHex(randomBytes(32)),
    OPERATOR_TOKEN: toHex(randomBytes(16)),
    TRUSTED_ROOTS_PEM: readFileSync(join(dir, 'dev-ca.pem'), 'utf8'),
    EPOCH_INTERVAL_MS: '3600000',
    HEARTBEAT_MS: '86400000',
    RECEIPT_DEADLINE_MS: '7300000',
    LOOKUP_BURST: '1000000000',
    LOOKUP_RATE_PER_SECOND: '1000000000',
    ...(MAP_CACHE_ROWS ? { MAP_CACHE_ROWS } : {}),
  };
}

function workerd(script: string, persist: string, bindings: Record<string, string>): Miniflare {
  return new Miniflare({
    modules: true,
    scriptPath: script,
    modulesRoot: dirname(script),
    compatibilityDate: '2026-04-26',
    durableObjects: {
      LOG: { className: 'LogSequencer', useSQLite: true },
      LIMITER: { className: 'LookupLimiterObject', useSQLite: true },
    },
    durableObjectsPersist: persist,
    bindings,
  });
}

/** The parent process id and name of `pid`, from /proc. */
function procStat(pid: number): { ppid: number; comm: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(stat.slice(close + 2).split(' ')[1]) };
  } catch {
    return undefined;
  }
}

/** The resident memory of the workerd processes this process started (Miniflare's), in bytes. */
function workerdRss(): number {
  let total = 0;
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || procStat(pid)?.comm !== 'workerd') continue;
    let ancestor = procStat(pid)?.ppid;
    while (ancestor && ancestor !== process.pid) ancestor = procStat(ancestor)?.ppid;
    if (ancestor !== process.pid) continue;
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    total += Number(kb ?? 0) * 1024;
  }
  return total;
}

async function lookup(mf: Miniflare, account: string): Promise<void> {
  const res = await mf.dispatchFetch(`http://localhost/v1/lookup/chat.example/${encodeURIComponent(account)}`);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`lookup of ${account}: ${res.status}`);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 1_000));

function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  return total;
}

export async function benchDurableObject(accounts: number): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kt-do-bench-'));
  try {
    const script = await bundle(dir);
    const bindings = await vars(dir);
    // The baseline: an object with an empty directory, woken and serving lookups.
    const idle = workerd(script, join(dir, 'idle'), bindings);
    const idleStarted = performance.now();
    await lookup(idle, 'nobody@chat.example');
    const idleFirstMs = performance.now() - idleStarted;
    for (let i = 0; i < 50; i++) await lookup(idle, `nobody${i}@chat.example`);
    await settle();
    const baseline = workerdRss();
    await idle.dispose();

    const persist = join(dir, 'built');
    const builder = workerd(script, persist, bindings);
    const buildStarted = performance.now();
    for (let built = 0; built < accounts; ) {
      const count = Math.min(BATCH, accounts - built);
      const res = await builder.dispatchFetch(`http://localhost/__bench/build?count=${count}`, { method: 'POST' });
      built = ((await res.json()) as { accounts: number }).accounts;
      if (built % 200_000 === 0) process.stderr.write(`  built ${built.toLocaleString('en-US')} accounts\n`);
    }
    const buildMinutes = (performance.now() - buildStarted) / 60_000;
    await builder.dispose();

    const served = workerd(script, persist, bindings);
    const started = performance.now();
    await lookup(served, 'user7@chat.example');
    const firstLookupMs = performance.now() - started;
    await settle();
    const opened = workerdRss();
    for (let i = 0; i < LOOKUPS; i++) await lookup(served, `user${Math.floor(Math.random() * accounts)}@chat.example`);
    await settle();
    const loaded = workerdRss();
    await served.dispose();
    const workingSet = (loaded - baseline) / MiB;
    const size = accounts.toLocaleString('en-US');
    return [
      {
        id: 'do_working_set',
        name: `Durable Object working set at ${size} accounts in workerd (resident memory after opening and ${LOOKUPS.toLocaleString('en-US')} lookups, minus an empty directory's; map cache ${MAP_CACHE_ROWS ?? 'default'} rows)`,
        value: workingSet,
        unit: 'MiB',
        target: '<= 64 MB whatever the directory size',
        pass: workingSet * MiB <= 64e6,
        note: `workerd ${(loaded / MiB).toFixed(0)} MiB (${(opened / MiB).toFixed(0)} MiB after the first lookup) against ${(baseline / MiB).toFixed(0)} MiB with an empty directory; storage ${(bytesUnder(persist) / MiB).toFixed(0)} MiB; built in ${buildMinutes.toFixed(1)} min`,
      },
      {
        id: 'do_first_lookup',
        name: `Durable Object cold start at ${size} accounts in workerd: its first lookup (the object opening its storage and proving it) beyond the same on an empty directory`,
        value: firstLookupMs - idleFirstMs,
        unit: 'ms',
        target: '<= 1,000 ms (the writer cold-start target)',
        pass: firstLookupMs - idleFirstMs <= 1000,
        note: `first lookup ${firstLookupMs.toFixed(0)} ms against ${idleFirstMs.toFixed(0)} ms on an empty directory, a new workerd starting included in both`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
