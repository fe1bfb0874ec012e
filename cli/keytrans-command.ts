/**
 * `kt keytrans`: the IETF KEYTRANS client (draft-ietf-keytrans-protocol-05) against a directory's KEYTRANS routes
 * (docs/PROTOCOL.md section 22), for one provider's deployment. `search` verifies an account's greatest version,
 * or a given one; `owner` checks an account for its owner (initialised on first use, monitored after). Each head
 * is checked against the witnessed C2SP checkpoint under the pins file's log key and witness policy (the anchor),
 * and the client's state is kept in a file between runs (verifier/keytrans-client/client.ts). Exit codes as every
 * `kt` command: 0 verified, 1 verification failed, 2 usage or network error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { toBase64 } from '../wasm-free-crypto/bytes.js';
import { decodeStatement } from '../verifier/formats/statement-binary.js';
import { KeyTransClient } from '../verifier/keytrans-client/client.js';
import { CheckpointVerifier } from '../verifier/verification/checkpoint-policy.js';
import { VerifyError } from '../verifier/verification/errors.js';
import { lookupArguments } from './client-commands.js';
import { writeFileAtomic } from './files.js';
import { output, UsageError } from './output.js';
import { checkSubcommandOptions } from './subcommand-options.js';
import { readPins, toVerifierPins } from './pins.js';

export const KEYTRANS_HELP = `usage: kt keytrans search --provider P --account A [--version N] [--server URL] [--pins FILE] [--state FILE] [--json]
       kt keytrans owner  --provider P --account A [--made N ...] [--server URL] [--pins FILE] [--state FILE] [--json]
search verifies ACCOUNT's greatest version in PROVIDER's KEYTRANS deployment (draft-05), or version N (the
statement's version, from 1; KEYTRANS numbers it N - 1), and checks the tree head against the witnessed log
under the pins (kt trust). owner initialises the owner's monitoring of ACCOUNT on first use, then checks
every later log entry for a version the owner did not make: any version after the one it holds is the alert
(exit 1), unless given with --made N (the statement version; repeat it for each version the owner published
since its last check): then the owner's monitoring starts again from the newest distinguished log entry, if
every version after the one held is one it made. The client's state is kept in --state (default
kt-keytrans-PROVIDER.json); the deployment's configuration is kept there on first use.`;

const OPTIONS = {
  provider: { type: 'string' },
  account: { type: 'string' },
  version: { type: 'string' },
  server: { type: 'string' },
  pins: { type: 'string', default: 'kt-pins.json' },
  state: { type: 'string' },
  made: { type: 'string', multiple: true, default: [] as string[] },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** The options each subcommand takes, besides --help: any other is refused (cli/subcommand-options.ts). */
const TAKES: Record<string, readonly string[]> = {
  search: ['provider', 'account', 'version', 'server', 'pins', 'state', 'json'],
  owner: ['provider', 'account', 'made', 'server', 'pins', 'state', 'json'],
};

function need(v: string | undefined, flag: string): string {
  if (!v) throw new UsageError(`--${flag} is required\n${KEYTRANS_HELP}`);
  return v;
}

/** The client of `provider` (a checked provider id: it names the default state file) for the flags: pins, server, state file. */
function clientFor(provider: string, values: Values) {
  const pins = readPins(values.pins);
  const server = (values.server ?? pins.server)?.replace(/\/+$/, '');
  if (!server) throw new UsageError('no server: give --server URL or save one in the pins file');
  const { origin, logKey, policy } = toVerifierPins(pins, values.pins);
  const path = values.state ?? `kt-keytrans-${provider}.json`;
  const store = {
    load: async () => (existsSync(path) ? readFileSync(path, 'utf8') : undefined),
    save: async (text: string) => writeFileAtomic(path, text),
  };
  const checkpoints = new CheckpointVerifier({ origin, logKey, policy });
  return new KeyTransClient({ server, provider, fetch, checkpoints, store });
}

/** The found value, which must be the provider's statement of that account and version. */
function statementOf(value: Uint8Array, provider: string, account: string, version: number) {
  const s = decodeStatement(value, { checkPublicKeys: false });
  if (s.provider !== provider || s.account !== account || s.version !== version + 1)
    throw new VerifyError(
      'keytrans_value_mismatch',
      `the value is ${s.provider} / ${s.account} version ${s.version}, not ${provider} / ${account} version ${version + 1}`,
    );
  return s;
}

/** A statement version given on the command line: a positive integer. */
function statementVersion(v: string, flag: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(v)) throw new UsageError(`${flag} must be a positive integer (the statement version)`);
  return Number(v);
}

/** `kt keytrans owner`: the owner's check of `account`, with the versions it made since its last check. */
async function ownerCheck(client: KeyTransClient, provider: string, account: string, values: Values) {
  const r = await client.ownerMonitor(account, { made: values.made.map((v) => statementVersion(v, '--made') - 1) });
  const at = r.version === null ? 'no version' : `version ${r.version + 1}`;
  output(values.json).result(
    `verified (KEYTRANS owner): ${provider} / ${account}: ${at} from log entry ${r.starting}, tree size ${r.treeSize}`,
    {
      verified: true,
      ...r,
    },
  );
  return 0;
}

/** `kt keytrans search`: `account`'s greatest version, or `--version N`. */
async function search(client: KeyTransClient, provider: string, account: string, values: Values) {
  const version = values.version === undefined ? null : statementVersion(values.version, '--version') - 1;
  const found = await client.search(account, version);
  const s = statementOf(found.value, provider, account, found.version);
  const keys = s.keys.map((k) => `${k.id} ${k.algorithm} ${toBase64(k.publicKey)}`).join(', ') || 'none';
  output(values.json).result(
    `verified (KEYTRANS): ${provider} / ${account} version ${s.version}: ${s.status}, keys: ${keys}; tree size ${found.treeSize}, anchored in epoch ${found.epoch}`,
    {
      verified: true,
      version: s.version,
      keytransVersion: found.version,
      status: s.status,
      treeSize: found.treeSize,
      epoch: found.epoch,
      statement: toBase64(found.value),
    },
  );
  return 0;
}

export async function keytrans(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, tokens } = parseArgs({ args: rest, options: OPTIONS, strict: true, tokens: true });
  if (values.help || sub === '--help' || sub === '-h') return (console.log(KEYTRANS_HELP), 0);
  if (sub !== 'search' && sub !== 'owner')
    throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}\n${KEYTRANS_HELP}`);
  checkSubcommandOptions('keytrans', sub, tokens, TAKES[sub]);
  // Checked here, as kt lookup checks them: a provider id that is not a DNS name would also name a state file
  // outside the folder (kt-keytrans-../x.json).
  const [provider, account] = lookupArguments(
    [need(values.provider, 'provider'), need(values.account, 'account')],
    KEYTRANS_HELP,
  );
  const client = clientFor(provider, values);
  return sub === 'owner' ? ownerCheck(client, provider, account, values) : search(client, provider, account, values);
}
