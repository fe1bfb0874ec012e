/**
 * `kt serve` on a port already in use exits 2 with the listener's error: it printed `error [internal]: listen
 * EADDRINUSE` and never exited, its threads and timers keeping the process alive (startServer now stops what it
 * started when listening fails, and kt ends the process).
 */
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { kt, spawnKt } from '../helpers/kt-process.js';

let dir: string;
let busy: Server;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kt-serve-port-'));
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  port = (busy.address() as { port: number }).port;
  const init = await kt(['init', '--data', 'data'], dir);
  expect(init.code, init.stderr).toBe(0);
});

afterAll(async () => {
  await new Promise<void>((resolve) => busy.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

it('exits 2 when its port is in use', async () => {
  const child = spawnKt(['serve', '--data', 'data', '--port', String(port)], dir);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null | 'still running'>((resolve) => {
    const timer = setTimeout(() => resolve('still running'), 20_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  if (code === 'still running') child.kill('SIGKILL');
  expect([code, stderr]).toEqual([2, expect.stringContaining('EADDRINUSE')]);
}, 40_000);
