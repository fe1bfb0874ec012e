/**
 * `kt`, the key transparency command line: runs the directory (`init`, `serve`), acts as a provider
 * (`provider`: keys, certificates, enrolment, publishing), fetches and verifies
 * lookups and histories as a client (`trust`, `lookup`, `history`), monitors an account for its owner
 * (`monitor`), audits the log (`audit`) and runs a witness (`witness`). Every
 * command takes `--help`; verifying commands take `--json`. Exit codes: 0 verified, 1 verification failed,
 * 2 usage, configuration or network error (cli/output.ts).
 */
import { parseArgs } from 'node:util';
import { openDataDir } from '../api/node/data-dir.js';
import { ensureDevCa } from '../api/node/dev-ca.js';
import { SERVE_USAGE, serveMain } from '../api/node/serve-command.js';
import { toBase64 } from '../wasm-free-crypto/bytes.js';
import { vrfPublicKey } from '../wasm-free-crypto/vrf.js';
import {
  HISTORY_HELP,
  LOOKUP_HELP,
  TRUST_HELP,
  VERIFY_EVIDENCE_HELP,
  history,
  lookup,
  trust,
  verifyEvidenceCommand,
} from './client-commands.js';
import { EXIT_USAGE, output, reportError, UsageError } from './output.js';
import { WITNESS_HELP, witness } from './witness-command.js';
import { AUDIT_HELP, audit } from './audit-command.js';
import { MONITOR_HELP, monitor } from './monitor-command.js';
import { PROVIDER_HELP, provider } from './provider-command.js';

const HELP = `usage: kt COMMAND [options]   (kt COMMAND --help for each)

run a directory
  init      create a data directory (keys, development CA) and print its pins
  serve     serve the directory over HTTP (as npm start)
  provider  keygen, certify (development CA), enrol and publish, as a provider

verify, as a client
  trust     fetch, save or print the pins of a directory
  lookup    look an account up and verify the answer with the pins only
  history   fetch and verify every version of an account since a version
  verify-evidence   check an evidence file of a fork, a rollback or a key the owner did not make

monitor
  monitor   check an account's new versions against the keys its owner made
  audit     follow the log, replay every epoch and check enrolments, resumable

witness
  witness   init a witness key, or serve a C2SP tlog-witness

exit codes: 0 verified, 1 verification failed, 2 usage, configuration or network error`;

const INIT_HELP = `usage: kt init [--data DIR] [--origin ORIGIN] [--json]
Creates the data directory (default ./data) with the log key, the VRF key, the operator token and, in
development mode, a development root CA, as the first \`kt serve\` would; prints the pins. An existing data
directory is opened, never overwritten.`;

async function init(argv: string[]): Promise<number> {
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

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  init: { run: init, help: INIT_HELP },
  serve: { run: async (argv) => (await serveMain(argv), new Promise<number>(() => {})), help: SERVE_USAGE },
  provider: { run: provider, help: PROVIDER_HELP },
  trust: { run: trust, help: TRUST_HELP },
  lookup: { run: lookup, help: LOOKUP_HELP },
  history: { run: history, help: HISTORY_HELP },
  'verify-evidence': { run: verifyEvidenceCommand, help: VERIFY_EVIDENCE_HELP },
  monitor: { run: monitor, help: MONITOR_HELP },
  audit: { run: audit, help: AUDIT_HELP },
  witness: { run: witness, help: WITNESS_HELP },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const command = COMMANDS[name];
  const json = rest.includes('--json');
  try {
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}\n${HELP}`);
    return await command.run(rest);
  } catch (e) {
    const err =
      e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
        ? new UsageError(`${e.message}\n${command?.help ?? HELP}`)
        : e;
    return reportError(err, json);
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
