/**
 * Benchmarks of what a client developer and a `kt` user download and wait for (DESIGN.md "Performance
 * targets"):
 * - the client package's browser bundles (packages/client/bundle.mjs, built here from the sources with
 *   the package's own build), gzip at level 9: lookup-only (`kt-client.js`) <= 40 KB and the whole client
 *   (`kt-client-full.js`) <= 50 KB, 1 KB = 1024 bytes; the peer is the @noble/* primitives the client
 *   cannot do without (Ed25519 and P-256 verification, SHA-512), bundled alone the same way;
 * - the explorer page (explorer/build.mjs), its script, style sheet and page each gzipped at level 9, summed:
 *   <= 100 KB with the verifier; the peer is the whole-client bundle;
 * - `kt --help`'s cold start on plain Node (the compiled bin/kt.mjs, built by the root package's build),
 *   the median of 15 runs, well under 0.5 s; the peers are plain Node starting an empty script, and the
 *   same command through tsx from the TypeScript sources (how `kt` ran before it was compiled).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { utf8 } from '../wasm-free-crypto/bytes.js';
import { median, type Figure } from './harness.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KB = 1024;

function gzipKb(bytes: Uint8Array): number {
  return gzipSync(bytes, { level: 9 }).length / KB;
}

/**
 * A module of `contents` (resolved from the repository) bundled for browsers and minified as the client package's
 * bundles are (esbuild, then terser: packages/client/minify.mjs), in KB gzip -9.
 */
export async function bundleGzipKb(contents: string): Promise<number> {
  const out = await build({
    stdin: { contents, resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const { minifyBundle } = await import('../packages/client/minify.mjs');
  return gzipKb(utf8((await minifyBundle(out.outputFiles[0].text)).code));
}

/** The @noble/* floor: the primitives a lookup's verification needs, minified and gzipped as the bundles are. */
function nobleFloorKb(): Promise<number> {
  return bundleGzipKb(`import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { sha512 } from '@noble/hashes/sha2.js';
export const floor = [ed25519.Point, p256.verify, p256.Point, sha512];`);
}

export async function benchClientBundles(): Promise<Figure[]> {
  execFileSync('npm', ['run', 'build', '--workspace', 'packages/client'], { cwd: ROOT, stdio: 'ignore' });
  const size = (name: string) => gzipKb(readFileSync(`${ROOT}packages/client/dist/browser/${name}`));
  const floor = await nobleFloorKb();
  const peer = { name: '@noble/* primitives alone (Ed25519, P-256, SHA-512)', value: floor, unit: 'KB gzip' };
  const lookup = size('kt-client.js');
  const full = size('kt-client-full.js');
  const explorer = explorerPageKb();
  return [
    {
      id: 'client_bundle_lookup',
      name: 'client bundle, lookup-only (kt-client.js, createClient and the stores, gzip -9)',
      value: lookup,
      unit: 'KB',
      target: '<= 40 KB',
      pass: lookup <= 40,
      peer,
    },
    {
      id: 'client_bundle_full',
      name: 'client bundle, whole client (kt-client-full.js: and the monitor, auditor with enrolment check, evidence)',
      value: full,
      unit: 'KB',
      target: '<= 50 KB',
      pass: full <= 50,
      peer,
    },
    {
      id: 'explorer_page',
      name: 'explorer page: what a browser downloads for `/` (explorer.js with the verifier, the style sheet, the page; gzip -9)',
      value: explorer,
      unit: 'KB',
      target: '<= 100 KB',
      pass: explorer <= 100,
      peer: { name: 'the whole-client bundle (kt-client-full.js)', value: full, unit: 'KB gzip' },
    },
  ];
}

/** The explorer's three files (explorer/build.mjs, built here from the sources), each gzipped, summed. */
function explorerPageKb(): number {
  const out = mkdtempSync(join(tmpdir(), 'kt-explorer-bench-'));
  try {
    execFileSync(process.execPath, [`${ROOT}explorer/build.mjs`, out], { stdio: 'ignore' });
    return ['explorer.js', 'explorer.css', 'index.html'].reduce((kb, f) => kb + gzipKb(readFileSync(join(out, f))), 0);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Median wall time, in ms, of running `node ARGS` to completion `runs` times, one after another. */
async function medianRunMs(args: string[], runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, args, { cwd: ROOT }, (e) => (e ? reject(e) : resolve())),
    );
    times.push(performance.now() - start);
  }
  return median(times);
}

export async function benchKtHelpStartup(): Promise<Figure> {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  await medianRunMs(['bin/kt.mjs', '--help'], 2); // the file cache warmed, as for a user's second call
  const kt = await medianRunMs(['bin/kt.mjs', '--help'], 15);
  const bare = await medianRunMs(['-e', ''], 15);
  const tsx = await medianRunMs(['--import', 'tsx', 'cli/kt.ts', '--help'], 5);
  return {
    id: 'kt_cold_start',
    name: '`kt --help` cold start, compiled, plain Node (median of 15 runs)',
    value: kt,
    unit: 'ms',
    target: 'well under 500 ms',
    pass: kt < 250,
    peer: { name: 'plain Node running an empty script', value: bare, unit: 'ms' },
    note: `${(kt - bare).toFixed(0)} ms more than Node itself; through tsx from the sources, as before the build: ${tsx.toFixed(0)} ms`,
  };
}
