/**
 * An in-memory KEYTRANS DeploymentStore for tests (log/keytrans/deployment-store.ts): maps keyed as the SQLite
 * tables are, the same size check inside `append`, and a fault that refuses the next append before it writes
 * anything, so that tests see a failed epoch leave the deployment as it was.
 */
import { DeploymentError } from '../../log/keytrans/deployment-error.js';
import type { DeploymentAppend, DeploymentStore, StoredPrefixNode } from '../../log/keytrans/deployment-store.js';
import type { StoredVersion } from '../../log/keytrans/deployment-view.js';
import type { PrefixNode } from '../../verifier/keytrans/tree-readers.js';
import type { LogEntry, TreeHead } from '../../verifier/keytrans/types.js';
import { toHex } from '../../wasm-free-crypto/bytes.js';

const missing = (what: string) => new DeploymentError('deployment_corrupt', `${what} is not stored`);

export class MemoryDeploymentStore implements DeploymentStore {
  readonly entries: { entry: LogEntry; headSignature: Uint8Array }[] = [];
  readonly logNodes = new Map<string, Uint8Array>();
  /** Per node name, its rows in position order. */
  readonly prefixNodes = new Map<string, { position: number; node: StoredPrefixNode }[]>();
  readonly labels = new Map<string, StoredVersion[]>();
  /** Refuse the next append before it writes anything. */
  failNextAppend = false;

  size(): number {
    return this.entries.length;
  }

  entry(position: number): LogEntry {
    const e = this.entries[position];
    if (!e) throw missing(`log entry ${position}`);
    return { timestamp: e.entry.timestamp, prefixTree: e.entry.prefixTree.slice() };
  }

  treeHead(treeSize: number): TreeHead {
    const e = this.entries[treeSize - 1];
    if (!e) throw missing(`the head of size ${treeSize}`);
    return { treeSize, signature: e.headSignature.slice() };
  }

  logNode(level: number, index: number): Uint8Array {
    const v = this.logNodes.get(`${level}:${index}`);
    if (!v) throw missing(`log subtree (${level}, ${index})`);
    return v.slice();
  }

  prefixNode(depth: number, path: Uint8Array, position: number): PrefixNode {
    const rows = this.prefixNodes.get(`${depth}:${toHex(path)}`) ?? [];
    const row = rows.filter((r) => r.position <= position).at(-1);
    return row ? structuredClone(row.node) : { kind: 'empty' };
  }

  versionCount(label: Uint8Array): number {
    return this.labels.get(toHex(label))?.length ?? 0;
  }

  versions(label: Uint8Array, position: number | null): StoredVersion[] {
    const all = this.labels.get(toHex(label)) ?? [];
    return structuredClone(all.filter((v) => position === null || v.position <= position));
  }

  append(a: DeploymentAppend): void {
    if (this.failNextAppend) {
      this.failNextAppend = false;
      throw new Error('injected fault: the append failed before writing');
    }
    if (a.position !== this.size())
      throw new DeploymentError('deployment_conflict', `the deployment is no longer at size ${a.position}`);
    const copy = structuredClone(a);
    this.entries.push({ entry: copy.entry, headSignature: copy.headSignature });
    for (const n of copy.logNodes) this.logNodes.set(`${n.level}:${n.index}`, n.value);
    for (const n of copy.prefixNodes) {
      const name = `${n.depth}:${toHex(n.path)}`;
      this.prefixNodes.set(name, [...(this.prefixNodes.get(name) ?? []), { position: a.position, node: n.node }]);
    }
    for (const { label, version } of copy.versions) {
      const name = toHex(label);
      this.labels.set(name, [...(this.labels.get(name) ?? []), version]);
    }
  }

  erase(label: Uint8Array, version: number): boolean {
    const v = this.labels.get(toHex(label))?.[version];
    if (!v) return false;
    v.opening = null;
    v.value = null;
    return true;
  }
}
