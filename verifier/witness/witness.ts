/**
 * A witness (C2SP tlog-witness v1.0.0 `add-checkpoint`): it cosigns (C2SP tlog-cosignature v1) a log's checkpoint
 * only if the checkpoint is signed by a key it trusts for that origin and is consistent with the latest checkpoint it
 * cosigned for that origin, and, in auditing mode, only once an auditor has also replayed the log up to it. So two
 * clients shown different trees (a split view) cannot both get a witness quorum, and a log cannot roll a witness
 * back.
 *
 * The request body is parsed by verifier/formats/add-checkpoint.ts. Answers, in the order the checks happen: 400 for
 * a malformed body or an old size above the checkpoint's; 404 for an origin it does not witness; 403 when no trusted
 * signature verifies; 409 with `<size>\n` (`text/x.tlog.size`) when the old size is not the latest it cosigned, or
 * the sizes are equal and the roots are not; 422 when the consistency proof does not verify (or, in auditing mode,
 * the audit fails); 200 with its cosignature line.
 *
 * The check against the latest checkpoint and its update happen under one lock per origin, and the new checkpoint is
 * persisted (`WitnessStore.save`) before the cosignature is returned, so concurrent requests cannot roll the witness
 * back (the race the specification describes). The store is for one process.
 */
import { equalBytes, fromUtf8 } from '../../wasm-free-crypto/bytes.js';
import type { Cosigner } from '../../wasm-free-crypto/cosignature.js';
import { formatSignatureLine, openNote, splitNote, type NoteVerifier } from '../../wasm-free-crypto/note.js';
import { parseAddCheckpoint } from '../formats/add-checkpoint.js';
import { parseCheckpoint, type Checkpoint } from '../formats/checkpoint.js';
import { EMPTY_TREE_HASH, verifyConsistency } from '../formats/tlog.js';

/** What a witness remembers of a log: its latest cosigned tree. */
export interface WitnessRecord {
  size: number;
  rootHash: Uint8Array;
}

export interface WitnessStore {
  /** The latest cosigned checkpoint of `origin`, or null if it never cosigned one. */
  latest(origin: string): Promise<WitnessRecord | null>;
  /** Makes `record` the latest of `origin`, durably, before returning. */
  save(origin: string, record: WitnessRecord): Promise<void>;
}

/** A log the witness cosigns for: its origin and the keys it trusts for it. */
export interface WitnessedLog {
  origin: string;
  keys: NoteVerifier[];
}

export interface WitnessOptions {
  cosigner: Cosigner;
  logs: WitnessedLog[];
  store: WitnessStore;
  /**
   * Auditing mode: called before cosigning a checkpoint that grows the tree, after its consistency proof
   * verified; the witness cosigns only if it resolves to true (an auditor's replay matched up to it).
   */
  audit?: (origin: string, from: WitnessRecord | null, to: Checkpoint, note: string) => Promise<boolean>;
}

export interface WitnessResponse {
  status: 200 | 400 | 403 | 404 | 409 | 422;
  contentType: string;
  body: string;
}

const text = (status: WitnessResponse['status'], body: string): WitnessResponse => ({
  status,
  contentType: 'text/plain; charset=utf-8',
  body: `${body}\n`,
});

export class Witness {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(readonly opts: WitnessOptions) {}

  /** Handles one add-checkpoint request body. */
  async addCheckpoint(body: Uint8Array): Promise<WitnessResponse> {
    let req, checkpoint: Checkpoint, textBytes: Uint8Array;
    try {
      req = parseAddCheckpoint(body);
      const split = splitNote(req.note);
      textBytes = split.textBytes;
      checkpoint = parseCheckpoint(split.text, { allowExtensions: true });
    } catch (e) {
      return text(400, (e as Error).message);
    }
    const log = this.opts.logs.find((l) => l.origin === checkpoint.origin);
    if (!log) return text(404, `unknown log origin ${JSON.stringify(checkpoint.origin)}`);
    try {
      openNote(req.note, log.keys);
    } catch (e) {
      return text(403, `no trusted signature verifies: ${(e as Error).message}`);
    }
    if (req.oldSize > checkpoint.size)
      return text(400, `old size ${req.oldSize} is above the checkpoint size ${checkpoint.size}`);
    return this.locked(checkpoint.origin, () =>
      this.checkAndCosign(checkpoint, req.oldSize, req.proof, textBytes, req.note),
    );
  }

  /** Runs `f` after every earlier request for `origin` finished (the atomic check-and-update). */
  private locked<T>(origin: string, f: () => Promise<T>): Promise<T> {
    const run = (this.locks.get(origin) ?? Promise.resolve()).then(f);
    this.locks.set(
      origin,
      run.catch(() => undefined),
    );
    return run;
  }

  private async checkAndCosign(
    cp: Checkpoint,
    oldSize: number,
    proof: Uint8Array[],
    textBytes: Uint8Array,
    note: Uint8Array,
  ): Promise<WitnessResponse> {
    const latest = await this.opts.store.latest(cp.origin);
    const latestSize = latest?.size ?? 0;
    if (oldSize !== latestSize) return { status: 409, contentType: 'text/x.tlog.size', body: `${latestSize}\n` };
    if (oldSize === 0 && proof.length > 0) return text(422, 'the consistency proof must be empty from size 0');
    // The empty tree has one root (RFC 9162 section 2.1.1): a witness that cosigned another could prove nothing
    // from it afterwards, and would refuse the log's every later checkpoint.
    if (cp.size === 0 && !equalBytes(cp.rootHash, EMPTY_TREE_HASH))
      return text(422, "a tree of size 0 has the empty tree's root hash, SHA-256 of nothing");
    if (latest && cp.size === latest.size) {
      if (!equalBytes(cp.rootHash, latest.rootHash))
        return { status: 409, contentType: 'text/x.tlog.size', body: `${latestSize}\n` };
      if (proof.length > 0) return text(422, 'the consistency proof must be empty between equal trees');
    } else if (latest) {
      try {
        verifyConsistency(latest.size, cp.size, proof, latest.rootHash, cp.rootHash);
      } catch (e) {
        return text(422, `the consistency proof does not verify: ${(e as Error).message}`);
      }
    }
    if (this.opts.audit && cp.size > latestSize && !(await this.opts.audit(cp.origin, latest, cp, fromUtf8(note)))) {
      return text(422, 'the audit of the log up to this checkpoint failed');
    }
    await this.opts.store.save(cp.origin, { size: cp.size, rootHash: cp.rootHash });
    const { cosigner } = this.opts;
    return {
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      body: formatSignatureLine({ name: cosigner.name, keyId: cosigner.keyId, signature: cosigner.sign(textBytes) }),
    };
  }
}
