/**
 * A KEYTRANS deployment in memory for the responders' tests (log/keytrans/deployment-view.ts): built from a script
 * of epochs, each one log entry (draft-ietf-keytrans-protocol-05 "Log Tree") at its own time, in which the labels
 * the script names get their next version. Every version has its VRF output and proof (the repository's
 * ECVRF-EDWARDS25519-SHA512-TAI, truncated to 32 bytes as suites.ts says), a random 16-byte opening and its
 * commitment (commitment.ts); in thirdPartyManagement mode its UpdateValue carries the leaf key's Ed25519
 * signature over UpdateTBS. Each log entry's prefix tree holds every version up to it (memory-prefix-tree.ts), the
 * log tree is memory-log-tree.ts, and a view at any size signs its tree head with Ed25519 over TreeHeadTBS. Keys
 * and openings come from a seed, so a failing test reproduces. KT_128_SHA256_Ed25519 only.
 */
import type { DeploymentView, SearchKey, StoredVersion } from '../../log/keytrans/deployment-view.js';
import { computeCommitment } from '../../verifier/keytrans/commitment.js';
import { logLeafHash, logRoot } from '../../verifier/keytrans/log-tree.js';
import { encodeTreeHeadTbs, encodeUpdateTbs, encodeVrfInput } from '../../verifier/keytrans/signed-structures.js';
import { KT_128_SHA256_Ed25519 } from '../../verifier/keytrans/suites.js';
import type {
  Configuration,
  DeploymentMode,
  LogEntry,
  PrefixLeaf,
  UpdateValue,
} from '../../verifier/keytrans/types.js';
import { toHex, utf8 } from '../../wasm-free-crypto/bytes.js';
import { publicKeyFor, signSync } from '../../wasm-free-crypto/signatures.js';
import { vrfEvaluate, vrfPublicKey } from '../../wasm-free-crypto/vrf.js';
import { MemoryLogTree } from './memory-log-tree.js';
import { MemoryPrefixTree } from './memory-prefix-tree.js';
import { prng } from './prng.js';

/** The time of the first epoch, and the time between epochs (milliseconds). */
export const EPOCH_ZERO = 1_767_225_600_000;
export const EPOCH_INTERVAL = 2_500;

export interface DeploymentScript {
  mode: Extract<DeploymentMode, 'contactMonitoring' | 'thirdPartyManagement'>;
  /** Per epoch, the labels that get a new version in it (none: an epoch that only advances the tree). */
  epochs: string[][];
  seed?: number;
  maximumLifetime?: number | null;
  reasonableMonitoringWindow?: number;
}

/** A deployment with every epoch of its script committed; `view(n)` shows it at tree size n. */
export class MemoryDeployment {
  readonly suite = KT_128_SHA256_Ed25519;
  readonly config: Configuration;
  private readonly random: () => number;
  private readonly signatureKey: Uint8Array;
  private readonly vrfKey: Uint8Array;
  private readonly leafKey: Uint8Array;
  private readonly stored = new Map<string, StoredVersion[]>();
  private readonly keys = new Map<string, SearchKey>();
  private readonly entries: LogEntry[] = [];
  private readonly trees: MemoryPrefixTree[] = [];
  private readonly logLeaves: Uint8Array[] = [];
  private readonly views = new Map<number, DeploymentView>();

  constructor(script: DeploymentScript) {
    this.random = prng(script.seed ?? 1);
    [this.signatureKey, this.vrfKey, this.leafKey] = [this.bytes(32), this.bytes(32), this.bytes(32)];
    this.config = {
      ciphersuite: this.suite.id,
      mode: script.mode,
      signaturePublicKey: publicKeyFor('ed25519', this.signatureKey),
      vrfPublicKey: vrfPublicKey(this.vrfKey),
      ...(script.mode === 'thirdPartyManagement' ? { leafPublicKey: publicKeyFor('ed25519', this.leafKey) } : {}),
      maxAhead: 5_000,
      maxBehind: 60_000,
      reasonableMonitoringWindow: script.reasonableMonitoringWindow ?? 10_000,
      maximumLifetime: script.maximumLifetime ?? null,
    };
    const leaves: PrefixLeaf[] = [];
    script.epochs.forEach((labels, position) => {
      for (const label of labels) leaves.push(this.addVersion(utf8(label), position));
      const tree = new MemoryPrefixTree(this.suite, leaves);
      const entry = { timestamp: EPOCH_ZERO + position * EPOCH_INTERVAL, prefixTree: tree.root };
      this.trees.push(tree);
      this.entries.push(entry);
      this.logLeaves.push(logLeafHash(this.suite, entry));
    });
  }

  /** The number of log entries. */
  get size(): number {
    return this.entries.length;
  }

  /** A clock for a client verifying a response at tree size `size`: just after its rightmost entry. */
  now(size: number): number {
    return this.entries[size - 1].timestamp + 500;
  }

  /** The timestamp of the log entry at `position`. */
  timestamp(position: number): number {
    return this.entries[position].timestamp;
  }

  /** Erases a version's opening and value; its commitment stays in the prefix trees. */
  erase(label: string, version: number): void {
    const v = this.stored.get(toHex(utf8(label)))![version];
    v.opening = null;
    v.value = null;
  }

  /** The deployment as its responders read it at tree size `size` (made once: its versions are read live). */
  view(size: number): DeploymentView {
    if (size < 1 || size > this.size) throw new Error(`no view of ${size} entries`);
    let view = this.views.get(size);
    if (!view) this.views.set(size, (view = this.makeView(size)));
    return view;
  }

  private makeView(size: number): DeploymentView {
    const leaves = this.logLeaves.slice(0, size);
    const tbs = encodeTreeHeadTbs(this.config, size, logRoot(this.suite, leaves));
    const within = (p: number) => {
      if (!Number.isSafeInteger(p) || p < 0 || p >= size) throw new Error(`log entry ${p} is outside the view`);
      return p;
    };
    return {
      suite: this.suite,
      config: this.config,
      treeHead: { treeSize: size, signature: signSync('ed25519', this.signatureKey, tbs) },
      entry: (p) => this.entries[within(p)],
      logHashes: new MemoryLogTree(this.suite, leaves),
      prefixAt: (p) => this.trees[within(p)],
      versions: (label) =>
        (this.stored.get(toHex(label)) ?? []).filter((v) => v.position < size).map((v) => ({ ...v })),
      searchKey: (label, version) => this.searchKey(label, version),
    };
  }

  /** The VRF output (truncated to 32 bytes) and proof of VrfInput{label, version}, computed once. */
  searchKey(label: Uint8Array, version: number): SearchKey {
    const id = `${toHex(label)}:${version}`;
    let key = this.keys.get(id);
    if (!key) {
      const { proof, output } = vrfEvaluate(this.vrfKey, encodeVrfInput({ label, version }));
      key = { vrfOutput: output.slice(0, 32), vrfProof: proof };
      this.keys.set(id, key);
    }
    return key;
  }

  private bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => Math.floor(this.random() * 256));
  }

  /** The label's next version, first held by the log entry at `position`; returns its prefix leaf. */
  private addVersion(label: Uint8Array, position: number): PrefixLeaf {
    const versions = this.stored.get(toHex(label)) ?? [];
    this.stored.set(toHex(label), versions);
    const version = versions.length;
    const value = utf8(`value ${version} of ${toHex(label)}`);
    const update: UpdateValue = { value, suffix: {} };
    if (this.config.mode === 'thirdPartyManagement')
      update.suffix.signature = signSync('ed25519', this.leafKey, encodeUpdateTbs(this.config, label, version, value));
    const opening = this.bytes(16);
    const commitment = computeCommitment(this.suite, { opening, label, version, update });
    const { vrfOutput, vrfProof } = this.searchKey(label, version);
    versions.push({ version, position, vrfOutput, vrfProof, commitment, opening, value: update });
    return { vrfOutput, commitment };
  }
}
