/**
 * The KEYTRANS deployment's writer and stores (log/keytrans/): 40 epochs in each mode, checked after every epoch
 * against an independent recomputation with the client's own hashing (prefixTreeRoot over every leaf so far,
 * logRoot over every entry so far, the head's signature); prefix proofs at every earlier position over the stored
 * view; every commitment opening; the SQLite store answering every read as the in-memory one does for the same
 * appends; and the refusals, which write nothing.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { DeploymentAppend, DeploymentStore } from '../../../log/keytrans/deployment-store.js';
import type { LabelUpdate } from '../../../log/keytrans/deployment-writer.js';
import { appendEpoch } from '../../helpers/keytrans-append.js';
import { SqliteDeploymentStores } from '../../../log/keytrans/sqlite-store.js';
import { storedView } from '../../../log/keytrans/stored-view.js';
import { verifyCommitment } from '../../../verifier/keytrans/commitment.js';
import { logLeafHash, logRoot } from '../../../verifier/keytrans/log-tree.js';
import { provePrefix } from '../../../verifier/keytrans/prefix-prove.js';
import { prefixTreeRoot, verifyPrefixProof } from '../../../verifier/keytrans/prefix-tree.js';
import { verifyTreeHeadSignature } from '../../../verifier/keytrans/signatures.js';
import { KT_128_SHA256_Ed25519 as SUITE } from '../../../verifier/keytrans/suites.js';
import type { Configuration, PrefixLeaf } from '../../../verifier/keytrans/types.js';
import { MemoryDeploymentStore } from '../../doubles/memory-deployment-store.js';
import { testConfig, testKeys, testUpdate } from '../../helpers/keytrans-keys.js';
import { prng } from '../../helpers/prng.js';

const text = (s: string) => new TextEncoder().encode(s);
const LABELS = Array.from({ length: 12 }, (_, i) => text(`alice${i}@example.org`));

/** A memory store whose appends are also written to a second store. */
class TeeStore extends MemoryDeploymentStore {
  constructor(readonly other: DeploymentStore) {
    super();
  }
  override append(a: DeploymentAppend): void {
    super.append(a);
    this.other.append(a);
  }
}

/** The updates of epoch `e`: none to four, on labels drawn from LABELS, numbered from `counts`. */
function epochUpdates(config: Configuration, random: () => number, counts: Map<number, number>): LabelUpdate[] {
  const n = Math.floor(random() * 5);
  return Array.from({ length: n }, () => {
    const i = Math.floor(random() * LABELS.length);
    const version = counts.get(i) ?? 0;
    counts.set(i, version + 1);
    return testUpdate(config, LABELS[i], version, text(`key ${i}.${version}`));
  });
}

async function runEpochs(mode: 'contactMonitoring' | 'thirdPartyManagement') {
  const config = testConfig(mode);
  const keys = testKeys(config);
  const sqlite = new SqliteDeploymentStores(new Database(':memory:')).open('example.org', config);
  const store = new TeeStore(sqlite);
  const random = prng(mode.length);
  const counts = new Map<number, number>();
  const leaves: PrefixLeaf[] = [];
  const entryHashes: Uint8Array[] = [];
  for (let e = 0; e < 40; e++) {
    const appended = await appendEpoch(store, keys, epochUpdates(config, random, counts), 1_000_000 + e * 1000);
    for (const { version: v } of appended.versions) leaves.push({ vrfOutput: v.vrfOutput, commitment: v.commitment });
    const entry = store.entry(e);
    expect(entry.prefixTree).toEqual(prefixTreeRoot(SUITE, leaves));
    entryHashes.push(logLeafHash(SUITE, entry));
    expect(appended.root).toEqual(logRoot(SUITE, entryHashes));
    expect(appended.treeHead.treeSize).toBe(e + 1);
    verifyTreeHeadSignature(config, appended.treeHead, appended.root);
  }
  for (const [i, n] of counts) expect([store.versionCount(LABELS[i]), sqlite.versionCount(LABELS[i])]).toEqual([n, n]);
  return { config, store, sqlite };
}

describe.each(['contactMonitoring', 'thirdPartyManagement'] as const)('a deployment in %s mode', (mode) => {
  it('stores trees whose roots, proofs and commitments the client recomputes at every size', async () => {
    const { config, store } = await runEpochs(mode);
    const view = storedView(store, SUITE, config, store.size(), () => {
      throw new Error('no search key is needed here');
    });
    const all = LABELS.flatMap((l) => view.versions(l));
    for (let p = 0; p < store.size(); p++) {
      const held = all.filter((v) => v.position <= p);
      const absent = all.filter((v) => v.position > p).slice(0, 3);
      const keys = [...held.slice(0, 6), ...absent].map((v) => v.vrfOutput);
      if (keys.length === 0) continue;
      const proof = provePrefix(SUITE, view.prefixAt(p), keys);
      const searches = [...held.slice(0, 6).map((v) => v.commitment), ...absent.map(() => null)].map((c, i) => ({
        vrfOutput: keys[i],
        commitment: c,
      }));
      verifyPrefixProof(SUITE, proof, searches, store.entry(p).prefixTree);
    }
    for (const label of LABELS)
      for (const v of view.versions(label)) {
        expect(v.opening).not.toBeNull();
        if (v.value === null || v.opening === null) throw new Error('unreachable');
        verifyCommitment(SUITE, v.commitment, { opening: v.opening, label, version: v.version, update: v.value });
      }
  });

  it('answers every read from SQLite as from memory', async () => {
    const { store, sqlite } = await runEpochs(mode);
    expect(sqlite.size()).toBe(store.size());
    for (let p = 0; p < store.size(); p++) {
      expect(sqlite.entry(p)).toEqual(store.entry(p));
      expect(sqlite.treeHead(p + 1)).toEqual(store.treeHead(p + 1));
      for (const [name, rows] of store.prefixNodes) {
        const [depth, hex] = name.split(':');
        const path = Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
        expect(sqlite.prefixNode(Number(depth), path, p)).toEqual(store.prefixNode(Number(depth), path, p));
        expect(rows.length).toBeGreaterThan(0);
      }
    }
    for (const name of store.logNodes.keys()) {
      const [level, index] = name.split(':').map(Number);
      expect(sqlite.logNode(level, index)).toEqual(store.logNode(level, index));
    }
    for (const label of LABELS)
      for (const p of [0, 10, null]) expect(sqlite.versions(label, p)).toEqual(store.versions(label, p));
  });
});

describe('refusals', () => {
  const managed = testConfig('thirdPartyManagement');
  const contact = testConfig('contactMonitoring');
  const label = text('bob@example.org');

  async function refused(store: DeploymentStore, config: Configuration, updates: LabelUpdate[], code: string, t = 5) {
    const before = store.size();
    await expect(appendEpoch(store, testKeys(config), updates, t)).rejects.toMatchObject({ code });
    expect(store.size()).toBe(before);
  }

  it('refuses updates that do not fit the configuration, writing nothing', async () => {
    const store = new MemoryDeploymentStore();
    await appendEpoch(store, testKeys(managed), [testUpdate(managed, label, 0, text('v0'))], 1);
    const long = new Uint8Array(256).fill(0x61);
    await refused(store, contact, [testUpdate(contact, long, 0, text('v'))], 'deployment_bad_update');
    await refused(store, managed, [{ label, value: { value: text('v1'), suffix: {} } }], 'deployment_bad_update');
    // signed for version 0, but the label's next version is 1
    await refused(store, managed, [testUpdate(managed, label, 0, text('v1'))], 'deployment_bad_update');
    const forged = testUpdate(managed, label, 1, text('v1'));
    forged.value.suffix.signature?.set([forged.value.suffix.signature[0] ^ 1], 0);
    await refused(store, managed, [forged], 'deployment_bad_update');
    const contactStore = new MemoryDeploymentStore();
    await refused(contactStore, contact, [testUpdate(managed, label, 0, text('v'))], 'deployment_bad_update');
    await refused(new MemoryDeploymentStore(), { ...contact, ciphersuite: 0x0001 }, [], 'deployment_bad_update');
  });

  it('does not verify again a signature its caller marks checked (deployments.ts verifies each once)', async () => {
    const store = new MemoryDeploymentStore();
    const update = testUpdate(managed, label, 0, text('v0'));
    update.value.suffix.signature?.set([update.value.suffix.signature[0] ^ 1], 0); // would be refused unmarked
    await refused(store, managed, [update], 'deployment_bad_update');
    const appended = await appendEpoch(store, testKeys(managed), [{ ...update, signatureChecked: true }], 1);
    expect(appended.versions.map((v) => v.version.version)).toEqual([0]);
  });

  it('refuses a clock that went back, and an append that lost a race', async () => {
    const store = new MemoryDeploymentStore();
    await appendEpoch(store, testKeys(contact), [], 1000);
    await refused(store, contact, [], 'deployment_clock', 999);
    const first = appendEpoch(store, testKeys(contact), [testUpdate(contact, label, 0, text('a'))], 2000);
    const second = appendEpoch(store, testKeys(contact), [testUpdate(contact, label, 0, text('b'))], 2000);
    await first;
    await expect(second).rejects.toMatchObject({ code: 'deployment_conflict' });
    expect([store.size(), store.versionCount(label)]).toEqual([2, 1]);
  });

  it('leaves the deployment as it was when the append fails, and goes on after', async () => {
    const store = new MemoryDeploymentStore();
    await appendEpoch(store, testKeys(contact), [testUpdate(contact, label, 0, text('a'))], 1);
    store.failNextAppend = true;
    await expect(appendEpoch(store, testKeys(contact), [testUpdate(contact, label, 1, text('b'))], 2)).rejects.toThrow(
      'injected fault',
    );
    expect([store.size(), store.versionCount(label)]).toEqual([1, 1]);
    const next = await appendEpoch(store, testKeys(contact), [testUpdate(contact, label, 1, text('b'))], 3);
    expect(next.versions[0].version.version).toBe(1);
  });

  it('erases an opening and value, keeping the commitment, in both stores', async () => {
    const db = new Database(':memory:');
    for (const store of [new MemoryDeploymentStore(), new SqliteDeploymentStores(db).open('example.org', contact)]) {
      await appendEpoch(store, testKeys(contact), [testUpdate(contact, label, 0, text('a'))], 1);
      await appendEpoch(store, testKeys(contact), [testUpdate(contact, label, 1, text('b'))], 2);
      const [v0] = store.versions(label, null);
      expect(store.erase(label, 0)).toBe(true);
      expect(store.erase(label, 7)).toBe(false);
      const [erased, kept] = store.versions(label, null);
      expect(erased).toEqual({ ...v0, opening: null, value: null });
      expect(kept.value?.value).toEqual(text('b'));
      expect(store.versionCount(label)).toBe(2);
    }
  });

  it('reopens a stored deployment under its configuration, and refuses another', () => {
    const db = new Database(':memory:');
    new SqliteDeploymentStores(db).open('example.org', contact);
    expect(new SqliteDeploymentStores(db).open('example.org', contact).size()).toBe(0);
    expect(() => new SqliteDeploymentStores(db).open('example.org', managed)).toThrow(
      expect.objectContaining({ code: 'deployment_corrupt' }),
    );
    expect(new SqliteDeploymentStores(db).open('other.example', managed).size()).toBe(0);
  });
});

describe('a large epoch', () => {
  it('takes more updates than one getRandomValues call fills openings for (5,000 in one entry)', async () => {
    const config = testConfig('contactMonitoring');
    const keys = {
      ...testKeys(config),
      vrf: async () => ({ output: crypto.getRandomValues(new Uint8Array(32)), proof: new Uint8Array(80) }),
    };
    const store = new MemoryDeploymentStore();
    const updates = Array.from({ length: 5000 }, (_, i) => testUpdate(config, text(`u${i}`), 0, text(`v${i}`)));
    const appended = await appendEpoch(store, keys, updates, 1);
    const leaves = appended.versions.map(({ version: v }) => ({ vrfOutput: v.vrfOutput, commitment: v.commitment }));
    expect(store.entry(0).prefixTree).toEqual(prefixTreeRoot(SUITE, leaves));
    const openings = new Set(appended.versions.map(({ version: v }) => Array.from(v.opening ?? []).join()));
    expect(openings.size).toBe(5000);
  });
});
