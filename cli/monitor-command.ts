/**
 * `kt monitor`: the owner monitor (verifier/owner-monitor/owner-monitor.ts) of one account, given the public keys its
 * owner made. Each run verifies the versions published since the last run (state file), raises an alarm for any key
 * the owner did not make or any erased version, writes the verified proof as evidence for each alarm, and saves the
 * new state. Exit 0: verified, no alarm; 1: an alarm or a verification failure; 2: usage or network error.
 */
import { parseArgs } from 'node:util';
import { fromBase64, toBase64 } from '../wasm-free-crypto/bytes.js';
import { KEY_ALGORITHMS } from '../verifier/formats/statement.js';
import { LookupClient } from '../verifier/lookup-client/lookup-client.js';
import {
  MONITOR_START,
  monitorAccount,
  monitorProofJson,
  type MonitorState,
} from '../verifier/owner-monitor/owner-monitor.js';
import { lookupArguments } from './client-commands.js';
import { base64Of } from './base64-value.js';
import { readJsonOr, writeEvidence, writeFileAtomic } from './files.js';
import { EXIT_VERIFICATION_FAILED, output, UsageError, writtenEvidence } from './output.js';
import { readPins, toVerifierPins } from './pins.js';

export const MONITOR_HELP = `usage: kt monitor PROVIDER ACCOUNT --key B64 [--key B64 ...] [--state FILE] [--pins FILE] [--server URL] [--evidence-dir DIR] [--json]
Verifies every version of ACCOUNT published since the last run (state: default kt-monitor.json) and checks
that each binds only the keys given with --key (base64 public keys the owner made). Any other key, or an
erased version, is an alarm: its verified proof is written to an evidence file. Run it regularly (cron).
Exit 0: verified, no alarm; 1: alarm or verification failed; 2: usage or network error.`;

/** The sizes of the public keys a statement can bind (docs/PROTOCOL.md section 12.3). */
const KEY_LENGTHS = new Set(Object.values(KEY_ALGORITHMS).map((a) => a.publicKeyLength));

/**
 * An owner's key given with --key: base64 of a public key of a size some algorithm has. Anything else (an empty
 * string left by a command that failed inside `$(...)`, a fingerprint) is a usage error: monitoring with it would
 * call every genuine key of the account an alarm and write evidence against the provider.
 */
function ownerKey(text: string): Uint8Array {
  let key: Uint8Array;
  try {
    key = fromBase64(text);
  } catch {
    throw new UsageError(`--key ${JSON.stringify(text)} is not base64`);
  }
  if (!KEY_LENGTHS.has(key.length))
    throw new UsageError(
      `--key ${JSON.stringify(text)} is ${key.length} bytes, not a public key (${[...KEY_LENGTHS].join(', ')} bytes)`,
    );
  return key;
}

const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The monitor's state file: absent (a first run: from version 0), or what a run saved (`Saved`), each field
 * checked; anything else is `bad_state`, naming the file and the field, and is left as it is.
 */
function readMonitorState(path: string): (MonitorState & { provider: string; account: string }) | null {
  const s = readJsonOr<Record<string, unknown> | null>(path, null);
  if (s === null) return null;
  const bad = (what: string) =>
    new UsageError(`${path} is not a kt monitor state: ${what}; it is left as it is`, 'bad_state');
  if (typeof s !== 'object' || Array.isArray(s)) throw bad('not an object');
  if (typeof s.provider !== 'string' || typeof s.account !== 'string') throw bad('no provider and account');
  if (!count(s.version)) throw bad('"version" is not a non-negative integer');
  const historyHash = base64Of(s.historyHash, 32);
  if (!historyHash) throw bad('"historyHash" is not 32 bytes of base64');
  const label = s.label === undefined ? undefined : base64Of(s.label, 32);
  if (s.label !== undefined && !label) throw bad('"label" is not 32 bytes of base64');
  if (s.epoch !== undefined && !count(s.epoch)) throw bad('"epoch" is not a non-negative integer');
  const epoch = s.epoch as number | undefined;
  return { provider: s.provider, account: s.account, version: s.version as number, historyHash, label, epoch };
}

export async function monitor(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      key: { type: 'string', multiple: true, default: [] },
      state: { type: 'string', default: 'kt-monitor.json' },
      pins: { type: 'string', default: 'kt-pins.json' },
      server: { type: 'string' },
      'evidence-dir': { type: 'string', default: '.' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return (console.log(MONITOR_HELP), 0);
  const [provider, account] = lookupArguments(positionals, MONITOR_HELP);
  if (values.key.length === 0) throw new UsageError("give the owner's public keys with --key B64 (one or more)");
  const keys = values.key.map(ownerKey);
  const pins = readPins(values.pins);
  const server = (values.server ?? pins.server)?.replace(/\/+$/, '');
  if (!server) throw new UsageError('no server: give --server URL or save one in the pins file');
  const saved = readMonitorState(values.state);
  if (saved && (saved.provider !== provider || saved.account !== account))
    throw new UsageError(
      `${values.state} monitors ${saved.provider} / ${saved.account}, not ${provider} / ${account}`,
      'bad_state',
    );
  const state: MonitorState = saved ?? MONITOR_START;
  const out = output(values.json);
  if (!values.json && pins.maxAgeSeconds === undefined)
    console.error(
      'note: the pins set no witness policy with maxAgeSeconds; without one a directory could answer from a stale epoch',
    );
  // No checkpoint is kept between runs: a daily check with no change then costs about 1.7 KB (no tiles for
  // consistency proofs). Stale or split views are the witness policy's to catch (pins), forks of this
  // account's own versions the history chain's.
  const client = new LookupClient({ baseUrl: server, pins: toVerifierPins(pins, values.pins) });
  const report = await monitorAccount(client, provider, account, keys, state);
  const evidence = report.alarms.map((a) =>
    writtenEvidence(a.kind, () =>
      writeEvidence(values['evidence-dir'], a.kind, {
        type: 'kt-evidence/v1',
        kind: a.kind,
        origin: pins.origin,
        logKey: pins.logKey,
        vrfKey: pins.vrfKey,
        server,
        observedAt: new Date().toISOString(),
        provider,
        account,
        version: a.version,
        message: a.message,
        ownerKeys: values.key,
        since: { version: state.version, historyHash: toBase64(state.historyHash) },
        proof: monitorProofJson(client.lastProofJson),
      }),
    ),
  );
  const label = report.state.label && toBase64(report.state.label);
  writeFileAtomic(
    values.state,
    `${JSON.stringify({ provider, account, version: report.state.version, historyHash: toBase64(report.state.historyHash), label, epoch: report.state.epoch }, null, 2)}\n`,
  );
  const lines = [
    `verified ${provider} / ${account}: ${report.status}, versions ${report.newVersions.length > 0 ? `${report.newVersions[0]} to ${report.newVersions.at(-1)} new` : 'unchanged'} (now at version ${report.state.version})`,
  ];
  for (const [i, a] of report.alarms.entries())
    lines.push(
      `ALARM [${a.kind}] ${a.message}; ${evidence[i] ? `evidence in ${evidence[i]}` : 'evidence NOT written'}`,
    );
  out.result(lines.join('\n'), {
    verified: true,
    provider,
    account,
    status: report.status,
    newVersions: report.newVersions,
    version: report.state.version,
    alarms: report.alarms.map((a, i) => ({
      kind: a.kind,
      version: a.version,
      message: a.message,
      evidence: evidence[i] ?? null,
    })),
  });
  return report.alarms.length > 0 ? EXIT_VERIFICATION_FAILED : 0;
}
