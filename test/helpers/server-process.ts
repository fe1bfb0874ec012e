/**
 * Starts `api/node/main.ts` (what `npm start` runs) as a child process on 127.0.0.1 with a free port, waits for
 * its "listening on" line and returns its URL, output and a stop function that sends SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { nodeEntry } from './node-entry.js';

const ENTRY = nodeEntry('api/node/main.ts');

export interface ServerProcess {
  url: string;
  output: () => string;
  child: ChildProcess;
  stop: () => Promise<number | null>;
}

/** Runs the server entry with `args` to completion (for runs expected to fail fast). */
export function runServerEntry(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...ENTRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

export function startServerProcess(args: string[]): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...ENTRY, '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const onData = (d: Buffer) => {
      output += d;
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        resolve({
          url: m[1],
          output: () => output,
          child,
          stop: async () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => (output += d));
    exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
  });
}
