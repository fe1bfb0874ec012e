/**
 * The directory's KEYTRANS deployments, one per provider (docs/PROTOCOL.md section 22), as its epochs drive them
 * (log/directory/keytrans-hook.ts). The mapping: thirdPartyManagement mode, the provider's earliest enrolled
 * Ed25519 credential key as leaf_public_key (a provider with only P-256 credentials has no deployment: the
 * operator signs with Ed25519, and a suite fixes both), the account name as the label, the canonical binding
 * statement as the value, and statement version v as KEYTRANS version v - 1. A statement enters its provider's
 * deployment when it carries the provider's UpdateTBS signature and the deployment holds versions 0 to v - 2 of the
 * account; an account whose history began unsigned is not in KEYTRANS. Every deployment appends one log entry
 * every epoch, with or without updates, so that the heads do not tell which provider published when. The
 * configuration a deployment was made with is stored and kept for its life: its heads are signed under it. Once
 * the credential of its leaf key is revoked, the deployment is closed: it still advances, takes no update, and
 * its values are not served (they may be stale). The provider's UpdateTBS signature is verified once, at
 * acceptance, on WebCrypto (update-signature.ts); an epoch verifies again, with @noble, only an update its
 * acceptance in this process did not check (queued before a restart, or before the deployment).
 */
import type { Credential, CredentialRegistry } from '../directory/credentials.js';
import { equalBytes, toHex } from '../../wasm-free-crypto/bytes.js';
import { DirectoryError } from '../directory/errors.js';
import type {
  KeyTransAnchor,
  KeyTransHook,
  KeyTransUpdate,
  PreparedKeyTransEpoch,
} from '../directory/keytrans-hook.js';
import { decodeEntry } from '../../verifier/formats/entries.js';
import { decodeConfiguration, encodeVrfInput } from '../../verifier/keytrans/signed-structures.js';
import { KT_128_SHA256_Ed25519 } from '../../verifier/keytrans/suites.js';
import type { Configuration } from '../../verifier/keytrans/types.js';
import type { DeploymentStore, DeploymentStores } from './deployment-store.js';
import type { DeploymentView } from './deployment-view.js';
import { type DeploymentKeys, type LabelUpdate, prepareEntry } from './deployment-writer.js';
import type { OperatorKeys } from './operator-keys.js';
import { replicaRows } from './replica-rows.js';
import { SearchKeys } from './search-keys.js';
import { storedView } from './stored-view.js';
import { updateSignatureFits, updateSignatureVerifies } from './update-signature.js';

/** The clock bounds and windows every deployment's configuration carries (milliseconds). */
export const DEPLOYMENT_WINDOWS = {
  maxAhead: 60_000,
  maxBehind: 86_400_000,
  reasonableMonitoringWindow: 86_400_000,
  maximumLifetime: null,
} as const;

interface Deployment {
  store: DeploymentStore;
  keys: DeploymentKeys;
  operator: OperatorKeys;
}

const text = new TextEncoder();

/** Search keys of versions the trees do not hold, kept once computed (each a VRF proof, about 5 ms). */
const SEARCH_KEY_CACHE = 10_000;

/** VRF proofs begun at acceptance and not yet taken by an epoch, at most (the rest are proven at the epoch). */
const MAX_EARLY_PROOFS = 100_000;

export class KeyTransDeployments implements KeyTransHook {
  private readonly byProvider = new Map<string, Deployment>();
  /**
   * VRF proofs of accepted updates, begun at acceptance (by provider and encoded VrfInput), so that the proofs, the
   * cost of a KEYTRANS rotation, run on the VRF threads while submissions go on and earlier epochs commit; an
   * epoch takes them (or proves what it does not find).
   */
  private readonly early = new Map<
    string,
    { statement: Uint8Array; signature: Uint8Array; proof: Promise<{ output: Uint8Array; proof: Uint8Array }> }
  >();
  /** The search keys the responders asked for. */
  private readonly searchKeys = new SearchKeys(SEARCH_KEY_CACHE);

  /**
   * `credentials` gives the directory's credentials now (the sequencer's registry, or a reader's): a deployment
   * whose leaf credential is revoked is closed.
   */
  constructor(
    private readonly stores: DeploymentStores,
    private readonly keysOf: (providerId: string) => OperatorKeys,
    private readonly credentials: () => readonly Credential[],
  ) {
    for (const [provider, bytes] of stores.configured()) this.add(provider, decodeConfiguration(bytes));
  }

  private add(provider: string, config: Configuration): Deployment {
    const operator = this.keysOf(provider);
    const vrf = (input: Uint8Array) => {
      const name = vrfName(provider, input);
      const begun = this.early.get(name);
      this.early.delete(name);
      return begun?.proof ?? operator.vrfWrite(input);
    };
    const keys = { suite: KT_128_SHA256_Ed25519, config, headSecretKey: operator.headSecretKey, vrf };
    const deployment = { store: this.stores.open(provider, config), keys, operator };
    this.byProvider.set(provider, deployment);
    return deployment;
  }

  /** The providers with a deployment, in the order they were made. */
  providers(): string[] {
    return [...this.byProvider.keys()];
  }

  /**
   * `provider`'s deployment, reading the stored ones again if it is not known: a reader process learns so of the
   * deployments the sequencer made since it opened.
   */
  private deployment(provider: string): Deployment | undefined {
    const known = this.byProvider.get(provider);
    if (known) return known;
    const bytes = this.stores.configured().get(provider);
    return bytes ? this.add(provider, decodeConfiguration(bytes)) : undefined;
  }

  /** The configuration of `provider`'s deployment, or undefined if it has none. */
  config(provider: string): Configuration | undefined {
    return this.deployment(provider)?.keys.config;
  }

  /** The anchor of `epoch`: its KEYTRANS heads entry with its inclusion proof (null: none that epoch). */
  anchor(epoch: number): KeyTransAnchor | null {
    return this.stores.anchor(epoch);
  }

  /**
   * `provider`'s deployment at the tree head that `epoch` anchored (the served epoch's: every answer is then over
   * a head the witnessed checkpoint fixes), or undefined if it had none then.
   */
  view(provider: string, epoch: number): DeploymentView | undefined {
    const d = this.deployment(provider);
    const anchor = this.stores.anchor(epoch);
    if (!d || !anchor) return undefined;
    const entry = decodeEntry(anchor.entry);
    const size = entry.type === 'keytrans' ? entry.heads.find((h) => h.providerId === provider)?.treeSize : undefined;
    if (size === undefined) return undefined;
    const searchKey = (label: Uint8Array, version: number) =>
      this.searchKeys.of(provider, label, version, () => d.operator.vrf);
    return storedView(d.store, d.keys.suite, d.keys.config, size, searchKey);
  }

  /** `respond`'s answer over `provider`'s deployment at the head `epoch` anchored (undefined: none then). */
  answer<T>(provider: string, epoch: number, respond: (view: DeploymentView) => T): T | undefined {
    const view = this.view(provider, epoch);
    return view && respond(view);
  }

  /**
   * Whether `provider`'s deployment is closed: the credential whose key is its leaf_public_key is revoked (or
   * gone), so no signature by that key is taken any more, and its values are no longer served.
   */
  closed(provider: string): boolean {
    const leaf = this.deployment(provider)?.keys.config.leafPublicKey;
    if (!leaf) return false;
    return !this.credentials().some(
      (c) =>
        c.revokedIndex === null &&
        c.entry.providerId === provider &&
        c.entry.algorithm === 'ed25519' &&
        equalBytes(c.entry.publicKey, leaf),
    );
  }

  async checkUpdate(u: KeyTransUpdate, previous: { signed: boolean } | null): Promise<void> {
    const d = this.byProvider.get(u.providerId);
    if (!d) {
      if (u.signature === null) return; // no deployment: the statement is the directory's only
      throw refusal(`${u.providerId} has no KEYTRANS deployment yet (one is made the epoch after its enrolment)`);
    }
    const label = text.encode(u.account);
    if (this.closed(u.providerId)) {
      if (u.signature === null) return; // the deployment takes nothing more; the directory goes on
      throw refusal(`${u.providerId}'s KEYTRANS deployment is closed: the credential of its leaf key was revoked`);
    }
    // In KEYTRANS up to the previous version: every earlier one entered or is queued signed (so it will).
    if (!previous && u.version > 1 && label.length <= 255) await d.store.settle?.(() => d.store.versionCount(label));
    const inKeyTrans =
      label.length <= 255 &&
      (previous ? previous.signed : u.version === 1 || d.store.versionCount(label) === u.version - 1);
    if (u.signature === null) {
      if (inKeyTrans && u.version > 1)
        throw refusal(`${u.account} is in the KEYTRANS deployment: each new version needs its UpdateTBS signature`);
      return;
    }
    if (label.length > 255) throw refusal('a KEYTRANS label is at most 255 bytes');
    if (!inKeyTrans)
      throw refusal(
        `${u.account}'s earlier versions are not all in the KEYTRANS deployment: version ${u.version} cannot be`,
      );
    // On WebCrypto (update-signature.ts): the one check of this signature, unless a restart comes before its epoch.
    if (!(await updateSignatureVerifies(d.keys.config, label, u)))
      throw refusal('the UpdateTBS signature does not verify for version ' + (u.version - 1));
    this.proveEarly(d, u.providerId, encodeVrfInput({ label, version: u.version - 1 }), u);
  }

  /**
   * Begins the VRF proof of an accepted update (see `early`), kept with the statement and signature checked at
   * acceptance; a failure is met again when an epoch takes it.
   */
  private proveEarly(d: Deployment, provider: string, input: Uint8Array, u: KeyTransUpdate): void {
    const name = vrfName(provider, input);
    if (this.early.size >= MAX_EARLY_PROOFS || this.early.has(name) || u.signature === null) return;
    const proof = d.operator.vrfWrite(input);
    proof.catch(() => undefined);
    this.early.set(name, { statement: u.statement, signature: u.signature, proof });
  }

  /**
   * Whether `u`'s signature fits: checked at its acceptance (the same statement and signature are kept with its
   * early proof), or checked now (a statement queued before a restart, or before the deployment).
   */
  private fits(d: Deployment, provider: string, label: Uint8Array, u: KeyTransUpdate): boolean {
    const name = vrfName(provider, encodeVrfInput({ label, version: u.version - 1 }));
    const checked = this.early.get(name);
    const same =
      checked &&
      u.signature &&
      equalBytes(checked.signature, u.signature) &&
      equalBytes(checked.statement, u.statement);
    return same || updateSignatureFits(d.keys.config, label, u);
  }

  async prepareEpoch(updates: KeyTransUpdate[], credentials: CredentialRegistry, time: number) {
    for (const c of credentials.all()) {
      const provider = c.entry.providerId;
      if (c.revokedIndex !== null || c.entry.algorithm !== 'ed25519' || this.byProvider.has(provider)) continue;
      if (!this.roomFor(provider)) continue; // the KEYTRANS heads entry is full: no deployment (PROTOCOL 22.3)
      this.add(provider, this.configFor(provider, c.entry.publicKey));
    }
    const prepared = await Promise.all(
      [...this.byProvider].map(async ([provider, d]) => {
        const labels = updates.filter((u) => u.providerId === provider).map((u) => text.encode(u.account));
        await d.store.settle?.(() => labels.forEach((l) => l.length <= 255 && d.store.versionCount(l)));
        const fits = (label: Uint8Array, u: KeyTransUpdate) => this.fits(d, provider, label, u);
        const taken = this.closed(provider) ? { updates: [], erasures: [] } : entering(d, updates, provider, fits);
        const p = await prepareEntry(d.store, d.keys, taken.updates, time);
        return { provider, d, p, erasures: taken.erasures };
      }),
    );
    for (const u of updates) {
      const label = text.encode(u.account);
      if (label.length <= 255)
        this.early.delete(vrfName(u.providerId, encodeVrfInput({ label, version: u.version - 1 })));
    }
    const heads = prepared.map(({ provider, p }) => ({
      providerId: provider,
      treeSize: p.head.treeHead.treeSize,
      root: p.head.root,
      signature: p.head.treeHead.signature,
      timestamp: p.append.entry.timestamp,
      prefixRoot: p.append.entry.prefixTree,
    }));
    // Inside the epoch's log commit: each entry, the erasures of deleted accounts' earlier versions, the anchor.
    const write = (anchor: KeyTransAnchor | null) => {
      for (const { d, p, erasures } of prepared) {
        d.store.append(p.append);
        for (const e of erasures) for (let v = 0; v < e.below; v++) d.store.erase(e.label, v);
      }
      if (anchor) this.stores.putAnchor(anchor);
    };
    const rows = (anchor: KeyTransAnchor | null) =>
      replicaRows(
        prepared.map(({ provider, d, p, erasures }) => ({
          provider,
          config: d.keys.config,
          append: p.append,
          erasures,
        })),
        anchor,
      );
    return { heads, write, rows } satisfies PreparedKeyTransEpoch;
  }

  /**
   * Whether one more deployment's head fits the epoch's KEYTRANS heads entry (section 14: at most 255 heads, and
   * an entry of at most 65,535 bytes; each head is 1 + id + 8 + 32 + 2 + 64 + 8 + 32 bytes).
   */
  private roomFor(provider: string): boolean {
    const headBytes = (id: string) => 147 + text.encode(id).length;
    const used = [...this.byProvider.keys()].reduce((sum, id) => sum + headBytes(id), 10);
    return this.byProvider.size < 255 && used + headBytes(provider) <= 65_535;
  }

  private configFor(provider: string, leafPublicKey: Uint8Array): Configuration {
    const keys = this.keysOf(provider);
    const { headPublicKey: signaturePublicKey, vrfPublicKey } = keys;
    return {
      ciphersuite: 0x0002,
      mode: 'thirdPartyManagement',
      signaturePublicKey,
      vrfPublicKey,
      leafPublicKey,
      ...DEPLOYMENT_WINDOWS,
    };
  }
}

const refusal = (message: string) => new DirectoryError('bad_keytrans_update', message);

/** The name of a VRF input of `provider`'s deployment, in the maps kept by it. */
const vrfName = (provider: string, input: Uint8Array) => `${provider}:${toHex(input)}`;

/**
 * The updates of `provider` that enter its deployment (signed, and the account's next version), and the versions
 * a `deleted` statement erases: every earlier one, as the directory erases its own.
 */
function entering(
  d: Deployment,
  updates: KeyTransUpdate[],
  provider: string,
  fits: (label: Uint8Array, u: KeyTransUpdate) => boolean,
) {
  const next = new Map<string, number>();
  const out: LabelUpdate[] = [];
  const erasures: { label: Uint8Array; below: number }[] = [];
  for (const u of updates) {
    const label = text.encode(u.account);
    if (u.providerId !== provider || u.signature === null || label.length > 255) continue;
    const version = next.get(u.account) ?? d.store.versionCount(label);
    // Checked at acceptance; a statement queued before a restart, or before the deployment, is checked here so
    // that one bad update never fails the epoch of every provider: it is the directory's only.
    if (u.version - 1 !== version || !fits(label, u)) continue;
    next.set(u.account, version + 1);
    out.push({ label, value: { value: u.statement, suffix: { signature: u.signature } }, signatureChecked: true });
    if (u.deleted) erasures.push({ label, below: version });
  }
  return { updates: out, erasures };
}
