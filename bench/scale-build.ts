/**
 * A directory of many accounts built below the VRF, by the project's own storage code, on any backend: SQLite on
 * Node (scale-bench.ts) or a Durable Object's storage in workerd (durable-object-bench.ts). Labels are uniformly
 * random 32-byte strings (as VRF-derived labels are), VRF proofs are 80 random bytes (their exact size),
 * statements are real encodings (one Ed25519 identity key, from a pool of real ones) with 64-byte signatures,
 * and every row, log entry, tile and map node (the stored map's rows, planned per epoch as the sequencer plans
 * them) is written through the log appender and the directory store. No Node built-in: it runs in workerd too.
 */
import { concatBytes } from '../wasm-free-crypto/bytes.js';
import { randomBytes } from '../wasm-free-crypto/random.js';
import { ed25519KeyPairFromSeed } from '../wasm-free-crypto/ed25519.js';
import { SCALE_PROVIDER_SEED } from './scale-provider.js';
import type { Ed25519NoteSigner } from '../wasm-free-crypto/note.js';
import { LogAppender } from '../log/merkle/appender.js';
import type { LogStorage } from '../log/merkle/storage.js';
import { commitment, historyHash, HISTORY_ZERO, signedStatementBytes } from '../verifier/formats/directory-hashes.js';
import { emptyEpochWrites, type DirectoryStore, type EpochWrites, type VersionRow } from '../log/directory/store.js';
import { encodeEntry } from '../verifier/formats/entries.js';
import type { MapLeaf } from '../verifier/formats/map-proof.js';
import { MapNodeCache } from '../verifier/formats/map-cache.js';
import { StoredMap } from '../verifier/formats/stored-map.js';
import { recordHash, rootFromLeafHashes } from '../verifier/formats/tlog.js';
import { encodeStatement } from '../verifier/formats/statement-binary.js';

/** Accounts per epoch. */
export const BATCH = 20_000;

/** Real Ed25519 public keys (statements refuse keys that are not curve points), reused across accounts. */
let identityKeys: Uint8Array[] | undefined;
/** Made on first use (workerd refuses random values at a module's top level). */
function identityKey(i: number): Uint8Array {
  identityKeys ??= Array.from({ length: 64 }, () => ed25519KeyPairFromSeed(randomBytes(32)).publicKey);
  return identityKeys[i % identityKeys.length];
}

/** One epoch's worth of accounts at `version`: index rows, log entries and map leaves. */
export function accountsBatch(
  first: number,
  count: number,
  version: number,
  labels: Uint8Array[],
  histories: Uint8Array[],
  logIndex: number,
) {
  const writes = emptyEpochWrites();
  const entries: Uint8Array[] = [];
  const leaves: MapLeaf[] = [];
  for (let i = first; i < first + count; i++) {
    const account = `user${i}@chat.example`;
    const statement = encodeStatement({
      provider: 'chat.example',
      account,
      version,
      issuedAt: 1767139200000,
      status: 'active',
      keys: [
        {
          id: 'identity',
          algorithm: 'ed25519',
          publicKey: identityKey(i),
          protocol: 'signal/v3',
          capabilities: ['fs'],
        },
      ],
    });
    const signature = randomBytes(64);
    const opening = randomBytes(32);
    const c = commitment(opening, signedStatementBytes(statement, signature));
    const history = historyHash(histories[i] ?? HISTORY_ZERO, version, c);
    if (version === 1) writes.names.push({ provider: 'chat.example', account, label: labels[i] });
    writes.accounts.push({
      label: labels[i],
      version,
      history,
      previousHistory: histories[i] ?? HISTORY_ZERO,
      vrfProof: randomBytes(80),
    });
    const row: VersionRow = {
      label: labels[i],
      version,
      opening,
      statement,
      signature,
      credentialIndex: 0,
      logIndex: logIndex + entries.length,
    };
    writes.versions.push(row);
    entries.push(encodeEntry({ type: 'update', label: labels[i], version, commitment: c }));
    leaves.push({ label: labels[i], version, historyHash: history });
    histories[i] = history;
  }
  return { writes, entries, leaves };
}

/**
 * The Ed25519 key of the provider `chat.example` a builder enrols: fixed, so that a bench in another process
 * can sign rotations the directory accepts (bench/cold-start-child.ts). A bench's key, never a real one.
 */
export function scaleProviderKey(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  return ed25519KeyPairFromSeed(SCALE_PROVIDER_SEED);
}

/**
 * Epoch 0: the enrolment of the provider `chat.example` (log index 0) under `scaleProviderKey()`, with the
 * empty map. Its certificate chain is random bytes: the directory checks a chain when it enrols, and a
 * statement's signature against the entry's key and validity only.
 */
export function enrolmentEpoch(): { entry: Uint8Array; writes: EpochWrites } {
  const entry = encodeEntry({
    type: 'enrol',
    providerId: 'chat.example',
    time: 1767139200000,
    algorithm: 'ed25519',
    publicKey: scaleProviderKey().publicKey,
    notBefore: 0,
    notAfter: 4102444800000,
    chain: [randomBytes(600)],
  });
  const writes = emptyEpochWrites();
  writes.credentials.push({
    logIndex: 0,
    providerId: 'chat.example',
    fingerprint: randomBytes(32),
    entry,
    revokedIndex: null,
  });
  return { entry, writes };
}

/** Where a builder writes: a log storage, a directory store over the same database, the log's signer. */
export interface ScaleTarget {
  storage: LogStorage;
  store: Pick<DirectoryStore, 'epochWriter' | 'mapNode' | 'latestEpoch' | 'credentials'>;
  signer: Ed25519NoteSigner;
  origin: string;
  /** Map rows the builder caches (default 100,000: about 45 MB). */
  cacheRows?: number;
}

/**
 * Builds epochs of accounts: epoch 0 enrols the provider `chat.example`, then each `addAccounts` commits
 * epochs of up to BATCH accounts `user<i>@chat.example` at a version. `labels` and `histories` are kept for
 * rotations (`retain`), or forgotten after each epoch (a builder whose memory must stay small).
 */
export class ScaleBuilder {
  readonly tree: StoredMap;
  accounts = 0;
  last: { leaf: MapLeaf; proof: Uint8Array[] } | undefined;
  private readonly cache: MapNodeCache;
  private readonly labels: Uint8Array[] = [];
  private readonly histories: Uint8Array[] = [];
  private epoch = -1;

  private constructor(
    private readonly target: ScaleTarget,
    readonly log: LogAppender,
    private readonly credentialsRoot: Uint8Array,
    private readonly retain: boolean,
  ) {
    this.cache = new MapNodeCache(target.store, target.cacheRows ?? 100_000);
    this.tree = new StoredMap(this.cache);
  }

  /**
   * A builder over an empty target, its enrolment epoch committed; or over a target a builder of first
   * versions (`retain` false) already wrote, continuing after its last account.
   */
  static async start(target: ScaleTarget, retain = true): Promise<ScaleBuilder> {
    const log = await LogAppender.open({ storage: target.storage, signer: target.signer, origin: target.origin });
    const last = await target.store.latestEpoch();
    const [credential] = await target.store.credentials();
    if (last && credential) {
      const b = new ScaleBuilder(target, log, rootFromLeafHashes([recordHash(credential.entry)]), retain);
      b.epoch = last.epoch;
      // Besides the accounts, the log holds each epoch's head and the enrolment (and a sequencer's epoch 0, empty,
      // when one opened the storage first, before the enrolment's epoch 1).
      b.accounts = log.head.size - 2 - last.epoch;
      return b;
    }
    const enrol = enrolmentEpoch();
    const b = new ScaleBuilder(target, log, rootFromLeafHashes([recordHash(enrol.entry)]), retain);
    b.epoch = last?.epoch ?? -1;
    await b.commitEpoch([enrol.entry], [], enrol.writes);
    return b;
  }

  /**
   * Commits accounts `from` .. `from + count - 1` at `version`, in epochs of BATCH; `committed` is called after
   * each epoch with the number of accounts built.
   */
  async addAccounts(
    from: number,
    count: number,
    version: number,
    committed?: (accounts: number) => void,
  ): Promise<void> {
    for (let first = from; first < from + count; first += BATCH) {
      const n = Math.min(BATCH, from + count - first);
      for (let i = first; i < first + n; i++) this.labels[i] ??= randomBytes(32);
      const b = accountsBatch(first, n, version, this.labels, this.histories, this.log.head.size);
      await this.commitEpoch(b.entries, b.leaves, b.writes);
      if (!this.retain) {
        this.labels.length = 0;
        this.histories.length = 0;
      }
      this.accounts = Math.max(this.accounts, first + n);
      committed?.(this.accounts);
    }
  }

  private async commitEpoch(entries: Uint8Array[], leaves: MapLeaf[], writes: EpochWrites): Promise<void> {
    const batch = this.tree.plan(leaves); // the map's rows, written in the epoch's transaction as the directory does
    writes.map = batch.rows;
    const firstIndex = this.log.head.size;
    const epoch = ++this.epoch;
    const head = encodeEntry({
      type: 'epoch',
      epoch,
      time: 1767139200000,
      mapRoot: batch.root,
      credentialsRoot: this.credentialsRoot,
      credentialCount: 1,
      firstIndex,
      count: entries.length,
    });
    const writer = this.target.store.epochWriter(writes);
    const r = await this.log.append([...entries, head], {
      withinCommit: ({ head: h, lastEntryProof }) => {
        writes.epoch = {
          epoch,
          logIndex: firstIndex + entries.length,
          entry: head,
          proof: concatBytes(...lastEntryProof),
          checkpoint: h.checkpoint,
        };
        writer();
      },
    });
    this.cache.committed(batch.rows);
    if (leaves.length > 0) this.last = { leaf: leaves[leaves.length - 1], proof: r.lastEntryProof };
  }
}
