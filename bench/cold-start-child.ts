/**
 * The child process of bench/cold-start-bench.ts: `node --expose-gc --import tsx bench/cold-start-child.ts
 * DATA_DIR ACCOUNTS`, with the server's modules from `KT_SERVER_ROOT` (the compiled server, compiled-server.ts)
 * if set, else from the sources; the bench runs it bundled, on plain Node (compiled-server.ts). First it opens
 * the directory alone on the data directory (log storage, appender, `Directory.open`) and builds the first
 * lookup's proof, timed: what grows with the number of accounts. Then it starts the whole Node server
 * (api/node/server.ts) and times it until its first lookup is answered over HTTP, makes 2,000 lookups of
 * random accounts one at a time (timed), closes one epoch, then one epoch of 1,000 key rotations signed by the
 * builder's provider (timed from the first submission to the commit, and from closing the epoch to the
 * commit), reads after a full GC the process's anonymous resident memory (its own), its file-backed resident
 * memory (the database pages SQLite maps, which the kernel can drop), its JS heap and the map cache's rows;
 * then 10 s of key rotations arriving at 1,000 a second, committed by the server's own epoch timer (each one's
 * time from its arrival to its commit), and prints one JSON line with all of it.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { percentile } from './harness.js';
import { scaleRotation } from './scale-provider.js';

// The server's modules from KT_SERVER_ROOT, the compiled server (compiled-server.ts: what `npm start` runs),
// or else from the sources beside this file.
const root = process.env.KT_SERVER_ROOT
  ? pathToFileURL(`${process.env.KT_SERVER_ROOT}/`).href
  : new URL('../', import.meta.url).href;
const from = <T>(path: string): Promise<T> => import(new URL(path, root).href) as Promise<T>;
const { jsonLogger } = await from<typeof import('../api/app/logger.js')>('api/app/logger.js');
const { openDataDir } = await from<typeof import('../api/node/data-dir.js')>('api/node/data-dir.js');
const { startServer } = await from<typeof import('../api/node/server.js')>('api/node/server.js');
const { Directory } = await from<typeof import('../log/directory/directory.js')>('log/directory/directory.js');
const { proveLookup } = await from<typeof import('../log/directory/proof-builder.js')>(
  'log/directory/proof-builder.js',
);
const { SqliteDirectoryStore } = await from<typeof import('../log/directory/sqlite-store.js')>(
  'log/directory/sqlite-store.js',
);
const { LogAppender } = await from<typeof import('../log/merkle/appender.js')>('log/merkle/appender.js');
const { LogReader } = await from<typeof import('../log/merkle/reader.js')>('log/merkle/reader.js');
const { SqliteLogStorage } =
  await from<typeof import('../log/merkle/sqlite-storage.js')>('log/merkle/sqlite-storage.js');
const { ed25519KeyPairFromSeed } =
  await from<typeof import('../wasm-free-crypto/ed25519.js')>('wasm-free-crypto/ed25519.js');
const { randomBytes } = await from<typeof import('../wasm-free-crypto/random.js')>('wasm-free-crypto/random.js');
const { signSync } = await from<typeof import('../wasm-free-crypto/signatures.js')>('wasm-free-crypto/signatures.js');
const { encodeStatement, providerSignedMessage } = await from<typeof import('../verifier/formats/statement-binary.js')>(
  'verifier/formats/statement-binary.js',
);
type Directory = import('../log/directory/directory.js').Directory;

/** Version `version` of `account`, signed by the scale build's provider (bench/scale-provider.ts). */
const signedRotation = (account: string, version: number) =>
  scaleRotation(
    { ed25519KeyPairFromSeed, randomBytes, signSync, encodeStatement, providerSignedMessage },
    account,
    version,
  );

const [dataDir, accountsArg] = process.argv.slice(2);
const accounts = Number(accountsArg);
/** Rotations in the timed epoch. */
const ROTATIONS = 1000;
/** The sustained run: rotations arriving at this many a second, for this many seconds. */
const SUSTAINED_RATE = 1000;
const SUSTAINED_SECONDS = 10;

/** Opens the directory alone and proves one lookup; returns the milliseconds it took. */
async function openDirectoryAndProve(): Promise<number> {
  const data = openDataDir(dataDir);
  const started = performance.now();
  const storage = new SqliteLogStorage(data.dbPath);
  const log = await LogAppender.open({ storage, signer: data.signer, origin: data.origin });
  const reader = new LogReader(storage, () => log.head);
  const store = new SqliteDirectoryStore(storage.db);
  const directory = await Directory.open({ log, reader, store, vrfSecretKey: data.vrfSecretKey, trustedRoots: [] });
  const proof = await proveLookup(directory, 'chat.example', 'user0@chat.example');
  const ms = performance.now() - started;
  if (!proof.present) throw new Error('the first lookup is not of a present account');
  await log.close();
  await storage.close();
  return ms;
}

/** A field of /proc/self/status in bytes (Linux), or NaN. */
function statusBytes(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

const lookup = (url: string, i: number) => fetch(`${url}/v1/lookup/chat.example/user${i}%40chat.example`);

/** Each lookup's time over HTTP, one at a time, of `count` random accounts. */
async function timedLookups(url: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const res = await lookup(url, Math.floor(Math.random() * accounts));
    await res.arrayBuffer();
    times.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`a lookup answered ${res.status}`);
  }
  return times.sort((a, b) => a - b);
}

/** The version a rotation of `account` takes next: its greatest committed version plus one. */
const nextVersion = async (directory: Directory, account: string) =>
  ((await proveLookup(directory, 'chat.example', account)).present?.version ?? 0) + 1;

/**
 * One epoch of 1,000 key rotations of distinct accounts spread over the directory, signed by the provider
 * the builder enrolled: the milliseconds from the first submission to the last one committed, of those until
 * the last was accepted, and from closing the epoch to its commit (its plan, the log append, the index and
 * map writes, the fsync).
 */
async function rotationEpoch(directory: Directory): Promise<{ ms: number; submitMs: number; closeMs: number }> {
  const step = burstStep();
  // The rotated accounts share one version: 1 as built, one more for each earlier run on a kept directory.
  const version = await nextVersion(directory, 'user0@chat.example');
  const signed = Array.from({ length: Math.min(ROTATIONS, accounts) }, (_, i) =>
    signedRotation(`user${i * step}@chat.example`, version),
  );
  const started = performance.now();
  const accepted = await Promise.all(signed.map((s) => directory.submit(s.statement, s.signature)));
  const closing = performance.now();
  await directory.closeEpoch(false);
  const committed = await Promise.all(accepted.map((a) => a.committed));
  const done = performance.now();
  if (new Set(committed.map((c) => c.epoch)).size !== 1) throw new Error('the rotations were split over epochs');
  return { ms: done - started, submitMs: closing - started, closeMs: done - closing };
}

/** What the sustained run measured: each rotation's time from its arrival to its epoch's commit, sorted. */
interface Sustained {
  latencies: number[];
  epochs: number;
  /** From the last arrival to the last commit. */
  drainMs: number;
  /** Rotations refused or whose epoch failed, and the first such error. */
  failed: number;
  firstError?: string;
}

/** The burst's accounts: every `burstStep()`-th from user0 (rotationEpoch). */
const burstStep = () => Math.max(1, Math.floor(accounts / ROTATIONS));

/**
 * SUSTAINED_RATE rotations a second for SUSTAINED_SECONDS, of distinct accounts spread over the directory (none
 * of the burst's), committed by the server's own epoch timer. Open loop: the i-th arrives at i / rate seconds
 * whatever the directory is doing (all are signed first), and its time to commit counts from then, so that an
 * event loop held by an epoch's plan delays the submissions it holds up in the figure too. Every run rotates
 * all of them once, so they share one version, read from the first alone (reading all 10,000 would warm their
 * rows for the run); an account behind it is caught up by the run, one already at it is refused
 * (`version_conflict`), and every refusal or failed epoch is counted, not thrown.
 */
async function sustainedRotations(directory: Directory, failures: string[]): Promise<Sustained | null> {
  const total = SUSTAINED_RATE * SUSTAINED_SECONDS;
  if (accounts < 2 * total) return null; // the one-account directory: nothing to spread over
  const step = Math.floor(accounts / total); // at least 2
  const number = (i: number) => ((i * step + 1) % burstStep() === 0 ? i * step + 2 : i * step + 1);
  const account = (i: number) => `user${number(i)}@chat.example`;
  const version = await nextVersion(directory, account(0));
  // Each with a fresh identity key, as a real rotation brings: the directory checks every new key's point.
  const signed = Array.from({ length: total }, (_, i) => signedRotation(account(i), version));
  const latencies: number[] = [];
  const epochs = new Set<number>();
  const commits: Promise<void>[] = [];
  const start = performance.now();
  const arrival = (i: number) => start + (i * 1000) / SUSTAINED_RATE;
  let i = 0;
  while (i < total) {
    for (; i < total && arrival(i) <= performance.now(); i++) {
      const at = arrival(i);
      const committed = directory
        .submit(signed[i].statement, signed[i].signature)
        .then((accepted) => accepted.committed)
        .then(
          (c) => {
            epochs.add(c.epoch);
            latencies.push(performance.now() - at);
          },
          (e) => void failures.push(String((e as Error).message ?? e)),
        );
      commits.push(committed);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(commits);
  const drainMs = performance.now() - arrival(total - 1);
  const sorted = latencies.sort((a, b) => a - b);
  return { latencies: sorted, epochs: epochs.size, drainMs, failed: failures.length, firstError: failures[0] };
}

const directoryOpenMs = await openDirectoryAndProve();
const started = performance.now();
const server = await startServer({ dataDir, host: '127.0.0.1', port: 0, logger: jsonLogger(() => {}) });
const first = await lookup(server.url, 0);
const serverStartMs = performance.now() - started;
if (first.status !== 200) throw new Error(`the first lookup answered ${first.status}`);
await first.arrayBuffer();
const times = await timedLookups(server.url, 2000);
if (!server.directory) throw new Error('the server opened no directory');
await server.directory.closeEpoch(true);
// The server's epoch timer stops, so that the timed epoch is the one closeEpoch closes, with all 1,000 rotations.
await server.directory.stop();
const rotation = await rotationEpoch(server.directory);
// The memory figure is read here, after the lookups and the burst, as before the sustained run was added (whose
// 10,000 rotations signed in this process would count as the server's): first as the work left it, garbage
// included, then after a full collection.
const working = statusBytes('RssAnon');
(globalThis as { gc?: () => void }).gc?.();
const memory = {
  rssAnonWorking: working,
  rssAnon: statusBytes('RssAnon'),
  rssFile: statusBytes('RssFile'),
  heapUsed: process.memoryUsage().heapUsed,
  cacheRows: server.directory.mapCacheStats.rows,
};
// The server's epoch timer runs again, with its settings, and closes the sustained run's epochs.
const failures: string[] = []; // the sustained run's refusals and failed epochs
server.directory.start(server.data.settings, (e) => failures.push(`epoch failed: ${(e as Error).message}`));
const sustained = await sustainedRotations(server.directory, failures);
console.log(
  JSON.stringify({
    directoryOpenMs,
    serverStartMs,
    lookupP50Ms: percentile(times, 50),
    lookupP99Ms: percentile(times, 99),
    rotationEpochMs: rotation.ms,
    rotationSubmitMs: rotation.submitMs,
    rotationCloseMs: rotation.closeMs,
    sustained: sustained && {
      p50Ms: percentile(sustained.latencies, 50),
      p99Ms: percentile(sustained.latencies, 99),
      maxMs: sustained.latencies[sustained.latencies.length - 1],
      epochs: sustained.epochs,
      drainMs: sustained.drainMs,
      failed: sustained.failed,
      firstError: sustained.firstError,
      rate: SUSTAINED_RATE,
      seconds: SUSTAINED_SECONDS,
    },
    ...memory,
  }),
);
await server.close();
