/**
 * An epoch's KEYTRANS writes as the rows a replica of the deployments stores (`KeyTransRows`,
 * log/directory/keytrans-hook.ts; the Worker's D1, api/worker/d1-keytrans.ts): each deployment's appended entry,
 * its log subtrees, prefix-tree nodes (encoded as `kt_prefix_nodes.node`) and versions, the erasures of deleted
 * accounts' earlier versions, and the anchor, keyed by the provider's id.
 */
import { encodeConfiguration } from '../../verifier/keytrans/signed-structures.js';
import type { Configuration } from '../../verifier/keytrans/types.js';
import { emptyKeyTransRows, type KeyTransAnchor, type KeyTransRows } from '../directory/keytrans-hook.js';
import type { DeploymentAppend } from './deployment-store.js';
import { encodePrefixNode } from './keytrans-sql.js';

/** One deployment's share of an epoch. */
export interface DeploymentEpoch {
  provider: string;
  config: Configuration;
  append: DeploymentAppend;
  erasures: { label: Uint8Array; below: number }[];
}

/** The rows of `epochs` and `anchor`. */
export function replicaRows(epochs: DeploymentEpoch[], anchor: KeyTransAnchor | null): KeyTransRows {
  const rows = { ...emptyKeyTransRows(), anchor };
  for (const { provider, config, append: a, erasures } of epochs) {
    rows.deployments.push({ provider, config: encodeConfiguration(config) });
    const { timestamp, prefixTree: prefixRoot } = a.entry;
    rows.entries.push({ provider, position: a.position, timestamp, prefixRoot, headSignature: a.headSignature });
    for (const n of a.logNodes) rows.logNodes.push({ provider, ...n });
    for (const n of a.prefixNodes)
      rows.prefixNodes.push({
        provider,
        depth: n.depth,
        path: n.path,
        position: a.position,
        node: encodePrefixNode(n.node),
      });
    for (const { label, version: v } of a.versions) {
      const { version, position, vrfOutput, vrfProof, commitment, opening } = v;
      const [value, signature] = [v.value?.value ?? null, v.value?.suffix.signature ?? null];
      rows.versions.push({
        provider,
        label,
        version,
        position,
        vrfOutput,
        vrfProof,
        commitment,
        opening,
        value,
        signature,
      });
    }
    for (const e of erasures) rows.erasures.push({ provider, ...e });
  }
  return rows;
}
