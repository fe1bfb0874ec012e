/**
 * The directory server on Node with an embedded SQLite file, as `npm start` (api/node/main.ts) and `kt serve`
 * run it. Options (flags win over the
 * environment): `--port` (PORT, default 8787; 0 picks a free port), `--data` (KT_DATA, default ./data),
 * `--host` (KT_HOST, default 127.0.0.1), `--origin` (KT_ORIGIN, only for a new log), `--readers` (reader
 * processes, api/node/readers.ts; default config.json's `readers`). Prints the trust
 * pins a client needs, and shuts down cleanly on SIGINT or SIGTERM. On a restored backup,
 * `--published-checkpoint` and `--accept-restore` say how it may sign again (api/node/restore-check.ts).
 */
import { parseArgs } from 'node:util';
import { errorFields, jsonLogger } from '../app/logger.js';
import { startServer, type ServerOptions } from './server.js';

export const SERVE_USAGE = `usage: npm start -- [--port N] [--data DIR] [--host ADDR] [--origin ORIGIN] [--readers N]
                      [--log-only] [--published-checkpoint FILE|URL] [--accept-restore SIZE]
       kt serve [the same options]
  --port    TCP port (env PORT, default 8787; 0 = any free port)
  --data    data directory with keys and the SQLite file (env KT_DATA, default ./data)
  --host    address to bind (env KT_HOST, default 127.0.0.1)
  --origin  checkpoint origin of a new log (env KT_ORIGIN; default localhost/kt-<random>)
  --readers reader processes answering lookups on the same port (default: config.json's "readers",
            else one per core beyond two; 0: one process)
  --log-only  serve a plain C2SP log of arbitrary entries, without the directory
on a restored backup (kt backup), which starts read-only until its checkpoint is known to be the newest:
  --published-checkpoint FILE|URL  the newest checkpoint the log published, to check the copy against
                                   (besides the witnesses of config.json)
  --accept-restore SIZE  the copy's tree size, typed: sign again when nothing proves the copy stale
                         (dangerous: if the log published past the copy, it forks the log)`;

function parseOptions(argv: string[]): ServerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      data: { type: 'string' },
      host: { type: 'string' },
      origin: { type: 'string' },
      readers: { type: 'string' },
      'log-only': { type: 'boolean' },
      'published-checkpoint': { type: 'string' },
      'accept-restore': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(SERVE_USAGE);
    process.exit(0);
  }
  const portText = values.port ?? process.env.PORT ?? '8787';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`invalid port ${JSON.stringify(portText)}`);
  const readers = values.readers === undefined ? undefined : Number(values.readers);
  if (values.readers !== undefined && !/^\d{1,2}$/.test(values.readers))
    throw new Error(`invalid --readers ${JSON.stringify(values.readers)}: give a number of processes, 0 to 64`);
  if (readers !== undefined && readers > 64)
    throw new Error(`invalid --readers ${JSON.stringify(values.readers)}: give a number of processes, 0 to 64`);
  const accept = values['accept-restore'];
  if (accept !== undefined && !/^(0|[1-9][0-9]{0,15})$/.test(accept))
    throw new Error(`invalid --accept-restore ${JSON.stringify(accept)}: give the backup's tree size`);
  return {
    port,
    dataDir: values.data ?? process.env.KT_DATA ?? './data',
    host: values.host ?? process.env.KT_HOST ?? '127.0.0.1',
    origin: values.origin ?? process.env.KT_ORIGIN,
    logOnly: values['log-only'] ?? false,
    readers,
    restore: {
      publishedCheckpoint: values['published-checkpoint'],
      acceptRestore: accept === undefined ? undefined : Number(accept),
    },
  };
}

/** Parses `argv`, starts the server, prints the pins, and shuts down cleanly on SIGINT or SIGTERM. */
export async function serveMain(argv: string[]): Promise<void> {
  let opts: ServerOptions;
  try {
    opts = parseOptions(argv);
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${SERVE_USAGE}`);
    process.exit(2);
  }
  // Events go to standard error as JSON lines (README "Operations"); the pins and the URL stay text on stdout.
  const logger = jsonLogger((line) => process.stderr.write(`${line}\n`));
  const server = await startServer({ ...opts, logger });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutdown', { signal, message: 'finishing open batches and shutting down' });
    server.close().then(
      () => process.exit(0),
      (e) => {
        logger.error('shutdown_failed', errorFields(e));
        process.exit(1);
      },
    );
  };
  // Before the "listening on" line: whoever reads it may signal at once.
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const cp = server.appender.head;
  console.log(
    `${server.data.created ? 'created a new log' : 'opened the log'} in ${server.data.dir} (tree size ${cp.size})`,
  );
  const vrf = server.directory ? `\n  vrf key ${Buffer.from(server.directory.vrfPublicKey).toString('base64')}` : '';
  console.log(`trust pins:\n  origin  ${server.data.origin}\n  log key ${server.data.signer.verifierKey}${vrf}`);
  if (server.directory)
    console.log(
      `operator token in ${server.data.dir}/operator.token${server.data.devMode ? `; development CA in ${server.data.dir}/dev-ca.pem` : ''}`,
    );
  console.log(
    `listening on ${server.url}  (checkpoint: ${server.url}/log/checkpoint, config: ${server.url}/v1/config)`,
  );
}
