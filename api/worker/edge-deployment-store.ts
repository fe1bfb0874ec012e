/**
 * The KEYTRANS deployments (docs/PROTOCOL.md section 22.8) of an object that moves its bulk to D1
 * (object-trim.ts): its own rows (do-deployment-store.ts) until it trims, then what its single writer needs,
 * with D1 read in place of the rest. Once trimmed, the object keeps per deployment its last log entry, its log
 * tree's right edge, its prefix tree's upper levels (the newest row of each name above the kept depth) and its
 * last anchor; a label's versions and the rest of the prefix tree are in D1 only. A row the object holds is
 * always the newest of its name (object-trim.ts deletes a name's rows oldest first, and only rows D1 holds),
 * so a read is answered by the object's row when it holds one, else by D1's newest, fetched beforehand by
 * `settle` (one query per database per round for hundreds of names, their values as literals since D1 binds at
 * most 100 values, each database's marker read in the same batch: one behind the epoch this object last
 * replicated is not read). The fetched rows are those of the newest tree: they are dropped when an append writes
 * a newer one, and a round that straddles an append is fetched again. The object's own KEYTRANS answers (it is
 * asked only when the replica cannot answer) are then refused with 503 `busy` where they need a row it no longer
 * holds; a read outside `settle` of a row neither held nor fetched is refused so too, never read as empty.
 */
import { DirectoryError } from '../../log/directory/errors.js';
import { DeploymentError } from '../../log/keytrans/deployment-error.js';
import {
  type DeploymentAppend,
  type DeploymentStore,
  pathOf,
  siblingKey,
} from '../../log/keytrans/deployment-store.js';
import type { StoredVersion } from '../../log/keytrans/deployment-view.js';
import type { KeyTransAnchor } from '../../log/directory/keytrans-hook.js';
import { decodePrefixNode } from '../../log/keytrans/keytrans-sql.js';
import { levelOf } from '../../log/keytrans/log-append.js';
import { type SqlDeploymentStore, SqlDeploymentStores } from '../../log/keytrans/sql-deployment-store.js';
import { fullSubtreeRanges } from '../../verifier/keytrans/log-tree.js';
import type { PrefixNode } from '../../verifier/keytrans/tree-readers.js';
import type { Configuration, LogEntry, TreeHead } from '../../verifier/keytrans/types.js';
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { REPLICA_QUERIES, type IndexDatabase, type IndexLayout, type IndexStatement } from './d1-layout.js';
import { keyTransLabelShard, keyTransNodeShard } from './d1-keytrans.js';
import { blobBytes, type BlobColumn } from './do-directory-store.js';
import { doKeyTransSql } from './do-deployment-store.js';
import type { DoSqlStorage } from './do-log-storage.js';

/** What the stores need to know of the object's replica (replicated-store.ts). */
export interface ReplicaState {
  /** Whether the object has deleted rows that only D1 holds now. */
  readonly trimmed: boolean;
  /** The newest epoch every database was seen at by this object since it started, if it replicated yet. */
  readonly replicatedEpoch: number | undefined;
  /** Counts the trims that deleted rows: a row fetched before one may be older than the row it deleted. */
  readonly trims: number;
}

/**
 * Rounds of reads one `settle` makes at most: a path is at most 256 deep and one round reads 32 depths of it,
 * and a round fetches for at most MISSES_PER_ROUND missed nodes, so that an epoch of 20,000 new keys (its
 * names, 64 per miss, and their queries) stays within the object's memory: it takes more rounds instead.
 */
const MAX_ROUNDS = 240;
const MISSES_PER_ROUND = 2_000;
/** Depths of a key's path one round reads below the first one missed (each with its sibling). */
const PATH_DEPTHS = 32;
/** Names (about 85 characters each as literals) and labels (up to 525) one query holds: under D1's 100 KB. */
const NAMES_PER_QUERY = 800;
const LABELS_PER_QUERY = 150;

const busy = (what: string) =>
  new DirectoryError('busy', `${what} is in the D1 replica only and was not read from it; retry`);

/** One query and the database it goes to. */
type Query = { db: IndexDatabase; sql: string; bindings: unknown[] };

/** Runs `queries` (grouped per database, each batch with its marker) and returns each one's rows in order. */
async function runQueries(queries: Query[], atLeast: number): Promise<Record<string, unknown>[][]> {
  const out: Record<string, unknown>[][] = new Array(queries.length);
  const dbs = [...new Set(queries.map((q) => q.db))];
  await Promise.all(
    dbs.map(async (db) => {
      const mine = queries.map((q, at) => ({ q, at })).filter(({ q }) => q.db === db);
      const statements: IndexStatement[] = mine.map(({ q }) => db.prepare(q.sql).bind(...q.bindings));
      const results = await db.batch([...statements, db.prepare(REPLICA_QUERIES.marker)]);
      const epoch = (results[results.length - 1].results[0] as { epoch: number } | undefined)?.epoch ?? -1;
      if (epoch < atLeast) throw busy(`a database of the replica is at epoch ${epoch}, not ${atLeast}: a row`);
      mine.forEach(({ at }, i) => (out[at] = results[i].results as Record<string, unknown>[]));
    }),
  );
  return out;
}

/** `items` in runs of at most `n`. */
const runsOf = <T>(items: T[], n: number) =>
  Array.from({ length: Math.ceil(items.length / n) }, (_, i) => items.slice(i * n, (i + 1) * n));

/** The newest row at or before ?2 of each (depth, path), in order (the values as literals, ordinals first). */
function prefixNodesQuery(names: { depth: number; path: Uint8Array }[]): string {
  const values = names.map((n, i) => `(${i}, ${n.depth}, X'${toHex(n.path)}')`).join(', ');
  return (
    'SELECT w.column1 AS i, (SELECT node FROM ktr_prefix_nodes n WHERE n.provider = ?1 AND n.depth = w.column2 ' +
    'AND n.path = w.column3 AND n.position <= ?2 ORDER BY n.position DESC LIMIT 1) AS node ' +
    `FROM (VALUES ${values}) AS w ORDER BY w.column1`
  );
}

/** Each label's greatest version plus one (0: none), in order. */
function versionCountsQuery(labels: Uint8Array[]): string {
  const values = labels.map((l, i) => `(${i}, X'${toHex(l)}')`).join(', ');
  return (
    'SELECT w.column1 AS i, (SELECT COALESCE(MAX(version) + 1, 0) FROM ktr_versions v WHERE v.provider = ?1 ' +
    `AND v.label = w.column2) AS n FROM (VALUES ${values}) AS w ORDER BY w.column1`
  );
}

/** What a walk met that neither the object nor the fetched rows hold: nodes with a key through them, labels. */
interface Wants {
  nodes: Map<string, { depth: number; key: Uint8Array }>;
  labels: Map<string, Uint8Array>;
}

const nameOf = (depth: number, path: Uint8Array) => `${depth}:${toHex(path)}`;

/** The names a round reads for a node missed at `depth` on `key`'s path: PATH_DEPTHS depths and their siblings. */
function pathNames(depth: number, key: Uint8Array, into: Map<string, { depth: number; path: Uint8Array }>): void {
  const add = (d: number, k: Uint8Array) => {
    const path = pathOf(k, d);
    into.set(nameOf(d, path), { depth: d, path });
  };
  for (let d = depth; d < Math.min(depth + PATH_DEPTHS, 8 * key.length); d++) {
    add(d, key);
    if (d > 0) add(d, siblingKey(key, d));
  }
}

/** `items` grouped by the database `dbOf` puts each in. */
function groupBy<T>(items: T[], dbOf: (item: T) => IndexDatabase): [IndexDatabase, T[]][] {
  const out = new Map<IndexDatabase, T[]>();
  for (const item of items) {
    const db = dbOf(item);
    const group = out.get(db);
    if (group) group.push(item);
    else out.set(db, [item]);
  }
  return [...out];
}

export class EdgeDeploymentStore implements DeploymentStore {
  /**
   * Rows of the newest tree fetched from D1 since the last append and the last trim: prefix-tree nodes by
   * name, version counts. D1's row of a name the object holds may be older than the object's (D1 not yet at
   * the epoch that wrote it): the object's row answers while it is held, and once a trim deletes it, D1 has
   * it too, so what was fetched before the trim is forgotten (`fresh`) and read again.
   */
  private readonly nodes = new Map<string, PrefixNode>();
  private readonly counts = new Map<string, number>();
  /** Appends by this instance: a round that saw this change is fetched again. */
  private appends = 0;
  /** The replica's trim count when `nodes` and `counts` were last known fresh. */
  private trimsSeen: number;
  /** While `settle` runs a walk: what it met. */
  private meeting: Wants | null = null;

  constructor(
    private readonly own: SqlDeploymentStore,
    private readonly provider: string,
    private readonly layout: IndexLayout,
    private readonly replica: ReplicaState,
  ) {
    this.trimsSeen = replica.trims;
  }

  size = () => this.own.size();
  erase = (label: Uint8Array, version: number) => this.own.erase(label, version);

  entry(position: number): LogEntry {
    const kept = () => position === this.own.size() - 1; // the last entry (object-trim.ts)
    return this.held(() => this.own.entry(position), `log entry ${position}`, kept);
  }

  treeHead(treeSize: number): TreeHead {
    return this.held(
      () => this.own.treeHead(treeSize),
      `head ${treeSize}`,
      () => treeSize === this.own.size(),
    );
  }

  logNode(level: number, index: number): Uint8Array {
    // The right edge is kept: the balanced subtrees of the size (object-trim.ts), as log-append.ts names them.
    const kept = () =>
      fullSubtreeRanges(this.own.size()).some(
        ({ start, end }) => levelOf(end - start) === level && start / (end - start) === index,
      );
    return this.held(() => this.own.logNode(level, index), 'a log subtree', kept);
  }

  /**
   * `read` of a log row. Once the object trimmed, a row it does not keep is in D1 only: `busy`. A row it keeps
   * (`kept`, asked only when the row is missing: the last entry and the log tree's right edge, which the next
   * append reads) that is missing is the store's corruption, and stays `deployment_corrupt`, never a lasting 503.
   */
  private held<T>(read: () => T, what: string, kept: () => boolean): T {
    try {
      return read();
    } catch (e) {
      const missing = e instanceof DeploymentError && e.code === 'deployment_corrupt';
      if (missing && this.replica.trimmed && !kept()) throw busy(what);
      throw e;
    }
  }

  prefixNode(depth: number, path: Uint8Array, position: number, key?: Uint8Array): PrefixNode {
    const held = this.own.heldPrefixNode(depth, path, position);
    if (held || !this.replica.trimmed) return held ?? { kind: 'empty' };
    this.fresh();
    const name = nameOf(depth, path);
    const newest = position === this.own.size() - 1; // fetched rows are the newest tree's
    const fetched = newest ? this.nodes.get(name) : undefined;
    if (fetched) return fetched;
    if (!this.meeting || !newest || !key) throw busy(`the prefix-tree node ${name}`);
    this.meeting.nodes.set(name, { depth, key });
    return { kind: 'empty' }; // a stand-in: the walk goes on, to meet what else it misses (see `meet`)
  }

  versionCount(label: Uint8Array): number {
    const held = this.own.versionCount(label);
    if (held > 0 || !this.replica.trimmed) return held;
    this.fresh();
    const fetched = this.counts.get(toHex(label));
    if (fetched !== undefined) return fetched;
    if (!this.meeting) throw busy("a label's versions");
    this.meeting.labels.set(toHex(label), label);
    return 0; // a stand-in (see `meet`)
  }

  versions(label: Uint8Array, position: number | null): StoredVersion[] {
    if (this.replica.trimmed) throw busy("a label's versions");
    return this.own.versions(label, position);
  }

  append(a: DeploymentAppend): void {
    this.own.append(a);
    this.appends++;
    this.nodes.clear();
    this.counts.clear();
  }

  /** Forgets the fetched rows if the object trimmed since they were fetched (see `nodes`). */
  private fresh(): void {
    if (this.replica.trims === this.trimsSeen) return;
    this.trimsSeen = this.replica.trims;
    this.nodes.clear();
    this.counts.clear();
  }

  /**
   * Runs `walk` until it misses nothing, fetching what it missed between runs (at most MAX_ROUNDS fetches, then
   * one last run). If it still misses rows and some round was lost to an append or a trim, that is `busy` (try
   * later); if every round fetched and kept what it read, `deployment_corrupt`.
   */
  async settle(walk: () => void): Promise<void> {
    let raced = false;
    for (let round = 0; ; round++) {
      const wants = this.meet(walk);
      if (wants.nodes.size + wants.labels.size === 0) return;
      if (round === MAX_ROUNDS) break;
      const { appends } = this;
      const { trims } = this.replica;
      const fetched = await this.fetch(wants);
      // A newer tree since, or a trim that may have deleted a held row newer than D1's answer: fetched again.
      if (appends !== this.appends || trims !== this.replica.trims) {
        raced = true;
        continue;
      }
      this.fresh();
      for (const [name, node] of fetched.nodes) this.nodes.set(name, node);
      for (const [name, n] of fetched.counts) this.counts.set(name, n);
    }
    if (raced) throw busy('the rows of a KEYTRANS epoch (the object appended or trimmed while they were read)');
    throw new DeploymentError('deployment_corrupt', 'the reads of a KEYTRANS epoch did not settle');
  }

  /**
   * What `walk` meets that is neither held nor fetched. Each such read is given a stand-in (an empty node, no
   * versions) so that one run meets what every key of the step misses, not only the first; a run that met one is
   * only for its misses: what it returned or threw is thrown away.
   */
  private meet(walk: () => void): Wants {
    const wants: Wants = { nodes: new Map(), labels: new Map() };
    this.meeting = wants;
    try {
      walk();
    } catch (e) {
      if (wants.nodes.size + wants.labels.size === 0) throw e;
    } finally {
      this.meeting = null;
    }
    return wants;
  }

  /** D1's rows of `wants` in the newest tree (each missed node with the names below it, `pathNames`). */
  private async fetch(wants: Wants): Promise<{ nodes: Map<string, PrefixNode>; counts: Map<string, number> }> {
    const atLeast = this.replica.replicatedEpoch;
    if (atLeast === undefined) throw busy('a row (not replicated to since the object started)');
    const names = new Map<string, { depth: number; path: Uint8Array }>();
    let misses = 0;
    for (const { depth, key } of wants.nodes.values()) {
      if (misses++ === MISSES_PER_ROUND) break; // the rest in the next rounds
      pathNames(depth, key, names);
    }
    const position = this.own.size() - 1;
    const nodeRuns = groupBy([...names.values()], (n) => this.nodeDb(n.depth, n.path)).flatMap(([db, items]) =>
      runsOf(items, NAMES_PER_QUERY).map((run) => ({ db, run })),
    );
    const labelRuns = groupBy([...wants.labels.values()], (l) => this.labelDb(l)).flatMap(([db, items]) =>
      runsOf(items, LABELS_PER_QUERY).map((run) => ({ db, run })),
    );
    const rows = await runQueries(
      [
        ...nodeRuns.map(({ db, run }) => ({ db, sql: prefixNodesQuery(run), bindings: [this.provider, position] })),
        ...labelRuns.map(({ db, run }) => ({ db, sql: versionCountsQuery(run), bindings: [this.provider] })),
      ],
      atLeast,
    );
    const nodes = new Map<string, PrefixNode>();
    nodeRuns.forEach(({ run }, q) =>
      run.forEach((n, i) => {
        const node = rows[q][i]?.node as BlobColumn | null | undefined;
        nodes.set(nameOf(n.depth, n.path), node ? decodePrefixNode(blobBytes(node)) : { kind: 'empty' });
      }),
    );
    const counts = new Map<string, number>();
    labelRuns.forEach(({ run }, q) =>
      run.forEach((l, i) => counts.set(toHex(l), rows[nodeRuns.length + q][i]?.n as number)),
    );
    return { nodes, counts };
  }

  private nodeDb(depth: number, path: Uint8Array): IndexDatabase {
    const shard = keyTransNodeShard(depth, path, this.layout.bits);
    return shard < 0 ? this.layout.meta : this.layout.shards[shard];
  }

  private labelDb(label: Uint8Array): IndexDatabase {
    return this.layout.shards[keyTransLabelShard(this.provider, label, this.layout.bits)];
  }
}

/** Every provider's deployment in the object's database, each read through D1 once the object trimmed. */
export class EdgeDeploymentStores extends SqlDeploymentStores {
  constructor(
    storage: Pick<DoSqlStorage, 'sql' | 'transactionSync'>,
    private readonly layout: IndexLayout,
    private readonly replica: ReplicaState,
  ) {
    super(doKeyTransSql(storage));
  }

  override open(provider: string, config: Configuration): EdgeDeploymentStore {
    return new EdgeDeploymentStore(this.openSql(provider, config), provider, this.layout, this.replica);
  }

  /**
   * An epoch's anchor; once trimmed, the object keeps only the newest: an older epoch's (the served epoch, while
   * a newer one awaits its cosignatures) is in D1 only, so it is `busy` there, not the 404 of an epoch without one.
   */
  override anchor(epoch: number): KeyTransAnchor | null {
    const held = super.anchor(epoch);
    if (held || !this.replica.trimmed) return held;
    const newest = this.newestAnchorEpoch();
    if (newest !== null && newest > epoch) throw busy(`epoch ${epoch}'s KEYTRANS anchor`);
    return null;
  }
}
