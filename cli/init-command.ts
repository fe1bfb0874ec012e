/**
 * `kt init`: creates (or opens) a directory's data directory as the first `kt serve` would, and prints
 * its pins (api/node/data-dir.ts; in development mode also the development root CA, api/node/dev-ca.ts).
 */
import { parseArgs } from 'node:util';
import { openDataDir } from '../api/node/data-dir.js';
import { ensureDevCa } from '../api/node/dev-ca.js';
import { toBase64, toHex } from '../wasm-free-crypto/bytes.js';
import { ORIGIN_CONVENTIONS, type OriginConvention } from '../verifier/witness/conventions.js';
import { vrfPublicKey } from '../wasm-free-crypto/vrf.js';
import { output, UsageError } from './output.js';

export const INIT_HELP = `usage: kt init [--data DIR] [--origin ORIGIN | --origin-from-key sigsum] [--json]
Creates the data directory (default ./data) with the log key, the VRF key, the operator token and, in
development mode, a development root CA, as the first \`kt serve\` would; prints the pins and the log's
Ed25519 public key in hex. An existing data directory is opened, never overwritten. --origin-from-key sigsum
makes the log key first and names the log after it, sigsum.org/v1/tree/<hex SHA-256 of its public key>, the
only origin sigsum's witness accepts (for an existing log: checks that its origin is that one).`;

export async function init(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: './data' },
      origin: { type: 'string' },
      'origin-from-key': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return (console.log(INIT_HELP), 0);
  const convention = values['origin-from-key'];
  if (convention !== undefined && !(ORIGIN_CONVENTIONS as readonly string[]).includes(convention))
    throw new UsageError(`--origin-from-key takes ${ORIGIN_CONVENTIONS.join(', ')}, not ${JSON.stringify(convention)}`);
  const d = openDataDir(values.data, values.origin, undefined, convention as OriginConvention | undefined);
  if (d.devMode) await ensureDevCa(d.dir);
  const pins = { origin: d.origin, logKey: d.signer.verifierKey, vrfKey: toBase64(vrfPublicKey(d.vrfSecretKey)) };
  const logPublicKey = toHex(d.signer.publicKey);
  output(values.json).result(
    `${d.created ? 'created' : 'opened'} ${d.dir}\norigin  ${pins.origin}\nlog key ${pins.logKey}\nvrf key ${pins.vrfKey}\nlog public key (hex) ${logPublicKey}\noperator token in ${d.dir}/operator.token`,
    { created: d.created, dataDir: d.dir, ...pins, logPublicKey },
  );
  return 0;
}
