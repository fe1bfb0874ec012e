/**
 * The KEYTRANS heads' history in the directory's log (docs/PROTOCOL.md section 22.7), as an auditor checks it: the
 * anchor check alone ties one client's head to one epoch, and an operator could anchor two trees of a provider
 * in alternate epochs. Each KEYTRANS heads entry carries every deployment's newest LogEntry as well as its head,
 * so the log holds each deployment's whole log tree: replayed from the log's first KEYTRANS heads entry, a
 * provider appears with tree size 1, goes up by exactly one every epoch, never leaves, and each anchored root is
 * the root of the log tree of the LogEntries anchored so far (draft-05 "Log Tree"). Pure, synchronous; a
 * refusal is an AnchorError `anchor_history`.
 *
 * An auditor that resumes saves the history between runs (`encode`, `KeyTransHistory.decode`, docs/PROTOCOL.md
 * section 22.7): `u8 format (0x01) || u32 len || the last KEYTRANS heads entry applied (len bytes, none before
 * the first) || for each of its heads, in its order, the values of the deployment's full subtrees (32 bytes
 * each, left to right; their widths are the bits of tree_size, highest first)`. Decoding is strict: the entry
 * as strictly as the log's, exactly the subtrees its sizes have, each provider's subtrees giving its anchored
 * root, no trailing byte; anything else is an AnchorError `anchor_history_state` (a damaged state).
 */
import { KeyTransError } from '../keytrans/errors.js';
import {
  fullSubtreeRanges,
  logLeafHash,
  logParentHash,
  rootFromFullSubtrees,
  type LogTreeHash,
} from '../keytrans/log-tree.js';
import { concatBytes, equalBytes, readU32be, u32be } from '../../wasm-free-crypto/bytes.js';
import { decodeKeyTransHeadsEntry, encodeEntry, type KeyTransHeadsEntry } from '../formats/entries.js';
import { AnchorError } from './anchor.js';

/** What the replay keeps of one deployment: its log tree's full subtrees (value and width), left to right. */
interface Replayed {
  size: number;
  subtrees: { value: Uint8Array; width: number }[];
}

const fail = (message: string) => new AnchorError('anchor_history', message);
const damaged = (message: string) =>
  new AnchorError('anchor_history_state', `the saved KEYTRANS history is damaged: ${message}`);

/** The format byte of an encoded history. */
const HISTORY_FORMAT = 0x01;

/** Replays KEYTRANS heads entries in log order, from the log's first one. */
export class KeyTransHistory {
  private readonly providers = new Map<string, Replayed>();
  /** The last entry applied (its heads are every provider's, in the order they appeared). */
  private last: KeyTransHeadsEntry | null = null;

  constructor(private readonly suite: LogTreeHash) {}

  /** The epoch of the last KEYTRANS heads entry applied, or null before the first. */
  get lastEpoch(): number | null {
    return this.last?.epoch ?? null;
  }

  /** How many providers' deployments the history follows. */
  get providerCount(): number {
    return this.providers.size;
  }

  /** Applies the next KEYTRANS heads entry; throws AnchorError `anchor_history` if the history breaks. */
  apply(entry: KeyTransHeadsEntry): void {
    if (this.lastEpoch !== null && entry.epoch <= this.lastEpoch)
      throw fail(`the KEYTRANS heads of epoch ${entry.epoch} follow those of epoch ${this.lastEpoch}`);
    const seen = new Set(entry.heads.map((h) => h.providerId));
    if (seen.size !== entry.heads.length) throw fail(`epoch ${entry.epoch} names a provider twice`);
    for (const id of this.providers.keys())
      if (!seen.has(id)) throw fail(`epoch ${entry.epoch} leaves out ${id}'s deployment`);
    for (const h of entry.heads) {
      const known = this.providers.get(h.providerId) ?? { size: 0, subtrees: [] };
      if (h.treeSize !== known.size + 1)
        throw fail(`epoch ${entry.epoch}: ${h.providerId}'s tree size ${h.treeSize} does not follow ${known.size}`);
      this.push(known, logLeafHash(this.suite, { timestamp: h.timestamp, prefixTree: h.prefixRoot }));
      if (!equalBytes(this.root(known), h.root))
        throw fail(`epoch ${entry.epoch}: ${h.providerId}'s root is not its anchored log entries' root`);
      this.providers.set(h.providerId, known);
    }
    this.last = entry;
  }

  /** The history as an auditor saves it (the format in this file's opening comment). */
  encode(): Uint8Array {
    if (this.last === null) return concatBytes(new Uint8Array([HISTORY_FORMAT]), u32be(0));
    const entry = encodeEntry(this.last);
    const values = this.last.heads.flatMap((h) => this.providers.get(h.providerId)!.subtrees.map((t) => t.value));
    return concatBytes(new Uint8Array([HISTORY_FORMAT]), u32be(entry.length), entry, ...values);
  }

  /** A history from `encode`'s bytes, strictly (else AnchorError `anchor_history_state`). */
  static decode(suite: LogTreeHash, bytes: Uint8Array): KeyTransHistory {
    if (bytes.length < 5 || bytes[0] !== HISTORY_FORMAT) throw damaged('not a history of format 1');
    const length = readU32be(bytes, 1);
    const history = new KeyTransHistory(suite);
    if (length === 0) {
      if (bytes.length !== 5) throw damaged('bytes after an empty history');
      return history;
    }
    if (bytes.length < 5 + length) throw damaged('its KEYTRANS heads entry is cut off');
    let entry: KeyTransHeadsEntry;
    try {
      entry = decodeKeyTransHeadsEntry(bytes.subarray(5, 5 + length));
    } catch (e) {
      throw damaged(`its KEYTRANS heads entry does not decode: ${(e as Error).message}`);
    }
    let at = 5 + length;
    for (const h of entry.heads) {
      if (history.providers.has(h.providerId)) throw damaged(`${h.providerId} is named twice`);
      const widths = fullSubtreeRanges(h.treeSize).map((r) => r.end - r.start);
      if (bytes.length < at + 32 * widths.length) throw damaged(`${h.providerId}'s subtrees are cut off`);
      const subtrees = widths.map((width, i) => ({ value: bytes.slice(at + 32 * i, at + 32 * (i + 1)), width }));
      at += 32 * widths.length;
      const known = { size: h.treeSize, subtrees };
      if (!equalBytes(history.root(known), h.root)) throw damaged(`${h.providerId}'s subtrees are not its root's`);
      history.providers.set(h.providerId, known);
    }
    if (at !== bytes.length) throw damaged('bytes after its subtrees');
    history.last = entry;
    return history;
  }

  /** Appends a leaf: equal neighbours merge, as the full subtrees of a left-balanced tree do. */
  private push(r: Replayed, leaf: Uint8Array): void {
    r.subtrees.push({ value: leaf, width: 1 });
    r.size++;
    for (let n = r.subtrees.length; n >= 2 && r.subtrees[n - 2].width === r.subtrees[n - 1].width; n--) {
      const right = r.subtrees.pop()!;
      const left = r.subtrees.pop()!;
      const leafs = left.width === 1;
      r.subtrees.push({
        value: logParentHash(this.suite, left.value, leafs, right.value, leafs),
        width: 2 * left.width,
      });
    }
  }

  private root(r: Replayed): Uint8Array {
    try {
      return rootFromFullSubtrees(
        this.suite,
        r.size,
        r.subtrees.map((t) => t.value),
      );
    } catch (e) {
      if (e instanceof KeyTransError) throw fail(e.message);
      throw e;
    }
  }
}
