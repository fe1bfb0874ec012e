/**
 * The KEYTRANS routes' reads (api/app/keytrans-routes.ts) from the D1 replica (d1-keytrans.ts), for the Worker's
 * isolates: a deployment's configuration, the anchor of an epoch, whether the deployment is closed (from the
 * replicated credentials), and a responder's answer at the head the served epoch anchored, gathered in rounds
 * (log/keytrans/gathered-view.ts) from batches of point queries: a prefix-tree path's PATH_DEPTHS depths and their
 * siblings in one round, each node the newest row at or before the entry read. Every row read is of a position
 * within the anchored head, which D1 held before the epoch became servable there (d1-replica.ts), so the answer is
 * the object's; each database is read with its marker, so that one that went back is not answered from. The search
 * keys of versions the tree does not hold are computed here with the deployment's VRF key (derived from the
 * directory's, log/keytrans/operator-keys.ts), as the object does.
 */
import type { KeyTransAnchor } from '../../log/directory/keytrans-hook.js';
import { DirectoryError } from '../../log/directory/errors.js';
import { DeploymentError } from '../../log/keytrans/deployment-error.js';
import { pathOf, siblingKey } from '../../log/keytrans/deployment-store.js';
import type { DeploymentView } from '../../log/keytrans/deployment-view.js';
import { SearchKeys } from '../../log/keytrans/search-keys.js';
import { type DeploymentRowSource, type DeploymentWants, gatherAnswer } from '../../log/keytrans/gathered-view.js';
import { decodePrefixNode, versionFromRow, type RawKeyTransVersion } from '../../log/keytrans/keytrans-sql.js';
import { operatorKeys, type OperatorKeys } from '../../log/keytrans/operator-keys.js';
import { decodeEntry } from '../../verifier/formats/entries.js';
import { decodeConfiguration } from '../../verifier/keytrans/signed-structures.js';
import { KT_128_SHA256_Ed25519 } from '../../verifier/keytrans/suites.js';
import type { PrefixNode } from '../../verifier/keytrans/tree-readers.js';
import type { Configuration } from '../../verifier/keytrans/types.js';
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import type { KeyTransDeploymentReads } from '../app/keytrans-routes.js';
import { REPLICA_QUERIES as R, type IndexDatabase, type IndexLayout } from './d1-layout.js';
import { batchAtLeast } from './d1-rows.js';
import { KEYTRANS_REPLICA_QUERIES as K, keyTransLabelShard, keyTransNodeShard } from './d1-keytrans.js';
import { blob, blobBytes, type BlobColumn } from './do-directory-store.js';

/** The depths of a prefix-tree path one round reads (a tree of 2^20 keys is about 22 deep). */
export const PATH_DEPTHS = 32;
/** Search keys kept per isolate. */
const SEARCH_KEYS = 10_000;

type Statement = { db: number; query: string; bindings: unknown[] };

/**
 * Runs `statements`, one batch per database, and returns each statement's rows in order. Each batch also reads its
 * database's marker: one behind `epoch` (the served epoch the answer is of) went back (restored, or another copy
 * bound), and its rows are an older epoch's, erased values included: a `ReplicaBehindError`, which the isolate
 * hands to the object (d1-reader.ts reads the directory's rows the same way).
 */
async function batched(
  layout: IndexLayout,
  statements: Statement[],
  epoch: number,
): Promise<Record<string, unknown>[][]> {
  const out: Record<string, unknown>[][] = new Array(statements.length);
  await Promise.all(
    layout.shards.map(async (db: IndexDatabase, i) => {
      const mine = statements.map((s, at) => ({ s, at })).filter(({ s }) => s.db === i);
      if (mine.length === 0) return;
      const results = await batchAtLeast(
        db,
        mine.map(({ s }) => db.prepare(s.query).bind(...s.bindings)),
        epoch,
      );
      mine.forEach(({ at }, j) => (out[at] = results[j]));
    }),
  );
  return out;
}

/** A deployment's rows in D1, within the tree of `size` entries, as of the served `epoch`. */
function rowSource(layout: IndexLayout, provider: string, size: number, epoch: number): DeploymentRowSource {
  const node = (key: Uint8Array, depth: number, position: number): Statement => {
    const path = pathOf(key, depth);
    const shard = keyTransNodeShard(depth, path, layout.bits);
    return { db: Math.max(shard, 0), query: K.prefixNode, bindings: [provider, depth, blob(path), position] };
  };
  const nodeOf = (rows: Record<string, unknown>[]): PrefixNode =>
    rows[0] ? decodePrefixNode(blobBytes(rows[0].node as BlobColumn)) : { kind: 'empty' };
  return {
    async fetch(w: DeploymentWants) {
      for (const p of [...w.entries, ...w.paths.map((x) => x.position)])
        if (p >= size) throw new DeploymentError('deployment_corrupt', `log entry ${p} is outside a tree of ${size}`);
      const statements: Statement[] = [
        ...w.entries.map((p) => ({ db: 0, query: K.entry, bindings: [provider, p] })),
        ...w.subtrees.map(({ start, end }) => {
          const width = end - start;
          return { db: 0, query: K.logNode, bindings: [provider, Math.log2(width), start / width] };
        }),
        ...w.labels.map((l) => ({
          db: keyTransLabelShard(provider, l, layout.bits),
          query: K.versions,
          bindings: [provider, blob(l), size - 1],
        })),
      ];
      const depths = w.paths.map(({ fromDepth }) => Math.min(PATH_DEPTHS, 256 - fromDepth));
      w.paths.forEach(({ key, position, fromDepth }, i) => {
        for (let d = fromDepth; d < fromDepth + depths[i]; d++) {
          statements.push(node(key, d, position));
          if (d > 0) statements.push(node(siblingKey(key, d), d, position));
        }
      });
      const rows = await batched(layout, statements, epoch);
      return gatheredRows(w, rows, depths, nodeOf);
    },
  };
}

/** The rows of a round, from each statement's (in the order `rowSource` made them). */
function gatheredRows(
  w: DeploymentWants,
  rows: Record<string, unknown>[][],
  depths: number[],
  nodeOf: (rows: Record<string, unknown>[]) => PrefixNode,
) {
  let at = 0;
  const one = (what: string) => {
    const [row] = rows[at++];
    if (!row) throw new DeploymentError('deployment_corrupt', `${what} is not in D1`);
    return row;
  };
  const entries = w.entries.map((p) => {
    const r = one(`log entry ${p}`);
    return { timestamp: r.timestamp as number, prefixTree: blobBytes(r.prefix_root as BlobColumn) };
  });
  const subtrees = w.subtrees.map((s) => blobBytes(one(`log subtree ${s.start}-${s.end}`).value as BlobColumn));
  const versions = w.labels.map(() => rows[at++].map((r) => versionFromRow(d1Version(r))));
  const paths = w.paths.map(({ fromDepth }, i) => {
    const out: { node: PrefixNode; sibling: PrefixNode | null }[] = [];
    let ended = false;
    for (let d = fromDepth; d < fromDepth + depths[i]; d++) {
      const node = nodeOf(rows[at++]);
      const sibling = d > 0 ? nodeOf(rows[at++]) : null;
      if (!ended) out.push({ node, sibling });
      ended ||= node.kind !== 'parent';
    }
    return out;
  });
  return { entries, subtrees, paths, versions };
}

/** A ktr_versions row with its BLOBs as bytes. */
function d1Version(r: Record<string, unknown>): RawKeyTransVersion {
  const b = (k: string) => blobBytes(r[k] as BlobColumn);
  const maybe = (k: string) => (r[k] === null ? null : b(k));
  const [version, position] = [r.version as number, r.position as number];
  const [vrf_output, vrf_proof, commitment] = [b('vrf_output'), b('vrf_proof'), b('commitment')];
  return {
    version,
    position,
    vrf_output,
    vrf_proof,
    commitment,
    opening: maybe('opening'),
    value: maybe('value'),
    signature: maybe('signature'),
  };
}

export class D1KeyTransDeployments implements KeyTransDeploymentReads {
  private readonly configs = new Map<string, Configuration>();
  private readonly keys = new Map<string, OperatorKeys>();
  private readonly searchKeys = new SearchKeys(SEARCH_KEYS);

  constructor(
    private readonly layout: IndexLayout,
    private readonly vrfSecretKey: Uint8Array,
  ) {}

  async config(provider: string): Promise<Configuration | undefined> {
    const known = this.configs.get(provider);
    if (known) return known;
    const { meta } = this.layout;
    const [rows, heads] = await meta.batch([meta.prepare(K.deployment).bind(provider), meta.prepare(R.servedHead)]);
    const row = (rows.results as { config: BlobColumn }[])[0];
    // A deployment D1 lacks while it has no servable epoch (just bound, or being refilled, which copies its rows
    // in stages) may be one it has not copied yet: the object answers instead (503 busy hands the read over).
    if (!row && heads.results.length === 0)
      throw new DirectoryError('busy', 'the replica has no servable epoch yet; retry');
    if (!row) return undefined;
    const config = decodeConfiguration(blobBytes(row.config));
    this.configs.set(provider, config);
    return config;
  }

  async anchor(epoch: number): Promise<KeyTransAnchor | null> {
    type Row = { epoch: number; log_index: number; entry: BlobColumn; proof: BlobColumn };
    const row = await this.layout.meta.prepare(K.anchor).bind(epoch).first<Row>();
    if (!row) return null;
    const proof = blobBytes(row.proof);
    if (proof.length % 32 !== 0) throw new DeploymentError('deployment_corrupt', `epoch ${epoch}'s anchor proof`);
    const hashes = Array.from({ length: proof.length / 32 }, (_, i) => proof.slice(32 * i, 32 * i + 32));
    return { epoch: row.epoch, logIndex: row.log_index, entry: blobBytes(row.entry), proof: hashes };
  }

  /** Closed: no unrevoked Ed25519 credential of the provider has the deployment's leaf key (deployments.ts). */
  async closed(provider: string): Promise<boolean> {
    const leaf = (await this.config(provider))?.leafPublicKey;
    if (!leaf) return false;
    const query = 'SELECT entry FROM dir_credentials WHERE provider = ? AND revoked_index IS NULL';
    const { results } = await this.layout.meta.prepare(query).bind(provider).all<{ entry: BlobColumn }>();
    return !results.some((r) => {
      const e = decodeEntry(blobBytes(r.entry));
      return e.type === 'enrol' && e.algorithm === 'ed25519' && equalBytes(e.publicKey, leaf);
    });
  }

  async answer<T>(provider: string, epoch: number, respond: (view: DeploymentView) => T): Promise<T | undefined> {
    const [config, anchor] = await Promise.all([this.config(provider), this.anchor(epoch)]);
    const entry = anchor && decodeEntry(anchor.entry);
    const head = entry?.type === 'keytrans' ? entry.heads.find((h) => h.providerId === provider) : undefined;
    if (!config || !head) return undefined;
    const treeHead = { treeSize: head.treeSize, signature: head.signature };
    const base = { suite: KT_128_SHA256_Ed25519, config, treeHead, searchKey: this.searchKeyOf(provider) };
    return gatherAnswer(base, rowSource(this.layout, provider, head.treeSize, epoch), respond);
  }

  /** The search key of a version, computed with the deployment's VRF key, or kept from an earlier request. */
  private searchKeyOf(provider: string): DeploymentView['searchKey'] {
    const vrf = () => {
      let keys = this.keys.get(provider);
      if (!keys) this.keys.set(provider, (keys = operatorKeys(this.vrfSecretKey, provider)));
      return keys.vrf;
    };
    return (label, version) => this.searchKeys.of(provider, label, version, vrf);
  }
}
