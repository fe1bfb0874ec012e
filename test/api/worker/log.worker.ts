/**
 * The log through the Worker, inside workerd: an empty log filled with the tiles-300 records through the
 * test Worker's append route (test/api/worker/log-only-worker.ts), then read back over the Worker's fetch (forwarded to the LogSequencer Durable
 * Object) and compared with the vectors and with what the Node appender produces for the same key.
 */
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { LogAppender } from '../../../log/merkle/appender.js';
import { openCheckpoint } from '../../../verifier/formats/checkpoint.js';
import { MemoryLogStorage } from '../../doubles/memory-log-storage.js';
import { decodeEntryBundle } from '../../../verifier/formats/tiles.js';
import { fromBase64, toBase64, utf8 } from '../../../wasm-free-crypto/bytes.js';
import { parseSignerKey, parseVerifierKey } from '../../../wasm-free-crypto/note.js';

const TILES_300_ROOT = 'gw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=';

function records(first: number, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => utf8(`record ${first + i}`));
}

function get(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`https://kt.example${path}`, init));
}

async function append(entries: Uint8Array[]): Promise<Response> {
  return get('/__test/append', {
    method: 'POST',
    body: JSON.stringify(entries.map(toBase64)),
    headers: { 'Content-Type': 'application/json' },
  });
}

async function bytes(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

function vector(path: string): Uint8Array {
  return fromBase64(env.TILES_300[path]);
}

describe('the Worker log', () => {
  it('serves the tiles-300 vectors and the same checkpoint as the Node appender', async () => {
    const signer = parseSignerKey(env.LOG_SIGNER_KEY!);
    const verifier = parseVerifierKey(signer.verifierKey);

    // A new log: the signed empty tree.
    let res = await get('/log/checkpoint');
    expect(res.status).toBe(200);
    const empty = openCheckpoint(await res.text(), env.LOG_ORIGIN!, verifier).checkpoint;
    expect(empty.size).toBe(0);

    // Filled in batches that cross the first tile boundary.
    for (const [first, count] of [
      [0, 1],
      [1, 200],
      [201, 99],
    ]) {
      res = await append(records(first, count));
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ firstIndex: first, count, size: first + count });
    }

    res = await get('/log/checkpoint');
    expect(res.status).toBe(200);
    const checkpoint = await res.text();
    const opened = openCheckpoint(checkpoint, env.LOG_ORIGIN!, verifier).checkpoint;
    expect(opened.size).toBe(300);
    expect(toBase64(opened.rootHash)).toBe(TILES_300_ROOT);

    // Byte-identical to the Node appender's checkpoint for the same entries and key (Ed25519 is deterministic).
    const node = await LogAppender.open({ storage: new MemoryLogStorage(), signer, origin: env.LOG_ORIGIN! });
    await node.append(records(0, 300));
    expect(checkpoint).toBe(node.head.checkpoint);

    for (const path of ['tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1']) {
      res = await get(`/log/${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('Cache-Control'), path).toContain('immutable');
      expect(await bytes(res), path).toEqual(vector(path));
    }

    res = await get('/log/tile/entries/001.p/44');
    expect(res.status).toBe(200);
    expect(decodeEntryBundle(await bytes(res))).toEqual(records(256, 44));

    // Compressed once, not gzip inside gzip (workerd must not re-encode the app's gzip body). Like any HTTP
    // client, the runtime undoes the Content-Encoding when the body is read.
    res = await get('/log/tile/entries/001.p/44', { headers: { 'Accept-Encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Encoding')).toBe('gzip');
    expect(decodeEntryBundle(await bytes(res))).toEqual(records(256, 44));

    res = await get('/v1/config');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ origin: env.LOG_ORIGIN, logKey: signer.verifierKey });
  });
});
