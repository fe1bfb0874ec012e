/**
 * The operator's side of a KEYTRANS deployment's epoch (draft-ietf-keytrans-protocol-05, "Updating a Label" and
 * "Tree Head Signature"): each call appends exactly one log entry, even with no updates, so that every provider's
 * tree advances every directory epoch and the heads do not tell who published when. For each update, in order:
 * the next version of its label (versions are 0-based and dense), the provider's UpdateTBS signature checked in
 * thirdPartyManagement mode, a VRF proof of VrfInput{label, version}, a fresh random opening and the commitment
 * ("Commitment"). Then the new leaves go into the prefix tree (prefix-insert.ts), the LogEntry{timestamp, root}
 * into the log tree (log-append.ts), and the operator signs TreeHeadTBS. The caller writes it all with one atomic
 * `append`, which refuses a position that is no longer the store's size; nothing is written on any refusal.
 */
import { ed25519Sign } from '../../wasm-free-crypto/ed25519.js';
import { computeCommitment } from '../../verifier/keytrans/commitment.js';
import { KeyTransError } from '../../verifier/keytrans/errors.js';
import { logLeafHash } from '../../verifier/keytrans/log-tree.js';
import { verifyUpdateSignature } from '../../verifier/keytrans/signatures.js';
import { encodeTreeHeadTbs, encodeVrfInput } from '../../verifier/keytrans/signed-structures.js';
import type { CipherSuite } from '../../verifier/keytrans/suites.js';
import type { Configuration, TreeHead, UpdateValue } from '../../verifier/keytrans/types.js';
import { DeploymentError } from './deployment-error.js';
import type { DeploymentAppend, DeploymentStore } from './deployment-store.js';
import type { StoredVersion } from './deployment-view.js';
import { appendLogLeaf } from './log-append.js';
import { insertPrefixLeaves } from './prefix-insert.js';

/** What the operator signs and proves with. */
export interface DeploymentKeys {
  suite: CipherSuite;
  config: Configuration;
  /** The Ed25519 seed whose public key is config.signaturePublicKey. */
  headSecretKey: Uint8Array;
  /** The VRF output (VRF.Nh bytes, truncated as the suite says) and proof of an encoded VrfInput. */
  vrf(input: Uint8Array): Promise<{ output: Uint8Array; proof: Uint8Array }>;
}

/** One new version: its label and value (with the provider's signature in thirdPartyManagement mode). */
export interface LabelUpdate {
  label: Uint8Array;
  value: UpdateValue;
  /**
   * True when the caller has verified the value's signature for the version the update takes (deployments.ts:
   * at acceptance, or when the epoch takes it), so that it is not verified twice; absent, it is verified here.
   */
  signatureChecked?: boolean;
}

/** What an append committed. */
export interface AppendedHead {
  treeHead: TreeHead;
  root: Uint8Array;
  versions: { label: Uint8Array; version: StoredVersion }[];
}

const refuse = (message: string) => new DeploymentError('deployment_bad_update', message);

/** VRF proofs asked for at once. */
const VRF_CHUNK = 1_000;

/** Numbers each update's version and checks it against the configuration. */
function numberUpdates(store: DeploymentStore, config: Configuration, updates: readonly LabelUpdate[]): number[] {
  const next = new Map<string, number>();
  return updates.map(({ label, value, signatureChecked }) => {
    if (label.length > 255) throw refuse(`a label is at most 255 bytes, not ${label.length}`);
    const name = Array.from(label).join(',');
    const version = next.get(name) ?? store.versionCount(label);
    next.set(name, version + 1);
    if (signatureChecked) return version;
    try {
      verifyUpdateSignature(config, label, version, value);
    } catch (e) {
      if (!(e instanceof KeyTransError)) throw e;
      throw refuse(`version ${version} of a label: ${e.message}`);
    }
    return version;
  });
}

/** `length` random bytes, in as few calls as getRandomValues allows (65,536 bytes each). */
function randomOpenings(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += 65_536) crypto.getRandomValues(out.subarray(at, Math.min(length, at + 65_536)));
  return out;
}

/** The stored form of each update at `position`: VRF proof, opening and commitment. */
async function proveUpdates(
  keys: DeploymentKeys,
  updates: readonly LabelUpdate[],
  versions: readonly number[],
  position: number,
): Promise<AppendedHead['versions']> {
  // In chunks, so that a large epoch (after a restart, its proofs not begun at acceptance) never asks more of the
  // VRF prover at once than its queue takes.
  const proofs: { output: Uint8Array; proof: Uint8Array }[] = [];
  for (let at = 0; at < updates.length; at += VRF_CHUNK) {
    const chunk = updates.slice(at, at + VRF_CHUNK);
    const inputs = chunk.map((u, i) => encodeVrfInput({ label: u.label, version: versions[at + i] }));
    proofs.push(...(await Promise.all(inputs.map((input) => keys.vrf(input)))));
  }
  const n = keys.suite.openingLength;
  const openings = randomOpenings(n * updates.length);
  return updates.map((u, i) => {
    const opening = openings.slice(n * i, n * (i + 1));
    const version = versions[i];
    const commitment = computeCommitment(keys.suite, { opening, label: u.label, version, update: u.value });
    const { output: vrfOutput, proof: vrfProof } = proofs[i];
    return { label: u.label, version: { version, position, vrfOutput, vrfProof, commitment, opening, value: u.value } };
  });
}

/** One log entry, computed and signed, and the append that stores it. */
export interface PreparedEntry {
  append: DeploymentAppend;
  head: AppendedHead;
}

/**
 * Computes the log entry at `timestamp` (milliseconds) holding `updates` and signs its tree head; nothing is
 * written until the caller passes `append` to the store (which refuses it if another append came first). Refused
 * with DeploymentError.
 */
export async function prepareEntry(
  store: DeploymentStore,
  keys: DeploymentKeys,
  updates: readonly LabelUpdate[],
  timestamp: number,
): Promise<PreparedEntry> {
  const { suite, config } = keys;
  if (suite.id !== 0x0002 || config.ciphersuite !== 0x0002)
    throw refuse('the directory signs KEYTRANS heads with Ed25519 only (KT_128_SHA256_Ed25519)');
  const position = store.size();
  if (position > 0 && timestamp < store.entry(position - 1).timestamp)
    throw new DeploymentError('deployment_clock', 'a log entry cannot be earlier than the one before it');
  await store.settle?.(() => updates.forEach((u) => store.versionCount(u.label)));
  const versions = await proveUpdates(keys, updates, numberUpdates(store, config, updates), position);
  if (store.size() !== position) throw new DeploymentError('deployment_conflict', 'another append came first');
  const previous = position - 1;
  const leaves = versions.map(({ version: v }) => ({ vrfOutput: v.vrfOutput, commitment: v.commitment }));
  const insert = () =>
    insertPrefixLeaves(
      suite,
      (depth, path, key) => (previous < 0 ? { kind: 'empty' } : store.prefixNode(depth, path, previous, key)),
      leaves,
    );
  await store.settle?.(() => void insert()); // the new keys' paths, for an edge object (deployment-store.ts)
  if (store.size() !== position) throw new DeploymentError('deployment_conflict', 'another append came first');
  const prefix = insert();
  const entry = { timestamp, prefixTree: prefix.root };
  const log = appendLogLeaf(suite, (l, i) => store.logNode(l, i), position, logLeafHash(suite, entry));
  const headSignature = ed25519Sign(keys.headSecretKey, encodeTreeHeadTbs(config, position + 1, log.root));
  const append = { position, entry, headSignature, logNodes: log.rows, prefixNodes: prefix.rows, versions };
  return { append, head: { treeHead: { treeSize: position + 1, signature: headSignature }, root: log.root, versions } };
}
