/**
 * The Node server's `readers` setting (api/node/readers-setting.ts): the default follows the machine (one
 * reader per core beyond two, at most MAX_READERS); config.json's value is taken when it is an integer from 0
 * to MAX_READERS, and anything else is a ConfigError that names the file.
 */
import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { defaultReaders, MAX_READERS, readersSetting } from '../../../api/node/readers-setting.js';
import { ConfigError } from '../../../api/wiring/settings.js';

describe('the readers setting', () => {
  it('defaults to one reader per core beyond two, at most MAX_READERS', () => {
    expect([1, 2, 3, 4, 8, 66, 500].map((cores) => defaultReaders(cores))).toEqual([0, 0, 1, 2, 6, 64, 64]);
    expect(MAX_READERS).toBe(64);
    expect(readersSetting({}, 'config.json')).toBe(defaultReaders(availableParallelism()));
  });

  it("takes config.json's integer from 0 to MAX_READERS, and refuses anything else naming the file", () => {
    for (const n of [0, 1, 7, MAX_READERS]) expect(readersSetting({ readers: n }, 'config.json')).toBe(n);
    for (const bad of [-1, MAX_READERS + 1, 1.5, '2', null, true, Number.NaN]) {
      expect(() => readersSetting({ readers: bad }, '/data/config.json')).toThrow(ConfigError);
      expect(() => readersSetting({ readers: bad }, '/data/config.json')).toThrow(/\/data\/config.json: "readers"/);
    }
  });
});
