/** The Worker entry module, and the log's key and origin read from the Worker's secrets and vars. */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import * as entry from '../../../api/worker/worker.js';
import { openSequencerState, type SequencerVars } from '../../../api/worker/sequencer-state.js';
import { ConfigError } from '../../../api/wiring/settings.js';
import { AppendError } from '../../../log/merkle/appender.js';
import { encodeSignerKey } from '../../../wasm-free-crypto/note.js';

const ORIGIN = 'example.com/kt-config-test';
const KEY = encodeSignerKey(ORIGIN, new Uint8Array(32).fill(1));

/**
 * Runs `fn` with the storage of an instance other than the sequencer's, emptied first (the instance opened
 * a log of the test env's key on start).
 */
function withEmptyStorage<R>(name: string, fn: (storage: DurableObjectStorage) => R | Promise<R>): Promise<R> {
  return runInDurableObject(env.LOG.get(env.LOG.idFromName(name)), (_i, state) => {
    state.storage.sql.exec('DROP TABLE log_head; DROP TABLE log_tiles; DROP TABLE log_bundles;');
    return fn(state.storage);
  });
}

describe('the Worker entry module', () => {
  it('exports only the handler and classes (workerd refuses any other runtime export of a main module)', () => {
    for (const [name, value] of Object.entries(entry)) {
      if (name === 'default') expect(typeof (value as { fetch?: unknown }).fetch).toBe('function');
      else expect(typeof value, name).toBe('function');
    }
  });
});

/** Opens a plain log (as a log-only sequencer does) in `storage`. */
const openLog = (storage: DurableObjectStorage, vars: SequencerVars) =>
  openSequencerState(storage, storage, { ...vars, KT_LOG_ONLY: '1' });

describe('the sequencer of a plain log', () => {
  it('refuses a missing, malformed or mismatched key without echoing it', async () => {
    const bad: [SequencerVars, RegExp][] = [
      [{ LOG_ORIGIN: ORIGIN }, /LOG_SIGNER_KEY is not set/],
      [{ LOG_SIGNER_KEY: KEY }, /LOG_ORIGIN is not set/],
      [{ LOG_SIGNER_KEY: KEY.slice(0, -4) + 'AAAA', LOG_ORIGIN: ORIGIN }, /not a valid signer key/],
      [{ LOG_SIGNER_KEY: 'secret-garbage', LOG_ORIGIN: ORIGIN }, /not a valid signer key/],
      [{ LOG_SIGNER_KEY: KEY, LOG_ORIGIN: 'example.com/other' }, /does not match/],
    ];
    await withEmptyStorage('config-refusals', async (storage) => {
      for (const [e, message] of bad) {
        const err = await openLog(storage, e).catch((x: unknown) => x);
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as Error).message).toMatch(message);
        expect((err as Error).message).not.toContain('secret-garbage');
        expect((err as Error).message).not.toContain(KEY.split('+').pop());
      }
    });
  });

  it('opens a new log, reopens it, and refuses it under another key', async () => {
    await withEmptyStorage('config-reopen', async (storage) => {
      const first = await openLog(storage, { LOG_SIGNER_KEY: KEY, LOG_ORIGIN: ORIGIN });
      await first.appender.append([new Uint8Array([1, 2, 3])]);
      const again = await openLog(storage, { LOG_SIGNER_KEY: `${KEY}\n`, LOG_ORIGIN: ORIGIN });
      expect(again.appender.head).toEqual(first.appender.head);
      const other = encodeSignerKey(ORIGIN, new Uint8Array(32).fill(2));
      await expect(openLog(storage, { LOG_SIGNER_KEY: other, LOG_ORIGIN: ORIGIN })).rejects.toBeInstanceOf(AppendError);
    });
  });
});
