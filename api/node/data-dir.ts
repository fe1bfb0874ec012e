/**
 * The Node server's data directory: `config.json` (the origin and settings), `log.key` (the log's C2SP
 * signer key string), `vrf.key` (the VRF secret key, hex) and `operator.token` (created on first run and
 * never overwritten), `log.db` (the SQLite file, with SQLite's `log.db-wal` and `log.db-shm` beside it)
 * and, in development mode, the development CA (`dev-ca.pem`, `dev-ca.key`). The tunable settings of
 * config.json, and the formats of the keys, are those of both servers (api/wiring/settings.ts); `origin`,
 * `devMode`, `trustedRoots`, the VRF pool's `vrfThreads` and `vrfReadQueue` and the HTTP limits
 * (`headersTimeoutMs`, `requestTimeoutMs`, `keepAliveTimeoutMs`, `maxConnections`: http-limits.ts), `explorer`
 * (explorer-files.ts) and `readers` (readers-setting.ts) are Node's own. The origin is the log's identity: it is fixed on first run
 * and a later run that asks for another one is refused rather than silently starting a different log.
 *
 * Every file the server writes there is mode 0600, whatever the directory's mode or the umask: the keys,
 * and `log.db`, which holds the (provider, account) list that the VRF and the rate limits exist to hide.
 * `log.db` is created empty with mode 0600 before SQLite opens it, and SQLite gives its `-wal` and `-shm`
 * files the database file's mode. A data directory of an earlier release (files 0644) is fixed in place
 * when it is opened, and a line says which files were made private; a file that cannot be made private
 * (another user's) is refused. The directory itself is created 0700; an existing one that others may read
 * is used as it is (its files are private), with a warning.
 */
import {
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../wasm-free-crypto/bytes.js';
import { ed25519KeyPairFromSeed } from '../../wasm-free-crypto/ed25519.js';
import {
  encodeSignerKey,
  generateSignerKey,
  isValidKeyName,
  parseSignerKey,
  type Ed25519NoteSigner,
} from '../../wasm-free-crypto/note.js';
import { SIGSUM_LOG_PREFIX, sigsumLogOrigin, type OriginConvention } from '../../verifier/witness/conventions.js';
import { randomBytes } from '../../wasm-free-crypto/random.js';
import { RESTORE_MARKER } from './restore-marker.js';
import { VRF_POOL_SETTING_NAMES, vrfPoolSettings, type VrfPoolSettings } from './vrf-pool-settings.js';
import { DEFAULT_HTTP_LIMITS, HTTP_LIMIT_NAMES, httpLimits, type HttpLimits } from './http-limits.js';
import { EXPLORER_SETTING, explorerSetting, type ExplorerSetting } from './explorer-files.js';
import { defaultReaders, READERS_SETTING, readersSetting } from './readers-setting.js';
import {
  ConfigError,
  DEFAULT_SETTINGS,
  NODE_ONLY_SETTINGS,
  parseOperatorToken,
  parseVrfSecretKey,
  SETTINGS,
  settingsFromConfig,
  type Settings,
} from '../wiring/settings.js';

export interface DataDir {
  dir: string;
  origin: string;
  signer: Ed25519NoteSigner;
  dbPath: string;
  /** The directory's 32-byte VRF secret key (`vrf.key`, hex, mode 0600). */
  vrfSecretKey: Uint8Array;
  /** The operator's bearer token for enrolment and revocation (`operator.token`, mode 0600). */
  operatorToken: string;
  /** Development mode (default): the server creates and trusts a development root CA (api/node/dev-ca.ts). */
  devMode: boolean;
  /** Paths of trusted root certificates (PEM), relative to the data directory or absolute. */
  trustedRoots: string[];
  settings: Settings;
  /** The VRF pool's settings (`vrfThreads`, `vrfReadQueue`; api/node/vrf-pool-settings.ts). */
  vrfPool: VrfPoolSettings;
  /** The HTTP server's timeouts and connection cap (api/node/http-limits.ts). */
  httpLimits: HttpLimits;
  /** The explorer page at `/`: the built page (true), none (false), or the folder of another copy (api/node/explorer-files.ts). */
  explorer: ExplorerSetting;
  /** How many reader processes answer lookups beside the sequencer's (api/node/readers.ts); 0: none. */
  readers: number;
  /** True when this call created the keys. */
  created: boolean;
}

interface ConfigFile {
  origin: string;
  devMode?: boolean;
  trustedRoots?: string[];
  settings: Settings;
  vrfPool?: VrfPoolSettings;
  httpLimits?: HttpLimits;
  explorer?: ExplorerSetting;
  readers?: number;
}

/**
 * Writes a file that must not exist yet, atomically and without ever overwriting: the complete contents
 * go to a temporary file, which is then hard-linked into place (link fails if the target exists).
 */
function writeNewFile(path: string, contents: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, contents, { mode, flag: 'w' });
  chmodSync(tmp, mode);
  try {
    linkSync(tmp, path);
  } catch (e) {
    throw new ConfigError(`cannot create ${path}: ${(e as Error).message}`);
  } finally {
    unlinkSync(tmp);
  }
}

/** The mode of every file the server writes in its data directory. */
const PRIVATE = 0o600;

/** The files the server writes in its data directory (SQLite's and a backup's marker among them), kept private. */
const SERVER_FILES = [
  'config.json',
  'log.key',
  'vrf.key',
  'operator.token',
  'log.db',
  'log.db-wal',
  'log.db-shm',
  'log.db-journal',
  'dev-ca.pem',
  'dev-ca.key',
  RESTORE_MARKER,
];

/** The data directory's configuration and keys: what `kt backup` copies besides the SQLite file. */
export const CONFIG_AND_KEY_FILES = SERVER_FILES.filter((f) => !f.startsWith('log.db') && f !== RESTORE_MARKER);

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/**
 * Creates the data directory 0700, or warns when an existing one is open to others (its files stay 0600,
 * but their names and sizes can be listed).
 */
function makeDirectory(dir: string, log: (line: string) => void): void {
  if (mkdirSync(dir, { recursive: true, mode: 0o700 }) !== undefined) {
    chmodSync(dir, 0o700); // whatever the umask
    return;
  }
  const mode = statSync(dir).mode;
  if (mode & 0o077)
    log(`warning: the data directory ${dir} has mode ${octal(mode)}; its files are 0600, but 0700 would hide them too`);
}

/**
 * Makes every file of the server in `dir` private (0600): those of an earlier release were 0644. Files
 * already private (0600, or narrower such as 0400) are left as they are.
 */
function makeFilesPrivate(dir: string, log: (line: string) => void): void {
  const fixed: string[] = [];
  for (const name of SERVER_FILES) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat?.isFile() || (stat.mode & 0o077) === 0) continue;
    const mode = stat.mode;
    try {
      chmodSync(path, PRIVATE);
    } catch (e) {
      throw new ConfigError(
        `${path} has mode ${octal(mode)} and cannot be made private (0600): ${(e as Error).message}`,
      );
    }
    fixed.push(`${name} (was ${octal(mode)})`);
  }
  if (fixed.length > 0) log(`made the files of ${dir} private (mode 0600): ${fixed.join(', ')}`);
}

/** Creates the SQLite file empty and private unless it exists, so that SQLite never creates it 0644. */
function createDatabaseFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', PRIVATE));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw e;
  }
  chmodSync(path, PRIVATE); // whatever the umask
}

function readConfig(dir: string): ConfigFile | null {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) return null;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  const known: string[] = [
    ...NODE_ONLY_SETTINGS,
    ...VRF_POOL_SETTING_NAMES,
    ...HTTP_LIMIT_NAMES,
    EXPLORER_SETTING,
    READERS_SETTING,
    ...Object.values(SETTINGS).map((s) => s.json),
  ];
  const unknown = Object.keys(parsed).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new ConfigError(`${path} has unknown settings: ${unknown.join(', ')}`);
  const { origin, devMode, trustedRoots } = parsed;
  if (typeof origin !== 'string' || !isValidKeyName(origin)) throw new ConfigError(`${path} has no valid "origin"`);
  if (devMode !== undefined && typeof devMode !== 'boolean')
    throw new ConfigError(`${path}: "devMode" must be true or false`);
  if (
    trustedRoots !== undefined &&
    !(Array.isArray(trustedRoots) && trustedRoots.every((r) => typeof r === 'string'))
  ) {
    throw new ConfigError(`${path}: "trustedRoots" must be a list of PEM file paths`);
  }
  const vrfPool = vrfPoolSettings(parsed, path);
  return {
    origin,
    devMode,
    trustedRoots,
    settings: settingsFromConfig(parsed, path),
    vrfPool,
    httpLimits: httpLimits(parsed, path),
    explorer: explorerSetting(parsed, path),
    readers: readersSetting(parsed, path),
  };
}

/** Reads a 0600 secret file, creating it with `make()` on first run. */
function secretFile(path: string, make: () => string): string {
  if (!existsSync(path)) writeNewFile(path, `${make()}\n`, PRIVATE);
  return readFileSync(path, 'utf8').trim();
}

/**
 * A new log key whose name follows `convention` (verifier/witness/conventions.ts): the key first, the origin
 * from it, for witnesses that accept only such origins.
 */
function keyWithConventionalOrigin(convention: OriginConvention): { origin: string; signerKey: string } {
  const seed = randomBytes(32);
  const origin = { sigsum: sigsumLogOrigin }[convention](ed25519KeyPairFromSeed(seed).publicKey);
  return { origin, signerKey: encodeSignerKey(origin, seed) };
}

/**
 * Opens the data directory, creating it, the origin, the keys and an empty `log.db` on first run, and
 * making the files of an earlier release private. `origin` (optional) names the origin for a new log, and
 * must match the stored one for an existing log; or `originConvention` derives a new log's origin from its
 * key (an existing log's is checked to follow it). `log` takes the lines that say what was fixed or is
 * worth a warning (default: standard error).
 */
export function openDataDir(
  dir: string,
  origin?: string,
  log: (line: string) => void = (line) => console.error(line),
  originConvention?: OriginConvention,
): DataDir {
  if (origin !== undefined && !isValidKeyName(origin))
    throw new ConfigError(`invalid origin ${JSON.stringify(origin)}: no spaces or plus signs`);
  if (origin !== undefined && originConvention !== undefined)
    throw new ConfigError(`give an origin or an origin convention (${originConvention}), not both`);
  makeDirectory(dir, log);
  makeFilesPrivate(dir, log);
  const keyPath = join(dir, 'log.key');
  let config = readConfig(dir);
  let created = false;
  if (!config) {
    // A data directory that lost its config.json but kept its key takes the origin from the key's name.
    const keyOrigin = existsSync(keyPath) ? parseSignerKey(readFileSync(keyPath, 'utf8').trim()).name : undefined;
    if (keyOrigin === undefined && originConvention !== undefined) {
      const made = keyWithConventionalOrigin(originConvention);
      writeNewFile(keyPath, `${made.signerKey}\n`, PRIVATE);
      origin = made.origin;
      created = true;
    }
    const newOrigin = keyOrigin ?? origin ?? `localhost/kt-${toHex(randomBytes(4))}`;
    if (origin !== undefined && origin !== newOrigin)
      throw new ConfigError(`the key in ${keyPath} is for origin ${newOrigin}, not ${origin}`);
    writeNewFile(join(dir, 'config.json'), `${JSON.stringify({ origin: newOrigin }, null, 2)}\n`, PRIVATE);
    config = { origin: newOrigin, settings: DEFAULT_SETTINGS };
  } else if (origin !== undefined && origin !== config.origin) {
    throw new ConfigError(
      `the log in ${dir} has origin ${config.origin}, not ${origin}; the origin of an existing log cannot change`,
    );
  }
  if (!existsSync(keyPath)) {
    // An origin named after its key (sigsum's convention) can never be given another key: refused, nothing written.
    if (originConvention !== undefined || config.origin.startsWith(SIGSUM_LOG_PREFIX))
      throw new ConfigError(
        `${keyPath} is missing, and the origin ${config.origin} is named after the log's key: a new key could never match it; restore ${keyPath}`,
      );
    writeNewFile(keyPath, `${generateSignerKey(config.origin).signerKey}\n`, PRIVATE);
    created = true;
  }
  const signer = parseSignerKey(readFileSync(keyPath, 'utf8').trim());
  if (signer.name !== config.origin)
    throw new ConfigError(`${keyPath} is a key for ${signer.name}, not for origin ${config.origin}`);
  if (originConvention === 'sigsum' && config.origin !== sigsumLogOrigin(signer.publicKey))
    throw new ConfigError(
      `the log in ${dir} has origin ${config.origin}, not ${sigsumLogOrigin(signer.publicKey)} as sigsum's convention derives from its key; an existing log's origin cannot change`,
    );
  const vrfPath = join(dir, 'vrf.key');
  const vrfSecretKey = parseVrfSecretKey(
    secretFile(vrfPath, () => toHex(randomBytes(32))),
    vrfPath,
  );
  const tokenPath = join(dir, 'operator.token');
  const operatorToken = parseOperatorToken(
    secretFile(tokenPath, () => toHex(randomBytes(32))),
    tokenPath,
  );
  const dbPath = join(dir, 'log.db');
  createDatabaseFile(dbPath);
  const devMode = config.devMode ?? true;
  return {
    dir,
    origin: config.origin,
    signer,
    dbPath,
    created,
    vrfSecretKey,
    operatorToken,
    devMode,
    trustedRoots: config.trustedRoots ?? (devMode ? ['dev-ca.pem'] : []),
    settings: config.settings,
    vrfPool: config.vrfPool ?? {},
    httpLimits: config.httpLimits ?? DEFAULT_HTTP_LIMITS,
    explorer: config.explorer ?? true,
    readers: config.readers ?? defaultReaders(),
  };
}
