/** The Hono app through app.request(): tiles routes, config, health, errors. */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app/app.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { MemoryLogStorage } from '../../doubles/memory-log-storage.js';
import { decodeEntryBundle } from '../../../verifier/formats/tiles.js';
import { logSigner, ORIGIN, records } from '../../helpers/log.js';
import { jsonLogger } from '../../../api/app/logger.js';
import { vectorBytes } from '../../helpers/vectors.js';

async function appWith300(): Promise<{
  app: ReturnType<typeof createApp>;
  log: LogAppender;
  logKey: string;
  storage: MemoryLogStorage;
}> {
  const storage = new MemoryLogStorage();
  const signer = logSigner();
  const log = await LogAppender.open({ storage, signer, origin: ORIGIN });
  await log.append(records(0, 100));
  await log.append(records(100, 200));
  const app = createApp({
    reader: new LogReader(storage, () => log.head),
    config: { origin: ORIGIN, logKey: signer.verifierKey },
    logger: jsonLogger(() => {}),
  });
  return { app, log, logKey: signer.verifierKey, storage };
}

async function bytes(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

describe('C2SP tlog-tiles routes', () => {
  it('serves the checkpoint as short-lived text', async () => {
    const { app, log } = await appWith300();
    const res = await app.request('/log/checkpoint');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('cache-control')).toMatch(/max-age=1\b/);
    expect(await res.text()).toBe(log.head.checkpoint);
  });

  it('serves the tiles-300 tiles byte for byte with immutable caching', async () => {
    const { app } = await appWith300();
    for (const path of ['tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1']) {
      const res = await app.request(`/log/${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('cache-control')).toContain('immutable');
      expect(await bytes(res)).toEqual(vectorBytes(`tiles-300/${path}`));
    }
  });

  it('serves the partial tiles of earlier checkpoints as prefixes', async () => {
    const { app } = await appWith300();
    const full = vectorBytes('tiles-300/tile/0/000');
    const res = await app.request('/log/tile/0/000.p/100');
    expect(await bytes(res)).toEqual(full.subarray(0, 100 * 32));
  });

  it('serves entry bundles, gzip-compressed when the client accepts it', async () => {
    const { app } = await appWith300();
    const plain = await app.request('/log/tile/entries/001.p/44');
    expect(plain.status).toBe(200);
    expect(decodeEntryBundle(await bytes(plain))).toEqual(records(256, 44));
    const gz = await app.request('/log/tile/entries/000', { headers: { 'Accept-Encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(decodeEntryBundle(new Uint8Array(gunzipSync(await bytes(gz))))).toEqual(records(0, 256));
    const refused = await app.request('/log/tile/entries/000', {
      headers: { 'Accept-Encoding': 'gzip;q=0, identity' },
    });
    expect(refused.headers.get('content-encoding')).toBeNull();
    expect(decodeEntryBundle(await bytes(refused))).toEqual(records(0, 256));
    const part = await app.request('/log/tile/entries/000.p/3');
    expect(decodeEntryBundle(await bytes(part))).toEqual(records(0, 3));
  });

  it('answers 404 with a JSON error for tiles beyond the published tree', async () => {
    const { app } = await appWith300();
    for (const path of [
      'tile/0/001.p/45',
      'tile/0/001',
      'tile/0/002.p/1',
      'tile/1/000.p/2',
      'tile/1/000',
      'tile/2/000.p/1',
      'tile/entries/001.p/45',
      'tile/entries/001',
    ]) {
      const res = await app.request(`/log/${path}`);
      expect(res.status, path).toBe(404);
      expect((await res.json()).error.code).toBe('not_found');
    }
  });

  it('answers 400 with a JSON error for malformed tile paths', async () => {
    const { app } = await appWith300();
    for (const path of [
      'tile/0/%30%30%30',
      'tile/0/00%30',
      'tile/0/0000',
      'tile/00/000',
      'tile/0/000.p/0',
      'tile/0/000.p/256',
      'tile/0/000.p/044',
      'tile/64/000',
      'tile/0/x000',
      'tile/0/1',
      'tile/0/x001/000/000',
      'tile/x/000',
      'tile/0/000/',
      'tile/entries/000.p/',
    ]) {
      const res = await app.request(`/log/${path}`);
      expect(res.status, path).toBe(400);
      expect((await res.json()).error.code, path).toBe('bad_tile_path');
    }
  });
});

describe('other routes', () => {
  it('serves the config with the origin and the log key', async () => {
    const { app, logKey } = await appWith300();
    const res = await app.request('/v1/config');
    expect(await res.json()).toEqual({ origin: ORIGIN, logKey });
  });

  it('serves /healthz with the tree size', async () => {
    const { app } = await appWith300();
    expect(await (await app.request('/healthz')).json()).toEqual({ ok: true, treeSize: 300 });
  });

  it('reports /healthz degraded, with 200 and the reasons, when something degrades the service', async () => {
    const { log, logKey, storage } = await appWith300();
    const reader = new LogReader(storage, () => log.head);
    const degraded = createApp({ reader, config: { origin: ORIGIN, logKey }, health: () => ['epochs stall'] });
    const res = await degraded.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: false, degraded: ['epochs stall'], treeSize: 300 });
  });

  it('answers unknown routes and methods with a JSON 404', async () => {
    const { app } = await appWith300();
    for (const [method, path] of [
      ['GET', '/nope'],
      ['POST', '/log/checkpoint'],
      ['GET', '/log/tilex'],
      ['PUT', '/log/tile/0/000'],
    ]) {
      const res = await app.request(path, { method });
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe('not_found');
    }
  });

  it('answers internal errors with a generic JSON 500, never the details', async () => {
    const { app, storage } = await appWith300();
    storage.tiles.set('0/1', new Uint8Array(10)); // corrupt: shorter than the published tree
    const res = await app.request('/log/tile/0/001.p/44');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
  });
});
