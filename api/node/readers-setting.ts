/**
 * The Node server's `readers` setting (config.json): how many reader processes answer lookups beside the
 * sequencer's process (api/node/readers.ts). 0 serves everything from the one process. The default follows
 * the machine: one reader per core beyond two (the sequencer's process, with its VRF threads, keeps two), so
 * 0 on a machine of two cores, 2 on four, 6 on eight.
 */
import { availableParallelism } from 'node:os';
import { ConfigError } from '../wiring/settings.js';

export const READERS_SETTING = 'readers';
/** The most reader processes a server runs. */
export const MAX_READERS = 64;

/** The default number of readers on a machine of `cores` cores. */
export function defaultReaders(cores = availableParallelism()): number {
  return Math.min(MAX_READERS, Math.max(0, cores - 2));
}

/** The `readers` setting of a parsed config.json (`file` names it in errors), or the default. */
export function readersSetting(config: Record<string, unknown>, file: string): number {
  const value = config[READERS_SETTING];
  if (value === undefined) return defaultReaders();
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_READERS)
    throw new ConfigError(`${file}: "readers" must be an integer from 0 to ${MAX_READERS}`);
  return value;
}
