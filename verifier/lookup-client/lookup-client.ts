/**
 * The lookup client: what a messaging client runs before first contact. It fetches a lookup (or a history) from a
 * directory, verifies it with the pins and witness policy only (verifier/verification/lookup-verifier.ts), and keeps
 * the newest checkpoint it accepted (`state.checkpoint`, to persist between runs). A later answer on a larger tree is
 * accepted only with a consistency proof from the kept checkpoint, built from the log's tiles
 * (verifier/http/tile-fetch.ts); an answer on a smaller tree is a rollback (unless the client bounds how far a
 * lagging replica may be behind, `maxLagSeconds`, and the kept tree extends it), and on a different tree of the
 * same or larger size a fork. Both are refused, and the two signed checkpoints are reported to `onEvidence`: they prove the
 * log misbehaved.
 *
 * Errors: VerifyError (the answer did not verify, or the log misbehaved: exit code 1 in `kt`) or ClientError (the
 * directory could not be asked or refused the request: exit code 2).
 */
import { equalBytes } from '../../wasm-free-crypto/bytes.js';
import { openCheckpoint, type Checkpoint } from '../formats/checkpoint.js';
import { ClientError, relayedCode, VerifyError } from '../verification/errors.js';
import { HISTORY_ZERO } from '../formats/directory-hashes.js';
import { LookupVerifier, type HistoryResult, type LookupResult, type Pins } from '../verification/lookup-verifier.js';
import {
  historyFromJson,
  lookupFromJson,
  lookupToJson,
  monitorFromJson,
  ProofJsonError,
} from '../formats/proof-json.js';
import { decodeLookupBinary, LOOKUP_BINARY_TYPE, ProofBinaryError } from '../formats/proof-binary.js';
import type { LookupProof } from '../formats/proofs.js';
import type { MapLeaf } from '../formats/map-proof.js';
import { fetchConsistencyProof, type Fetch } from '../http/tile-fetch.js';
import { readBounded } from '../http/bounded-body.js';
import { request } from '../http/request.js';
import { verifyConsistency } from '../formats/tlog.js';
import { canonicalAccount, providerIdValid } from '../formats/account.js';

/** What a client remembers between runs. */
export interface ClientState {
  /** The newest checkpoint note accepted. */
  checkpoint?: string;
}

/**
 * Two signed checkpoints of the pinned log that cannot both be honest. For a fork of a larger tree, also
 * what the log's own tiles gave: the root of the accepted size within the offered tree and the consistency
 * proof from it, which make the evidence self-contained (verifier/verification/evidence.ts).
 */
export interface CheckpointEvidence {
  kind: 'rollback' | 'fork';
  accepted: string;
  offered: string;
  prefixRoot?: Uint8Array;
  proof?: Uint8Array[];
}

export interface LookupClientOptions {
  /** The directory's base URL (without a trailing slash). */
  baseUrl: string;
  pins: Pins;
  fetch?: Fetch;
  state?: ClientState;
  onEvidence?: (e: CheckpointEvidence) => void;
  /**
   * The client's own bound on an answer older than the newest checkpoint it kept, in seconds (never one a
   * server advertises; KEYTRANS's maximum lag): such an answer, from a replica that lags, is taken when the
   * kept tree extends its tree (proven from the log's tiles) and its epoch head is at most this old by the
   * client's clock, and the kept checkpoint stays; an older one is a ClientError `stale_answer` (not proof of
   * misbehaviour: ask again, or elsewhere). 0 or absent: an answer
   * from a smaller tree is a `rollback`, as it always is when it is not a prefix of the kept tree.
   */
  maxLagSeconds?: number;
  /** Milliseconds since the epoch (default Date.now): the clock `maxLagSeconds` is measured by. */
  now?: () => number;
}

const MAX_PROOF_BYTES = 4 * 1024 * 1024;

/**
 * Refuses, before asking, a request no directory can answer with a proof: a malformed provider id (which
 * would otherwise come back as a verified "not enrolled") or an account that cannot be made canonical.
 */
function checkAsked(provider: string, account: string): void {
  if (!providerIdValid(provider))
    throw new ClientError('bad_request', `${JSON.stringify(provider)} is not a provider id (a lower-case DNS name)`);
  try {
    canonicalAccount(account);
  } catch (e) {
    throw new ClientError('bad_request', `${JSON.stringify(account)} is not an account: ${(e as Error).message}`);
  }
}

export class LookupClient {
  readonly verifier: LookupVerifier;
  readonly state: ClientState;
  /** The JSON of the last proof verified (evidence of what the directory published, for monitors). */
  lastProofJson: unknown;
  private advancing: Promise<unknown> = Promise.resolve();
  private readonly fetch: Fetch;

  constructor(readonly opts: LookupClientOptions) {
    this.verifier = new LookupVerifier(opts.pins);
    this.state = opts.state ?? {};
    this.fetch = opts.fetch ?? ((url, init) => globalThis.fetch(url, init));
  }

  /** Fetches, verifies and returns the lookup of (provider, account). */
  async lookup(provider: string, account: string): Promise<LookupResult> {
    checkAsked(provider, account);
    const proof = await this.getLookup(`/v1/lookup/${encodeURIComponent(provider)}/${encodeURIComponent(account)}`);
    const result = this.verifier.verifyLookup(proof, provider, account);
    await this.advance(proof.epoch.checkpoint, result.head.time);
    this.lastProofJson = lookupToJson(proof);
    return result;
  }

  /** Fetches and verifies the history after version `since`, chained from `sinceHistory`. */
  async history(
    provider: string,
    account: string,
    since = 0,
    sinceHistory: Uint8Array = HISTORY_ZERO,
  ): Promise<HistoryResult> {
    checkAsked(provider, account);
    const json = await this.getJson(
      `/v1/history/${encodeURIComponent(provider)}/${encodeURIComponent(account)}?since=${since}`,
    );
    const proof = parsed(() => historyFromJson(json));
    if (proof.since !== since)
      throw new VerifyError('wrong_history', `asked for the history since ${since}, got since ${proof.since}`);
    const result = this.verifier.verifyHistory(proof, provider, account, sinceHistory);
    await this.advance(proof.lookup.epoch.checkpoint, result.lookup.head.time);
    this.lastProofJson = json;
    return result;
  }

  /**
   * The owner's check of an account at the leaf it verified before: `{ unchanged }` when that is still the
   * map's leaf (a few hundred bytes of proof), else the verified history since its version.
   */
  async monitor(
    provider: string,
    account: string,
    known: MapLeaf,
  ): Promise<{ unchanged: true; epoch: number } | { unchanged: false; history: HistoryResult }> {
    checkAsked(provider, account);
    const json = await this.getJson(
      `/v1/monitor/${encodeURIComponent(provider)}/${encodeURIComponent(account)}?version=${known.version}`,
    );
    const proof = parsed(() => monitorFromJson(json));
    this.lastProofJson = json;
    if ('history' in proof) {
      if (proof.history.since !== known.version)
        throw new VerifyError(
          'wrong_history',
          `asked for the history since ${known.version}, got since ${proof.history.since}`,
        );
      const history = this.verifier.verifyHistory(proof.history, provider, account, known.historyHash);
      if (!equalBytes(history.lookup.label, known.label))
        throw new VerifyError('wrong_account', 'the history is for another label');
      await this.advance(proof.history.lookup.epoch.checkpoint, history.lookup.head.time);
      return { unchanged: false, history };
    }
    const r = this.verifier.verifyUnchanged(proof.unchanged, known);
    await this.advance(proof.unchanged.epoch.checkpoint, r.head.time);
    return { unchanged: true, epoch: r.epoch };
  }

  /**
   * Accepts a checkpoint note (already verified under the pins) as the newest, after checking it against
   * the kept one: a consistency proof for a larger tree, equal roots for the same size; a smaller one only
   * as a lagging answer within `maxLagSeconds` (`epochTime`: its epoch head's time), never kept.
   */
  async advance(note: string, epochTime?: number): Promise<Checkpoint> {
    // One at a time: each compares with the checkpoint the previous one kept (concurrent lookups must not
    // replace a larger kept checkpoint with a smaller one).
    return this.serially(() => this.advanceNow(note, epochTime));
  }

  /**
   * Merges a checkpoint that another client kept (a second tab or process sharing the same store): it must
   * be signed by the pinned log (its freshness is not checked: it was accepted before), and the smaller of
   * the two trees must be a prefix of the larger, proven from the log's tiles; the larger is kept. Two
   * views that cannot both be honest are a fork, reported as for an answer.
   */
  async merge(note: string): Promise<Checkpoint> {
    return this.serially(async () => {
      const other = openCheckpoint(note, this.opts.pins.origin, this.opts.pins.logKey).checkpoint;
      const kept = this.state.checkpoint;
      if (kept === undefined || kept === note) return this.keep(note, other);
      const mine = openCheckpoint(kept, this.opts.pins.origin, this.opts.pins.logKey).checkpoint;
      if (other.size <= mine.size) return this.extend({ note, cp: other }, { note: kept, cp: mine });
      return this.extend({ note: kept, cp: mine }, { note, cp: other });
    });
  }

  private serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.advancing.then(step);
    this.advancing = run.catch(() => undefined);
    return run;
  }

  private async advanceNow(note: string, epochTime?: number): Promise<Checkpoint> {
    const offered = this.verifier.checkpoint(note);
    const kept = this.state.checkpoint;
    if (kept === undefined || kept === note) return this.keep(note, offered);
    const accepted = openCheckpoint(kept, this.opts.pins.origin, this.opts.pins.logKey).checkpoint;
    if (offered.size < accepted.size && (this.opts.maxLagSeconds ?? 0) > 0 && epochTime !== undefined)
      return this.lagging({ note, cp: offered }, { note: kept, cp: accepted }, epochTime);
    if (offered.size < accepted.size) {
      this.opts.onEvidence?.({ kind: 'rollback', accepted: kept, offered: note });
      throw new VerifyError(
        'rollback',
        `the directory answered from a tree of ${offered.size} entries after one of ${accepted.size} was accepted`,
      );
    }
    return this.extend({ note: kept, cp: accepted }, { note, cp: offered });
  }

  /**
   * Keeps `offered` once it is proven to extend `accepted` (at least as large): equal roots for the same
   * size, else a consistency proof built from the log's tiles; a fork otherwise, with its evidence.
   */
  private async extend(
    accepted: { note: string; cp: Checkpoint },
    offered: { note: string; cp: Checkpoint },
    keepOffered = true,
  ): Promise<Checkpoint> {
    const fork = (message: string, extra: Partial<CheckpointEvidence> = {}): never => {
      this.opts.onEvidence?.({ kind: 'fork', accepted: accepted.note, offered: offered.note, ...extra });
      throw new VerifyError('inconsistent_checkpoint', message);
    };
    const [from, to] = [accepted.cp, offered.cp];
    if (from.size === to.size) {
      if (!equalBytes(from.rootHash, to.rootHash))
        fork(`two different trees of ${to.size} entries are signed by the log`);
      return keepOffered ? this.keep(offered.note, to) : to;
    }
    let fetched;
    try {
      fetched = await fetchConsistencyProof(this.fetch, `${this.opts.baseUrl}/log`, from.size, to.size);
    } catch (e) {
      if (e instanceof VerifyError && e.code !== 'bad_tile') throw new ClientError(relayedCode(e.code), e.message);
      throw e;
    }
    // The tiles come from the server: they must first prove their own prefix root inside the offered tree.
    // Only then does a prefix root other than the accepted root show a fork; else the tiles are wrong.
    try {
      verifyConsistency(from.size, to.size, fetched.proof, fetched.prefixRoot, to.rootHash);
    } catch (e) {
      throw new VerifyError(
        'bad_tile',
        `the log's tiles do not match its own tree of ${to.size} entries: ${(e as Error).message}`,
      );
    }
    if (!equalBytes(fetched.prefixRoot, from.rootHash))
      fork(`the tree of ${to.size} entries does not extend the accepted one of ${from.size}`, fetched);
    return keepOffered ? this.keep(offered.note, to) : to;
  }

  /**
   * An answer from a smaller tree than the kept one, as a replica that lags gives: taken if its epoch is
   * recent enough by this client's bound and the kept tree extends it (a fork otherwise, with evidence);
   * the kept checkpoint stays.
   */
  private async lagging(
    offered: { note: string; cp: Checkpoint },
    kept: { note: string; cp: Checkpoint },
    epochTime: number,
  ): Promise<Checkpoint> {
    const ageSeconds = ((this.opts.now ?? Date.now)() - epochTime) / 1000;
    const bound = this.opts.maxLagSeconds as number;
    if (ageSeconds > bound)
      throw new ClientError(
        'stale_answer',
        `the directory answered from an epoch ${Math.round(ageSeconds)} s old, on a tree of ${offered.cp.size} entries after one of ${kept.cp.size} was accepted; this client takes at most ${bound} s`,
      );
    await this.extend(offered, kept, false);
    return offered.cp;
  }

  private keep(note: string, cp: Checkpoint): Checkpoint {
    this.state.checkpoint = note;
    return cp;
  }

  /**
   * A lookup proof, asked for in binary (docs/PROTOCOL.md section 17.4) with JSON as the fallback, and read
   * in the form the server's Content-Type names.
   */
  private async getLookup(path: string): Promise<LookupProof> {
    const accept = `${LOOKUP_BINARY_TYPE}, application/json;q=0.9`;
    const res = await request(this.fetch, `${this.opts.baseUrl}${path}`, { headers: { Accept: accept } });
    const type = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (res.status !== 200 || type !== LOOKUP_BINARY_TYPE) {
      const json = await this.readJson(path, res);
      return parsed(() => lookupFromJson(json));
    }
    const body = await readBounded(res, MAX_PROOF_BYTES);
    return parsed(() => decodeLookupBinary(body));
  }

  private async getJson(path: string): Promise<unknown> {
    const res = await request(this.fetch, `${this.opts.baseUrl}${path}`, { headers: { Accept: 'application/json' } });
    return this.readJson(path, res);
  }

  /** The JSON body of an answer; an error answer is a ClientError with the code the directory gave. */
  private async readJson(path: string, res: Response): Promise<unknown> {
    const body = await readBounded(res, MAX_PROOF_BYTES);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(body));
    } catch {
      throw new ClientError('bad_response', `${path}: HTTP ${res.status} with a body that is not JSON`);
    }
    if (res.status !== 200) {
      const error = (json as { error?: { code?: unknown; message?: unknown } }).error;
      throw new ClientError(
        typeof error?.code === 'string' ? relayedCode(error.code) : 'http_error',
        `${path}: HTTP ${res.status}: ${typeof error?.message === 'string' ? error.message : 'no message'}`,
      );
    }
    return json;
  }
}

function parsed<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    // A proof format this client does not read is not a proof that failed (docs/PROTOCOL.md section 17.3).
    if ((e instanceof ProofJsonError || e instanceof ProofBinaryError) && e.code === 'unsupported_format')
      throw new ClientError(e.code, e.message);
    throw new VerifyError(e instanceof ProofBinaryError ? 'bad_proof_binary' : 'bad_proof_json', (e as Error).message);
  }
}
