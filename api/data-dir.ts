/**
 * The Node server's data directory: `config.json` (the log's origin), `log.key` (the log's C2SP signer
 * key string, mode 0600, created on first run and never overwritten) and `log.db` (the SQLite file).
 * The origin is the log's identity: it is fixed on first run and a later run that asks for another one
 * is refused rather than silently starting a different log.
 */
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../wasm-free-crypto/bytes.js';
import { CodedError } from '../wasm-free-crypto/errors.js';
import { randomBytes } from '../wasm-free-crypto/ed25519.js';
import { generateSignerKey, isValidKeyName, parseSignerKey, type Ed25519NoteSigner } from '../wasm-free-crypto/note.js';

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
  /** True when this call created the keys. */
  created: boolean;
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

function readConfig(dir: string): { origin: string } | null {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) return null;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { origin?: unknown };
  if (typeof parsed.origin !== 'string' || !isValidKeyName(parsed.origin)) throw new ConfigError(`${path} has no valid "origin"`);
  return { origin: parsed.origin };
}

/**
 * Opens the data directory, creating it, the origin and the log key on first run. `origin` (optional)
 * names the origin for a new log, and must match the stored one for an existing log.
 */
export function openDataDir(dir: string, origin?: string): DataDir {
  if (origin !== undefined && !isValidKeyName(origin)) throw new ConfigError(`invalid origin ${JSON.stringify(origin)}: no spaces or plus signs`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, 'log.key');
  let config = readConfig(dir);
  let created = false;
  if (!config) {
    // A data directory that lost its config.json but kept its key takes the origin from the key's name.
    const keyOrigin = existsSync(keyPath) ? parseSignerKey(readFileSync(keyPath, 'utf8').trim()).name : undefined;
    config = { origin: keyOrigin ?? origin ?? `localhost/kt-${toHex(randomBytes(4))}` };
    if (origin !== undefined && origin !== config.origin) throw new ConfigError(`the key in ${keyPath} is for origin ${config.origin}, not ${origin}`);
    writeNewFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`, 0o644);
  } else if (origin !== undefined && origin !== config.origin) {
    throw new ConfigError(`the log in ${dir} has origin ${config.origin}, not ${origin}; the origin of an existing log cannot change`);
  }
  if (!existsSync(keyPath)) {
    writeNewFile(keyPath, `${generateSignerKey(config.origin).signerKey}\n`, 0o600);
    created = true;
  }
  const signer = parseSignerKey(readFileSync(keyPath, 'utf8').trim());
  if (signer.name !== config.origin) throw new ConfigError(`${keyPath} is a key for ${signer.name}, not for origin ${config.origin}`);
  return { dir, origin: config.origin, signer, dbPath: join(dir, 'log.db'), created };
}
