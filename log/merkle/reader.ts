/**
 * The log's read side for C2SP tlog-tiles: the checkpoint, tiles and entry bundles, each bounded by the
 * published head. A tile (L, N, W) is served only if all its W hashes belong to the published tree
 * (N * 256 + W <= floor(size / 256^L)), so bytes a crashed or failed commit may have left past the head
 * are never shown, and a partial tile of any width up to the current one is the immutable prefix of the
 * stored tile: every partial tile of every past checkpoint stays available.
 */
import type { LogHead, LogStorage } from './storage.js';
import { TILE_WIDTH, type Tile } from '../../verifier/formats/tiles.js';
import { HASH_SIZE, LogError } from '../../verifier/formats/tlog.js';

export class LogReader {
  /**
   * `currentHead` bounds what is served; `servedCheckpoint`, if given, is the checkpoint served instead of
   * the head's (the directory's cosigned epoch checkpoint, which may lag the head while witnesses answer:
   * the tiles of the committed head stay readable, for witnesses that audit before they cosign).
   */
  constructor(
    private readonly storage: LogStorage,
    private readonly currentHead: () => LogHead,
    private readonly servedCheckpoint?: () => string,
  ) {}

  /** The published signed checkpoint. */
  checkpoint(): string {
    return this.servedCheckpoint?.() ?? this.currentHead().checkpoint;
  }

  /** The published tree size. */
  size(): number {
    return this.currentHead().size;
  }

  /** The bytes of tile `t` (W hashes), or null if it is not part of the published tree. */
  async tile(t: Tile): Promise<Uint8Array | null> {
    const available = Math.floor(this.currentHead().size / TILE_WIDTH ** t.level);
    if (t.n * TILE_WIDTH + t.width > available) return null;
    const data = await this.storage.readTile(t.level, t.n);
    if (!data || data.length < t.width * HASH_SIZE)
      throw new LogError('corrupt_log', `stored tile ${t.level}/${t.n} is shorter than the published tree`);
    return data.subarray(0, t.width * HASH_SIZE);
  }

  /** The first `width` entries of bundle `n`, still encoded, or null if not in the published tree. */
  async entryBundle(n: number, width: number): Promise<Uint8Array | null> {
    if (n * TILE_WIDTH + width > this.currentHead().size) return null;
    const data = await this.storage.readEntryBundle(n);
    const end = data ? prefixLength(data, width) : -1;
    if (!data || end < 0)
      throw new LogError('corrupt_log', `stored entry bundle ${n} is shorter than the published tree`);
    return data.subarray(0, end);
  }
}

/** Byte length of the first `count` uint16-length-prefixed entries of a bundle, or -1 if it is shorter. */
function prefixLength(bundle: Uint8Array, count: number): number {
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 2 > bundle.length) return -1;
    offset += 2 + ((bundle[offset] << 8) | bundle[offset + 1]);
  }
  return offset <= bundle.length ? offset : -1;
}
