/**
 * Figures at 1M accounts: the lookup proof size and the storage per account. A million real VRF proofs
 * would take most of an hour on this machine, so the million accounts are built below the VRF
 * (scale-build.ts) into one SQLite file. The proof is then encoded from the real map and log.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDataDir } from '../api/node/data-dir.js';
import { generateSignerKey, parseSignerKey, type Ed25519NoteSigner } from '../wasm-free-crypto/note.js';
import { LogAppender } from '../log/merkle/appender.js';
import { SqliteDirectoryStore } from '../log/directory/sqlite-store.js';
import { encodeMapProof, type MapLeaf } from '../verifier/formats/map-proof.js';
import { StoredMap } from '../verifier/formats/stored-map.js';
import { SqliteLogStorage } from '../log/merkle/sqlite-storage.js';
import type { Figure } from './harness.js';
import { ScaleBuilder } from './scale-build.js';

const ACCOUNTS = 1_000_000;

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

/** Where to build: a database path and the log's signer (default: a temporary directory and a new key). */
export interface ScaleDb {
  dir: string;
  dbPath: string;
  signer: Ed25519NoteSigner;
  origin: string;
}

function defaultTarget(): ScaleDb {
  const dir = mkdtempSync(join(tmpdir(), 'kt-scale-'));
  const origin = 'bench.example/log';
  return { dir, dbPath: join(dir, 'kt.db'), signer: parseSignerKey(generateSignerKey(origin).signerKey), origin };
}

/**
 * Builds a directory of `accounts` accounts with one version each, then `secondVersions` rotations, in
 * epochs of 20,000, through the project's log appender and directory store: a database `Directory.open`
 * accepts and serves (its lookups work; their VRF proofs and signatures are random bytes of the right size).
 */
export async function buildScaleDirectory(
  accounts: number,
  secondVersions: number,
  target: ScaleDb = defaultTarget(),
): Promise<Built & { bytesAfterFirst: number; bytesAfterSecond: number }> {
  const { dir, dbPath, signer, origin } = target;
  const db = new Database(dbPath);
  // The labels and history hashes are kept for the rotations only: at 10M accounts they would fill the heap.
  const b = await ScaleBuilder.start(
    { storage: new SqliteLogStorage(db), store: new SqliteDirectoryStore(db), signer, origin },
    secondVersions > 0,
  );
  await b.addAccounts(0, accounts, 1);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const bytesAfterFirst = fileBytes(dbPath);
  await b.addAccounts(0, secondVersions, 2);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const bytesAfterSecond = fileBytes(dbPath);
  return {
    db,
    dbPath,
    dir,
    tree: b.tree,
    log: b.log,
    lastLeaf: b.last!.leaf,
    lastEntryProof: b.last!.proof,
    bytesAfterFirst,
    bytesAfterSecond,
  };
}

/**
 * A Node data directory (in a new temporary folder `root`) holding `accounts` accounts built below the VRF,
 * with the lookup rate limits out of the way, ready for the server to open; how long the build took and the
 * database's bytes on disk.
 */
export async function builtDataDir(
  accounts: number,
  prefix: string,
): Promise<{ root: string; dataDir: string; data: ReturnType<typeof openDataDir>; buildMs: number; bytes: number }> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const dataDir = join(root, 'data');
  const data = openDataDir(dataDir, 'bench.example/kt');
  writeFileSync(
    join(dataDir, 'config.json'),
    JSON.stringify({ origin: data.origin, lookupBurst: 1_000_000_000, lookupRatePerSecond: 1_000_000_000 }),
  );
  const started = performance.now();
  const built = await buildScaleDirectory(accounts, 0, {
    dir: dataDir,
    dbPath: data.dbPath,
    signer: data.signer,
    origin: data.origin,
  });
  const buildMs = performance.now() - started;
  built.db.close();
  return { root, dataDir, data, buildMs, bytes: built.bytesAfterFirst };
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
