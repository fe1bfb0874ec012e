/**
 * The gzip of immutable responses (api/app/compression.ts): a full entry bundle is compressed once and then
 * served from a cache bounded in bytes, least recently used first out; a partial bundle, which grows, is
 * compressed for each request and never cached; the headers say what was sent.
 */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app/app.js';
import { gzipBytes, GzipCache } from '../../../api/app/compression.js';
import { jsonLogger } from '../../../api/app/logger.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { MemoryLogStorage } from '../../doubles/memory-log-storage.js';
import { logSigner, ORIGIN, records } from '../../helpers/log.js';

/** A cache whose compressor counts its calls. */
function countingCache(maxBytes: number) {
  const calls: number[] = [];
  const cache = new GzipCache(maxBytes, async (data) => {
    calls.push(data.length);
    return gzipBytes(data);
  });
  return { cache, calls };
}

/** An app over a log of 300 entries (one full bundle, one partial), with `cache`. */
async function appWith300(cache: GzipCache) {
  const storage = new MemoryLogStorage();
  const log = await LogAppender.open({ storage, signer: logSigner(), origin: ORIGIN });
  await log.append(records(0, 300));
  const reader = new LogReader(storage, () => log.head);
  const app = createApp({
    reader,
    config: { origin: ORIGIN, logKey: '' },
    logger: jsonLogger(() => {}),
    gzipCache: cache,
  });
  return { app, reader };
}

const GZIP = { headers: { 'Accept-Encoding': 'gzip' } };

describe('the gzip cache of immutable responses', () => {
  it('compresses a full entry bundle once and serves the same bytes from the cache', async () => {
    const { cache, calls } = countingCache(1 << 20);
    const { app, reader } = await appWith300(cache);
    const raw = (await reader.entryBundle(0, 256))!;
    const first = await app.request('/log/tile/entries/000', GZIP);
    const second = await app.request('/log/tile/entries/000', GZIP);
    for (const res of [first, second]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('Content-Encoding')).toBe('gzip');
      expect(res.headers.get('Vary')).toBe('Accept-Encoding');
      expect(res.headers.get('Cache-Control')).toContain('immutable');
    }
    const a = new Uint8Array(await first.arrayBuffer());
    const b = new Uint8Array(await second.arrayBuffer());
    expect(b).toEqual(a);
    expect(new Uint8Array(gunzipSync(a))).toEqual(raw);
    expect(calls).toEqual([raw.length]); // compressed once
    expect({ hits: cache.hits, misses: cache.misses, bytes: cache.bytes }).toEqual({
      hits: 1,
      misses: 1,
      bytes: a.length,
    });
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toContain('kt_gzip_cache_hits_total 1\n');
    expect(metrics).toContain('kt_gzip_cache_misses_total 1\n');
    expect(metrics).toContain(`kt_gzip_cache_bytes ${a.length}\n`);
  });

  it('compresses a partial bundle for each request and never caches it; a client without gzip gets the raw bytes', async () => {
    const { cache, calls } = countingCache(1 << 20);
    const { app, reader } = await appWith300(cache);
    for (let i = 0; i < 2; i++) {
      const res = await app.request('/log/tile/entries/001.p/44', GZIP);
      expect(res.headers.get('Content-Encoding')).toBe('gzip');
      expect(new Uint8Array(gunzipSync(new Uint8Array(await res.arrayBuffer())))).toEqual(
        await reader.entryBundle(1, 44),
      );
    }
    expect(cache.bytes).toBe(0);
    expect(calls).toEqual([]); // the cache's compressor is for full bundles only
    const plain = await app.request('/log/tile/entries/000', { headers: { 'Accept-Encoding': 'gzip;q=0' } });
    expect(plain.headers.get('Content-Encoding')).toBeNull();
    expect(plain.headers.get('Vary')).toBe('Accept-Encoding');
    expect(new Uint8Array(await plain.arrayBuffer())).toEqual(await reader.entryBundle(0, 256));
    expect(cache.hits + cache.misses).toBe(0);
    // Hash tiles do not compress: sent as they are, never through the cache.
    const tile = await app.request('/log/tile/0/000', GZIP);
    expect(tile.status).toBe(200);
    expect(tile.headers.get('Content-Encoding')).toBeNull();
    expect(cache.hits + cache.misses).toBe(0);
  });

  it('stays within its bound, evicting the least recently used, and keeps nothing larger than the bound', async () => {
    const body = (seed: number) => new Uint8Array(4000).map((_, i) => (i * seed) % 251); // compresses to a few hundred bytes
    const sizes = await Promise.all([1, 2, 3].map(async (s) => (await gzipBytes(body(s))).length));
    const { cache, calls } = countingCache(sizes[0] + sizes[1] + Math.min(...sizes) - 1);
    await cache.gzip('a', body(1));
    await cache.gzip('b', body(2));
    await cache.gzip('a', body(1)); // a is now the most recently used
    await cache.gzip('c', body(3)); // evicts b, the least recently used
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
    expect(cache.bytes).toBe(sizes[0] + sizes[2]);
    expect(calls).toHaveLength(3);
    await cache.gzip('a', body(1));
    expect(calls).toHaveLength(3); // a stayed
    await cache.gzip('b', body(2));
    expect(calls).toHaveLength(4); // b was evicted
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);

    const tiny = countingCache(10);
    const gz = await tiny.cache.gzip('big', body(1));
    expect(new Uint8Array(gunzipSync(gz))).toEqual(body(1));
    expect(tiny.cache.bytes).toBe(0);
    await tiny.cache.gzip('big', body(1));
    expect(tiny.calls).toHaveLength(2); // larger than the bound: compressed, not kept
  });
});
