/**
 * The explorer page (explorer/) in headless Chromium against live directories, as a person would use it:
 * served by the directory at `/` (here through a proxy in front of it, test/packages/browser-servers.ts,
 * which can alter answers or switch to a second directory with the same keys), and opened as a local file.
 * Covered: no pins, pins that differ from the server's /v1/config (the alarm), trust on first use; a
 * present, an absent and a not-enrolled account, discovery; the directory view; the owner's watch raising
 * the alarm for a key the owner did not make, with an evidence file `kt verify-evidence` proves; a history
 * with a key change; a tampered answer (red, no evidence); a signed fork (red, with an evidence file `kt
 * verify-evidence` proves); a phone-width screen; the page as a local file with pasted pins. Each view is
 * saved as a screenshot under test-results/explorer/ for a reviewer.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer, type DemoServer } from '../helpers/demo-server.js';
import { kt, startKtWitness, type KtWitness } from '../helpers/kt-process.js';
import { parseSignerKey } from '../../wasm-free-crypto/note.js';
import { directoryProxy, type Proxy } from '../packages/browser-servers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = join(ROOT, 'test-results', 'explorer');
const CHROMIUM = '/usr/bin/chromium';
const browserTest = existsSync(CHROMIUM) || process.env.KT_REQUIRE_BROWSER ? describe : describe.skip;

browserTest('the explorer page in headless Chromium', () => {
  let demo: DemoServer & { startTwin: () => Promise<DemoServer> };
  let proxy: Proxy;
  let browser: import('playwright-core').Browser;
  let page: import('playwright-core').Page;
  let tmp: string;
  let pinsFile: string;
  /** The folder of the built page the servers serve and the local-file test opens. */
  let pageDir: string;

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const outcome = async () => (await page.locator('.result .outcome').first().textContent()) ?? '';

  /** Opens the account view of (provider, account) by its shareable link and waits for its outcome. */
  let loads = 0;
  async function check(provider: string, account: string): Promise<string> {
    // A new query each time: a new document, not only a new hash, so that no earlier outcome is on the page.
    await page.goto(
      `${proxy.url}/?load=${++loads}#/lookup/${encodeURIComponent(provider)}/${encodeURIComponent(account)}`,
    );
    await page.waitForSelector('.result .outcome', { timeout: 30_000 });
    return outcome();
  }

  /** Clicks an evidence link, saves the file and runs `kt verify-evidence` on it with the pins. */
  async function verifyDownloadedEvidence(
    link: import('playwright-core').Locator,
  ): Promise<{ code: number; stdout: string }> {
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const file = join(tmp, download.suggestedFilename());
    await download.saveAs(file);
    return kt(['verify-evidence', file, '--pins', pinsFile], tmp);
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    tmp = mkdtempSync(join(tmpdir(), 'kt-explorer-'));
    // The page as this checkout's sources make it, in a folder of its own (the setting `explorer`), so that
    // no other test rebuilding dist/ meanwhile (npm pack) can take it away.
    pageDir = join(tmp, 'page');
    execFileSync(process.execPath, [join(ROOT, 'explorer/build.mjs'), pageDir]);
    // Any origin may read lookups: the page opened as a local file has the origin "null".
    demo = await startDemoServer({ lookupOrigins: ['*'], explorer: pageDir }, { twin: true });
    proxy = await directoryProxy(demo.server.url);
    pinsFile = join(tmp, 'kt-pins.json');
    writeFileSync(pinsFile, JSON.stringify(await demo.pins()));
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await demo?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('is served at / with a strict Content-Security-Policy, and without pins verifies nothing', async () => {
    const res = await fetch(`${demo.server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    await page.goto(`${proxy.url}/`);
    await page.waitForSelector('.banner');
    expect(await page.textContent('.banner')).toMatch(/No pins yet/);
    expect(await page.textContent('main h2')).toMatch(/Trust/);
    await shot('01-no-pins');
  });

  it('raises the alarm when the pins differ from the server’s /v1/config', async () => {
    const pins = await demo.pins();
    const other = { ...pins, vrfKey: Buffer.alloc(32, 7).toString('base64') };
    await page.goto(`${proxy.url}/#/trust`);
    await page.fill('textarea', JSON.stringify(other));
    await page.click('text=Use these pins');
    await page.waitForSelector('.banner.alarm');
    expect(await page.textContent('.banner.alarm')).toMatch(
      /ALARM: the server's \/v1\/config differs from your pins \(vrfKey\)/,
    );
    await page.goto(`${proxy.url}/#/trust`);
    await page.waitForSelector('.differences');
    expect(await page.textContent('.differences')).toContain('vrfKey');
    await shot('02-pins-differ');
  });

  it('takes the server’s keys only when asked (trust on first use), and shows their fingerprints', async () => {
    await page.click('text=Forget these pins');
    await page.waitForSelector('text=No pins yet');
    await page.click("text=Trust this server's /v1/config");
    await page.waitForSelector('.banner.ok');
    expect(await page.textContent('.banner.ok')).toMatch(
      /Pins: example.com\/kt-demo-test, log key [0-9a-f]{16}, taken from the server/,
    );
  });

  it('checks a present account with every check on its own line, by keyboard', async () => {
    await page.goto(`${proxy.url}/#/lookup`);
    await page.getByLabel('Provider', { exact: true }).fill('chat.example');
    await page.getByLabel('Account', { exact: true }).fill('alice@example.org');
    await page.getByLabel('Account', { exact: true }).press('Enter');
    await page.waitForSelector('.result .outcome');
    expect(page.url()).toBe(`${proxy.url}/#/lookup/chat.example/alice%40example.org`);
    expect(await outcome()).toMatch(/^✓ Verified: alice@example.org at chat.example is present, version 1 \(epoch \d+/);
    const checks = await page.locator('.checks > li').allTextContents();
    expect(checks.map((c) => c.split(/\s{2,}|(?<=passed|warning) /)[0])).toEqual([
      '✓ passed',
      '✓ passed',
      '! warning',
      '✓ passed',
      '✓ passed',
      '✓ passed',
      '✓ passed',
      '✓ passed',
      '✓ passed',
    ]);
    expect(checks.join('\n')).toMatch(/VRF label[\s\S]*map proof[\s\S]*history chains/);
    expect(await page.textContent('table.keys')).toMatch(/identity\s*ed25519/);
    expect(await page.textContent('.signer')).toMatch(
      /chat.example, credential [0-9a-f]{16}… [\s\S]*subject CN=chat.example/,
    );
    await shot('03-present');
  });

  it('says plainly when an account is absent or its provider is not enrolled, and discovers across providers', async () => {
    expect(await check('chat.example', 'nobody@example.org')).toMatch(
      /chat.example is enrolled and has no account nobody@example.org/,
    );
    expect(await check('nowhere.example', 'alice@example.org')).toMatch(
      /nowhere.example is not enrolled in this directory/,
    );
    expect(await page.textContent('.result')).toMatch(/Enrolled providers: chat.example, talk.example/);
    await shot('04-not-enrolled');
    await check('chat.example', 'alice@example.org');
    await page.click('text=Find this account at every provider');
    await page.waitForSelector('.discovery .outcome');
    expect(await page.textContent('.discovery')).toMatch(
      /looked up at all 2 enrolled providers[\s\S]*chat.example: present, version 1[\s\S]*talk.example: present/,
    );
  });

  it('shows the directory at a glance: epochs, witnesses and the providers’ certificates, verified', async () => {
    await page.goto(`${proxy.url}/#/directory`);
    await page.waitForSelector('.result .outcome', { timeout: 30_000 });
    expect(await outcome()).toMatch(/^✓ Verified: the log example.com\/kt-demo-test holds \d+ entries/);
    expect(await page.locator('svg.chart circle').count()).toBeGreaterThan(1);
    const rows = await page.locator('table.providers tbody tr').allTextContents();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^chat.example.*CN=chat.example.*CN=kt-directory development root.*active/);
    await shot('05-directory');
  });

  it('watches the owner’s account and raises the alarm, with proven evidence, for a key the owner did not make', async () => {
    await check('chat.example', 'alice@example.org');
    await page.locator('table.keys summary').first().click();
    const aliceKey = (await page.locator('table.keys code.key').first().textContent())!;
    await page.goto(`${proxy.url}/#/watch`);
    await page.getByLabel('Provider', { exact: true }).fill('chat.example');
    await page.getByLabel('Account', { exact: true }).fill('alice@example.org');
    await page.getByLabel('Your public keys').fill(aliceKey);
    await page.click('text=Watch this account');
    await page.waitForSelector('.watched .ok-text');
    await demo.publishMore(); // the demo binds alice a new key her owner did not make
    await page.click('text=Check now');
    await page.waitForSelector('.watched .alarm');
    expect(await page.textContent('.watched .alarm')).toMatch(
      /ALARM \[unexpected_key\] alice@example.org at chat.example: version 2 binds 1 key\(s\) the owner did not make/,
    );
    await shot('06-owner-alarm');
    const proven = await verifyDownloadedEvidence(page.locator('.watched .alarm a.download'));
    expect(proven.code, proven.stdout).toBe(0);
    expect(proven.stdout).toMatch(/^PROVEN unexpected_key: chat.example \/ alice@example.org: version\(s\) 2/);
    await page.reload();
    await page.waitForSelector('.watched .alarm'); // kept in the browser until dismissed
    expect(await page.textContent('.banner.alarm')).toMatch(/1 alarm\(s\) on your watched accounts/);
  });

  it('shows the history as a verified timeline with the key change', async () => {
    await check('chat.example', 'alice@example.org');
    const versions = await page.locator('.timeline > li').allTextContents();
    expect(versions).toHaveLength(2);
    expect(versions[0]).toMatch(/^Version 2 — .* key change: added /);
    expect(await page.textContent('.checks')).toMatch(
      /history chains every version to the current one: 2 version\(s\)/,
    );
    expect(await page.textContent('.checks')).toMatch(
      /extends the checkpoint this browser saw before: \d+ → \d+ entries|The same tree/,
    );
    await shot('07-history');
  });

  it('turns a tampered answer red, naming the failed check, and offers no evidence', async () => {
    proxy.tamper = (proof) => {
      const p = proof.lookup?.present ?? proof.present;
      p.signature = (p.signature[0] === 'A' ? 'B' : 'A') + p.signature.slice(1);
    };
    proxy.mode = 'tamper';
    try {
      expect(await check('chat.example', 'alice@example.org')).toMatch(
        /^✗ Verification FAILED: the answer does not verify \(bad_provider_signature\)/,
      );
    } finally {
      proxy.mode = 'pass';
    }
    expect(await page.textContent('.check.failed')).toMatch(/FAILED \(bad_provider_signature\)/);
    expect(await page.locator('.check.passed').count()).toBe(5);
    expect(await page.locator('.check.not_checked').count()).toBe(3);
    expect(await page.textContent('.no-evidence')).toMatch(/proves nothing about the operator/);
    expect(await page.locator('a.download').count()).toBe(0);
    await shot('08-tampered');
  });

  it('turns a signed fork red and offers an evidence file that kt verify-evidence proves', async () => {
    const twin = await demo.startTwin(); // the same keys, another log
    // A tree at least as large as the one the browser keeps: a fork, not a rollback (which proves nothing).
    const size = async (url: string) => (await (await fetch(`${url}/healthz`)).json()).treeSize as number;
    while ((await size(twin.server.url)) < (await size(demo.server.url))) await twin.publishMore();
    proxy.upstream = twin.server.url;
    try {
      expect(await check('chat.example', 'alice@example.org')).toMatch(
        /^✗ Verification FAILED: the log has shown two trees that cannot both be honest \(a fork\)/,
      );
      expect(await page.textContent('.check.failed')).toMatch(/inconsistent_checkpoint/);
      await shot('09-fork');
      const proven = await verifyDownloadedEvidence(page.locator('.evidence a.download'));
      expect(proven.code, proven.stdout).toBe(0);
      expect(proven.stdout).toMatch(/^PROVEN fork: /);
    } finally {
      proxy.upstream = demo.server.url;
    }
  }, 120_000);

  it('is readable at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await check('chat.example', 'alice@example.org');
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('10-phone');
    await page.setViewportSize({ width: 1100, height: 900 });
  });

  it('works opened as a local file, with pins pasted in', async () => {
    const local = await browser.newPage();
    try {
      await local.goto(`file://${join(pageDir, 'index.html')}#/trust`);
      await local.fill('textarea', readFileSync(pinsFile, 'utf8'));
      await local.click('text=Use these pins');
      await local.waitForSelector('.banner.ok');
      await local.goto(`file://${join(pageDir, 'index.html')}#/lookup/chat.example/alice%40example.org`);
      await local.waitForSelector('.result .outcome', { timeout: 30_000 });
      expect(await local.textContent('.result .outcome')).toMatch(
        /^✓ Verified: alice@example.org at chat.example is present/,
      );
      expect(await local.textContent('.banner.ok')).toContain(`directory ${demo.server.url}`);
    } finally {
      await local.close();
    }
  });
});

browserTest('the explorer page in headless Chromium, with a witness', () => {
  let demo: DemoServer;
  let witness: KtWitness;
  let browser: import('playwright-core').Browser;
  let page: import('playwright-core').Page;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kt-explorer-witnessed-'));
    const pageDir = join(tmp, 'page');
    execFileSync(process.execPath, [join(ROOT, 'explorer/build.mjs'), pageDir]);
    demo = await startDemoServer(async (data) => {
      const logKey = parseSignerKey(readFileSync(join(data, 'log.key'), 'utf8').trim()).verifierKey;
      witness = await startKtWitness(join(tmp, 'witness'), 'witness.example/w1', 'example.com/kt-demo-test', logKey);
      return { witnesses: [{ key: witness.key, url: witness.url }], witnessQuorum: 1, explorer: pageDir };
    });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${demo.server.url}/#/trust`);
    await page.click("text=Trust this server's /v1/config"); // the server's witness policy, taken with the keys
    await page.waitForSelector('.banner.ok');
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    witness?.child.kill();
    await demo?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("shows the witness's cosignature and its age among the checks, and in the directory view", async () => {
    await page.goto(`${demo.server.url}/?w=1#/lookup/chat.example/alice%40example.org`);
    await page.waitForSelector('.result .outcome', { timeout: 30_000 });
    const line = page.locator('.check[data-check="witnesses"]');
    expect(await line.getAttribute('class')).toContain('passed');
    expect(await line.textContent()).toMatch(
      /1 of 1 witnesses cosigned, 1 required[\s\S]*witness.example\/w1: cosigned at \d{4}-\d\d-\d\dT[\d:]+Z \(\d+ s ago\)/,
    );
    await page.screenshot({ path: join(SHOTS, '11-witnessed.png'), fullPage: true });
    await page.goto(`${demo.server.url}/?w=2#/directory`);
    await page.waitForSelector('.result .outcome', { timeout: 30_000 });
    expect(await page.textContent('.witnesses')).toMatch(/witness.example\/w1: last cosigned .* ago\), verified/);
  });

  it('turns the witness check red when the checkpoint lacks the quorum (the witness is down)', async () => {
    witness.child.kill();
    await demo.publishMore(); // new epochs, which no witness cosigns now
    await page.goto(`${demo.server.url}/?w=3#/lookup/chat.example/alice%40example.org`);
    await page.waitForSelector('.result .outcome', { timeout: 30_000 });
    expect(await page.textContent('.result .outcome')).toMatch(/does not meet your witness policy \(witness_quorum\)/);
    expect(await page.textContent('.check.failed')).toMatch(
      /cosigned under this browser's witness policy: FAILED \(witness_quorum\)/,
    );
    expect(await page.locator('a.download').count()).toBe(0);
  });
});
