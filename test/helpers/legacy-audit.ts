/**
 * A map replay's leaves as the release before the stored map saved them in an audit state: every account's
 * label, uint64 version and history hash (72 bytes each), read from a test directory's accounts now.
 */
import { u64be } from '../../wasm-free-crypto/bytes.js';
import type { TestDirectory } from './directory.js';

export function legacyLeaves(t: TestDirectory): Uint8Array {
  const rows = t.db.prepare('SELECT label, version, history FROM dir_accounts ORDER BY id DESC').all() as {
    label: Uint8Array;
    version: number;
    history: Uint8Array;
  }[];
  const leaves = new Uint8Array(72 * rows.length);
  rows.forEach((r, i) => {
    leaves.set(r.label, 72 * i);
    leaves.set(u64be(r.version), 72 * i + 32);
    leaves.set(r.history, 72 * i + 40);
  });
  return leaves;
}
