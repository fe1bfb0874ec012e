/**
 * A responder's answer over a deployment whose rows come from an asynchronous store (D1, on the Worker's isolates),
 * though the responders (search-responder.ts and the others) and the provers read a `DeploymentView`
 * synchronously. The answer is gathered in rounds: the responder runs over what has been fetched so far; every
 * read it makes of a row not yet fetched is recorded and answered with a stand-in (a zero timestamp and hash, an
 * empty prefix-tree node, no versions), so that one run records many of the reads it needs; the recorded reads
 * are fetched in one batch; and the responder runs again, until a run reads nothing new. Only that run's result
 * (or refusal) is the answer: a run that met a stand-in is thrown away, whatever it returned or threw. A
 * prefix-tree read fetches the rest of its key's path in the same round (the node at each depth from there to the
 * path's end and its sibling, which a proof hashes), so one proof costs about one round, not one per depth. The
 * rounds are bounded: a deployment whose reads never settle is 'deployment_corrupt'.
 */
import type { CipherSuite } from '../../verifier/keytrans/suites.js';
import type { PrefixNode } from '../../verifier/keytrans/tree-readers.js';
import type { Configuration, LogEntry, TreeHead } from '../../verifier/keytrans/types.js';
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { DeploymentError } from './deployment-error.js';
import { pathOf, siblingKey } from './deployment-store.js';
import type { DeploymentView, StoredVersion } from './deployment-view.js';

/** The reads one round fetches: log entries and subtrees by position, prefix-tree paths, labels' versions. */
export interface DeploymentWants {
  entries: number[];
  subtrees: { start: number; end: number }[];
  /** From `fromDepth` down along `key` in the prefix tree of entry `position`: each node and its sibling. */
  paths: { key: Uint8Array; position: number; fromDepth: number }[];
  labels: Uint8Array[];
}

/** The rows of one round, in the order of the wants. */
export interface DeploymentRows {
  entries: LogEntry[];
  subtrees: Uint8Array[];
  /**
   * Per path, from `fromDepth` on: the node on the key's path and, below the root, its sibling (the node at the
   * same depth across the last bit), until the first node on the path that is not a parent (included); a source
   * may stop sooner, at a bound of its own, and the rest is asked for in a later round.
   */
  paths: { node: PrefixNode; sibling: PrefixNode | null }[][];
  versions: StoredVersion[][];
}

/** An asynchronous store of one deployment's rows (at most the view's tree size: never a newer row). */
export interface DeploymentRowSource {
  fetch(wants: DeploymentWants): Promise<DeploymentRows>;
}

/** What the view shows besides the rows: the deployment's suite, configuration, signed head and search keys. */
export interface GatheredViewBase {
  suite: CipherSuite;
  config: Configuration;
  treeHead: TreeHead;
  searchKey: DeploymentView['searchKey'];
}

/** Runs a responder at most this many times. */
export const MAX_ROUNDS = 24;

const EMPTY: PrefixNode = { kind: 'empty' };

/** The fetched rows, by name, and the reads of the current run that missed them. */
class Gathered {
  readonly entries = new Map<number, LogEntry>();
  readonly subtrees = new Map<string, Uint8Array>();
  readonly nodes = new Map<string, PrefixNode>();
  readonly versions = new Map<string, StoredVersion[]>();
  wants: DeploymentWants = { entries: [], subtrees: [], paths: [], labels: [] };

  static nodeName = (position: number, key: Uint8Array, depth: number) =>
    `${position}/${depth}/${toHex(pathOf(key, depth))}`;

  missed(): boolean {
    const w = this.wants;
    return w.entries.length + w.subtrees.length + w.paths.length + w.labels.length > 0;
  }

  /** Files the rows of `wants` (a path's nodes by name, with their siblings) and clears the wants. */
  add(wants: DeploymentWants, rows: DeploymentRows): void {
    wants.entries.forEach((p, i) => this.entries.set(p, rows.entries[i]));
    wants.subtrees.forEach((s, i) => this.subtrees.set(`${s.start}/${s.end}`, rows.subtrees[i]));
    wants.labels.forEach((l, i) => this.versions.set(toHex(l), rows.versions[i]));
    wants.paths.forEach(({ key, position, fromDepth }, i) =>
      rows.paths[i].forEach(({ node, sibling }, j) => {
        const depth = fromDepth + j;
        this.nodes.set(Gathered.nodeName(position, key, depth), node);
        if (sibling && depth > 0) this.nodes.set(Gathered.nodeName(position, siblingKey(key, depth), depth), sibling);
      }),
    );
    this.wants = { entries: [], subtrees: [], paths: [], labels: [] };
  }
}

/** `wants` with each read once (a run may make one read several times). */
function distinct(wants: DeploymentWants): DeploymentWants {
  const once = <T>(items: T[], name: (t: T) => string) => [...new Map(items.map((t) => [name(t), t])).values()];
  return {
    entries: [...new Set(wants.entries)],
    subtrees: once(wants.subtrees, (s) => `${s.start}/${s.end}`),
    paths: once(wants.paths, (p) => `${p.position}/${p.fromDepth}/${toHex(p.key)}`),
    labels: once(wants.labels, toHex),
  };
}

/** The view over what `g` holds; each read it does not hold is recorded and answered with a stand-in. */
function gatheredView(base: GatheredViewBase, g: Gathered): DeploymentView {
  const zero = new Uint8Array(base.suite.hashLength);
  return {
    ...base,
    entry: (p) => g.entries.get(p) ?? (g.wants.entries.push(p), { timestamp: 0, prefixTree: zero }),
    logHashes: {
      subtree: (start, end) => g.subtrees.get(`${start}/${end}`) ?? (g.wants.subtrees.push({ start, end }), zero),
    },
    prefixAt: (position) => ({
      node: (key, depth) =>
        g.nodes.get(Gathered.nodeName(position, key, depth)) ??
        (g.wants.paths.push({ key: key.slice(), position, fromDepth: depth }), EMPTY),
    }),
    versions: (label) => g.versions.get(toHex(label)) ?? (g.wants.labels.push(label.slice()), []),
  };
}

/**
 * `respond`'s answer over the deployment `base` shows, its rows from `source` (see the file comment). A refusal
 * of the run that read nothing new is thrown as it is.
 */
export async function gatherAnswer<T>(
  base: GatheredViewBase,
  source: DeploymentRowSource,
  respond: (view: DeploymentView) => T,
  maxRounds = MAX_ROUNDS,
): Promise<T> {
  const g = new Gathered();
  for (let round = 0; round < maxRounds; round++) {
    let answer: { ok: T } | { error: unknown };
    try {
      answer = { ok: respond(gatheredView(base, g)) };
    } catch (error) {
      answer = { error };
    }
    if (!g.missed()) {
      if ('error' in answer) throw answer.error;
      return answer.ok;
    }
    const wants = distinct(g.wants);
    g.add(wants, await source.fetch(wants));
  }
  throw new DeploymentError('deployment_corrupt', `the deployment's rows did not settle in ${maxRounds} rounds`);
}
