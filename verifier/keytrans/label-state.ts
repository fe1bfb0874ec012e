/**
 * What the KEYTRANS client keeps of one label after a verified response (draft-ietf-keytrans-protocol-05,
 * "Monitoring the Tree", its "Contact Algorithm" and "Owner Algorithm"): the contact monitoring map and the search
 * keys (VRF output and commitment) of the versions that the label's monitoring will look up, as katie keeps them
 * (the vectors' `client_state_after.label`). A search whose terminal log entry must be monitored (search.ts,
 * `mustMonitor`) puts the version it found in the map at that entry, moved up the entry's right direct path (the
 * log entries the search saw holding a greater version) until an entry of the map with a greater version, which
 * covers it; the map then keeps no entry whose nearest right ancestor holds a version at least its own, nor a
 * version twice. The keys kept are those of each map entry's monitoring binary ladder and, for an owner, of the
 * search binary ladder of its version at the start; a version shown again must be shown with the keys retained,
 * or the response is refused: a log that changed a version's commitment is not followed.
 */
import { binaryLadder, monitoringBinaryLadder } from './binary-ladder.js';
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { KeyTransError } from './errors.js';
import type { RetainedVersion } from './monitor.js';
import type { OwnerState } from './owner.js';
import type { SearchResult } from './search.js';
import { rightDirectPath } from './search-tree.js';
import type { MonitorMapEntry } from './types.js';

/** What the client keeps of one label. */
export interface LabelState {
  contact: MonitorMapEntry[];
  owner: OwnerState | null;
  retained: Map<number, RetainedVersion>;
}

/**
 * The map after a search found `version` at `terminal` in a tree of `size` entries (katie's contact update): the
 * entry goes up the terminal's right direct path while no entry there holds a greater version.
 */
export function contactAfterSearch(
  contact: readonly MonitorMapEntry[],
  terminal: number,
  version: number,
  size: number,
): MonitorMapEntry[] {
  const map = new Map(contact.map((e) => [e.position, e.version]));
  for (const at of [terminal, ...rightDirectPath(terminal, size)]) {
    if ((map.get(at) ?? -1) > version) break;
    map.set(at, version);
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const [at, v] of map) {
      const up = rightDirectPath(at, size)[0];
      const higher = [...map].some(([p, w]) => w === v && p > at);
      if ((up !== undefined && (map.get(up) ?? -1) >= v) || higher) changed = map.delete(at);
    }
  }
  return [...map].sort(([a], [b]) => a - b).map(([position, v]) => ({ position, version: v }));
}

/**
 * The keys of the versions the label's monitoring looks up ("Contact Algorithm", "Owner Algorithm"), taken from
 * `sources` (what was retained, then what the response showed); refuses a version shown with other keys.
 */
export function retainedFor(
  contact: readonly MonitorMapEntry[],
  owner: OwnerState | null,
  sources: readonly (ReadonlyMap<number, RetainedVersion> | undefined)[],
): Map<number, RetainedVersion> {
  const known = new Map<number, RetainedVersion>();
  for (const [v, r] of sources.flatMap((s) => [...(s ?? [])])) {
    const k = known.get(v);
    const other =
      k &&
      (!equalBytes(k.vrfOutput, r.vrfOutput) ||
        (k.commitment && r.commitment && !equalBytes(k.commitment, r.commitment)));
    if (other) throw new KeyTransError('kt_bad_proof', `version ${v} of the label shown with other keys than retained`);
    if (!k?.commitment) known.set(v, r);
  }
  const needed = contact.flatMap((e) => monitoringBinaryLadder(e.version));
  if (owner) needed.push(...binaryLadder(owner.versionAtStarting ?? 0));
  const out = new Map<number, RetainedVersion>();
  for (const v of needed.sort((a, b) => a - b)) {
    const r = known.get(v);
    if (!r) throw new KeyTransError('kt_bad_input', `version ${v} of the label is needed but was never shown`);
    out.set(v, r);
  }
  return out;
}

/** The label's state after a verified search: unchanged unless the search must be monitored. */
export function labelAfterSearch(held: LabelState | undefined, found: SearchResult): LabelState | undefined {
  if (!found.mustMonitor) return held;
  const size = found.state.treeHead.treeSize;
  const contact = contactAfterSearch(held?.contact ?? [], found.terminal, found.version, size);
  const owner = held?.owner ?? null;
  return { contact, owner, retained: retainedFor(contact, owner, [held?.retained, found.retained]) };
}
