/**
 * The log's single writer. A batch of entries becomes new leaf hashes, new tile hashes at every level,
 * new entry bundles and a newly signed checkpoint, committed to storage at once; only after the commit
 * returned is the checkpoint published (returned, served). The tree's frontier and its rightmost tiles
 * and entry bundle are kept in memory (log/merkle/tile-writer.ts); on start they are rebuilt from storage
 * and checked against the stored checkpoint's root.
 */
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { equalBytes, utf8 } from '../../wasm-free-crypto/bytes.js';
import { ed25519NoteVerifier, splitNote, type Ed25519NoteSigner } from '../../wasm-free-crypto/note.js';
import { openCheckpoint, parseCheckpoint, signCheckpoint, type Checkpoint } from '../../verifier/formats/checkpoint.js';
import { penultimateEntryProof as penultimateProof } from './penultimate-proof.js';
import { TileWriter } from './tile-writer.js';
import type { LogHead, LogStorage } from './storage.js';

/** Entries are uint16-length-prefixed in bundles (C2SP tlog-tiles "Log entries"). */
export const MAX_ENTRY_BYTES = 0xffff;
/** Entries per append call; larger batches are refused rather than held in memory unbounded. */
const MAX_BATCH_ENTRIES = 1 << 16;

export type AppendErrorCode =
  | 'bad_config'
  | 'bad_entry'
  | 'batch_too_large'
  | 'closed'
  | 'corrupt_log'
  | 'empty_batch'
  | 'entry_too_large';

export class AppendError extends CodedError<AppendErrorCode> {
  override readonly name = 'AppendError';
}

export interface AppenderOptions {
  storage: LogStorage;
  /** The log's Ed25519 note signer; its key name must be the origin. */
  signer: Ed25519NoteSigner;
  origin: string;
}

/** What an append returns: where the batch landed and the published checkpoint that includes it. */
export interface AppendResult {
  firstIndex: number;
  count: number;
  head: LogHead;
  /** Inclusion proof of the batch's last entry in the new checkpoint's tree (the directory's epoch head). */
  lastEntryProof: Uint8Array[];
  /** Inclusion proof of the second-to-last entry in that tree (null for a batch of one). */
  penultimateEntryProof: Uint8Array[] | null;
}

/** Options of one append. */
export interface AppendOptions {
  /**
   * Writes to make atomically with the batch (see LogCommit.withinCommit), given the head being
   * committed and the inclusion proof of the batch's last entry in it.
   */
  withinCommit?: (c: {
    head: LogHead;
    lastEntryProof: Uint8Array[];
    penultimateEntryProof: Uint8Array[] | null;
  }) => void;
}

export class LogAppender {
  private tree: TileWriter;
  private published: LogHead;
  private stale = false;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly opts: AppenderOptions,
    tree: TileWriter,
    head: LogHead,
  ) {
    this.tree = tree;
    this.published = head;
  }

  /** Opens the log: loads and checks the stored head, or commits the signed empty checkpoint of a new log. */
  static async open(opts: AppenderOptions): Promise<LogAppender> {
    if (opts.signer.name !== opts.origin) throw new AppendError('bad_config', 'the log key name must equal the origin');
    const { tree, head } = await loadTree(opts);
    return new LogAppender(opts, tree, head);
  }

  /** The last published head (size and signed checkpoint). */
  get head(): LogHead {
    return this.published;
  }

  /** The last published checkpoint, parsed. */
  get checkpoint(): Checkpoint {
    return parseCheckpoint(splitNote(utf8(this.published.checkpoint)).text);
  }

  /** Appends a batch atomically; calls are serialized. Resolves once the batch is durable and published. */
  append(entries: Uint8Array[], options: AppendOptions = {}): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new AppendError('closed', 'the log is closed'));
    // Copy now: the caller may reuse its array or buffers while the batch waits in the queue, and the
    // rightmost bundle keeps entries until it is full.
    const batch = Array.isArray(entries) ? entries.map((e) => (e instanceof Uint8Array ? e.slice() : e)) : entries;
    const run = this.queue.then(() => this.appendNow(batch, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Waits for the queued batches to finish, then refuses further appends. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }

  private async appendNow(entries: Uint8Array[], options: AppendOptions): Promise<AppendResult> {
    checkBatch(entries);
    if (this.stale) await this.reload();
    const next = this.tree.clone();
    const firstIndex = next.size;
    let lastEntryProof: Uint8Array[] = [];
    let penultimateFrontier: Uint8Array[] | null = null;
    entries.forEach((e, i) => {
      if (i === entries.length - 2) penultimateFrontier = next.nextLeafInclusionProof();
      if (i === entries.length - 1) lastEntryProof = next.nextLeafInclusionProof();
      next.push(e);
    });
    const penultimateEntryProof =
      penultimateFrontier && penultimateProof(penultimateFrontier, next.size, entries[entries.length - 1]);
    const checkpoint = signCheckpoint(
      { origin: this.opts.origin, size: next.size, rootHash: next.root() },
      this.opts.signer,
    );
    const head = { size: next.size, checkpoint };
    try {
      const hook = options.withinCommit;
      const withinCommit = hook && (() => hook({ head, lastEntryProof, penultimateEntryProof }));
      await this.opts.storage.commit({ expectedSize: firstIndex, head, ...next.takeWrites(), withinCommit });
    } catch (e) {
      // The stored state is now the previous head or, with a non-atomic backend, the previous head plus
      // harmless writes past it. Either way the in-memory tree may be wrong: rebuild it before the next batch.
      this.stale = true;
      throw e;
    }
    // Publish only after the commit returned: nothing unpersisted is ever shown.
    this.tree = next;
    this.published = head;
    return { firstIndex, count: entries.length, head, lastEntryProof, penultimateEntryProof };
  }

  private async reload(): Promise<void> {
    const { tree, head } = await loadTree(this.opts);
    this.tree = tree;
    this.published = head;
    this.stale = false;
  }
}

function checkBatch(entries: Uint8Array[]): void {
  if (entries.length === 0) throw new AppendError('empty_batch', 'a batch needs at least one entry');
  if (entries.length > MAX_BATCH_ENTRIES)
    throw new AppendError('batch_too_large', `a batch holds at most ${MAX_BATCH_ENTRIES} entries`);
  for (const e of entries) {
    if (!(e instanceof Uint8Array)) throw new AppendError('bad_entry', 'entries must be byte arrays');
    if (e.length > MAX_ENTRY_BYTES)
      throw new AppendError('entry_too_large', `entries are at most ${MAX_ENTRY_BYTES} bytes`);
  }
}

/** Rebuilds the tree's writer from storage and checks it against the stored checkpoint's root. */
async function loadTree(opts: AppenderOptions): Promise<{ tree: TileWriter; head: LogHead }> {
  const stored = await opts.storage.loadHead();
  if (stored === null) {
    const tree = new TileWriter();
    const checkpoint = signCheckpoint({ origin: opts.origin, size: 0, rootHash: tree.root() }, opts.signer);
    const head = { size: 0, checkpoint };
    await opts.storage.commit({ expectedSize: 0, head, tiles: [], bundles: [] });
    return { tree, head };
  }
  let cp: Checkpoint;
  try {
    cp = openCheckpoint(
      stored.checkpoint,
      opts.origin,
      ed25519NoteVerifier(opts.origin, opts.signer.publicKey),
    ).checkpoint;
  } catch (e) {
    throw new AppendError(
      'corrupt_log',
      `the stored checkpoint is not this log's (origin or key changed?): ${(e as Error).message}`,
    );
  }
  if (cp.size !== stored.size) throw new AppendError('corrupt_log', 'stored head size does not match its checkpoint');
  const tree = await TileWriter.load(stored.size, opts.storage);
  if (!equalBytes(tree.root(), cp.rootHash))
    throw new AppendError('corrupt_log', 'stored tiles do not reproduce the stored checkpoint root');
  return { tree, head: stored };
}
