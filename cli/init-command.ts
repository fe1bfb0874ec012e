/**
 * `kt init`: creates (or opens) a directory's data directory as the first `kt serve` would, and prints
 * its pins (api/node/data-dir.ts; in development mode also the development root CA, api/node/dev-ca.ts).
 */
import { parseArgs } from 'node:util';
import { openDataDir } from '../api/node/data-dir.js';
import { ensureDevCa } from '../api/node/dev-ca.js';
import { toBase64 } from '../wasm-free-crypto/bytes.js';
import { vrfPublicKey } from '../wasm-free-crypto/vrf.js';
import { output } from './output.js';

export const INIT_HELP = `usage: kt init [--data DIR] [--origin ORIGIN] [--json]
Creates the data directory (default ./data) with the log key, the VRF key, the operator token and, in
development mode, a development root CA, as the first \`kt serve\` would; prints the pins. An existing data
directory is opened, never overwritten.`;

export async function init(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: './data' },
      origin: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return (console.log(INIT_HELP), 0);
  const d = openDataDir(values.data, values.origin);
  if (d.devMode) await ensureDevCa(d.dir);
  const pins = { origin: d.origin, logKey: d.signer.verifierKey, vrfKey: toBase64(vrfPublicKey(d.vrfSecretKey)) };
  output(values.json).result(
    `${d.created ? 'created' : 'opened'} ${d.dir}\norigin  ${pins.origin}\nlog key ${pins.logKey}\nvrf key ${pins.vrfKey}\noperator token in ${d.dir}/operator.token`,
    { created: d.created, dataDir: d.dir, ...pins },
  );
  return 0;
}
