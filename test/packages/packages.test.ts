/**
 * The packages as their users get them: `npm pack` of the server package and of the client package, the
 * client's tarball installed into an empty project without the network (with tarballs of its only
 * dependencies, @noble/*, packed from this repository's node_modules), and there, on plain Node 20 with no TypeScript loader:
 * the README's Node example verifies lookups from a live server; a consumer file type-checks against the
 * published types (and a wrong use of them does not); esbuild bundles the client for a browser; the browser
 * bundles it ships stay within their gzip budgets.
 * The server's tarball holds the compiled code and `kt`, no tests, benches or sources, and `kt --help` runs
 * from it before any dependency is installed.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer, type DemoServer } from '../helpers/demo-server.js';
import { directoryProxy, staticServer, type Listening, type Proxy } from './browser-servers.js';
import { lookupFromJson } from '../../verifier/formats/proof-json.js';
import { toVerifierPins } from '../../verifier/client/pins.js';
import { LookupVerifier } from '../../verifier/verification/lookup-verifier.js';
import { VerifyError } from '../../verifier/verification/errors.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) =>
    execFile(file, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 99) : 0, stdout, stderr }),
    ),
  );
}

/** `npm pack` of the package in `dir` (with its prepare or prepack build) into `out`; the tarball's path and files. */
async function pack(args: string[], out: string): Promise<{ tarball: string; files: string[] }> {
  const r = await sh('npm', ['pack', '--json', '--pack-destination', out, ...args], ROOT);
  expect(r.code, r.stderr).toBe(0);
  const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
  return { tarball: join(out, info.filename), files: info.files.map((f: { path: string }) => f.path) };
}

let tmp: string;
let project: string;
let demo: DemoServer;
let server: { tarball: string; files: string[] };
let client: { tarball: string; files: string[] };
/** The example web page with the published bundle, on its own origin, and the proxy it reaches the directory by. */
let site: Listening;
let proxy: Proxy;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'kt-packages-'));
  server = await pack([], tmp);
  client = await pack(['--workspace', 'packages/client'], tmp);
  project = join(tmp, 'consumer');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // npm ci fetched the @noble/* tarballs but not their registry metadata, which `--offline` would need to
  // resolve a version range: the tarballs are installed together, so the client's dependencies are met.
  const noble = [];
  for (const name of ['@noble/hashes', '@noble/curves'])
    noble.push((await pack(['--ignore-scripts', join(ROOT, 'node_modules', name)], tmp)).tarball);
  const install = await sh(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', client.tarball, ...noble],
    project,
  );
  expect(install.code, `${install.stdout}\n${install.stderr}`).toBe(0);
  const bundles = join(project, 'node_modules/@kt-directory/client/dist/browser');
  const pins = { contents: '' };
  site = await staticServer({
    '/index.html': join(ROOT, 'examples/web/index.html'),
    '/app.js': join(ROOT, 'examples/web/app.js'),
    '/kt-client.js': join(bundles, 'kt-client.js'),
    '/kt-client-full.js': join(bundles, 'kt-client-full.js'),
    '/kt-pins.json': pins,
  });
  demo = await startDemoServer({ lookupOrigins: [site.url] });
  proxy = await directoryProxy(demo.server.url);
  pins.contents = JSON.stringify({ ...(await demo.pins()), server: proxy.url });
}, 240_000);

afterAll(async () => {
  await Promise.all([site?.close(), proxy?.close()]);
  await demo?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the client package', () => {
  it('holds the compiled client and its types only, and depends on @noble/* alone', () => {
    expect(client.files.every((f) => f === 'package.json' || f === 'README.md' || f.startsWith('dist/'))).toBe(true);
    expect(client.files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(client.files.some((f) => /(^|\/)(test|bench|log|api|cli)\//.test(f.replace(/^dist\//, '')))).toBe(false);
    expect(client.files).toContain('dist/browser/kt-client.js');
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules/@kt-directory/client/package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['@noble/curves', '@noble/hashes']);
    const installed = readFileSync(join(project, 'package-lock.json'), 'utf8');
    expect(Object.keys(JSON.parse(installed).packages).sort()).toEqual([
      '',
      'node_modules/@kt-directory/client',
      'node_modules/@noble/curves',
      'node_modules/@noble/hashes',
    ]);
  });

  it('verifies lookups from a live server on plain Node, keeping the checkpoint across runs (the Node example)', async () => {
    cpSync(join(ROOT, 'examples/node/lookup.mjs'), join(project, 'lookup.mjs'));
    writeFileSync(join(project, 'kt-pins.json'), JSON.stringify(await demo.pins()));
    const env = { ...process.env, NODE_OPTIONS: '' };
    const present = await sh(process.execPath, ['lookup.mjs', 'chat.example', 'alice@example.org'], project, env);
    expect(present.code, present.stderr).toBe(0);
    expect(present.stdout).toMatch(/^verified: chat.example\/alice@example.org is present \(epoch \d+, tree \d+\)/);
    const state = JSON.parse(readFileSync(join(project, 'kt-state.json'), 'utf8'));
    expect(state.checkpoint).toMatch(/^example.com\/kt-demo-test\n\d+\n/);
    const absent = await sh(process.execPath, ['lookup.mjs', 'chat.example', 'nobody@example.org'], project, env);
    expect(absent.code, absent.stderr).toBe(0);
    expect(absent.stdout).toMatch(/is absent/);
  });

  it('type-checks a consumer against the published types, which are not `any`', async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM'],
          types: [],
          strict: true,
          noEmit: true,
        },
        files: ['consumer.ts'],
      }),
    );
    writeFileSync(
      join(project, 'consumer.ts'),
      `import { createClient, type KtClient } from '@kt-directory/client';
import { memoryStore } from '@kt-directory/client/checkpoint-store';
import { dailyCheck } from '@kt-directory/client/daily-check';
import { fileStore } from '@kt-directory/client/node';
import { ClientError, VerifyError } from '@kt-directory/client/errors';
import { MONITOR_START } from '@kt-directory/client/owner-monitor';

const pins = { origin: 'example.com/log', logKey: 'example.com/log+01234567+AAAA', vrfKey: 'AAAA' };
const kt: KtClient = createClient({ pins, server: 'https://kt.example', store: memoryStore() });
const other: KtClient = createClient({ pins, store: fileStore('kt-state.json') });
export async function use(): Promise<string> {
  try {
    const found = await kt.lookup('chat.example', 'alice@example.org');
    const ids: string[] = (found.statement?.keys ?? []).map((k) => k.id);
    const report = await dailyCheck(other, 'chat.example', 'alice@example.org', [], MONITOR_START);
    return found.status + ids.join() + report.alarms.length + found.checkpoint.size.toFixed();
  } catch (e) {
    if (e instanceof VerifyError || e instanceof ClientError) return e.code;
    throw e;
  }
}
// @ts-expect-error the pins need a vrfKey
createClient({ pins: { origin: 'o', logKey: 'k' } });
// @ts-expect-error a lookup's status is a string union, not a number
export const wrong: Promise<number> = kt.lookup('a', 'b').then((r) => r.status);
`,
    );
    const r = await sh(process.execPath, [TSC, '-p', 'tsconfig.json'], project);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('bundles for a browser with esbuild, with no Node built-in', async () => {
    writeFileSync(
      join(project, 'page.js'),
      `import { createClient } from '@kt-directory/client';\nimport { localStorageStore } from '@kt-directory/client/checkpoint-store';\nglobalThis.kt = createClient({ pins: globalThis.pins, store: localStorageStore() });\n`,
    );
    const { build } = await import('esbuild');
    const out = await build({
      absWorkingDir: project,
      entryPoints: ['page.js'],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    const text = new TextDecoder().decode(out.outputFiles[0].contents);
    expect(out.errors).toEqual([]);
    expect(text).not.toMatch(/node:/);
    expect(text).toContain('kt-state');
  });

  it("ships browser bundles within DESIGN.md's budgets: gzip -9, lookup-only <= 40 KB, the whole client <= 50 KB", () => {
    // The bench reports these figures (bench/client-bench.ts); this keeps a change from passing them unnoticed.
    const kb = (name: string) =>
      gzipSync(readFileSync(join(project, 'node_modules/@kt-directory/client/dist/browser', name)), { level: 9 })
        .length / 1024;
    expect(kb('kt-client.js')).toBeLessThanOrEqual(40);
    expect(kb('kt-client-full.js')).toBeLessThanOrEqual(50);
  });
});

describe('the server package', () => {
  it('holds the compiled server, `kt` and the docs, and no tests, benches or TypeScript sources', () => {
    expect(server.files).toContain('bin/kt.mjs');
    expect(server.files).toContain('dist/cli/kt.js');
    expect(server.files).toContain('dist/api/node/main.js');
    // The threads the server starts from its compiled files (api/node/threads.ts).
    expect(server.files).toContain('dist/api/node/vrf-pool-thread.js');
    expect(server.files).toContain('dist/api/node/wal-checkpoint-thread.js');
    expect(server.files.filter((f) => /^(test|bench|examples|packages)\//.test(f))).toEqual([]);
    expect(server.files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('runs `kt --help` from the unpacked tarball on plain Node, before any dependency is installed', async () => {
    const unpacked = join(tmp, 'server');
    mkdirSync(unpacked);
    expect((await sh('tar', ['xzf', server.tarball, '-C', unpacked], tmp)).code).toBe(0);
    const r = await sh(process.execPath, [join(unpacked, 'package/bin/kt.mjs'), '--help'], unpacked);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: kt COMMAND/);
  });
});

const CHROMIUM = '/usr/bin/chromium';
const browserTest = existsSync(CHROMIUM) || process.env.KT_REQUIRE_BROWSER ? describe : describe.skip;

browserTest('the published client bundle in headless Chromium, on a page of another origin', () => {
  let browser: import('playwright-core').Browser;
  let page: import('playwright-core').Page;

  /** Submits the example page's form and returns the result line it shows. */
  async function lookUp(provider: string, account: string): Promise<string> {
    await page.fill('input[name=provider]', provider);
    await page.fill('input[name=account]', account);
    await page.evaluate(() => (document.getElementById('result')!.textContent = '…'));
    await page.click('button');
    await page.waitForFunction(() => document.getElementById('result')!.textContent !== '…');
    return (await page.textContent('#result')) ?? '';
  }

  /**
   * Waits for the page's module script to have made its client and bound the form. The load event does not
   * wait for it (the script awaits its pins first), and a click before that would submit the form natively.
   */
  async function scriptReady(): Promise<void> {
    await page.waitForFunction(() => 'kt' in globalThis);
  }

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage();
    await page.goto(site.url);
    await scriptReady();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('verifies a present and an absent lookup', async () => {
    expect(await lookUp('chat.example', 'alice@example.org')).toMatch(
      /^verified: alice@example.org at chat.example is present/,
    );
    expect(await lookUp('chat.example', 'nobody@example.org')).toMatch(
      /^verified: nobody@example.org at chat.example is absent/,
    );
  });

  it("verifies a history and the owner's daily check", async () => {
    // A string, not a function: the test runner would rewrite a function's dynamic import.
    const r: { versions: number; status: string; alarms: string[] } = await page.evaluate(`(async () => {
      const m = await import('./kt-client-full.js');
      const h = await kt.history('chat.example', 'alice@example.org');
      const report = await m.dailyCheck(kt, 'chat.example', 'alice@example.org', [], m.MONITOR_START);
      return { versions: h.statements.length, status: report.status, alarms: report.alarms.map((a) => a.kind) };
    })()`);
    expect(r.versions).toBeGreaterThan(0);
    expect(r.status).toBe('present');
    // The demo's keys are not this owner's: every version raises the alarm a key substitution would.
    expect(r.alarms).toEqual(Array(r.versions).fill('unexpected_key'));
  });

  it('holds its checkpoint across a reload, then reports a rollback to an older one', async () => {
    const kept = await page.evaluate(() => localStorage.getItem('kt-state'));
    expect(JSON.parse(kept!).checkpoint).toMatch(/^example.com\/kt-demo-test\n\d+\n/);
    await demo.publishMore(); // a newer epoch: a larger tree
    await page.reload();
    await scriptReady();
    expect(await page.evaluate(() => localStorage.getItem('kt-state'))).toBe(kept);
    expect(await lookUp('chat.example', 'alice@example.org')).toMatch(/^verified: .* is present/);
    const newer = JSON.parse((await page.evaluate(() => localStorage.getItem('kt-state')))!).checkpoint;
    expect(newer).not.toBe(JSON.parse(kept!).checkpoint);
    proxy.mode = 'replay'; // the lookup recorded first, from the older tree
    try {
      expect(await lookUp('chat.example', 'alice@example.org')).toMatch(/^VerifyError \[rollback\]/);
    } finally {
      proxy.mode = 'pass';
    }
    expect(JSON.parse((await page.evaluate(() => localStorage.getItem('kt-state')))!).checkpoint).toBe(newer);
  });

  it('refuses a tampered proof with the code the Node verifier gives the same bytes', async () => {
    let tampered: unknown;
    proxy.tamper = (proof) => {
      const s: string = proof.present.signature;
      proof.present.signature = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
      tampered = structuredClone(proof);
    };
    proxy.mode = 'tamper';
    let shown: string;
    try {
      shown = await lookUp('chat.example', 'alice@example.org');
    } finally {
      proxy.mode = 'pass';
    }
    const pins = toVerifierPins(await demo.pins());
    let expected = '';
    try {
      new LookupVerifier(pins).verifyLookup(lookupFromJson(tampered), 'chat.example', 'alice@example.org');
    } catch (e) {
      expected = (e as VerifyError).code;
    }
    expect(expected).not.toBe('');
    expect(shown).toMatch(new RegExp(`^VerifyError \\[${expected}\\]`));
  });

  it('is refused by the browser on an origin the directory does not allow', async () => {
    const elsewhere = await staticServer({
      '/index.html': join(ROOT, 'examples/web/index.html'),
      '/app.js': join(ROOT, 'examples/web/app.js'),
      '/kt-client.js': join(project, 'node_modules/@kt-directory/client/dist/browser/kt-client.js'),
      '/kt-pins.json': { contents: JSON.stringify({ ...(await demo.pins()), server: proxy.url }) },
    });
    try {
      await page.goto(elsewhere.url);
      await scriptReady();
      expect(await lookUp('chat.example', 'alice@example.org')).toMatch(/^ClientError \[network\]/);
    } finally {
      await elsewhere.close();
    }
  });
});
