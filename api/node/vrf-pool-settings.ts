/**
 * The Node server's settings of its VRF pool (api/node/vrf-pool.ts), read from `config.json` beside the
 * settings both servers share (the Worker proves on its own thread and has no pool): `vrfThreads`, the
 * threads (default: the cores, `os.availableParallelism()`), and `vrfReadQueue`, how many lookups may wait
 * for a thread (default 32 per thread). A VRF proof takes about 5.6 ms of one core, so a lookup that joins a
 * full queue of the default size waits about 32 x 5.6 ms = 180 ms for its proof to start, whatever the
 * number of cores; beyond that the server answers 503 `overloaded` with `Retry-After: 1` at once, which
 * costs nothing, instead of letting waits (and memory) grow without bound. Each waiting lookup is one
 * in-flight request (a batch proves its items one at a time).
 */
import { availableParallelism } from 'node:os';
import type { Logger } from '../app/logger.js';
import { ConfigError } from '../wiring/settings.js';
import type { VrfPoolOptions } from './vrf-pool.js';

/** The keys of config.json these settings take. */
export const VRF_POOL_SETTING_NAMES = ['vrfThreads', 'vrfReadQueue'] as const;

/** Lookups that may wait per thread, by default. */
const READS_QUEUED_PER_THREAD = 32;

/** The pool's settings as config.json gives them (unset: the defaults, resolved on this machine). */
export interface VrfPoolSettings {
  threads?: number;
  readQueue?: number;
}

function optionalInteger(config: Record<string, unknown>, key: string, min: number, max: number, file: string) {
  const value = config[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw new ConfigError(`${file}: "${key}" must be an integer from ${min} to ${max}`);
  return value;
}

/** The pool's settings of a parsed config.json (`file` names it in errors). */
export function vrfPoolSettings(config: Record<string, unknown>, file: string): VrfPoolSettings {
  return {
    threads: optionalInteger(config, 'vrfThreads', 1, 256, file),
    readQueue: optionalInteger(config, 'vrfReadQueue', 0, 1_000_000, file),
  };
}

/** The pool's options from its settings, the defaults taken on this machine. */
export function vrfPoolOptions(settings: VrfPoolSettings, secretKey: Uint8Array, logger?: Logger): VrfPoolOptions {
  const threads = settings.threads ?? availableParallelism();
  return { secretKey, threads, maxQueuedReads: settings.readQueue ?? READS_QUEUED_PER_THREAD * threads, logger };
}
