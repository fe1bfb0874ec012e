/**
 * The Node server's data directory: `config.json` (the origin and settings), `log.key` (the log's C2SP
 * signer key string), `vrf.key` (the VRF secret key, hex) and `operator.token` (all mode 0600, created on
 * first run and never overwritten), `log.db` (the SQLite file) and, in development mode, the development
 * CA (`dev-ca.pem`, `dev-ca.key`).
 * The origin is the log's identity: it is fixed on first run and a later run that asks for another one
 * is refused rather than silently starting a different log.
 */
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, toHex } from '../../wasm-free-crypto/bytes.js';
import { parseWitnessEndpoints, type WitnessEndpoint } from '../../log/merkle/witnessing.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { randomBytes } from '../../wasm-free-crypto/random.js';
import {
  generateSignerKey,
  isValidKeyName,
  parseSignerKey,
  type Ed25519NoteSigner,
} from '../../wasm-free-crypto/note.js';

export class ConfigError extends CodedError {
  constructor(message: string) {
    super('bad_config', message);
  }
}

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
  epochIntervalMs: number;
  heartbeatMs: number;
  /** Per-client lookup rate limit: burst size and sustained requests per second. */
  lookupBurst: number;
  lookupRatePerSecond: number;
  /** Witnesses each checkpoint is sent to (cosigner key string and submission URL), and how many clients should require. */
  witnesses: WitnessEndpoint[];
  witnessQuorum: number;
  /** True when this call created the keys. */
  created: boolean;
}

interface ConfigFile {
  origin: string;
  devMode?: boolean;
  trustedRoots?: string[];
  epochIntervalMs?: number;
  heartbeatMs?: number;
  lookupBurst?: number;
  lookupRatePerSecond?: number;
  witnesses?: WitnessEndpoint[];
  witnessQuorum?: number;
}

/** Checks the "witnesses" and "witnessQuorum" settings: valid cosigner keys, http(s) URLs, a possible quorum. */
function checkWitnesses(path: string, witnesses: unknown, quorum: unknown): void {
  if (witnesses !== undefined) {
    try {
      parseWitnessEndpoints(witnesses);
    } catch (e) {
      throw new ConfigError(`${path}: "witnesses" ${(e as Error).message}`);
    }
  }
  const count = Array.isArray(witnesses) ? witnesses.length : 0;
  if (
    quorum !== undefined &&
    !(Number.isSafeInteger(quorum) && (quorum as number) >= 0 && (quorum as number) <= count)
  ) {
    throw new ConfigError(`${path}: "witnessQuorum" must be an integer from 0 to the number of witnesses (${count})`);
  }
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

function readConfig(dir: string): ConfigFile | null {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) return null;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  const known = [
    'origin',
    'devMode',
    'trustedRoots',
    'epochIntervalMs',
    'heartbeatMs',
    'lookupBurst',
    'lookupRatePerSecond',
    'witnesses',
    'witnessQuorum',
  ];
  const unknown = Object.keys(parsed).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new ConfigError(`${path} has unknown settings: ${unknown.join(', ')}`);
  if (typeof parsed.origin !== 'string' || !isValidKeyName(parsed.origin))
    throw new ConfigError(`${path} has no valid "origin"`);
  if (parsed.devMode !== undefined && typeof parsed.devMode !== 'boolean')
    throw new ConfigError(`${path}: "devMode" must be true or false`);
  if (
    parsed.trustedRoots !== undefined &&
    !(Array.isArray(parsed.trustedRoots) && parsed.trustedRoots.every((r) => typeof r === 'string'))
  ) {
    throw new ConfigError(`${path}: "trustedRoots" must be a list of PEM file paths`);
  }
  for (const [k, min] of [
    ['epochIntervalMs', 10],
    ['heartbeatMs', 10],
    ['lookupBurst', 1],
    ['lookupRatePerSecond', 1],
  ] as const) {
    const v = parsed[k];
    if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= min))
      throw new ConfigError(`${path}: "${k}" must be an integer >= ${min}`);
  }
  checkWitnesses(path, parsed.witnesses, parsed.witnessQuorum);
  return parsed as unknown as ConfigFile;
}

/** Reads a 0600 secret file, creating it with `make()` on first run. */
function secretFile(path: string, make: () => string): string {
  if (!existsSync(path)) writeNewFile(path, `${make()}\n`, 0o600);
  return readFileSync(path, 'utf8').trim();
}

/**
 * Opens the data directory, creating it, the origin and the log key on first run. `origin` (optional)
 * names the origin for a new log, and must match the stored one for an existing log.
 */
export function openDataDir(dir: string, origin?: string): DataDir {
  if (origin !== undefined && !isValidKeyName(origin))
    throw new ConfigError(`invalid origin ${JSON.stringify(origin)}: no spaces or plus signs`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, 'log.key');
  let config = readConfig(dir);
  let created = false;
  if (!config) {
    // A data directory that lost its config.json but kept its key takes the origin from the key's name.
    const keyOrigin = existsSync(keyPath) ? parseSignerKey(readFileSync(keyPath, 'utf8').trim()).name : undefined;
    config = { origin: keyOrigin ?? origin ?? `localhost/kt-${toHex(randomBytes(4))}` };
    if (origin !== undefined && origin !== config.origin)
      throw new ConfigError(`the key in ${keyPath} is for origin ${config.origin}, not ${origin}`);
    writeNewFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`, 0o644);
  } else if (origin !== undefined && origin !== config.origin) {
    throw new ConfigError(
      `the log in ${dir} has origin ${config.origin}, not ${origin}; the origin of an existing log cannot change`,
    );
  }
  if (!existsSync(keyPath)) {
    writeNewFile(keyPath, `${generateSignerKey(config.origin).signerKey}\n`, 0o600);
    created = true;
  }
  const signer = parseSignerKey(readFileSync(keyPath, 'utf8').trim());
  if (signer.name !== config.origin)
    throw new ConfigError(`${keyPath} is a key for ${signer.name}, not for origin ${config.origin}`);
  const vrfHex = secretFile(join(dir, 'vrf.key'), () => toHex(randomBytes(32)));
  if (!/^[0-9a-f]{64}$/.test(vrfHex))
    throw new ConfigError(`${join(dir, 'vrf.key')} must hold 64 lower-case hex digits`);
  const operatorToken = secretFile(join(dir, 'operator.token'), () => toHex(randomBytes(32)));
  const devMode = config.devMode ?? true;
  return {
    dir,
    origin: config.origin,
    signer,
    dbPath: join(dir, 'log.db'),
    created,
    vrfSecretKey: fromHex(vrfHex),
    operatorToken,
    devMode,
    trustedRoots: config.trustedRoots ?? (devMode ? ['dev-ca.pem'] : []),
    epochIntervalMs: config.epochIntervalMs ?? 1000,
    heartbeatMs: config.heartbeatMs ?? 60_000,
    lookupBurst: config.lookupBurst ?? 60,
    lookupRatePerSecond: config.lookupRatePerSecond ?? 10,
    witnesses: config.witnesses ?? [],
    witnessQuorum: config.witnessQuorum ?? 0,
  };
}
