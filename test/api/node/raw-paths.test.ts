/**
 * The Node server (`npm start`, as a child process) reads the log's paths as the client sent them: raw requests
 * over a socket (fetch and every URL parser resolve dot segments before sending) with non-canonical tile and bundle
 * paths are refused, not resolved into a tile and served with immutable caching (issue 12, docs/PROTOCOL.md 6).
 */
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDataDir } from '../../../api/node/data-dir.js';
import { LogAppender } from '../../../log/merkle/appender.js';
import { SqliteLogStorage } from '../../../log/merkle/sqlite-storage.js';
import { records } from '../../helpers/log.js';
import { startServerProcess } from '../../helpers/server-process.js';

/** Sends `GET <target>` as is and returns the status, the headers (lower-case names) and the body. */
function rawGet(
  url: string,
  target: string,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () =>
      socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`),
    );
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

describe('raw request paths on the Node server', () => {
  it('refuses dot segments, percent-encoded dots and empty segments in tile and bundle paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-raw-paths-'));
    const data = openDataDir(dir, 'example.com/raw-paths');
    const storage = new SqliteLogStorage(data.dbPath);
    const log = await LogAppender.open({ storage, signer: data.signer, origin: data.origin });
    await log.append(records(0, 300));
    await log.close();
    await storage.close();
    const server = await startServerProcess(['--log-only', '--data', dir]);
    try {
      // The example: resolved, it is tile/0/000.p/13, which the log serves.
      const canonical = await rawGet(server.url, '/log/tile/0/000.p/13');
      expect(canonical.status).toBe(200);
      expect(canonical.headers['cache-control']).toContain('immutable');
      for (const [target, status, code] of [
        ['/log/tile/0/x001/%2e%2e/000.p/13', 400, 'bad_tile_path'],
        ['/log/tile/0/x001/%2E%2e/000.p/13', 400, 'bad_tile_path'],
        ['/log/tile/0/x001/..%2f000.p/13', 400, 'bad_tile_path'],
        ['/log/tile/0/x001/../000.p/13', 400, 'bad_tile_path'],
        ['/log/tile/0/./000.p/13', 400, 'bad_tile_path'],
        ['/log/tile/0/%2e/000', 400, 'bad_tile_path'],
        ['/log/tile//0/000', 400, 'bad_tile_path'],
        ['/log/tile/0/%30%30%30', 400, 'bad_tile_path'],
        ['/log/tile/entries/x001/%2e%2e/000', 400, 'bad_tile_path'],
        ['/log/tile/entries/./000', 400, 'bad_tile_path'],
        ['/log/x/../tile/0/000', 404, 'not_found'],
        ['/log/%74ile/0/000', 404, 'not_found'],
        ['/log/tile/%2e%2e/checkpoint', 404, 'not_found'],
        ['/log/%63heckpoint', 404, 'not_found'],
      ] as const) {
        const res = await rawGet(server.url, target);
        expect([res.status, JSON.parse(res.body).error.code], target).toEqual([status, code]);
        expect(res.headers['cache-control'], target).toBeUndefined();
      }
      for (const target of ['/log/checkpoint', '/log/tile/0/001.p/44', '/log/tile/entries/000', '/log/tile/0/000?x=..'])
        expect((await rawGet(server.url, target)).status, target).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
