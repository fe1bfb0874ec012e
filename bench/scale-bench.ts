/**
 * Figures at 1M accounts: the lookup proof size and the storage per account. A million real VRF proofs
 * would take most of an hour on this machine, so the million accounts are built below the VRF: labels
 * are uniformly random 32-byte strings (as VRF-derived labels are), VRF proofs are 80 random bytes (their
 * exact size), statements are real encodings (one Ed25519 identity key, from a pool of real ones) with
 * 64-byte signatures, and every row, log entry, tile and map node (the stored map's rows, planned per epoch
 * as the sequencer plans them) is written by the project's own storage code into one SQLite file. The proof is then encoded from the real map and log.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDataDir } from '../api/node/data-dir.js';
import { concatBytes } from '../wasm-free-crypto/bytes.js';
import { randomBytes } from '../wasm-free-crypto/random.js';
import { ed25519KeyPairFromSeed } from '../wasm-free-crypto/ed25519.js';
import { generateSignerKey, parseSignerKey, type Ed25519NoteSigner } from '../wasm-free-crypto/note.js';
import { LogAppender } from '../log/merkle/appender.js';
import { commitment, historyHash, HISTORY_ZERO, signedStatementBytes } from '../verifier/formats/directory-hashes.js';
import { SqliteDirectoryStore } from '../log/directory/sqlite-store.js';
import type { EpochWrites, VersionRow } from '../log/directory/store.js';
import { encodeEntry } from '../verifier/formats/entries.js';
import { encodeMapProof, type MapLeaf } from '../verifier/formats/map-proof.js';
import { MapNodeCache } from '../verifier/formats/map-cache.js';
import { StoredMap } from '../verifier/formats/stored-map.js';
import { SqliteLogStorage } from '../log/merkle/sqlite-storage.js';
import { recordHash, rootFromLeafHashes } from '../verifier/formats/tlog.js';
import { encodeStatement } from '../verifier/formats/statement.js';
import type { Figure } from './harness.js';

const ACCOUNTS = 1_000_000;
const BATCH = 20_000;
/** Real Ed25519 public keys (statements refuse keys that are not curve points), reused across accounts. */
const IDENTITY_KEYS = Array.from({ length: 64 }, () => ed25519KeyPairFromSeed(randomBytes(32)).publicKey);

interface Built {
  db: Database.Database;
  dbPath: string;
  dir: string;
  /** The stored map, read through the cache the sequencer would use. */
  tree: StoredMap;
  log: LogAppender;
  lastLeaf: MapLeaf;
  lastEntryProof: Uint8Array[];
}

function fileBytes(path: string): number {
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(path + suffix).size;
    } catch {
      /* no such file */
    }
  }
  return total;
}

/** One epoch's worth of accounts at `version`: index rows, log entries and map leaves. */
function accountsBatch(
  first: number,
  count: number,
  version: number,
  labels: Uint8Array[],
  histories: Uint8Array[],
  logIndex: number,
) {
  const writes: EpochWrites = {
    names: [],
    accounts: [],
    versions: [],
    credentials: [],
    revocations: [],
    erasures: [],
    epoch: undefined as never,
  };
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
          publicKey: IDENTITY_KEYS[i % IDENTITY_KEYS.length],
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

/** Where to build: a database path and the log's signer (default: a temporary directory and a new key). */
export interface ScaleTarget {
  dir: string;
  dbPath: string;
  signer: Ed25519NoteSigner;
  origin: string;
}

function defaultTarget(): ScaleTarget {
  const dir = mkdtempSync(join(tmpdir(), 'kt-scale-'));
  const origin = 'bench.example/log';
  return { dir, dbPath: join(dir, 'kt.db'), signer: parseSignerKey(generateSignerKey(origin).signerKey), origin };
}

/** Epoch 0: the enrolment of the provider `chat.example` (log index 0), with the empty map. */
function enrolmentEpoch(): { entry: Uint8Array; writes: EpochWrites } {
  const entry = encodeEntry({
    type: 'enrol',
    providerId: 'chat.example',
    time: 1767139200000,
    algorithm: 'ed25519',
    publicKey: randomBytes(32),
    notBefore: 0,
    notAfter: 4102444800000,
    chain: [randomBytes(600)],
  });
  const writes: EpochWrites = {
    names: [],
    accounts: [],
    versions: [],
    credentials: [{ logIndex: 0, providerId: 'chat.example', fingerprint: randomBytes(32), entry, revokedIndex: null }],
    revocations: [],
    erasures: [],
    epoch: undefined as never,
  };
  return { entry, writes };
}

/**
 * Builds a directory of `accounts` accounts with one version each, then `secondVersions` rotations, in
 * epochs of 20,000, through the project's log appender and directory store: a database `Directory.open`
 * accepts and serves (its lookups work; their VRF proofs and signatures are random bytes of the right size).
 */
export async function buildScaleDirectory(
  accounts: number,
  secondVersions: number,
  target: ScaleTarget = defaultTarget(),
): Promise<Built & { bytesAfterFirst: number; bytesAfterSecond: number }> {
  const { dir, dbPath, signer, origin } = target;
  const db = new Database(dbPath);
  const storage = new SqliteLogStorage(db);
  const store = new SqliteDirectoryStore(db);
  const log = await LogAppender.open({ storage, signer, origin });
  const cache = new MapNodeCache(store, 100_000);
  const tree = new StoredMap(cache);
  const labels = Array.from({ length: accounts }, () => randomBytes(32));
  const histories: Uint8Array[] = [];
  const enrol = enrolmentEpoch();
  const credentialsRoot = rootFromLeafHashes([recordHash(enrol.entry)]);
  let epoch = -1;
  let last: { leaf: MapLeaf; proof: Uint8Array[] } | undefined;
  const commitEpoch = async (entries: Uint8Array[], leaves: MapLeaf[], writes: EpochWrites) => {
    const batch = tree.plan(leaves); // the map's rows, written in the epoch's transaction as the directory does
    const mapRoot = batch.root;
    writes.map = batch.rows;
    const firstIndex = log.head.size;
    const head = encodeEntry({
      type: 'epoch',
      epoch: ++epoch,
      time: 1767139200000,
      mapRoot,
      credentialsRoot,
      credentialCount: 1,
      firstIndex,
      count: entries.length,
    });
    const writer = store.epochWriter(writes);
    const r = await log.append([...entries, head], {
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
    cache.committed(batch.rows);
    if (leaves.length > 0) last = { leaf: leaves[leaves.length - 1], proof: r.lastEntryProof };
  };
  const runEpochs = async (count: number, version: number) => {
    for (let first = 0; first < count; first += BATCH) {
      const b = accountsBatch(first, Math.min(BATCH, count - first), version, labels, histories, log.head.size);
      await commitEpoch(b.entries, b.leaves, b.writes);
    }
  };
  await commitEpoch([enrol.entry], [], enrol.writes);
  await runEpochs(accounts, 1);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const bytesAfterFirst = fileBytes(dbPath);
  await runEpochs(secondVersions, 2);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const bytesAfterSecond = fileBytes(dbPath);
  return {
    db,
    dbPath,
    dir,
    tree,
    log,
    lastLeaf: last!.leaf,
    lastEntryProof: last!.proof,
    bytesAfterFirst,
    bytesAfterSecond,
  };
}

/**
 * A Node data directory (in a new temporary folder `root`) holding `accounts` accounts built below the VRF,
 * with the lookup rate limits out of the way, ready for the server to open.
 */
export async function builtDataDir(
  accounts: number,
  prefix: string,
): Promise<{ root: string; dataDir: string; data: ReturnType<typeof openDataDir> }> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const dataDir = join(root, 'data');
  const data = openDataDir(dataDir, 'bench.example/kt');
  writeFileSync(
    join(dataDir, 'config.json'),
    JSON.stringify({ origin: data.origin, lookupBurst: 1_000_000_000, lookupRatePerSecond: 1_000_000_000 }),
  );
  const built = await buildScaleDirectory(accounts, 0, {
    dir: dataDir,
    dbPath: data.dbPath,
    signer: data.signer,
    origin: data.origin,
  });
  built.db.close();
  return { root, dataDir, data };
}

/** Both figures from one build: storage per account and per further version, and the lookup proof size. */
export async function benchScale(): Promise<Figure[]> {
  const secondVersions = 100_000;
  const b = await buildScaleDirectory(ACCOUNTS, secondVersions);
  try {
    const perAccount = b.bytesAfterFirst / ACCOUNTS;
    const perVersion = (b.bytesAfterSecond - b.bytesAfterFirst) / secondVersions;
    const mapProof = encodeMapProof(b.tree.prove(b.lastLeaf.label)).length;
    // Proof material of a present lookup: VRF proof, map proof, opening, previous history hash, version,
    // epoch head entry and its inclusion proof, and the enrolment reference (log index and inclusion proof).
    // The enrolment proof is in the epoch's credential set; at 64 credentials it is 6 hashes.
    const credentialProof = 6 * 32;
    const material = 80 + mapProof + 32 + 32 + 8 + 105 + 32 * b.lastEntryProof.length + 8 + credentialProof;
    return [
      {
        id: 'storage_per_account',
        name: `storage per account at ${ACCOUNTS.toLocaleString('en-US')} accounts, one version (SQLite file: log, tiles, indexes)`,
        value: perAccount,
        unit: 'bytes/account',
        target: '<= 1,024 bytes per account',
        pass: perAccount <= 1024,
        note: `${(b.bytesAfterFirst / 2 ** 20).toFixed(0)} MiB in all`,
      },
      {
        id: 'storage_per_version',
        name: `storage per further version (${secondVersions.toLocaleString('en-US')} rotations at ${ACCOUNTS.toLocaleString('en-US')} accounts)`,
        value: perVersion,
        unit: 'bytes/version',
        target: '<= 400 bytes per further version',
        pass: perVersion <= 400,
      },
      {
        id: 'lookup_proof_size',
        name: `lookup proof material at ${ACCOUNTS.toLocaleString('en-US')} accounts (binary equivalent, excluding statement, signature and the shared checkpoint)`,
        value: material,
        unit: 'bytes',
        target: '<= 1,600 bytes [AKD: 2,130 B on a 5-account toy directory]',
        pass: material <= 1600,
        note: `map proof ${mapProof} B (${b.tree.prove(b.lastLeaf.label).path.length} steps), epoch head inclusion ${b.lastEntryProof.length} hashes, enrolment in a set of 64 credentials 6 hashes`,
      },
    ];
  } finally {
    b.db.close();
    rmSync(b.dir, { recursive: true, force: true });
  }
}
