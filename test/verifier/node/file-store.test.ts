/**
 * The client's checkpoint stores: a file on Node (verifier/node/file-store.ts: a missing file is an empty
 * store, writes are whole and leave no temporary file, other read errors are thrown) and a browser's Web
 * Storage (verifier/client/checkpoint-store.ts: its getItem and setItem, an error where there is none).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileStore } from '../../../verifier/node/file-store.js';
import { localStorageStore, memoryStore } from '../../../verifier/client/checkpoint-store.js';

const dir = mkdtempSync(join(tmpdir(), 'kt-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fileStore', () => {
  it('is empty while the file is missing, then holds exactly what was saved, with no temporary file left', async () => {
    const path = join(dir, 'kt-state.json');
    const store = fileStore(path);
    expect(await store.load()).toBeUndefined();
    await store.save('{"checkpoint":"one"}\n');
    await store.save('{"checkpoint":"two"}\n');
    expect(await store.load()).toBe('{"checkpoint":"two"}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"checkpoint":"two"}\n');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('throws any other read or write error, leaving no temporary file', async () => {
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    await expect(fileStore(folder).load()).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(fileStore(join(dir, 'missing-folder', 'kt-state.json')).save('x')).rejects.toMatchObject({
      code: 'ENOENT',
    });
    await expect(fileStore(folder).save('x')).rejects.toThrow();
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('localStorageStore and memoryStore', () => {
  it('keep the text under their key in a Web Storage, or in memory', async () => {
    const items = new Map<string, string>();
    const storage = {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => void items.set(k, v),
    };
    const store = localStorageStore('kt-test', storage);
    expect(await store.load()).toBeUndefined();
    await store.save('state');
    expect(items.get('kt-test')).toBe('state');
    expect(await store.load()).toBe('state');
    const memory = memoryStore('start');
    expect(await memory.load()).toBe('start');
    await memory.save('next');
    expect(await memory.load()).toBe('next');
  });

  it('says so where the platform has no localStorage', async () => {
    await expect(localStorageStore().load()).rejects.toThrow(/no localStorage/);
  });
});
