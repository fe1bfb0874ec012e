/**
 * The KEYTRANS heads' history in the directory's log (docs/PROTOCOL.md section 22.7), as an auditor checks it: the
 * anchor check alone ties one client's head to one epoch, and an operator could anchor two trees of a provider
 * in alternate epochs. Each KEYTRANS heads entry carries every deployment's newest LogEntry as well as its head,
 * so the log holds each deployment's whole log tree: replayed from the log's first KEYTRANS heads entry, a
 * provider appears with tree size 1, goes up by exactly one every epoch, never leaves, and each anchored root is
 * the root of the log tree of the LogEntries anchored so far (draft-05 "Log Tree"). Pure, synchronous; a
 * refusal is an AnchorError `anchor_history`.
 */
import { KeyTransError } from '../keytrans/errors.js';
import { logLeafHash, logParentHash, rootFromFullSubtrees } from '../keytrans/log-tree.js';
import type { CipherSuite } from '../keytrans/suites.js';
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import type { KeyTransHeadsEntry } from '../formats/entries.js';
import { AnchorError } from './anchor.js';

/** What the replay keeps of one deployment: its log tree's full subtrees (value and width), left to right. */
interface Replayed {
  size: number;
  subtrees: { value: Uint8Array; width: number }[];
}

const fail = (message: string) => new AnchorError('anchor_history', message);

/** Replays KEYTRANS heads entries in log order, from the log's first one. */
export class KeyTransHistory {
  private readonly providers = new Map<string, Replayed>();
  private lastEpoch: number | null = null;

  constructor(private readonly suite: CipherSuite) {}

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
    this.lastEpoch = entry.epoch;
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
