/**
 * The replay (verifier/verification/map-replay.ts) against each field of a log it is fed, one at a time: an
 * epoch head's number, range, credential count, map root and time, an entry that does not decode, entries out
 * of order, a state asked for mid-epoch; then every bit of every entry of a small log flipped in turn, each
 * refused with a `replay_*` code but for the one field the replay cannot pin, an epoch head's time, whose flips
 * are accepted exactly when the heads' times still do not go backwards.
 */
import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry, type EpochHeadEntry } from '../../../verifier/formats/entries.js';
import { MapReplay } from '../../../verifier/verification/map-replay.js';
import { errorCode } from '../../helpers/error-code.js';
import { syntheticLog } from '../../helpers/map-definition.js';

const c = (n: number) => new Uint8Array(32).fill(n);
const [a, b] = [c(0xa0), c(0x0b)];
/** Three epochs: the empty head, then two of updates. */
const LOG = syntheticLog([
  [],
  [
    { label: a, version: 1, commitment: c(1) },
    { label: b, version: 1, commitment: c(2) },
  ],
  [{ label: a, version: 2, commitment: c(3) }],
]);
const HEADS = LOG.flatMap((e, i) => (decodeEntry(e).type === 'epoch' ? [i] : []));

/** The code the replay of `entries` fails with, or 'no error'. */
const codeOf = (entries: Uint8Array[]) =>
  errorCode(() => {
    const r = new MapReplay();
    entries.forEach((e, i) => r.apply(i, e));
  });

/** LOG with head number `h` changed by `change`. */
function withHead(h: number, change: Partial<EpochHeadEntry>): Uint8Array[] {
  const out = LOG.slice();
  out[HEADS[h]] = encodeEntry({ ...(decodeEntry(LOG[HEADS[h]]) as EpochHeadEntry), ...change });
  return out;
}

describe("the replay against each field of an epoch head and of the log's order", () => {
  it('replays the honest log', () => {
    expect(codeOf(LOG)).toBe('no error');
  });

  it("refuses a head's number, range, credential count and map root, each with its own code", () => {
    expect(codeOf(withHead(2, { epoch: 3 }))).toBe('replay_epoch_sequence');
    expect(codeOf(withHead(1, { epoch: 1 - 1 }))).toBe('replay_epoch_sequence');
    expect(codeOf(withHead(1, { firstIndex: 2 }))).toBe('replay_epoch_range');
    expect(codeOf(withHead(1, { count: 1 }))).toBe('replay_epoch_range');
    expect(codeOf(withHead(2, { count: 2 }))).toBe('replay_epoch_range');
    expect(codeOf(withHead(1, { credentialCount: 1 }))).toBe('replay_credentials_root');
    expect(codeOf(withHead(2, { mapRoot: c(9) }))).toBe('replay_map_root');
  });

  it('refuses a head dated before the head it follows, and takes one dated the same or later', () => {
    const time = (h: number) => (decodeEntry(LOG[HEADS[h]]) as EpochHeadEntry).time;
    expect(codeOf(withHead(2, { time: time(1) - 1 }))).toBe('replay_epoch_time');
    expect(codeOf(withHead(1, { time: time(0) - 1 }))).toBe('replay_epoch_time');
    expect(codeOf(withHead(0, { time: 0 }))).toBe('no error'); // the first head follows none
    expect(codeOf(withHead(1, { time: time(2) + 1 }))).toBe('replay_epoch_time');
    expect(codeOf(withHead(2, { time: time(1) }))).toBe('no error');
    expect(codeOf(withHead(2, { time: Number.MAX_SAFE_INTEGER }))).toBe('no error');
  });

  it('refuses an entry that does not decode, entries out of order, and a state asked for mid-epoch', () => {
    const cut = LOG.slice();
    cut[1] = LOG[1].subarray(0, LOG[1].length - 1);
    expect(codeOf(cut)).toBe('replay_bad_entry');
    const r = new MapReplay();
    r.apply(0, LOG[0]);
    expect(() => r.apply(2, LOG[2])).toThrow(expect.objectContaining({ code: 'replay_out_of_order' }));
    r.apply(1, LOG[1]);
    expect(() => r.exportState()).toThrow(expect.objectContaining({ code: 'replay_mid_epoch' }));
    r.apply(2, LOG[2]);
    r.apply(3, LOG[3]);
    expect(r.exportState().size).toBe(4);
  });

  it("refuses every bit flipped in every entry, but an epoch head's time that still does not go backwards", () => {
    let accepted = 0;
    for (const [i, entry] of LOG.entries())
      for (let bit = 0; bit < entry.length * 8; bit++) {
        const flipped = entry.slice();
        flipped[bit >>> 3] ^= 0x80 >>> (bit & 7);
        const log = LOG.slice();
        log[i] = flipped;
        const code = codeOf(log);
        if (code === 'no error') {
          // Only a head whose fields are all the same but its time, the times still in order.
          const was = decodeEntry(entry) as EpochHeadEntry;
          const now = decodeEntry(flipped) as EpochHeadEntry;
          expect({ ...now, time: was.time }).toEqual(was);
          const times = log.flatMap((e) =>
            decodeEntry(e).type === 'epoch' ? [(decodeEntry(e) as EpochHeadEntry).time] : [],
          );
          expect(times.every((t, k) => k === 0 || t >= times[k - 1])).toBe(true);
          accepted++;
        } else expect(code, `entry ${i}, bit ${bit}`).toMatch(/^replay_/);
      }
    expect(accepted).toBeGreaterThan(0); // the last head's time may move forward: nothing pins it
  });
});
