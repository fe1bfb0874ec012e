/**
 * The owner monitor: an account owner (or their client, on their behalf) follows the account's history
 * and checks every new version against the keys the owner actually made. From the version and history
 * hash it last verified, it fetches the history since then (verifier/lookup-client/lookup-client.ts), which must chain
 * from exactly that hash: a rewritten or forked history of versions the owner already saw fails
 * verification (`bad_history`), and a directory that shows fewer versions than the owner saw is caught
 * the same way. Each new version is then checked:
 * - `unexpected_key`: it binds a key the owner did not make (key substitution, by the provider or the
 *   operator: the provider's signature and the log's inclusion make the proof itself the evidence);
 * - `unverifiable_version`: its statement is erased, so the owner cannot see what it bound.
 * The state advances to the latest version either way, so each version raises its alarms once. It also
 * keeps the latest epoch seen: an answer from an older epoch is a `rollback` (a directory replaying an old
 * "unchanged" answer to hide a new key). A monitor should pin a witness policy with a maximum age too, so
 * that a directory cannot freeze it at an old epoch from the start.
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { HISTORY_ZERO } from '../formats/directory-hashes.js';
import type { LookupClient } from '../lookup-client/lookup-client.js';
import type { LookupResult } from '../verification/lookup-verifier.js';
import type { Statement } from '../formats/statement.js';
import { VerifyError } from '../verification/errors.js';

/**
 * What a monitor remembers: the latest version it verified, that version's history hash and the account's
 * label (known after the first check; then a daily check with no change costs only the map proof of that
 * leaf and the epoch, `LookupClient.monitor`).
 */
export interface MonitorState {
  version: number;
  historyHash: Uint8Array;
  label?: Uint8Array;
  /** The latest epoch a check was answered from: a later answer from an older epoch is a rollback. */
  epoch?: number;
}

export const MONITOR_START: MonitorState = { version: 0, historyHash: HISTORY_ZERO };

export interface Alarm {
  kind: 'unexpected_key' | 'unverifiable_version';
  version: number;
  message: string;
  statement?: Statement;
}

export interface MonitorReport {
  /** The versions verified in this run (after the state's). */
  newVersions: number[];
  alarms: Alarm[];
  state: MonitorState;
  /** The account's status, or 'unchanged' when still at the version verified before. */
  status: LookupResult['status'] | 'unchanged';
}

/** Checks the versions of (provider, account) after `state` against the owner's keys. */
export async function monitorAccount(
  client: LookupClient,
  provider: string,
  account: string,
  ownerKeys: Uint8Array[],
  state: MonitorState,
): Promise<MonitorReport> {
  let h;
  const notOlder = (epoch: number) => {
    if (epoch < (state.epoch ?? 0))
      throw new VerifyError(
        'rollback',
        `the directory answered from epoch ${epoch} after epoch ${state.epoch} was seen`,
      );
    return epoch;
  };
  if (state.label && state.version > 0) {
    const check = await client.monitor(provider, account, {
      label: state.label,
      version: state.version,
      historyHash: state.historyHash,
    });
    if (check.unchanged)
      return { newVersions: [], alarms: [], state: { ...state, epoch: notOlder(check.epoch) }, status: 'unchanged' };
    h = check.history;
  } else h = await client.history(provider, account, state.version, state.historyHash);
  const epoch = notOlder(h.lookup.epoch);
  const alarms: Alarm[] = [];
  const newVersions = h.statements.map((_s, i) => state.version + 1 + i);
  h.statements.forEach((s, i) => {
    const version = state.version + 1 + i;
    if (!s) {
      alarms.push({
        kind: 'unverifiable_version',
        version,
        message: `version ${version} was erased: what it bound cannot be checked`,
      });
      return;
    }
    const foreign = s.keys.filter((k) => !ownerKeys.some((o) => equalBytes(o, k.publicKey)));
    if (foreign.length > 0)
      alarms.push({
        kind: 'unexpected_key',
        version,
        statement: s,
        message: `version ${version} binds ${foreign.length} key(s) the owner did not make: ${foreign.map((k) => k.id).join(', ')}`,
      });
  });
  const latest = newVersions.at(-1) ?? state.version;
  const next =
    latest === state.version
      ? { ...state, label: h.lookup.label, epoch }
      : { version: latest, historyHash: h.lookup.historyHash ?? state.historyHash, label: h.lookup.label, epoch };
  return { newVersions, alarms, state: next, status: h.lookup.status };
}

/**
 * The proof a monitor's check was answered with (`LookupClient.lastProofJson`), as an evidence file stores it
 * (docs/PROTOCOL.md section 19): a monitor proof as it is, and a first check's history proof wrapped as the
 * monitor proof `{"format", "history"}` it stands for.
 */
export function monitorProofJson(json: unknown): unknown {
  const o = json as Record<string, unknown>;
  return 'history' in o || 'unchanged' in o ? o : { format: o.format, history: o };
}
