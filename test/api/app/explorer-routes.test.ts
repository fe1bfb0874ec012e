/**
 * The explorer page as the app serves it (api/app/explorer-routes.ts): `/`, `/explorer.js` and
 * `/explorer.css` with their types, the strict Content-Security-Policy and the other security headers, an
 * ETag answered 304; a 404 that names the build when the files are missing; no page without a directory;
 * and `/v1/config` listing where each enrolment and revocation is in the log, which the page checks.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app/app.js';
import { EXPLORER_CSP, type ExplorerAssets } from '../../../api/app/explorer-routes.js';
import { jsonLogger } from '../../../api/app/logger.js';
import { serverApp } from '../../../api/wiring/open-server.js';
import { DEFAULT_SETTINGS } from '../../../api/wiring/settings.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { MemoryLogStorage } from '../../doubles/memory-log-storage.js';
import { directoryApp, logSignerForTests } from '../../helpers/directory.js';
import { logSigner, ORIGIN } from '../../helpers/log.js';

const FILES: Record<string, string> = {
  'index.html': '<!doctype html><title>x</title>',
  'explorer.js': 'void 0',
  'explorer.css': 'body{}',
};
const assets = (files: Record<string, string>): ExplorerAssets => ({
  read: async (name) => (name in files ? new TextEncoder().encode(files[name]) : undefined),
});

async function appWith(files: Record<string, string>) {
  const { t } = await directoryApp();
  return serverApp({
    reader: new LogReader(new MemoryLogStorage(), () => t.log.head),
    signer: logSignerForTests,
    directory: t.dir,
    settings: DEFAULT_SETTINGS,
    logger: jsonLogger(() => {}),
    explorer: assets(files),
  }).app;
}

describe('the explorer page', () => {
  it('is served at / with its script and style sheet, each under the strict policy', async () => {
    const app = await appWith(FILES);
    const types = { '/': 'text/html', '/explorer.js': 'text/javascript', '/explorer.css': 'text/css' };
    for (const [path, type] of Object.entries(types)) {
      const res = await app.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe(`${type}; charset=utf-8`);
      expect(res.headers.get('content-security-policy')).toBe(EXPLORER_CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
    expect(await (await app.request('/')).text()).toBe(FILES['index.html']);
    expect(EXPLORER_CSP).not.toMatch(/unsafe|\*/);
  });

  it('answers 304 to its ETag and HEAD without a body', async () => {
    const app = await appWith(FILES);
    const etag = (await app.request('/explorer.js')).headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const again = await app.request('/explorer.js', { headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('content-security-policy')).toBe(EXPLORER_CSP);
    expect((await app.request('/explorer.js', { headers: { 'If-None-Match': '"other"' } })).status).toBe(200);
    const head = await app.request('/', { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
  });

  it('is a JSON 404 that names the build when its files are missing', async () => {
    const app = await appWith({});
    const res = await app.request('/');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: expect.stringMatching(/npm run build/) } });
  });

  it('is not served by a log without a directory', async () => {
    const storage = new MemoryLogStorage();
    const log = await LogAppender.open({ storage, signer: logSigner(), origin: ORIGIN });
    const app = createApp({
      reader: new LogReader(storage, () => log.head),
      config: { origin: ORIGIN, logKey: '' },
      logger: jsonLogger(() => {}),
      explorer: assets(FILES),
    });
    expect((await app.request('/')).status).toBe(404);
  });

  it('relies on /v1/config naming each enrolment’s log index and its revocation’s', async () => {
    const { app } = await directoryApp();
    const config = (await (await app.request('/v1/config')).json()) as { providers: unknown[] };
    expect(config.providers).toEqual([
      expect.objectContaining({ providerId: 'chat.example', logIndex: 1, revokedIndex: null, revoked: false }),
    ]);
  });
});
