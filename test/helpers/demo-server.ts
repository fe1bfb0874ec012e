/**
 * A live directory for tests that act as its users: a data directory made by `kt init`, extra settings
 * merged into its config.json, the Node server started on a free port (test/helpers/server-process.ts)
 * and the demo run against it (two providers, a few accounts each). Also the pins a client would save
 * with `kt trust --save`, read from the server's /v1/config.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeEntry } from './node-entry.js';
import { startServerProcess, type ServerProcess } from './server-process.js';
import type { PinsJson } from '../../verifier/client/pins.js';

export interface DemoServer {
  server: ServerProcess;
  /** The temporary folder holding the data directory (`data/`); removed by `stop`. */
  dir: string;
  data: string;
  /** The pins file's JSON, with the server's URL. */
  pins: () => Promise<PinsJson & { server: string }>;
  /** Runs the demo again: new versions of the demo's accounts, in a new epoch. */
  publishMore: () => Promise<void>;
  stop: () => Promise<void>;
}

function run(entry: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [...nodeEntry(entry), ...args], (e, _out, err) =>
      e ? reject(new Error(`${args.join(' ')} failed: ${err}`)) : resolve(),
    ),
  );
}

/**
 * Starts a directory with the demo's providers and accounts; `settings` are merged into config.json (or
 * computed from the data directory `kt init` made, before the server starts: a witness of its log key).
 * With `twin`, the data directory made by `kt init` is also copied, before any server opened it, for
 * `startTwin`: a second directory with the same keys (log, VRF, CA, operator) whose log grows apart from
 * this one, a fork that clients pinning these keys must catch.
 */
export async function startDemoServer(
  settings: Record<string, unknown> | ((data: string) => Promise<Record<string, unknown>>) = {},
  options: { twin?: boolean; data?: string } = {},
): Promise<DemoServer & { startTwin: () => Promise<DemoServer> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kt-demo-'));
  const data = join(dir, 'data');
  if (options.data) cpSync(options.data, data, { recursive: true });
  else await run('cli/kt.ts', ['init', '--data', data, '--origin', 'example.com/kt-demo-test']);
  const config = join(data, 'config.json');
  const extra = typeof settings === 'function' ? await settings(data) : settings;
  writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), ...extra }, null, 2));
  const twinData = join(dir, 'twin-data');
  if (options.twin) cpSync(data, twinData, { recursive: true });
  const server = await startServerProcess(['--data', data]);
  const publishMore = () => run('api/node/demo.ts', ['--server', server.url, '--data', data]);
  await publishMore();
  const pins = async () => {
    const c = (await (await fetch(`${server.url}/v1/config`)).json()) as PinsJson;
    return {
      server: server.url,
      origin: c.origin,
      logKey: c.logKey,
      vrfKey: c.vrfKey,
      witnesses: [],
      witnessQuorum: 0,
    };
  };
  let twin: DemoServer | undefined;
  const startTwin = async () => (twin ??= await startDemoServer({}, { data: twinData }));
  const stop = async () => {
    await twin?.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return { server, dir, data, pins, publishMore, stop, startTwin };
}
