/**
 * `kt`, the key transparency command line: runs the directory (`init`, `serve`), acts as a provider
 * (`provider`: keys, certificates, enrolment, publishing), fetches and verifies
 * lookups and histories as a client (`trust`, `lookup`, `history`, and as an IETF KEYTRANS client `keytrans`), monitors an account for its owner
 * (`monitor`), audits the log (`audit`), runs a witness (`witness`) and backs a directory up (`backup`). Every
 * command takes `--help`; verifying commands take `--json`. Exit codes: 0 verified, 1 verification failed,
 * 2 usage, configuration or network error (cli/output.ts).
 */
import { EXIT_USAGE, reportError, UsageError } from './output.js';

const HELP = `usage: kt COMMAND [options]   (kt COMMAND --help for each)

run a directory
  init      create a data directory (keys, development CA) and print its pins
  serve     serve the directory over HTTP (as npm start)
  provider  keygen, certify (development CA), enrol and publish, as a provider
  identity  make an account's identity key pair (for a test account), to publish as a provider
  backup    copy a live data directory; a server on the copy is read-only until it is known to be the newest

verify, as a client
  trust     fetch, save or print the pins of a directory
  lookup    look an account up and verify the answer with the pins only
  history   fetch and verify every version of an account since a version
  keytrans  search or monitor an account as an IETF KEYTRANS client (draft-05), anchored in the witnessed log
  verify-evidence   check an evidence file of a fork, a rollback, a key the owner did not make or a broken receipt
  check-receipt     check a publication receipt against the directory's proof; a broken one becomes evidence

monitor
  monitor   check an account's new versions against the keys its owner made
  audit     follow the log, replay every epoch and check enrolments, resumable

witness
  witness   init a witness key, or serve a C2SP tlog-witness

exit codes: 0 verified, 1 verification failed, 2 usage, configuration or network error`;

interface Command {
  run: (argv: string[]) => Promise<number>;
  help: string;
}

/**
 * Each command's module, loaded only when that command runs: `kt --help` and a client command never load
 * the server, SQLite or X.509 code, which keeps `kt`'s start-up short (bench: cold start of `kt`).
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  init: async () => {
    const m = await import('./init-command.js');
    return { run: m.init, help: m.INIT_HELP };
  },
  serve: async () => {
    const m = await import('../api/node/serve-command.js');
    // Served until a signal stops it; a server that cannot start ends the process (exit 2), whatever it left open.
    const run = async (argv: string[]) => {
      try {
        await m.serveMain(argv);
      } catch (e) {
        process.exit(reportError(e, false));
      }
      return new Promise<number>(() => {});
    };
    return { run, help: m.SERVE_USAGE };
  },
  backup: async () => {
    const m = await import('./backup-command.js');
    return { run: m.backup, help: m.BACKUP_HELP };
  },
  provider: async () => {
    const m = await import('./provider-command.js');
    return { run: m.provider, help: m.PROVIDER_HELP };
  },
  identity: async () => {
    const m = await import('./identity-command.js');
    return { run: m.identity, help: m.IDENTITY_HELP };
  },
  trust: async () => {
    const m = await import('./client-commands.js');
    return { run: m.trust, help: m.TRUST_HELP };
  },
  lookup: async () => {
    const m = await import('./client-commands.js');
    return { run: m.lookup, help: m.LOOKUP_HELP };
  },
  history: async () => {
    const m = await import('./client-commands.js');
    return { run: m.history, help: m.HISTORY_HELP };
  },
  keytrans: async () => {
    const m = await import('./keytrans-command.js');
    return { run: m.keytrans, help: m.KEYTRANS_HELP };
  },
  'verify-evidence': async () => {
    const m = await import('./client-commands.js');
    return { run: m.verifyEvidenceCommand, help: m.VERIFY_EVIDENCE_HELP };
  },
  'check-receipt': async () => {
    const m = await import('./receipt-command.js');
    return { run: m.checkReceiptCommand, help: m.CHECK_RECEIPT_HELP };
  },
  monitor: async () => {
    const m = await import('./monitor-command.js');
    return { run: m.monitor, help: m.MONITOR_HELP };
  },
  audit: async () => {
    const m = await import('./audit-command.js');
    return { run: m.audit, help: m.AUDIT_HELP };
  },
  witness: async () => {
    const m = await import('./witness-command.js');
    return { run: m.witness, help: m.WITNESS_HELP };
  },
};

/**
 * Every request `kt` makes is given up after a time (the environment's KT_REQUEST_TIMEOUT in seconds, default
 * 60) unless its caller set a signal of its own: a server that accepts the connection and never answers would
 * otherwise hold a command (a cron job's monitor) for minutes. Giving up is a `network` error naming the URL.
 */
function timeRequests(): void {
  const setting = process.env.KT_REQUEST_TIMEOUT;
  const seconds = setting === undefined ? 60 : Number(setting);
  if (!(seconds > 0 && seconds <= 86_400))
    throw new UsageError(
      `KT_REQUEST_TIMEOUT must be a number of seconds from 1 to 86400, not ${JSON.stringify(setting)}`,
    );
  const platform = globalThis.fetch;
  globalThis.fetch = (input, init) =>
    platform(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(seconds * 1000) });
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const json = rest.includes('--json');
  let command: Command | undefined;
  try {
    const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!load) throw new UsageError(`unknown command ${JSON.stringify(name)}\n${HELP}`);
    if (name !== 'serve') timeRequests(); // the server's own requests have their own bounds
    command = await load();
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
