/**
 * `kt monitor`: the owner monitor (verifier/owner-monitor/owner-monitor.ts) of one account, given the public keys its
 * owner made. Each run verifies the versions published since the last run (state file), raises an alarm for any key
 * the owner did not make or any erased version, writes the verified proof as evidence for each alarm, and saves the
 * new state. Exit 0: verified, no alarm; 1: an alarm or a verification failure; 2: usage or network error.
 */
import { parseArgs } from 'node:util';
import { fromBase64, toBase64 } from '../wasm-free-crypto/bytes.js';
import { LookupClient } from '../verifier/lookup-client/lookup-client.js';
import {
  MONITOR_START,
  monitorAccount,
  monitorProofJson,
  type MonitorState,
} from '../verifier/owner-monitor/owner-monitor.js';
import { readJsonOr, writeEvidence, writeFileAtomic } from './files.js';
import { EXIT_VERIFICATION_FAILED, output, UsageError } from './output.js';
import { readPins, toVerifierPins } from './pins.js';

export const MONITOR_HELP = `usage: kt monitor PROVIDER ACCOUNT --key B64 [--key B64 ...] [--state FILE] [--pins FILE] [--server URL] [--evidence-dir DIR] [--json]
Verifies every version of ACCOUNT published since the last run (state: default kt-monitor.json) and checks
that each binds only the keys given with --key (base64 public keys the owner made). Any other key, or an
erased version, is an alarm: its verified proof is written to an evidence file. Run it regularly (cron).
Exit 0: verified, no alarm; 1: alarm or verification failed; 2: usage or network error.`;

type Saved = {
  provider: string;
  account: string;
  version: number;
  historyHash: string;
  label?: string;
  epoch?: number;
};

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
  if (positionals.length !== 2) throw new UsageError(`expected PROVIDER ACCOUNT\n${MONITOR_HELP}`);
  if (values.key.length === 0) throw new UsageError("give the owner's public keys with --key B64 (one or more)");
  const keys = values.key.map((k) => {
    try {
      return fromBase64(k);
    } catch {
      throw new UsageError(`--key ${k} is not base64`);
    }
  });
  const [provider, account] = positionals;
  const pins = readPins(values.pins);
  const server = (values.server ?? pins.server)?.replace(/\/+$/, '');
  if (!server) throw new UsageError('no server: give --server URL or save one in the pins file');
  const saved = readJsonOr<Saved | null>(values.state, null);
  if (saved && (saved.provider !== provider || saved.account !== account))
    throw new UsageError(
      `${values.state} monitors ${saved.provider} / ${saved.account}, not ${provider} / ${account}`,
      'bad_state',
    );
  const state: MonitorState = saved
    ? {
        version: saved.version,
        historyHash: fromBase64(saved.historyHash),
        label: saved.label === undefined ? undefined : fromBase64(saved.label),
        epoch: saved.epoch,
      }
    : MONITOR_START;
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
    lines.push(`ALARM [${a.kind}] ${a.message}; evidence in ${evidence[i]}`);
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
      evidence: evidence[i],
    })),
  });
  return report.alarms.length > 0 ? EXIT_VERIFICATION_FAILED : 0;
}
