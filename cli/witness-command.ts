/**
 * `kt witness init` and `kt witness serve`: a C2SP tlog-witness v1.0.0 witness (verifier/witness/witness.ts) over
 * HTTP (api/app/witness-app.ts), with its key in a 0600 file (`<name> <64 hex digits of the Ed25519 seed>`)
 * and its state, the latest cosigned checkpoint of each log, in a JSON file checked when the witness starts and
 * written atomically before each cosignature is returned (`FileWitnessStore`). One process per state file. A state
 * file that is not a witness state, an audit directory, key file or port it cannot use is an error (exit 2) that names
 * it, before anything is served.
 */
import { serve } from '@hono/node-server';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { fromHex, toBase64, toHex } from '../wasm-free-crypto/bytes.js';
import { cosigner } from '../wasm-free-crypto/cosignature.js';
import { CodedError } from '../wasm-free-crypto/errors.js';
import { randomBytes } from '../wasm-free-crypto/random.js';
import { isValidKeyName, parseVerifierKey } from '../wasm-free-crypto/note.js';
import {
  Witness,
  type WitnessOptions,
  type WitnessRecord,
  type WitnessStore,
  type WitnessedLog,
} from '../verifier/witness/witness.js';
import { Auditor } from '../verifier/auditor/auditor.js';
import {
  ConventionError,
  ORIGIN_CONVENTIONS,
  parseWitnessPublicKey,
  sigsumCosignerKey,
} from '../verifier/witness/conventions.js';
import { CheckpointVerifier } from '../verifier/verification/checkpoint-policy.js';
import { trustedRoots } from './audit-command.js';
import { SqliteAuditStore } from './audit-store.js';
import { join } from 'node:path';
import { witnessApp } from '../api/app/witness-app.js';
import { answerClientErrors } from '../api/node/client-errors.js';
import { base64Of } from './base64-value.js';
import { readJsonOr, writeFileAtomic } from './files.js';
import { output, UsageError, type Output } from './output.js';
import { checkSubcommandOptions } from './subcommand-options.js';

export const WITNESS_HELP = `usage: kt witness init --name NAME [--key FILE] [--json]
       kt witness cosigner-key --convention sigsum (--public-key KEY | --public-key-file FILE) [--json]
       kt witness serve --log ORIGIN=LOGKEY [--log ...] [--audit ORIGIN=LOGURL ...] [--audit-dir DIR]
                        [--roots PEM] [--key FILE] [--state FILE] [--port N] [--host ADDR] [--json]
init creates the witness's key (default file witness.key, mode 0600) under NAME (e.g. witness.example/w1)
and prints its cosigner key for the logs' and clients' configuration. serve answers POST /add-checkpoint
(C2SP tlog-witness v1.0.0) for the given logs (origin and C2SP verifier key), keeping the latest
cosigned checkpoint of each in the state file (default witness-state.json); port 0 picks a free port.
With --audit ORIGIN=LOGURL (the log's /log URL) the witness is an auditing witness for that log: before
it cosigns, it audits the log up to the submitted checkpoint (kt audit's checks; state in
DIR/audit-<origin>.db) and refuses (422) what does not pass; with --roots PEM it also checks every provider
enrolment against those trusted roots, without it enrolments are not checked (and it says so at start).
cosigner-key prints the cosigner key string (for a log's "witnesses" and clients' policies) of another
implementation's witness from its published Ed25519 public key (an OpenSSH ssh-ed25519 line, 64 hex digits,
or a cosigner key string, which is checked): sigsum's witness cosigns as sigsum.org/v1/witness/<hex SHA-256
of its key>, type 0x04.`;

/** How a state file describes itself in errors: its shape. */
const STATE_SHAPE = '{"<origin>": {"size": n, "rootHash": base64}}';

/**
 * The witness's state in a JSON file: {"<origin>": {"size": n, "rootHash": base64}}, read and checked once, when
 * the witness starts (a missing file is a fresh state), then kept in memory and written whole at each save.
 */
class FileWitnessStore implements WitnessStore {
  private readonly records: Map<string, WitnessRecord>;

  constructor(private readonly path: string) {
    this.records = readWitnessState(path);
  }

  async latest(origin: string): Promise<WitnessRecord | null> {
    return this.records.get(origin) ?? null;
  }

  async save(origin: string, record: WitnessRecord): Promise<void> {
    const all = new Map(this.records).set(origin, record);
    const json = Object.fromEntries([...all].map(([o, r]) => [o, { size: r.size, rootHash: toBase64(r.rootHash) }]));
    writeFileAtomic(this.path, `${JSON.stringify(json, null, 2)}\n`);
    this.records.set(origin, record); // only once it is on disk
  }
}

/**
 * The records of the state file `path`: none if it does not exist; a file that is not a JSON object of records
 * (an array, null, a number, a record of wrong types) is refused (`bad_state`), never served from.
 */
function readWitnessState(path: string): Map<string, WitnessRecord> {
  const json = readJsonOr<unknown>(path, {});
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new UsageError(`${path} is not a witness state: it holds ${jsonKind(json)}, not ${STATE_SHAPE}`, 'bad_state');
  return new Map(Object.entries(json).map(([origin, r]) => [origin, parseRecord(path, origin, r)]));
}

/** What a JSON value is, for an error message: "an array", "null", "a number", ... */
function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** One record of the state file: exactly a non-negative safe integer size and a 32-byte base64 root hash. */
function parseRecord(path: string, origin: string, r: unknown): WitnessRecord {
  const bad = (what: string) =>
    new UsageError(
      `${path}: the record of ${JSON.stringify(origin)} ${what}; a witness state is ${STATE_SHAPE}`,
      'bad_state',
    );
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw bad(`is ${jsonKind(r)}, not an object`);
  const keys = Object.keys(r).sort();
  if (keys.join() !== 'rootHash,size') throw bad(`has the fields [${keys.join(', ')}], not exactly size and rootHash`);
  const { size, rootHash } = r as { size: unknown; rootHash: unknown };
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw bad('has a size that is not a non-negative integer');
  const hash = base64Of(rootHash, 32);
  if (!hash) throw bad('has a rootHash that is not 32 bytes in base64');
  return { size, rootHash: hash };
}

function readKey(path: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read the witness key ${path} (${(e as Error).message}); create one with \`kt witness init --name NAME --key ${path}\``,
    );
  }
  const m = /^(\S+) ([0-9a-f]{64})\n?$/.exec(text);
  if (!m || !isValidKeyName(m[1])) throw new UsageError(`${path} must hold "<name> <64 lower-case hex digits>"`);
  return cosigner(m[1], fromHex(m[2]));
}

function parseLogs(specs: string[]): WitnessedLog[] {
  if (specs.length === 0) throw new UsageError('give at least one --log ORIGIN=LOGKEY');
  return specs.map((spec) => {
    const at = spec.indexOf('=');
    if (at <= 0) throw new UsageError(`--log ${spec}: expected ORIGIN=LOGKEY`);
    try {
      return { origin: spec.slice(0, at), keys: [parseVerifierKey(spec.slice(at + 1))] };
    } catch (e) {
      throw new UsageError(`--log ${spec}: ${(e as Error).message}`);
    }
  });
}

/** `--audit-dir DIR` must be an existing directory: the audit state files are created in it, it is not. */
function checkAuditDir(dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw new UsageError(
      `--audit-dir ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`,
    );
  }
  if (!isDir) throw new UsageError(`--audit-dir ${dir}: not a directory`);
}

/** The audit state DIR/audit-<origin>.db (an earlier release's .json upgraded); a file it cannot open is bad_state. */
function openAuditStore(file: string): SqliteAuditStore {
  try {
    const { store, upgradedFrom } = SqliteAuditStore.open(`${file}.db`, `${file}.json`);
    if (upgradedFrom) console.error(`upgraded the audit state ${upgradedFrom} to ${file}.db`);
    return store;
  } catch (e) {
    if (e instanceof CodedError) throw e;
    throw new UsageError(`${file}.db: cannot open the audit state (${(e as Error).message})`, 'bad_state');
  }
}

/**
 * The auditing hook: per audited origin, an auditor whose state is saved after each passed audit, and never part
 * way (`progressEvery` 0): a state saved part way records the checkpoint it audits toward, and a checkpoint
 * submitted later between the last one cosigned and that one would then be refused as a rollback.
 */
function auditHook(
  logs: WitnessedLog[],
  specs: string[],
  dir: string,
  roots: Uint8Array[] | undefined,
): WitnessOptions['audit'] {
  if (specs.length === 0) return undefined;
  checkAuditDir(dir);
  const auditors = new Map<string, Auditor>();
  for (const spec of specs) {
    const at = spec.indexOf('=');
    const origin = spec.slice(0, at);
    const log = logs.find((l) => l.origin === origin);
    if (at <= 0 || !log || !/^https?:\/\/\S+$/.test(spec.slice(at + 1)))
      throw new UsageError(`--audit ${spec}: expected ORIGIN=LOGURL for an origin given with --log`);
    // The state and the replayed map in DIR/audit-<origin>.db; an earlier release's .json is upgraded.
    const file = join(dir, `audit-${origin.replace(/[^A-Za-z0-9.-]/g, '_')}`);
    const store = openAuditStore(file);
    const checkpoints = new CheckpointVerifier({ origin, logKey: log.keys[0] });
    auditors.set(
      origin,
      new Auditor({
        logUrl: spec.slice(at + 1).replace(/\/+$/, ''),
        checkpoints,
        enrolment: roots ? { trustedRoots: roots } : 'unchecked',
        store,
        progressEvery: 0,
      }),
    );
  }
  return async (origin, _from, _to, note) => {
    const auditor = auditors.get(origin);
    if (!auditor) return true;
    try {
      await auditor.audit(note); // commits its state and map to the store when it passes
      return true;
    } catch (e) {
      console.error(`audit of ${origin} failed [${(e as { code?: string }).code ?? 'error'}]: ${(e as Error).message}`);
      return false;
    }
  };
}

/** The text of `--public-key-file FILE`; a file that cannot be read is a usage error naming it. */
function readPublicKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--public-key-file ${path}: cannot read it (${(e as Error).message})`);
  }
}

/** `kt witness cosigner-key`: the cosigner key string of a witness following `convention`. */
function conventionalCosignerKey(convention?: string, key?: string, keyFile?: string): string {
  if (convention !== 'sigsum')
    throw new UsageError(
      `--convention takes ${ORIGIN_CONVENTIONS.join(', ')}${convention ? `, not ${JSON.stringify(convention)}` : ''}`,
    );
  if ((key === undefined) === (keyFile === undefined))
    throw new UsageError('give the witness public key: --public-key KEY or --public-key-file FILE');
  const text = keyFile === undefined ? (key as string) : readPublicKeyFile(keyFile);
  try {
    return sigsumCosignerKey(parseWitnessPublicKey(text));
  } catch (e) {
    if (e instanceof ConventionError) throw new UsageError(`${e.code}: ${e.message}`);
    throw e;
  }
}

/**
 * Serves the witness on `host`:`port` until a signal, and resolves with its URL once it listens. A port it cannot
 * listen on (in use, or a host that is not this machine's) is a usage error naming them, and the server is closed
 * and the signal handlers removed, so that nothing keeps the process from exiting.
 */
function listen(w: Witness, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: witnessApp(w).fetch, hostname: host, port }, (info: AddressInfo) =>
      resolve(`http://${host}:${info.port}`),
    );
    const stop = () => server.close(() => process.exit(0));
    server.once('error', (e: NodeJS.ErrnoException) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close(() => {});
      reject(listenError(e, host, port));
    });
    answerClientErrors(server as Server);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Why `host`:`port` cannot be listened on, as a usage error (exit 2) that names them. */
function listenError(e: NodeJS.ErrnoException, host: string, port: number): UsageError {
  const at = `${host}:${port}`;
  if (e.code === 'EADDRINUSE') return new UsageError(`--port ${port}: ${at} is already in use (EADDRINUSE)`);
  if (e.code === 'EADDRNOTAVAIL')
    return new UsageError(`--host ${host}: not an address of this machine (EADDRNOTAVAIL)`);
  if (e.code === 'ENOTFOUND') return new UsageError(`--host ${host}: no such host (ENOTFOUND)`);
  if (e.code === 'EACCES') return new UsageError(`--port ${port}: not allowed to listen on ${at} (EACCES)`);
  return new UsageError(`cannot listen on ${at}: ${e.message}`);
}

const OPTIONS = {
  name: { type: 'string' },
  key: { type: 'string', default: 'witness.key' },
  state: { type: 'string', default: 'witness-state.json' },
  log: { type: 'string', multiple: true, default: [] as string[] },
  audit: { type: 'string', multiple: true, default: [] as string[] },
  'audit-dir': { type: 'string' }, // serve's, default '.': no default here, so that one given without --audit is refused
  roots: { type: 'string' },
  port: { type: 'string', default: '8788' },
  host: { type: 'string', default: '127.0.0.1' },
  json: { type: 'boolean', default: false },
  convention: { type: 'string' },
  'public-key': { type: 'string' },
  'public-key-file': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** `kt witness init`: a new key file under `--name`, never overwriting one. */
async function initKey(values: Values, out: Output): Promise<number> {
  if (!values.name || !isValidKeyName(values.name))
    throw new UsageError('--name NAME is required (a key name such as witness.example/w1)');
  if (existsSync(values.key)) throw new UsageError(`${values.key} exists; a witness key is never overwritten`);
  const seed = randomBytes(32);
  writeFileAtomic(values.key, `${values.name} ${toHex(seed)}\n`, 0o600);
  const key = cosigner(values.name, seed).verifierKey;
  out.result(`created ${values.key}\ncosigner key ${key}`, { keyFile: values.key, cosignerKey: key });
  return 0;
}

/** `kt witness cosigner-key`: another implementation's cosigner key, from its public key. */
async function cosignerKey(values: Values, out: Output): Promise<number> {
  const key = conventionalCosignerKey(values.convention, values['public-key'], values['public-key-file']);
  out.result(`cosigner key ${key}`, { cosignerKey: key });
  return 0;
}

/** `kt witness serve`: serves the witness until a signal. */
async function serveWitness(values: Values, out: Output): Promise<number> {
  // Roots or an audit folder without an audit would do nothing, while their user believes enrolments are checked.
  for (const flag of ['roots', 'audit-dir'] as const)
    if (values[flag] !== undefined && values.audit.length === 0)
      throw new UsageError(`--${flag} goes with --audit ORIGIN=LOGURL: without an audit it does nothing`);
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535)
    throw new UsageError(`invalid port ${values.port}`);
  const logs = parseLogs(values.log);
  const w = new Witness({
    cosigner: readKey(values.key),
    logs,
    store: new FileWitnessStore(values.state),
    audit: auditHook(logs, values.audit, values['audit-dir'] ?? '.', trustedRoots(values.roots)),
  });
  const url = await listen(w, values.host, Number(values.port));
  const unchecked = values.audit.length > 0 && !values.roots;
  const note = unchecked ? '\nthe audits do NOT check provider enrolments (no --roots)' : '';
  out.result(
    `witness ${w.opts.cosigner.name} listening on ${url}\ncosigner key ${w.opts.cosigner.verifierKey}${note}`,
    {
      name: w.opts.cosigner.name,
      cosignerKey: w.opts.cosigner.verifierKey,
      url,
      ...(values.audit.length > 0 && { enrolmentsChecked: !unchecked }),
    },
  );
  return new Promise(() => {}); // serves until a signal
}

/** Each subcommand, and the options it takes besides --help: any other is refused (cli/subcommand-options.ts). */
const SUBCOMMANDS: Record<string, { run: (values: Values, out: Output) => Promise<number>; takes: readonly string[] }> =
  {
    init: { run: initKey, takes: ['name', 'key', 'json'] },
    'cosigner-key': { run: cosignerKey, takes: ['convention', 'public-key', 'public-key-file', 'json'] },
    serve: {
      run: serveWitness,
      takes: ['log', 'audit', 'audit-dir', 'roots', 'key', 'state', 'port', 'host', 'json'],
    },
  };

export async function witness(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, tokens } = parseArgs({ args: rest, options: OPTIONS, tokens: true });
  if (values.help || sub === undefined || sub === '--help' || sub === '-h')
    return (console.log(WITNESS_HELP), sub === undefined ? 2 : 0);
  const subcommand = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
  if (!subcommand) throw new UsageError(`unknown witness command ${sub}\n${WITNESS_HELP}`);
  checkSubcommandOptions('witness', sub, tokens, subcommand.takes);
  return subcommand.run(values, output(values.json));
}
