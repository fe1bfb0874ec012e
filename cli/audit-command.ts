/**
 * `kt audit`: audits a directory's log (verifier/auditor/auditor.ts) from the state saved by the last run to the
 * log's current checkpoint, with progress on a TTY, and saves the new state after the whole audit passed, and
 * part way through a long one (verifier/auditor/auditor.ts `progressEvery`), from which an interrupted audit goes on. With `--roots PEM`, provider enrolments are also checked against those trusted roots
 * (verifier/enrolment/); without it the auditor is told so explicitly and the result says that they were not.
 * The state file is an SQLite file holding the state and the replayed map (cli/audit-store.ts); a JSON state
 * file of the release before the stored map is upgraded in place; a state of a release before the KEYTRANS history
 * gets its history at the next audit (the entries already audited read again once), as the result says.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Auditor } from '../verifier/auditor/auditor.js';
import { CheckpointVerifier } from '../verifier/verification/checkpoint-policy.js';
import { parsePemCertificates } from '../verifier/enrolment/pem.js';
import { SqliteAuditStore } from './audit-store.js';
import { writeEvidence } from './files.js';
import { VerifyError } from '../verifier/verification/errors.js';
import { output, UsageError, writtenEvidence } from './output.js';
import { readPins, toVerifierPins } from './pins.js';

export const AUDIT_HELP = `usage: kt audit [--pins FILE] [--server URL] [--state FILE] [--roots PEM] [--evidence-dir DIR] [--json]
Follows the directory's log from the state of the last run (default kt-audit.db; none: from entry 0) to
its current checkpoint, verified with the pins and witness policy: checks that the entries make the signed
tree, replays every epoch into its own map and compares the epoch heads' roots, ranges and credential sets,
checks that each provider's KEYTRANS tree anchored in the log grows by one entry per epoch, never leaves,
and has as root the tree of its anchored entries (replay_keytrans_history), and with --roots checks every
provider enrolment against those trusted root certificates (without it, enrolments are not checked, and
the result says so). The state file (SQLite) holds the state and the
replayed map, so memory does not grow with the directory; it is saved when everything passed, and part
way through a long audit (at the first epoch head after every 65,536 entries), so that an interrupted
audit goes on where it stopped, the entries it read checked when the next one reaches the checkpoint it
was auditing toward (a checkpoint of fewer entries is then a rollback). A JSON state file of an earlier
release (kt-audit.json without --state) is upgraded in place. When the log
fails a check, an evidence file (audit_failure) records the signed checkpoint, the check, the last
checkpoint audited before and, when the run went on from an interrupted one, the checkpoint that one was
reaching; an audit from entry 0 reproduces it. A state file of a release before the KEYTRANS
history check has no history: the next audit first reads the entries it had audited again, from entry 0
(checked against its saved checkpoint), to build it, and says so.
Exit 0: audited; 1: the log misbehaved; 2: usage or network error.`;

/** The state file without --state, and the JSON one of the release before the stored map it replaces. */
const DEFAULT_STATE = 'kt-audit.db';
const LEGACY_STATE = 'kt-audit.json';

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
      state: { type: 'string' },
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
  // The state file; without --state, a kt-audit.json of the release before the stored map is upgraded.
  const statePath = values.state ?? DEFAULT_STATE;
  const { store, upgradedFrom } = SqliteAuditStore.open(statePath, values.state ? undefined : LEGACY_STATE);
  try {
    if (upgradedFrom && !values.json) console.error(`upgraded the audit state ${upgradedFrom} to ${statePath}`);
    return await auditWith(store, { ...values, server, pins, vp, roots, out, statePath, upgradedFrom });
  } finally {
    store.close();
  }
}

/** Whether `note` is a checkpoint the pinned log signed (whatever the witness policy says of it). */
function signedByLog(checkpoints: CheckpointVerifier, note: string): boolean {
  try {
    checkpoints.verifySigned(note);
    return true;
  } catch {
    return false;
  }
}

/** What the result says of the KEYTRANS history: the trees followed, and a history built for an older state. */
function keyTransText({ read, providers, reread }: { read: number; providers: number; reread: number }): string {
  const rebuilt =
    reread > 0
      ? `; the state had no KEYTRANS history (an earlier release): entries 0 to ${reread} were read again to build it`
      : '';
  if (providers === 0) return `, no KEYTRANS tree anchored yet${rebuilt}`;
  const entries = `${read} KEYTRANS heads entr${read === 1 ? 'y' : 'ies'} read`;
  return `, the anchored KEYTRANS trees of ${providers} provider${providers === 1 ? '' : 's'} grow by one entry per epoch (${entries})${rebuilt}`;
}

async function auditWith(
  store: SqliteAuditStore,
  a: {
    json: boolean;
    'evidence-dir': string;
    server: string;
    pins: ReturnType<typeof readPins>;
    vp: ReturnType<typeof toVerifierPins>;
    roots: Uint8Array[] | undefined;
    out: ReturnType<typeof output>;
    statePath: string;
    upgradedFrom: string | undefined;
  },
): Promise<number> {
  const { server, pins, vp, roots, out } = a;
  const saved = store.savedState();
  const auditedFrom = saved?.checkpoint ?? null;
  const checkpoints = new CheckpointVerifier({ origin: vp.origin, logKey: vp.logKey, policy: vp.policy });
  const auditor = new Auditor({
    logUrl: `${server}/log`,
    checkpoints,
    store,
    enrolment: roots ? { trustedRoots: roots } : 'unchecked',
    onProgress: (done, total) => out.progress(`audited ${done} of ${total} entries`),
  });
  let result;
  try {
    result = await auditor.audit();
  } catch (e) {
    out.progress('');
    // Evidence only of a checkpoint the pinned log signed: of anything else (a page that is no checkpoint, another
    // key's note) no file could prove the log said it.
    const note = auditor.checkpointNote;
    if (e instanceof VerifyError && note !== undefined && signedByLog(checkpoints, note)) {
      const path = writtenEvidence('audit failure', () =>
        writeEvidence(a['evidence-dir'], 'audit_failure', {
          type: 'kt-evidence/v1',
          kind: 'audit_failure',
          origin: pins.origin,
          logKey: pins.logKey,
          server,
          observedAt: new Date().toISOString(),
          code: e.code,
          message: e.message,
          checkpoint: note,
          auditedFrom,
          ...(saved?.target !== undefined && { target: saved.target }),
        }),
      );
      if (path && !a.json) console.error(`evidence written to ${path}`);
    }
    throw e;
  }
  out.progress('');
  const { size } = result.checkpoint;
  const { checked, read, uncheckedEarlier } = result.enrolments;
  const earlier =
    checked && uncheckedEarlier > 0
      ? `, but ${uncheckedEarlier} enrolment${uncheckedEarlier === 1 ? '' : 's'} of earlier audits ${uncheckedEarlier === 1 ? 'was' : 'were'} NOT checked (audit from the start with a new --state file to check them)`
      : '';
  const { read: heads, providers, reread } = result.keyTrans;
  const enrolments = checked
    ? `, every enrolment read validates${earlier}`
    : `; ${read} provider enrolment${read === 1 ? ' was' : 's were'} NOT checked (no --roots)`;
  const continued = result.continued
    ? ` (going on from where an interrupted audit saved its progress: the entries it read before are in the tree too)`
    : '';
  out.result(
    `audited: entries ${result.from} to ${size} of ${pins.origin}${continued} make the signed tree, every epoch up to ${result.state.replay.lastEpoch} replays to its map root${keyTransText(result.keyTrans)}${enrolments}; state saved to ${a.statePath}`,
    {
      audited: true,
      from: result.from,
      continued: result.continued,
      treeSize: size,
      epoch: result.state.replay.lastEpoch,
      enrolmentsChecked: checked,
      enrolmentsRead: read,
      enrolmentsUncheckedEarlier: uncheckedEarlier,
      keyTransHeadsRead: heads,
      keyTransProviders: providers,
      keyTransReread: reread,
      ...(a.upgradedFrom && { upgradedFrom: a.upgradedFrom }),
    },
  );
  return 0;
}
