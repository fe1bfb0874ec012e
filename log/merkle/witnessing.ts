/**
 * The log operator's side of witnessing (C2SP tlog-witness v1.0.0): each new checkpoint is sent to every
 * configured witness with a consistency proof from the last size that witness cosigned, the returned
 * cosignatures are verified with the witness's pinned key, and the checkpoint is served with them
 * appended. The proof is computed from the log's own tiles.
 *
 * Only signature lines by the witness's pinned key that verify over this checkpoint are kept: an answer
 * with anything else, or a cosignature dated in the future, could make clients refuse the checkpoint.
 *
 * Per witness, the last cosigned size is learned from its answers: a 409 (`text/x.tlog.size`) gives the
 * size it holds, and the request is repeated once from there. A size below one the witness cosigned before
 * means it lost its state: that is reported (`onStateLost`), not hidden, and cosigning goes on from there. A witness that is down, slow (past
 * `timeoutMs`), refuses, or answers with a cosignature that does not verify is logged and left out of this
 * checkpoint; the checkpoint is still served, with the cosignatures that did arrive. Witnesses are asked
 * in parallel. No state is persisted: a restarted log learns each witness's size again from its 409.
 */
import { fromUtf8, utf8 } from '../../wasm-free-crypto/bytes.js';
import { COSIGNATURE_LENGTH, cosignatureTimestamp, parseCosignerKey } from '../../wasm-free-crypto/cosignature.js';
import { appendSignatures, splitNote, type NoteSignature, type NoteVerifier } from '../../wasm-free-crypto/note.js';
import { parseCheckpoint } from '../../verifier/formats/checkpoint.js';
import { readBounded } from '../../verifier/http/bounded-body.js';
import { type Fetch } from '../../verifier/http/tile-fetch.js';
import { withTileSource, type Tile } from '../../verifier/formats/tiles.js';
import { proveTree } from '../../verifier/formats/tlog.js';
import { addCheckpointBody } from '../../verifier/formats/add-checkpoint.js';

/** A witness the log submits to: its cosigner key string and its submission prefix URL. */
export interface WitnessEndpoint {
  key: string;
  url: string;
}

export interface WitnessingOptions {
  witnesses: WitnessEndpoint[];
  /** Reads a tile of the log's published tree (LogReader.tile). */
  readTile: (t: Tile) => Promise<Uint8Array | null>;
  fetch?: Fetch;
  /** How long to wait for each witness (default 3000 ms). */
  timeoutMs?: number;
  /** Told of each submission that brought no cosignature: the witness's URL and why (default: console.error). */
  onFailure?: (witnessUrl: string, error: Error) => void;
  /**
   * Told when a witness answers 409 with a size below the one it cosigned for this log before: it lost its state
   * (restored from an old backup, reset), so it no longer holds this log to its past checkpoints. Cosigning goes
   * on from the size it holds, as C2SP tlog-witness says; the operator should ask why (default: console.warn).
   */
  onStateLost?: (witnessUrl: string, held: number, cosigned: number) => void;
}

interface Witness {
  endpoint: WitnessEndpoint;
  verifier: NoteVerifier;
  /** The size the witness last cosigned, as far as the log knows (0 at first). */
  size: number;
}

/** Cosignatures dated later than now plus this are dropped (a client would refuse the whole note). */
const MAX_FUTURE_SECONDS = 300n;

/**
 * The cosignatures in a witness's answer that are by `verifier`'s key and verify over `text`. The answer
 * must be only signature lines: no blank line, nothing else (a blank line would move where the signatures
 * of the note begin). Lines by other keys, and cosignatures dated in the future, are dropped.
 */
function cosignaturesIn(body: string, verifier: NoteVerifier, text: Uint8Array): NoteSignature[] {
  if (body.length === 0 || !body.endsWith('\n') || body.startsWith('\n') || body.includes('\n\n'))
    throw new Error('the answer is not signature lines');
  const now = BigInt(Math.floor(Date.now() / 1000));
  return splitNote(utf8(`x\n\n${body}`))
    .signatures.filter(
      (sig) =>
        sig.name === verifier.name &&
        sig.keyId === verifier.keyId &&
        sig.signature.length === COSIGNATURE_LENGTH &&
        cosignatureTimestamp(sig.signature) <= now + MAX_FUTURE_SECONDS &&
        verifier.verify(text, sig.signature),
    )
    .map(({ name, keyId, signature }) => ({ name, keyId, signature }));
}

export class Witnessing {
  private readonly witnesses: Witness[];
  private readonly fetch: Fetch;
  /** Submissions that brought no cosignature, per witness submission URL, since the log started (/metrics). */
  readonly failures = new Map<string, number>();
  /** How many witnesses cosigned the last checkpoint sent (undefined before the first; /healthz). */
  lastCosigned: number | undefined;

  constructor(private readonly opts: WitnessingOptions) {
    this.witnesses = opts.witnesses.map((endpoint) => ({
      endpoint,
      verifier: parseCosignerKey(endpoint.key),
      size: 0,
    }));
    this.fetch = opts.fetch ?? ((url, init) => globalThis.fetch(url, init));
  }

  /** The checkpoint note with the cosignatures of every witness that cosigned it (in configured order). */
  async cosign(note: string): Promise<string> {
    const results = await Promise.all(
      this.witnesses.map((w) =>
        this.cosignWith(w, note).catch((e: Error) => {
          if (this.opts.onFailure) this.opts.onFailure(w.endpoint.url, e);
          else console.error(`witness ${w.endpoint.url}: ${e.message}`);
          this.failures.set(w.endpoint.url, (this.failures.get(w.endpoint.url) ?? 0) + 1);
          return [] as NoteSignature[];
        }),
      ),
    );
    this.lastCosigned = results.filter((r) => r.length > 0).length;
    return appendSignatures(note, results.flat());
  }

  private async cosignWith(w: Witness, note: string): Promise<NoteSignature[]> {
    const size = parseCheckpoint(splitNote(utf8(note)).text).size;
    let res = await this.submit(w, note, size);
    if (res.status === 409 && res.contentType.startsWith('text/x.tlog.size')) {
      const held = /^(0|[1-9][0-9]{0,15})\n$/.exec(res.body);
      if (!held) throw new Error('a 409 answer without a valid size');
      const cosigned = w.size;
      w.size = Number(held[1]);
      if (w.size > size) throw new Error(`the witness holds a larger tree (${w.size}) than this checkpoint (${size})`);
      if (w.size < cosigned) this.stateLost(w.endpoint.url, w.size, cosigned);
      res = await this.submit(w, note, size);
    }
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.trim().slice(0, 200)}`);
    const mine = cosignaturesIn(res.body, w.verifier, utf8(splitNote(utf8(note)).text));
    if (mine.length === 0) throw new Error('the answer carries no valid cosignature by the pinned key');
    w.size = size;
    return mine;
  }

  private stateLost(url: string, held: number, cosigned: number): void {
    if (this.opts.onStateLost) this.opts.onStateLost(url, held, cosigned);
    else console.warn(`witness ${url}: it holds ${held} entries of this log, but cosigned ${cosigned} before`);
  }

  private async submit(
    w: Witness,
    note: string,
    size: number,
  ): Promise<{ status: number; contentType: string; body: string }> {
    const proof =
      w.size === 0 || w.size === size
        ? []
        : await withTileSource(
            async (t) => {
              const data = await this.opts.readTile(t);
              if (!data) throw new Error(`tile ${t.level}/${t.n} is not in the published tree`);
              return data;
            },
            size,
            (r) => proveTree(size, w.size, r),
          );
    const res = await this.fetch(`${w.endpoint.url}/add-checkpoint`, {
      method: 'POST',
      body: addCheckpointBody(w.size, proof, note),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 3000),
    });
    const body = await readBounded(res, 64 * 1024);
    return { status: res.status, contentType: res.headers.get('Content-Type') ?? '', body: fromUtf8(body) };
  }
}
