/**
 * The compiled server the cold start bench measures (bench/compiled-server.ts): it compiles, and started
 * from its compiled files the Node server runs its threads from their compiled entries (api/node/threads.ts:
 * the `.js` beside the module, no tsx) and answers.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileServer } from '../../bench/compiled-server.js';

describe('the compiled server', () => {
  it('starts its VRF threads and WAL checkpointer from compiled files, and answers', { timeout: 120_000 }, async () => {
    const compiled = compileServer();
    try {
      const url = pathToFileURL(join(compiled.root, 'api/node/server.js')).href;
      const { startServer } = (await import(url)) as typeof import('../../api/node/server.js');
      const { jsonLogger } = (await import(
        pathToFileURL(join(compiled.root, 'api/app/logger.js')).href
      )) as typeof import('../../api/app/logger.js');
      const lines: string[] = [];
      const dataDir = join(mkdtempSync(join(tmpdir(), 'kt-compiled-server-')), 'data');
      const server = await startServer({
        dataDir,
        host: '127.0.0.1',
        port: 0,
        logger: jsonLogger((l) => lines.push(l)),
      });
      await server.walCheckpointer.ready;
      expect(server.walCheckpointer.running).toBe(true);
      expect(server.vrfPool).not.toBeNull();
      const res = await fetch(`${server.url}/v1/lookup/chat.example/nobody%40chat.example`);
      expect(res.status).toBe(200); // an absence proof, its VRF proof computed by a thread of the pool
      expect(server.vrfPool!.queued).toEqual({ reads: 0, writes: 0 });
      await server.close();
      expect(lines.filter((l) => l.includes('_stopped'))).toEqual([]);
    } finally {
      compiled.remove();
    }
  });
});
