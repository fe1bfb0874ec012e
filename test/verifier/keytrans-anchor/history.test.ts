/**
 * The KEYTRANS heads' history as an auditor saves it between runs (verifier/keytrans-anchor/history.ts): encoded
 * and decoded after every KEYTRANS heads entry of a real directory's log, it goes on exactly as the history that
 * was never saved; an empty one round-trips; and a damaged encoding (any prefix, a byte after it, another format,
 * a subtree changed, an entry that is not KEYTRANS heads, a head's root or size changed, a provider named twice)
 * is refused as `anchor_history_state`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { concatBytes } from '../../../wasm-free-crypto/bytes.js';
import { encodeEntry } from '../../../verifier/formats/entries.js';
import { KeyTransHistory } from '../../../verifier/keytrans-anchor/history.js';
import { KT_128_SHA256_Ed25519 as SUITE } from '../../../verifier/keytrans/suites.js';
import { headsAt, keyTransLog, type KeyTransLog } from '../../helpers/keytrans-log.js';

let log: KeyTransLog;
beforeAll(async () => {
  log = await keyTransLog();
});

const refused = (bytes: Uint8Array) =>
  expect(() => KeyTransHistory.decode(SUITE, bytes)).toThrow(expect.objectContaining({ code: 'anchor_history_state' }));

/** The history after every KEYTRANS heads entry of the log, never saved. */
function replayed(): KeyTransHistory {
  const h = new KeyTransHistory(SUITE);
  for (const i of log.heads) h.apply(headsAt(log.entries, i));
  return h;
}

describe('the KEYTRANS history saved and restored', () => {
  it('goes on after a decode exactly as the history that was never saved', () => {
    expect(log.heads.length).toBeGreaterThan(4);
    const empty = new KeyTransHistory(SUITE).encode();
    expect([...empty]).toEqual([1, 0, 0, 0, 0]);
    let saved = empty;
    for (const i of log.heads) {
      const h = KeyTransHistory.decode(SUITE, saved);
      h.apply(headsAt(log.entries, i));
      saved = h.encode();
      expect(KeyTransHistory.decode(SUITE, saved).encode()).toEqual(saved);
    }
    const whole = replayed();
    expect(saved).toEqual(whole.encode());
    const restored = KeyTransHistory.decode(SUITE, saved);
    expect([restored.lastEpoch, restored.providerCount]).toEqual([headsAt(log.entries, log.heads.at(-1)!).epoch, 2]);
    // The restored history still refuses what the whole one refuses: the same heads again, a provider left out.
    const last = headsAt(log.entries, log.heads.at(-1)!);
    expect(() => restored.apply({ ...last, epoch: last.epoch + 1 })).toThrow(
      expect.objectContaining({ code: 'anchor_history' }),
    );
    const next = KeyTransHistory.decode(SUITE, saved);
    expect(() => next.apply({ ...last, epoch: last.epoch + 1, heads: last.heads.slice(1) })).toThrow(
      expect.objectContaining({ code: 'anchor_history' }),
    );
  });

  it('refuses a damaged encoding', () => {
    const bytes = replayed().encode();
    for (let n = 0; n < bytes.length; n++) refused(bytes.subarray(0, n));
    refused(concatBytes(bytes, new Uint8Array(1)));
    refused(concatBytes(new KeyTransHistory(SUITE).encode(), new Uint8Array(1)));
    const other = bytes.slice();
    other[0] = 2;
    refused(other);
    const subtree = bytes.slice();
    subtree[bytes.length - 1] ^= 1;
    refused(subtree);
    const entryLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(1);
    const notAnEntry = bytes.slice();
    notAnEntry[5] = 0x03; // the entry's type byte
    refused(notAnEntry);
    // The entry's heads changed: a root, a tree size (its subtrees then do not give the root, or are not as many).
    const last = headsAt(log.entries, log.heads.at(-1)!);
    const values = bytes.subarray(5 + entryLength);
    const firstValues = values.subarray(0, values.length - 32 * popcount(last.heads[1].treeSize));
    const withEntry = (entry: Uint8Array, subtrees: Uint8Array) => {
      const header = new Uint8Array(5);
      header[0] = 1;
      new DataView(header.buffer).setUint32(1, entry.length);
      return concatBytes(header, entry, subtrees);
    };
    expect(withEntry(encodeEntry(last), values)).toEqual(bytes);
    const head = last.heads[0];
    for (const changed of [
      { ...head, root: head.root.map((x) => x ^ 1) },
      { ...head, treeSize: head.treeSize + 1 },
    ])
      refused(withEntry(encodeEntry({ ...last, heads: [changed, last.heads[1]] }), values));
    // A provider named twice, with its subtrees twice: the history keeps each deployment once.
    const twice = encodeEntry({ ...last, heads: [head, head] });
    refused(withEntry(twice, concatBytes(firstValues, firstValues)));
  });
});

function popcount(n: number): number {
  let c = 0;
  for (; n > 0; n = Math.floor(n / 2)) c += n % 2;
  return c;
}
