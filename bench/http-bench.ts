/**
 * Lookups over HTTP at 1,000,000 accounts (DESIGN.md: >= 30% of a bare Hono route's requests/s in the
 * same run, p99 <= 25 ms at 64 connections), measured with autocannon. The directory is built below the
 * VRF (bench/scale-bench.ts) in a server data directory, the server compiled as `npm start` runs it serves it
 * in its own process (rate limits raised for the load generator; bench/compiled-server.ts), and autocannon
 * requests lookups of existing accounts, each drawn at random from all of them (the map rows and database
 * pages of a set asked again and again would stay cached, which real traffic at this size does not find:
 * that figure is given beside, for context); the peer is a bare Hono route, bundled by the same run, in
 * another process on the same stack. The load generator runs
 * in a fresh process of its own for each measurement (bench/http-load.ts), with a warm-up first, so that
 * the client is the same for both and not slowed by this process's heap. For context, the note also gives
 * the bare server answering a static body the size of a lookup response: what the HTTP stack alone does
 * with responses of that size, and the server's own /metrics split its time per lookup between the app
 * (routing, rate limit, store read, map proof, JSON) and the HTTP server. The same 1M-account server then
 * answers the owner's daily check for 16 accounts; the largest one's bytes on the wire are the monitoring figure.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDataDir } from '../api/node/data-dir.js';
import { connect } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { parseVerifierKey } from '../wasm-free-crypto/note.js';
import { vrfPublicKey } from '../wasm-free-crypto/vrf.js';
import Database from 'better-sqlite3';
import { SqliteDirectoryStore } from '../log/directory/sqlite-store.js';
import { LookupVerifier } from '../verifier/verification/lookup-verifier.js';
import { monitorFromJson } from '../verifier/formats/proof-json.js';
import { LOOKUP_BINARY_TYPE } from '../verifier/formats/proof-binary.js';
import type { Figure } from './harness.js';
import { compileServer } from './compiled-server.js';
import type { Paths } from './http-load.js';
import { builtDataDir } from './scale-bench.js';

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

const ACCOUNTS = 1_000_000;
/** The peer's script (bundled by compileServer). */
const BARE = 'bare-hono.ts';
const CONNECTIONS = 64;
const DURATION_S = 10;
const WARMUP_S = 3;

/**
 * The command that runs `node args`, on CPU `core` only when given (`taskset`, so that a server and its load
 * generator do not share a core on this two-core machine), or where the scheduler puts it.
 */
function pinned(core: number | undefined, args: string[]): [string, string[]] {
  return core === undefined ? [process.execPath, args] : ['taskset', ['-c', String(core), process.execPath, ...args]];
}

/** The server's core and the load generator's when pinned. */
const SERVER_CORE = 0;
const LOAD_CORE = 1;

/** A server process started by `startProcess`, and its URL. */
type Started = { url: string; child: ChildProcess };

/**
 * Starts `node <script> args` (a compiled script: what `npm start` runs, without tsx's loader thread and
 * its helpers) and resolves with its URL once it prints "listening on".
 */
function startProcess(script: string, args: string[], core?: number): Promise<Started> {
  return new Promise((resolve, reject) => {
    const [command, argv] = pinned(core, [script, ...args]);
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1], child });
    });
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}: ${out.slice(-2000)}`)));
  });
}

/**
 * Runs bench/http-load.ts against `url` over `paths` (written to `dir`) and returns what it measured; on
 * `core` only when given; each request with the Accept header `accept` if given; the connections from
 * `fromAddresses` loopback addresses if given (else all from 127.0.0.1).
 */
function load(
  url: string,
  paths: Paths,
  dir: string,
  core?: number,
  accept?: string,
  fromAddresses?: number,
): Promise<LoadResult> {
  const file = join(dir, `paths-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(paths));
  const script = fileURLToPath(new URL('./http-load.ts', import.meta.url));
  const args = ['--import', 'tsx', script, url, file, String(CONNECTIONS), String(DURATION_S), String(WARMUP_S)];
  if (accept || fromAddresses) args.push(accept ?? '');
  if (fromAddresses) args.push(String(fromAddresses));
  const [command, argv] = pinned(core, args);
  return new Promise((resolve, reject) => {
    execFile(command, argv, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`load generator failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult);
    });
  });
}

/** One daily check's bytes on the wire: the request, and the response with its headers. */
interface DailyCheck {
  request: number;
  response: number;
  headers: number;
}

/**
 * One owner's daily check with no key change: one GET /v1/monitor over a plain TCP connection (request
 * line and headers as a minimal client sends them, gzip accepted), counting every byte sent and received;
 * the answer is then verified, so that the bytes counted are a real check.
 */
async function dailyCheck(
  url: string,
  verifier: LookupVerifier,
  account: string,
  known: { label: Uint8Array; version: number; history: Uint8Array },
): Promise<DailyCheck> {
  const { hostname, port } = new URL(url);
  const request = `GET /v1/monitor/chat.example/${encodeURIComponent(account)}?version=${known.version} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n`;
  const response = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => socket.write(request)); // the server closes after answering (Connection: close)
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
  const split = response.indexOf('\r\n\r\n');
  const head = response.subarray(0, split).toString('latin1');
  let body = response.subarray(split + 4);
  if (/^transfer-encoding: chunked/im.test(head)) body = dechunk(body);
  if (/^content-encoding: gzip/im.test(head)) body = gunzipSync(body);
  const proof = monitorFromJson(JSON.parse(body.toString('utf8')));
  if (!('unchanged' in proof)) throw new Error(`the monitor check of ${account} did not answer "unchanged"`);
  verifier.verifyUnchanged(proof.unchanged, { label: known.label, version: known.version, historyHash: known.history });
  return { request: Buffer.byteLength(request), response: response.length, headers: split + 4 };
}

/** Accounts whose daily check is measured: the map proof's length depends on where the label falls. */
const MONITORED = 16;

/**
 * The owner's daily check with no key change at 1M accounts, for 16 accounts spread over the directory:
 * the largest is the figure (the map proof's length varies with the label's depth in the map).
 */
export async function monitorCheckBytes(url: string, data: ReturnType<typeof openDataDir>): Promise<Figure> {
  const verifier = new LookupVerifier({
    origin: data.origin,
    logKey: parseVerifierKey(data.signer.verifierKey),
    vrfKey: vrfPublicKey(data.vrfSecretKey),
  });
  // What each owner remembers from its earlier, full check: the leaf (label, version, history hash). The
  // 1M build is below the VRF (bench/scale-bench.ts), so it is read from the index rather than verified.
  const db = new Database(data.dbPath, { readonly: true });
  const store = new SqliteDirectoryStore(db, { reader: true });
  const accounts = Array.from(
    { length: MONITORED },
    (_, i) => `user${5 + i * Math.floor(ACCOUNTS / MONITORED)}@chat.example`,
  );
  const known = await Promise.all(accounts.map(async (a) => (await store.accountByName('chat.example', a))!.account));
  db.close();
  const checks: DailyCheck[] = [];
  for (let i = 0; i < MONITORED; i++) checks.push(await dailyCheck(url, verifier, accounts[i], known[i]));
  const totals = checks.map((c) => c.request + c.response);
  const largest = checks[totals.indexOf(Math.max(...totals))];
  const bytes = Math.max(...totals);
  const mean = totals.reduce((a, b) => a + b, 0) / totals.length;
  return {
    id: 'monitor_daily_bytes',
    name: `owner monitoring at 1M accounts, daily check with no key change (${MONITORED} accounts, each one verified request; the largest)`,
    value: bytes,
    unit: 'bytes/day',
    target: '<= 2 KB per day',
    pass: bytes <= 2048,
    note: `mean ${Math.round(mean)} B, smallest ${Math.min(...totals)} B; the largest: request ${largest.request} B, response ${largest.response} B (headers ${largest.headers} B, gzip body)`,
  };
}

/** The body of a chunked HTTP/1.1 response. */
function dechunk(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const nl = b.indexOf('\r\n', at);
    const size = parseInt(b.subarray(at, nl).toString('latin1'), 16);
    if (!size) return Buffer.concat(parts);
    parts.push(b.subarray(nl + 2, nl + 2 + size));
    at = nl + 2 + size + 2;
  }
}

/**
 * The time the server spent inside the app on lookups so far (routing, rate limit, store read, map proof,
 * JSON), in seconds, and their count: its own `kt_request_duration_seconds` summary in /metrics.
 */
async function appLookupTime(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const labels = '\\{method="GET",route="/v1/lookup/:provider/:account",status="200"\\}';
  const sum = Number(new RegExp(`^kt_request_duration_seconds_sum${labels} (\\S+)$`, 'm').exec(text)?.[1]);
  const count = Number(new RegExp(`^kt_request_duration_seconds_count${labels} (\\d+)$`, 'm').exec(text)?.[1]);
  if (!(sum > 0 && count > 0)) throw new Error("the server's /metrics has no lookup timing");
  return { sum, count };
}

/**
 * Lookups over HTTP with `readers` reader processes (unpinned): requests/s. The server hands each connection
 * to a reader by its client's address, so the connections come from one loopback address each: from one
 * address, every connection would go to the same reader.
 */
async function withReaders(
  main: string,
  dataDir: string,
  readers: number,
  paths: Paths,
  root: string,
): Promise<LoadResult> {
  const server = await startProcess(main, ['--data', dataDir, '--port', '0', '--readers', String(readers)]);
  try {
    return await load(server.url, paths, root, undefined, undefined, CONNECTIONS);
  } finally {
    await stopProcess(server.child);
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Lookups over HTTP at 1M accounts, measured as the issue restates it for this machine: the server pinned to
 * one core and the load generator to the other (`taskset`), the bare Hono route measured the same way; then
 * the server with 1 and 2 reader processes, unpinned (api/node/readers.ts).
 */
export async function benchHttpLookups(): Promise<Figure[]> {
  // Both servers compiled, as `npm start` runs ours; the peer bundled by the same compiler run.
  const compiled = compileServer([BARE]);
  try {
    const { root, dataDir, data } = await builtDataDir(ACCOUNTS, 'kt-http-');
    return await measureHttpLookups(compiled, root, dataDir, data);
  } finally {
    compiled.remove();
  }
}

async function measureHttpLookups(
  compiled: ReturnType<typeof compileServer>,
  root: string,
  dataDir: string,
  data: ReturnType<typeof openDataDir>,
): Promise<Figure[]> {
  const main = join(compiled.root, 'api/node/main.js');
  let server: Started | undefined;
  let bare: Started | undefined;
  try {
    server = await startProcess(main, ['--data', dataDir, '--port', '0', '--readers', '0'], SERVER_CORE);
    // One real lookup response, which the bare server also serves as a static body of the same size.
    const sample = join(root, 'lookup.json');
    writeFileSync(
      sample,
      new Uint8Array(await (await fetch(`${server.url}/v1/lookup/chat.example/user0%40chat.example`)).arrayBuffer()),
    );
    bare = await startProcess(compiled.bundled(BARE), [sample], SERVER_CORE);
    // Each lookup of an account drawn at random from all of them, so that the map rows and database pages a
    // lookup reads are as often cached as a directory's real traffic of that size would find them, not those
    // of a small set asked again and again; the static body's path drawn the same way, so that the load
    // generator does the same work for it.
    const lookups = { template: '/v1/lookup/chat.example/user{n}%40chat.example', count: ACCOUNTS };
    const peer = await load(bare.url, ['/bare'], root, LOAD_CORE);
    const sameSize = await load(
      bare.url,
      { ...lookups, template: lookups.template.replace('/v1/lookup/', '/static/') },
      root,
      LOAD_CORE,
    );
    const before = await appLookupTime(server.url);
    const ours = await load(server.url, lookups, root, LOAD_CORE);
    const after = await appLookupTime(server.url);
    // The mean over that run's lookups (its warm-up's included).
    const appMicros = (1e6 * (after.sum - before.sum)) / (after.count - before.count);
    // For context: 1,024 accounts asked over and over, whose paths' rows all stay in the map's cache.
    const few = Array.from({ length: 1024 }, () =>
      lookups.template.replace('{n}', String(Math.floor(Math.random() * ACCOUNTS))),
    );
    const cycled = await load(server.url, few, root, LOAD_CORE);
    const binary = await load(server.url, lookups, root, LOAD_CORE, LOOKUP_BINARY_TYPE);
    const binaryBytes = (
      await (
        await fetch(`${server.url}/v1/lookup/chat.example/user0%40chat.example`, {
          headers: { accept: LOOKUP_BINARY_TYPE },
        })
      ).arrayBuffer()
    ).byteLength;
    const monitor = await monitorCheckBytes(server.url, data);
    await stopProcess(server.child);
    const readers = [
      await withReaders(main, dataDir, 1, lookups, root),
      await withReaders(main, dataDir, 2, lookups, root),
    ];
    const ratio = ours.rps / peer.rps;
    // The server is one thread: at saturation each request costs it 1/rps, of which the app's share is measured.
    const perRequest = 1e6 / ours.rps;
    const context =
      `a static body of the same size (${statSync(sample).size} B) on the bare server: ${Math.round(sameSize.rps)} requests/s, ${((100 * sameSize.rps) / peer.rps).toFixed(0)}% of the bare route. ` +
      `Server time per lookup ${perRequest.toFixed(0)} µs, of which ${appMicros.toFixed(0)} µs inside the app (route, store read, map proof, JSON; its /metrics) and the rest in the HTTP server; ` +
      `the same 1,024 accounts asked over and over (their paths' map rows all cached): ${Math.round(cycled.rps)} requests/s, ${((100 * cycled.rps) / peer.rps).toFixed(0)}% of the bare route; ` +
      `30% of the bare route leaves ${(1e6 / (0.3 * peer.rps)).toFixed(0)} µs per lookup for both`;
    return [
      monitor,
      {
        id: 'http_lookups',
        name: `lookups over HTTP at 1M accounts, JSON, ${CONNECTIONS} connections, server on one core and load on the other (taskset)`,
        value: ours.rps,
        unit: 'requests/s',
        target: ">= 30% of a bare Hono route's requests/s, pinned the same way",
        pass: ratio >= 0.3 && ours.non2xx === 0 && ours.errors === 0,
        peer: { name: 'bare Hono route, same stack, pinned the same way', value: peer.rps, unit: 'requests/s' },
        note: `${(100 * ratio).toFixed(0)}% of the bare route; ${ours.non2xx} non-2xx, ${ours.errors} errors; for context, ${context}`,
      },
      {
        id: 'http_lookups_binary',
        name: `lookups over HTTP at 1M accounts, binary (${LOOKUP_BINARY_TYPE}, what the client package asks for), ${CONNECTIONS} connections, pinned as above`,
        value: binary.rps,
        unit: 'requests/s',
        target: ">= 30% of a bare Hono route's requests/s, pinned the same way",
        pass: binary.rps / peer.rps >= 0.3 && binary.non2xx === 0 && binary.errors === 0,
        peer: { name: 'bare Hono route, same stack, pinned the same way', value: peer.rps, unit: 'requests/s' },
        note: `${((100 * binary.rps) / peer.rps).toFixed(0)}% of the bare route; p99 ${binary.p99} ms (p50 ${binary.p50} ms); a response of ${binaryBytes} B against ${statSync(sample).size} B of JSON; ${binary.non2xx} non-2xx, ${binary.errors} errors`,
      },
      {
        id: 'http_lookups_readers',
        name: 'lookups over HTTP at 1M accounts with 1 and 2 reader processes (api/node/readers.ts), unpinned',
        value: readers[1].rps,
        unit: 'requests/s',
        target: 'reported (2 cores: the readers, the sequencer and the load generator share them)',
        pass: readers.every((r) => r.non2xx === 0 && r.errors === 0),
        note: `1 reader ${Math.round(readers[0].rps)} requests/s (p99 ${readers[0].p99} ms), 2 readers ${Math.round(readers[1].rps)} requests/s (p99 ${readers[1].p99} ms), each of the ${CONNECTIONS} connections from a loopback address of its own; one process, pinned: ${Math.round(ours.rps)}`,
      },
      {
        id: 'http_lookup_p99',
        name: `lookup latency p99 over HTTP at 1M accounts, ${CONNECTIONS} connections, binary (what the client package asks for)`,
        value: binary.p99,
        unit: 'ms',
        target: 'p99 <= 25 ms',
        pass: binary.p99 <= 25,
        note: `p50 ${binary.p50} ms; JSON p99 ${ours.p99} ms (p50 ${ours.p50} ms)`,
      },
    ];
  } finally {
    server?.child.kill('SIGTERM');
    bare?.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(root, { recursive: true, force: true });
  }
}
