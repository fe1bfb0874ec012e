/**
 * The log published to R2 (api/worker/r2-tiles.ts), inside workerd with miniflare's R2: the Worker serves the
 * checkpoint and tiles from the bucket with the object's bytes and headers; publication catches up from
 * whatever the bucket holds; a publication cut short after any write leaves a bucket whose checkpoint has
 * every tile and bundle it needs (recomputed here from the bucket alone), and the next one completes it; a long
 * catch-up goes in steps bounded by a write budget, each going on from the last (begun again from the bucket's
 * checkpoint if that moved);
 * a bucket holding another log, or more entries than the log, is refused without a write; a tile path that is not
 * canonical as it reaches the Worker is refused, not served; a full entry bundle is gzipped once per isolate.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { LogAppender } from '../../../log/merkle/appender.js';
import { openCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { LogReader } from '../../../log/merkle/reader.js';
import { MemoryLogStorage } from '../../doubles/memory-log-storage.js';
import {
  decodeEntryBundle,
  encodeEntryBundle,
  entryBundlePath,
  tileHashReader,
  tilePath,
  tilesForSize,
  TILE_WIDTH,
  type Tile,
} from '../../../verifier/formats/tiles.js';
import { recordHash, rootFromLeafHashes, treeHash } from '../../../verifier/formats/tlog.js';
import { equalBytes, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from '../../../wasm-free-crypto/note.js';
import { BucketMismatchError, publishToBucket, type TileBucket } from '../../../log/merkle/tile-publication.js';
import { serveFromBucket } from '../../../api/worker/r2-tiles.js';
import { BucketBackedLogStorage } from '../../../api/worker/bucket-backed-log.js';
import { DoLogStorage } from '../../../api/worker/do-log-storage.js';
import { createApp } from '../../../api/app/app.js';
import { jsonLogger } from '../../../api/app/logger.js';
import { GzipCache } from '../../../api/app/compression.js';

const records = (first: number, count: number) => Array.from({ length: count }, (_, i) => utf8(`entry ${first + i}`));
const utf8Records = (tag: string, count: number) => Array.from({ length: count }, (_, i) => utf8(`${tag} ${i}`));
const bucket = () => env.TILES!;
let prefixes = 0;
const freshPrefix = () => `test-${Date.now()}-${prefixes++}/`;

/** The log's sequencer object (a fresh stub each time: stubs break when their object is aborted). */
const sequencer = () => env.LOG.get(env.LOG.idFromName('log'));
const get = (path: string, init?: RequestInit) => exports.default.fetch(new Request(`https://kt.example${path}`, init));

async function openLog(name = env.LOG_ORIGIN!) {
  const signer =
    name === env.LOG_ORIGIN ? parseSignerKey(env.LOG_SIGNER_KEY!) : parseSignerKey(generateSignerKey(name).signerKey);
  const storage = new MemoryLogStorage();
  const appender = await LogAppender.open({ storage, signer, origin: name });
  const reader = new LogReader(storage, () => appender.head);
  return { appender, storage, reader, log: { origin: name, verifier: parseVerifierKey(signer.verifierKey) } };
}

async function read(b: TileBucket, key: string): Promise<Uint8Array | null> {
  const o = await b.get(key);
  return o && new Uint8Array(await o.arrayBuffer());
}

/** Checks, from the bucket alone, that its checkpoint's tree is complete: every entry and tile is there. */
async function checkBucketComplete(
  b: TileBucket,
  prefix: string,
  log: { origin: string; verifier: ReturnType<typeof parseVerifierKey> },
): Promise<number> {
  const o = await b.get(`${prefix}checkpoint`);
  if (!o) return 0;
  const { size, rootHash } = openCheckpoint(await o.text(), log.origin, log.verifier).checkpoint;
  const entries: Uint8Array[] = [];
  for (let n = 0; n * TILE_WIDTH < size; n++) {
    const bundle = await read(b, prefix + entryBundlePath(n, Math.min(TILE_WIDTH, size - n * TILE_WIDTH)));
    expect(bundle, `bundle ${n} of ${size}`).not.toBeNull();
    entries.push(...decodeEntryBundle(bundle!));
  }
  expect(equalBytes(rootFromLeafHashes(entries.map(recordHash)), rootHash)).toBe(true);
  const tiles = new Map<string, Uint8Array>();
  for (const t of tilesForSize(size)) {
    const data = await read(b, prefix + tilePath(t));
    expect(data, tilePath(t)).not.toBeNull();
    tiles.set(tilePath(t), data!);
  }
  expect(
    equalBytes(
      treeHash(
        size,
        tileHashReader(size, (t: Tile) => tiles.get(tilePath(t))!),
      ),
      rootHash,
    ),
  ).toBe(true);
  return size;
}

/** A bucket that fails on its `failAt`-th put (counting from 1), as a crash after that many writes would. */
function failingBucket(inner: TileBucket, failAt: number): TileBucket & { puts: number } {
  const b = {
    puts: 0,
    get: (key: string) => inner.get(key),
    async put(key: string, value: ArrayBuffer | string) {
      if (++b.puts === failAt) throw new Error('injected: the bucket write failed');
      return inner.put(key, value);
    },
  };
  return b;
}

describe('the log published to R2', () => {
  it('catches up from what the bucket holds, in batches, and the bucket recomputes to each checkpoint', async () => {
    const { appender, reader, log } = await openLog();
    const prefix = freshPrefix();
    expect(await publishToBucket(bucket(), prefix, reader, log)).toEqual({ from: 0, to: 0 });
    let total = 0;
    for (const count of [1, 300, 255, 1, 600]) {
      await appender.append(records(total, count));
      const before = total;
      total += count;
      expect(await publishToBucket(bucket(), prefix, reader, log)).toEqual({ from: before, to: total });
      expect(await checkBucketComplete(bucket(), prefix, log)).toBe(total);
    }
    expect(await publishToBucket(bucket(), prefix, reader, log)).toEqual({ from: total, to: total });
    expect(await (await bucket().get(`${prefix}checkpoint`))!.text()).toBe(appender.head.checkpoint);
  });

  it('leaves a complete tree after a publication cut short at every write, and the next one completes it', async () => {
    const { appender, storage, reader, log } = await openLog();
    await appender.append(records(0, 260));
    const head260 = appender.head;
    const reader260 = new LogReader(storage, () => head260);
    await appender.append(records(260, 300));
    const base = freshPrefix();
    for (let failAt = 1; ; failAt++) {
      const prefix = `${base}cut${failAt}/`;
      await publishToBucket(bucket(), prefix, reader260, log);
      const faulty = failingBucket(bucket(), failAt);
      const cut = await publishToBucket(faulty, prefix, reader, log).then(
        () => false,
        () => true,
      );
      if (!cut) {
        // Every write succeeded: all cut points were tried (2 + 1 tiles, 2 bundles, the checkpoint).
        expect(failAt).toBe(7);
        break;
      }
      const size = await checkBucketComplete(bucket(), prefix, log);
      expect(size === 260 || size === 560, `cut at write ${failAt}`).toBe(true);
      await publishToBucket(bucket(), prefix, reader, log);
      expect(await checkBucketComplete(bucket(), prefix, log), `retry after cut at ${failAt}`).toBe(560);
    }
  });

  it('goes in steps bounded by its write budget, each going on from the last while the log grows', async () => {
    const { appender, reader, log } = await openLog();
    await appender.append(records(0, 2000));
    const prefix = freshPrefix();
    const counted = failingBucket(bucket(), 0); // counts the puts, fails none
    // maxWrites 4: steps of 2 entry bundles (512 entries): 2 + 1 tiles and 2 bundles, so one step a call.
    let result = await publishToBucket(counted, prefix, reader, log, { maxWrites: 4 });
    expect(result).toEqual({ from: 0, to: 0, next: { from: 0, upTo: 512 } });
    expect(counted.puts).toBe(5);
    expect(await bucket().get(`${prefix}checkpoint`), 'no checkpoint before its tiles').toBeNull();
    let calls = 1;
    let total = 2000;
    while (result.next) {
      if (calls === 2) await appender.append(records(total, 700)); // a new epoch between two steps
      if (calls === 2) total += 700;
      const before = counted.puts;
      result = await publishToBucket(counted, prefix, reader, log, { maxWrites: 4, resume: result.next });
      expect(counted.puts - before, `writes of call ${calls + 1}`).toBeLessThanOrEqual(6);
      calls++;
    }
    expect(result).toEqual({ from: 0, to: total });
    expect(calls).toBe(Math.ceil(2700 / 512));
    expect(await checkBucketComplete(bucket(), prefix, log)).toBe(2700);
  });

  it('begins again from the checkpoint when the bucket moved since the step it would go on from', async () => {
    const { appender, reader, log } = await openLog();
    await appender.append(records(0, 1100));
    const prefix = freshPrefix();
    const stale = (await publishToBucket(bucket(), prefix, reader, log, { maxWrites: 2 })).next!;
    expect(stale).toEqual({ from: 0, upTo: 256 });
    expect(await publishToBucket(bucket(), prefix, reader, log)).toEqual({ from: 0, to: 1100 });
    await appender.append(records(1100, 300));
    // The bucket's checkpoint is at 1100 now, not 0: the progress is not taken (nor one past the head).
    expect(await publishToBucket(bucket(), prefix, reader, log, { resume: stale })).toEqual({ from: 1100, to: 1400 });
    expect(await checkBucketComplete(bucket(), prefix, log)).toBe(1400);
    await appender.append(records(1400, 10));
    const beyond = { from: 1400, upTo: 5000 };
    expect(await publishToBucket(bucket(), prefix, reader, log, { resume: beyond })).toEqual({ from: 1400, to: 1410 });
    expect(await checkBucketComplete(bucket(), prefix, log)).toBe(1410);
  });

  it('refuses a bucket holding another log, or a larger tree, without writing', async () => {
    const mine = await openLog();
    const other = await openLog('example.net/another-log');
    await other.appender.append(records(0, 5));
    const prefix = freshPrefix();
    await publishToBucket(bucket(), prefix, other.reader, other.log);
    const writes = failingBucket(bucket(), 1);
    await mine.appender.append(records(0, 10));
    await expect(publishToBucket(writes, prefix, mine.reader, mine.log)).rejects.toBeInstanceOf(BucketMismatchError);
    expect(writes.puts).toBe(0);

    const ahead = freshPrefix();
    await publishToBucket(bucket(), ahead, mine.reader, mine.log);
    const behind = await openLog();
    await behind.appender.append(records(0, 3));
    const w2 = failingBucket(bucket(), 1);
    await expect(publishToBucket(w2, ahead, behind.reader, behind.log)).rejects.toThrow(/more than this log's 3/);
    expect(w2.puts).toBe(0);

    // Signed with the same key and origin, but another tree (a log reset under the same key): refused.
    const twin = await openLog();
    await twin.appender.append(utf8Records('other', 20));
    const w3 = failingBucket(bucket(), 1);
    await expect(publishToBucket(w3, ahead, twin.reader, twin.log)).rejects.toThrow(/root differs/);
    expect(w3.puts).toBe(0);
  });

  it('serves from the bucket what the app serves, and leaves the rest to the Durable Object', async () => {
    const { appender, reader, log } = await openLog();
    await appender.append(records(0, 300));
    const prefix = freshPrefix();
    await publishToBucket(bucket(), prefix, reader, log);
    const request = (path: string, init?: RequestInit) => new Request(`https://kt.example${path}`, init);
    const cp = (await serveFromBucket(bucket(), prefix, request('/log/checkpoint')))!;
    expect([cp.status, cp.headers.get('Content-Type'), await cp.text()]).toEqual([
      200,
      'text/plain; charset=utf-8',
      appender.head.checkpoint,
    ]);
    for (const path of ['tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1', 'tile/entries/001.p/44']) {
      const res = (await serveFromBucket(bucket(), prefix, request(`/log/${path}`)))!;
      expect(res.headers.get('Cache-Control'), path).toContain('immutable');
      expect(new Uint8Array(await res.arrayBuffer()), path).toEqual(await read(bucket(), prefix + path));
    }
    const gz = (await serveFromBucket(
      bucket(),
      prefix,
      request('/log/tile/entries/001.p/44', { headers: { 'Accept-Encoding': 'gzip' } }),
    ))!;
    expect(gz.headers.get('Content-Encoding')).toBe('gzip');
    expect(
      decodeEntryBundle(
        new Uint8Array(await new Response(gz.body!.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer()),
      ),
    ).toEqual(records(256, 44));
    // Not in the bucket (a width never published, a bad path, another route, another method): null.
    for (const [path, init] of [
      ['/log/tile/0/001.p/10'],
      ['/log/tile/0/1'],
      ['/log/tile/0/000%2F'],
      ['/v1/config'],
      ['/log/checkpoint', { method: 'POST' }],
    ] as [string, RequestInit?][]) {
      expect(await serveFromBucket(bucket(), prefix, request(path, init)), path).toBeNull();
    }
  });

  it("gzips a full entry bundle from the bucket once per isolate, and again when the object's etag changes", async () => {
    const { appender, reader, log } = await openLog();
    await appender.append(records(0, 300));
    const prefix = freshPrefix();
    await publishToBucket(bucket(), prefix, reader, log);
    const cache = new GzipCache(1 << 20);
    const gzipped = async (path: string) => {
      const init = { headers: { 'Accept-Encoding': 'gzip' } };
      const res = (await serveFromBucket(bucket(), prefix, new Request(`https://kt.example${path}`, init), cache))!;
      expect([res.headers.get('Content-Encoding'), res.headers.get('Vary')]).toEqual(['gzip', 'Accept-Encoding']);
      return new Uint8Array(await res.arrayBuffer());
    };
    const first = await gzipped('/log/tile/entries/000');
    expect(await gzipped('/log/tile/entries/000')).toEqual(first);
    expect([cache.hits, cache.misses]).toEqual([1, 1]);
    const unzip = async (b: Uint8Array) => {
      const stream = new Blob([b as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
      return decodeEntryBundle(new Uint8Array(await new Response(stream).arrayBuffer()));
    };
    expect(await unzip(first)).toEqual(records(0, 256));
    await gzipped('/log/tile/entries/001.p/44'); // partial: never cached
    expect([cache.hits, cache.misses, cache.bytes]).toEqual([1, 1, first.length]);
    // The same key rewritten (another log under the prefix): a new etag, so not the cached gzip.
    const other = encodeEntryBundle(utf8Records('other', 256));
    await bucket().put(`${prefix}tile/entries/000`, other.slice().buffer as ArrayBuffer);
    expect(await unzip(await gzipped('/log/tile/entries/000'))).toEqual(utf8Records('other', 256));
    expect(cache.misses).toBe(2);
  });

  it('refuses non-canonical tile paths as they reach it: never resolved into a tile and served', async () => {
    const { appender, reader, log } = await openLog();
    await appender.append(records(0, 300));
    const prefix = freshPrefix();
    await publishToBucket(bucket(), prefix, reader, log);
    // A URL as a platform may hand it over, read as text (a Request built here has its dot segments resolved).
    const asSent = (path: string) =>
      ({ method: 'GET', url: `https://kt.example${path}`, headers: new Headers() }) as unknown as Request;
    expect(new Request('https://kt.example/log/tile/0/x001/%2e%2e/000.p/13').url).toBe(
      'https://kt.example/log/tile/0/000.p/13',
    );
    expect(await serveFromBucket(bucket(), prefix, asSent('/log/tile/0/000'))).not.toBeNull();
    const nonCanonical = [
      '/log/tile/0/x001/%2e%2e/000',
      '/log/tile/0/x001/../000',
      '/log/tile/0/./000',
      '/log/tile//0/000',
      '/log/tile/0/%30%30%30',
      '/log/tile/entries/x001/%2e%2e/000',
      '/log/x/../tile/0/000',
      '/log/%74ile/0/000',
      '/log/tile/../checkpoint',
    ];
    // Left to the app, which refuses them.
    for (const path of nonCanonical) expect(await serveFromBucket(bucket(), prefix, asSent(path)), path).toBeNull();
    const app = createApp({ reader, config: { origin: log.origin, logKey: '' }, logger: jsonLogger(() => {}) });
    for (const path of nonCanonical) {
      const res = await app.fetch(asSent(path));
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.headers.get('Cache-Control'), path).toBeNull();
    }
    // Through the Worker entry, what survives the Request's URL parsing is refused by the object's app.
    for (const [path, status] of [
      ['/log/tile/0/%30%30%30', 400],
      ['/log/tile//0/000', 400],
      ['/log/tile/0/x001/.%2e%2f000', 400],
      ['/log/%74ile/0/000', 404],
      ['/log/%63heckpoint', 404],
    ] as const) {
      const res = await get(path);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('Cache-Control'), path).toBeNull();
    }
  });

  it('is what the Worker serves once the sequencer published it, byte for byte as the object serves it', async () => {
    await get('/__test/append', {
      method: 'POST',
      body: JSON.stringify(records(0, 3).map((r) => btoa(String.fromCharCode(...r)))),
      headers: { 'Content-Type': 'application/json' },
    });
    const fromWorker = await (await get('/log/checkpoint')).text();
    const inBucket = await (await bucket().get(`${env.TILES_PREFIX ?? ''}checkpoint`))!.text();
    expect(fromWorker).toBe(inBucket);
    const size = openCheckpoint(
      inBucket,
      env.LOG_ORIGIN!,
      parseVerifierKey(parseSignerKey(env.LOG_SIGNER_KEY!).verifierKey),
    ).checkpoint.size;
    expect(size).toBeGreaterThanOrEqual(3);
    const path = `tile/0/${String(Math.floor(size / TILE_WIDTH)).padStart(3, '0')}.p/${size % TILE_WIDTH}`;
    expect(new Uint8Array(await (await get(`/log/${path}`)).arrayBuffer())).toEqual(
      await read(bucket(), (env.TILES_PREFIX ?? '') + path),
    );
    // A key only the bucket has (the object answers 404 past its head) shows the Worker read the bucket.
    const sentinel = `${env.TILES_PREFIX ?? ''}tile/0/x999/999`;
    await bucket().put(sentinel, new Uint8Array(32 * 256).fill(7));
    try {
      const res = await get('/log/tile/0/x999/999');
      expect(res.status).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array(32 * 256).fill(7));
    } finally {
      await bucket().delete(sentinel);
    }
    expect((await get('/log/tile/0/x999/999')).status).toBe(404);
  });

  it('keeps only the right edge in the object once published, and serves the rest from the bucket', async () => {
    const appended = await get('/__test/append', {
      method: 'POST',
      body: JSON.stringify(records(1000, 3 * TILE_WIDTH).map((r) => btoa(String.fromCharCode(...r)))),
      headers: { 'Content-Type': 'application/json' },
    });
    const { size } = (await appended.json()) as { size: number };
    const prefix = env.TILES_PREFIX ?? '';
    const held = await runInDurableObject(sequencer(), async (_o, state) => ({
      tiles: state.storage.sql.exec<{ level: number; idx: number }>('SELECT level, idx FROM log_tiles').toArray(),
      bundles: state.storage.sql.exec<{ idx: number }>('SELECT idx FROM log_bundles').toArray(),
    }));
    // The rightmost tile of each level and the rightmost bundle: nothing the bucket's checkpoint covers in full.
    const full = Math.floor(size / TILE_WIDTH);
    expect(held.bundles).toEqual(size % TILE_WIDTH === 0 ? [] : [{ idx: full }]);
    expect(held.tiles).toEqual(
      [
        { level: 0, idx: full },
        { level: 1, idx: 0 },
      ].filter((t) => t.level > 0 || size % TILE_WIDTH !== 0),
    );
    // The object's own answers for what only the bucket holds: full tiles and bundles, and a partial width of one.
    const own = async (path: string) =>
      new Uint8Array(await (await sequencer().fetch(new Request(`https://kt.example/log/${path}`))).arrayBuffer());
    for (const path of ['tile/0/001', 'tile/entries/001', 'tile/0/000'])
      expect(await own(path), path).toEqual(await read(bucket(), prefix + path));
    const first = (await read(bucket(), `${prefix}tile/0/001`))!;
    expect(await own('tile/0/001.p/77')).toEqual(first.subarray(0, 77 * 32));
    expect(await bucket().get(`${prefix}tile/0/001.p/77`), 'not in the bucket as such').toBeNull();
    // A chunk at a time, lowest first: copies of two published full tiles, deleted one per call.
    const trims = await runInDurableObject(sequencer(), async (_o, state) => {
      const sql = state.storage.sql;
      for (const idx of [0, 1])
        sql.exec('INSERT INTO log_tiles (level, idx, data) VALUES (0, ?, ?)', idx, first.buffer);
      const tiles = new BucketBackedLogStorage(new DoLogStorage(state.storage), state.storage, bucket(), prefix);
      const left = () => sql.exec<{ idx: number }>('SELECT idx FROM log_tiles WHERE level = 0 AND idx < 2').toArray();
      return [tiles.trimPublished(size, 1), left(), tiles.trimPublished(size, 1), left(), tiles.trimPublished(size, 1)];
    });
    expect(trims).toEqual([1, [{ idx: 1 }], 1, [], 0]);
  });
});
