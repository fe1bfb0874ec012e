/**
 * `kt audit`: audits a directory's log (verifier/auditor/auditor.ts) from the state saved by the last run to the
 * log's current checkpoint, with progress on a TTY, and saves the new state only after the whole audit
 * passed. With `--roots PEM`, provider enrolments are also checked against those trusted roots
 * (verifier/enrolment/); without it the auditor is told so explicitly and the result says that they were not.
 * The state file is JSON with every byte string in base64. Also the auditor
 * factory of `kt witness serve --audit`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fromBase64, toBase64 } from '../wasm-free-crypto/bytes.js';
import { Auditor, type AuditorState } from '../verifier/auditor/auditor.js';
import { CheckpointVerifier } from '../verifier/verification/checkpoint-policy.js';
import { parsePemCertificates } from '../verifier/enrolment/pem.js';
import { readJsonOr, writeEvidence, writeFileAtomic } from './files.js';
import { VerifyError } from '../verifier/verification/errors.js';
import { output, UsageError } from './output.js';
import { readPins, toVerifierPins } from './pins.js';

export const AUDIT_HELP = `usage: kt audit [--pins FILE] [--server URL] [--state FILE] [--roots PEM] [--evidence-dir DIR] [--json]
Follows the directory's log from the state of the last run (default kt-audit.json; none: from entry 0) to
its current checkpoint, verified with the pins and witness policy: checks that the entries make the signed
tree, replays every epoch into its own map and compares the epoch heads' roots, ranges and credential sets,
and with --roots checks every provider enrolment against those trusted root certificates (without it,
enrolments are not checked, and the result says so). Saves the state only when everything passed. When the log fails a check, an evidence file (audit_failure) records the
signed checkpoint, the check and the state it was audited from; \`kt audit\` from that state reproduces it.
Exit 0: audited; 1: the log misbehaved; 2: usage or network error.`;

type Saved = {
  checkpoint: string | null;
  frontier: string[];
  replay: { size: number; lastEpoch: number; leaves: string; credentials: string[]; lastHead: string | null };
  /** Absent in states saved before it was recorded (verifier/auditor/auditor.ts AuditorState). */
  uncheckedEnrolments?: number;
};

export function loadAuditState(path: string): AuditorState | undefined {
  const s = readJsonOr<Saved | null>(path, null);
  if (s === null) return undefined;
  try {
    return {
      checkpoint: s.checkpoint,
      frontier: s.frontier.map(fromBase64),
      replay: {
        size: s.replay.size,
        lastEpoch: s.replay.lastEpoch,
        leaves: fromBase64(s.replay.leaves),
        credentials: s.replay.credentials.map(fromBase64),
        lastHead: s.replay.lastHead === null ? null : fromBase64(s.replay.lastHead),
      },
      ...(s.uncheckedEnrolments !== undefined && { uncheckedEnrolments: s.uncheckedEnrolments }),
    };
  } catch (e) {
    throw new UsageError(`${path} is not an audit state: ${(e as Error).message}`, 'bad_state');
  }
}

export function saveAuditState(path: string, s: AuditorState): void {
  const saved: Saved = {
    checkpoint: s.checkpoint,
    frontier: s.frontier.map(toBase64),
    replay: {
      size: s.replay.size,
      lastEpoch: s.replay.lastEpoch,
      leaves: toBase64(s.replay.leaves),
      credentials: s.replay.credentials.map(toBase64),
      lastHead: s.replay.lastHead && toBase64(s.replay.lastHead),
    },
    uncheckedEnrolments: s.uncheckedEnrolments,
  };
  writeFileAtomic(path, `${JSON.stringify(saved)}\n`);
}

export function trustedRoots(path: string | undefined): Uint8Array[] | undefined {
  if (!path) return undefined;
  try {
    return parsePemCertificates(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--roots ${path}: ${(e as Error).message}`);
  }
}

export async function audit(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      pins: { type: 'string', default: 'kt-pins.json' },
      server: { type: 'string' },
      state: { type: 'string', default: 'kt-audit.json' },
      roots: { type: 'string' },
      'evidence-dir': { type: 'string', default: '.' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return (console.log(AUDIT_HELP), 0);
  const pins = readPins(values.pins);
  const server = (values.server ?? pins.server)?.replace(/\/+$/, '');
  if (!server) throw new UsageError('no server: give --server URL or save one in the pins file');
  const vp = toVerifierPins(pins, values.pins);
  const roots = trustedRoots(values.roots);
  const out = output(values.json);
  const auditor = new Auditor({
    logUrl: `${server}/log`,
    checkpoints: new CheckpointVerifier({ origin: vp.origin, logKey: vp.logKey, policy: vp.policy }),
    state: loadAuditState(values.state),
    enrolment: roots ? { trustedRoots: roots } : 'unchecked',
    onProgress: (done, total) => out.progress(`audited ${done} of ${total} entries`),
  });
  let result;
  try {
    result = await auditor.audit();
  } catch (e) {
    out.progress('');
    if (e instanceof VerifyError && auditor.checkpointNote !== undefined) {
      const path = writeEvidence(values['evidence-dir'], 'audit_failure', {
        type: 'kt-evidence/v1',
        kind: 'audit_failure',
        origin: pins.origin,
        logKey: pins.logKey,
        server,
        observedAt: new Date().toISOString(),
        code: e.code,
        message: e.message,
        checkpoint: auditor.checkpointNote,
        auditedFrom: loadAuditState(values.state)?.checkpoint ?? null,
      });
      if (!values.json) console.error(`evidence written to ${path}`);
    }
    throw e;
  }
  out.progress('');
  saveAuditState(values.state, result.state);
  const { size } = result.checkpoint;
  const { checked, read, uncheckedEarlier } = result.enrolments;
  const earlier =
    checked && uncheckedEarlier > 0
      ? `, but ${uncheckedEarlier} enrolment${uncheckedEarlier === 1 ? '' : 's'} of earlier audits ${uncheckedEarlier === 1 ? 'was' : 'were'} NOT checked (audit from the start with a new --state file to check them)`
      : '';
  const enrolments = checked
    ? `, every enrolment read validates${earlier}`
    : `; ${read} provider enrolment${read === 1 ? ' was' : 's were'} NOT checked (no --roots)`;
  out.result(
    `audited: entries ${result.from} to ${size} of ${pins.origin} make the signed tree, every epoch up to ${result.state.replay.lastEpoch} replays to its map root${enrolments}; state saved to ${values.state}`,
    {
      audited: true,
      from: result.from,
      treeSize: size,
      epoch: result.state.replay.lastEpoch,
      enrolmentsChecked: checked,
      enrolmentsRead: read,
      enrolmentsUncheckedEarlier: uncheckedEarlier,
    },
  );
  return 0;
}
