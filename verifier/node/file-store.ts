/**
 * A checkpoint store in a file, for Node (verifier/client/checkpoint-store.ts). Writes are atomic: a
 * temporary file beside the target, fsync, then rename, so a crash leaves the old or the new contents and
 * never a torn file that would make the client forget its checkpoint. The file is `kt`'s state file format,
 * so `fileStore('kt-state.json')` shares the checkpoint with `kt lookup`. The only module of the client
 * package that imports Node built-ins: browsers never load it.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import type { CheckpointStore } from '../client/checkpoint-store.js';

/** A store in the file at `path`; a missing file is an empty store, any other read error is thrown. */
export function fileStore(path: string): CheckpointStore {
  return {
    async load() {
      try {
        return await readFile(path, 'utf8');
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async save(text) {
      const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
      const file = await open(tmp, 'w', 0o644);
      try {
        try {
          await file.writeFile(text);
          await file.sync();
        } finally {
          await file.close();
        }
        await rename(tmp, path); // the old contents or the new, never a torn file
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw e;
      }
    },
  };
}
