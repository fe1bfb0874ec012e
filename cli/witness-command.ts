/**
 * `kt witness init` and `kt witness serve`: a C2SP tlog-witness v1.0.0 witness (verifier/witness/witness.ts) over
 * HTTP (api/app/witness-app.ts), with its key in a 0600 file (`<name> <64 hex digits of the Ed25519 seed>`)
 * and its state, the latest cosigned checkpoint of each log, in a JSON file written atomically before each
 * cosignature is returned (`FileWitnessStore`). One process per state file.
 */
import { serve } from '@hono/node-server';
import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { fromBase64, fromHex, toBase64, toHex } from '../wasm-free-crypto/bytes.js';
import { cosigner } from '../wasm-free-crypto/cosignature.js';
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
import { readJsonOr, writeFileAtomic } from './files.js';
import { output, UsageError } from './output.js';

export const WITNESS_HELP = `usage: kt witness init --name NAME [--key FILE]
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

/** The witness's state in a JSON file: {"<origin>": {"size": n, "rootHash": base64}}. */
class FileWitnessStore implements WitnessStore {
  constructor(private readonly path: string) {}

  private load(): Record<string, { size: number; rootHash: string }> {
    return readJsonOr(this.path, {});
  }

  async latest(origin: string): Promise<WitnessRecord | null> {
    const r = this.load()[origin];
    return r ? { size: r.size, rootHash: fromBase64(r.rootHash) } : null;
  }

  async save(origin: string, record: WitnessRecord): Promise<void> {
    const all = this.load();
    all[origin] = { size: record.size, rootHash: toBase64(record.rootHash) };
    writeFileAtomic(this.path, `${JSON.stringify(all, null, 2)}\n`);
  }
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
  const auditors = new Map<string, Auditor>();
  for (const spec of specs) {
    const at = spec.indexOf('=');
    const origin = spec.slice(0, at);
    const log = logs.find((l) => l.origin === origin);
    if (at <= 0 || !log || !/^https?:\/\/\S+$/.test(spec.slice(at + 1)))
      throw new UsageError(`--audit ${spec}: expected ORIGIN=LOGURL for an origin given with --log`);
    // The state and the replayed map in DIR/audit-<origin>.db; an earlier release's .json is upgraded.
    const file = join(dir, `audit-${origin.replace(/[^A-Za-z0-9.-]/g, '_')}`);
    const { store, upgradedFrom } = SqliteAuditStore.open(`${file}.db`, `${file}.json`);
    if (upgradedFrom) console.error(`upgraded the audit state ${upgradedFrom} to ${file}.db`);
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

/** `kt witness cosigner-key`: the cosigner key string of a witness following `convention`. */
function conventionalCosignerKey(convention?: string, key?: string, keyFile?: string): string {
  if (convention !== 'sigsum')
    throw new UsageError(
      `--convention takes ${ORIGIN_CONVENTIONS.join(', ')}${convention ? `, not ${JSON.stringify(convention)}` : ''}`,
    );
  if ((key === undefined) === (keyFile === undefined))
    throw new UsageError('give the witness public key: --public-key KEY or --public-key-file FILE');
  const text = keyFile === undefined ? (key as string) : readFileSync(keyFile, 'utf8');
  try {
    return sigsumCosignerKey(parseWitnessPublicKey(text));
  } catch (e) {
    if (e instanceof ConventionError) throw new UsageError(`${e.code}: ${e.message}`);
    throw e;
  }
}

export async function witness(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' },
      key: { type: 'string', default: 'witness.key' },
      state: { type: 'string', default: 'witness-state.json' },
      log: { type: 'string', multiple: true, default: [] },
      audit: { type: 'string', multiple: true, default: [] },
      'audit-dir': { type: 'string', default: '.' },
      roots: { type: 'string' },
      port: { type: 'string', default: '8788' },
      host: { type: 'string', default: '127.0.0.1' },
      json: { type: 'boolean', default: false },
      convention: { type: 'string' },
      'public-key': { type: 'string' },
      'public-key-file': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || sub === undefined || sub === '--help' || sub === '-h')
    return (console.log(WITNESS_HELP), sub === undefined ? 2 : 0);
  const out = output(values.json);
  if (sub === 'init') {
    if (!values.name || !isValidKeyName(values.name))
      throw new UsageError('--name NAME is required (a key name such as witness.example/w1)');
    if (existsSync(values.key)) throw new UsageError(`${values.key} exists; a witness key is never overwritten`);
    const seed = randomBytes(32);
    writeFileAtomic(values.key, `${values.name} ${toHex(seed)}\n`, 0o600);
    const key = cosigner(values.name, seed).verifierKey;
    out.result(`created ${values.key}\ncosigner key ${key}`, { keyFile: values.key, cosignerKey: key });
    return 0;
  }
  if (sub === 'cosigner-key') {
    const key = conventionalCosignerKey(values.convention, values['public-key'], values['public-key-file']);
    out.result(`cosigner key ${key}`, { cosignerKey: key });
    return 0;
  }
  if (sub !== 'serve') throw new UsageError(`unknown witness command ${sub}\n${WITNESS_HELP}`);
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535)
    throw new UsageError(`invalid port ${values.port}`);
  const logs = parseLogs(values.log);
  const w = new Witness({
    cosigner: readKey(values.key),
    logs,
    store: new FileWitnessStore(values.state),
    audit: auditHook(logs, values.audit, values['audit-dir'], trustedRoots(values.roots)),
  });
  const url = await new Promise<string>((resolve, reject) => {
    const server = serve(
      { fetch: witnessApp(w).fetch, hostname: values.host, port: Number(values.port) },
      (info: AddressInfo) => resolve(`http://${values.host}:${info.port}`),
    );
    server.once('error', reject);
    answerClientErrors(server as Server);
    const stop = () => server.close(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
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
