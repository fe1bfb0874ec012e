/**
 * Figures at 1M accounts: the lookup proof size and the storage per account. A million real VRF proofs
 * would take most of an hour on this machine, so the million accounts are built below the VRF
 * (scale-build.ts) into one SQLite file. The proof is then encoded from the real map and log.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDataDir } from '../api/node/data-dir.js';
import { generateSignerKey, parseSignerKey, type Ed25519NoteSigner } from '../wasm-free-crypto/note.js';
import { LogAppender } from '../log/merkle/appender.js';
import { SqliteDirectoryStore } from '../log/directory/sqlite-store.js';
import { encodeMapProof } from '../verifier/formats/map-proof.js';
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
  /** The last account this build added and its epoch head's inclusion proof (none if it added none). */
  last: ScaleBuilder['last'];
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
  committed?: (accounts: number) => void,
): Promise<Built & { bytesAfterFirst: number; bytesAfterSecond: number }> {
  const { dir, dbPath, signer, origin } = target;
  const db = new Database(dbPath);
  // The labels and history hashes are kept for the rotations only: at 10M accounts they would fill the heap.
  const b = await ScaleBuilder.start(
    { storage: new SqliteLogStorage(db), store: new SqliteDirectoryStore(db), signer, origin },
    secondVersions > 0,
  );
  // A builder that resumes a database of first versions continues after its last account.
  if (b.accounts > accounts) throw new Error(`${dbPath} holds ${b.accounts} accounts, more than ${accounts}`);
  await b.addAccounts(b.accounts, accounts - b.accounts, 1, committed);
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
    last: b.last,
    bytesAfterFirst,
    bytesAfterSecond,
  };
}

/**
 * What a kept scale directory records of its build in `build.json` beside `data/`: the accounts built so far
 * and the milliseconds spent building them over every run, the runs, and once the build is complete its bytes
 * on disk. Written after each step of PROGRESS_STEP accounts, so a build stopped part way loses at most a step's
 * time from the record, and resumes from the database's last committed epoch.
 */
interface BuildRecord {
  accounts: number;
  buildMs: number;
  runs: number;
  bytes?: number;
}

const PROGRESS_STEP = 200_000;

function readRecord(path: string): BuildRecord {
  if (!existsSync(path)) return { accounts: 0, buildMs: 0, runs: 0 };
  const r = JSON.parse(readFileSync(path, 'utf8')) as BuildRecord;
  if (!Number.isSafeInteger(r.accounts) || !Number.isFinite(r.buildMs) || !Number.isSafeInteger(r.runs))
    throw new Error(`${path} is not a scale build's record`);
  return r;
}

/**
 * A Node data directory holding `accounts` accounts built below the VRF, with the lookup rate limits out of
 * the way, ready for the server to open; how long the build took and the database's bytes on disk. `root` is
 * a new temporary folder, or `keepIn` (`--scale-dir`): kept after the run, a build stopped part way resumes
 * there, and a complete one is measured again without a rebuild (its build figures are the recorded ones).
 */
export async function builtDataDir(
  accounts: number,
  prefix: string,
  keepIn?: string,
): Promise<{
  root: string;
  dataDir: string;
  data: ReturnType<typeof openDataDir>;
  /** The build's milliseconds, summed over the runs it took (more than one only in a kept folder). */
  buildMs: number;
  buildRuns: number;
  bytes: number;
}> {
  const root = keepIn ?? mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(root, { recursive: true });
  const dataDir = join(root, 'data');
  const data = openDataDir(dataDir, 'bench.example/kt', () => {});
  writeFileSync(
    join(dataDir, 'config.json'),
    JSON.stringify({ origin: data.origin, lookupBurst: 1_000_000_000, lookupRatePerSecond: 1_000_000_000 }),
  );
  const recordPath = join(root, 'build.json');
  const record = readRecord(recordPath);
  if (record.bytes !== undefined) {
    if (record.accounts !== accounts)
      throw new Error(`${root} holds a complete build of ${record.accounts} accounts, not ${accounts}`);
    return { root, dataDir, data, buildMs: record.buildMs, buildRuns: record.runs, bytes: record.bytes };
  }
  const started = performance.now();
  const before = record.buildMs;
  record.runs++;
  const save = () => writeFileSync(recordPath, `${JSON.stringify(record)}\n`);
  const built = await buildScaleDirectory(accounts, 0, data, (built) => {
    if (built % PROGRESS_STEP !== 0 && built !== accounts) return;
    Object.assign(record, { accounts: built, buildMs: before + performance.now() - started });
    if (keepIn) save();
    if (accounts >= 1_000_000)
      console.error(
        `scale build: ${built.toLocaleString('en-US')} accounts, ${(record.buildMs / 60_000).toFixed(1)} min`,
      );
  });
  built.db.close();
  Object.assign(record, { accounts, buildMs: before + performance.now() - started, bytes: built.bytesAfterFirst });
  if (keepIn) save();
  return { root, dataDir, data, buildMs: record.buildMs, buildRuns: record.runs, bytes: built.bytesAfterFirst };
}

/** Both figures from one build: storage per account and per further version, and the lookup proof size. */
export async function benchScale(): Promise<Figure[]> {
  const secondVersions = 100_000;
  const b = await buildScaleDirectory(ACCOUNTS, secondVersions);
  try {
    if (!b.last) throw new Error('the scale build added no account');
    const { leaf: lastLeaf, proof: lastEntryProof } = b.last;
    const perAccount = b.bytesAfterFirst / ACCOUNTS;
    const perVersion = (b.bytesAfterSecond - b.bytesAfterFirst) / secondVersions;
    const mapProof = encodeMapProof(b.tree.prove(lastLeaf.label)).length;
    // Proof material of a present lookup: VRF proof, map proof, opening, previous history hash, version,
    // epoch head entry and its inclusion proof, and the enrolment reference (log index and inclusion proof).
    // The enrolment proof is in the epoch's credential set; at 64 credentials it is 6 hashes.
    const credentialProof = 6 * 32;
    const material = 80 + mapProof + 32 + 32 + 8 + 105 + 32 * lastEntryProof.length + 8 + credentialProof;
    return [
      {
        id: 'storage_per_account',
        name: `storage per account at ${ACCOUNTS.toLocaleString('en-US')} accounts, one version (SQLite file: log, tiles, indexes, the stored map's rows)`,
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
        note: `map proof ${mapProof} B (${b.tree.prove(lastLeaf.label).path.length} steps), epoch head inclusion ${lastEntryProof.length} hashes, enrolment in a set of 64 credentials 6 hashes`,
      },
    ];
  } finally {
    b.db.close();
    rmSync(b.dir, { recursive: true, force: true });
  }
}
