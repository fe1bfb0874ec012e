/**
 * The one entry of the client library: `createClient({ pins, store })` and then `lookup(provider,
 * account)`. It wraps the lookup client (verifier/lookup-client/lookup-client.ts) with the pins in their
 * JSON form (verifier/client/pins.ts) and a store for the newest checkpoint
 * (verifier/client/checkpoint-store.ts): the kept checkpoint is loaded before the first request and saved
 * after every answer that advanced it, so a rollback or a fork is caught across restarts, not only within
 * one run. Every answer is verified with the pins alone before it is returned; a failure throws a
 * `VerifyError` (the directory or log misbehaved, or the answer is forged) or a `ClientError` (the
 * directory could not be asked), each with a stable `code` (verifier/verification/errors.ts). A kept
 * checkpoint of another log is refused (`PinsError` `bad_state`), never silently replaced; one written
 * meanwhile by another client sharing the store is merged, never overwritten by an older one.
 */
import type { MapLeaf } from '../formats/map-proof.js';
import type { Fetch } from '../http/tile-fetch.js';
import { LookupClient, type CheckpointEvidence } from '../lookup-client/lookup-client.js';
import type { HistoryResult, LookupResult } from '../verification/lookup-verifier.js';
import { memoryStore, type CheckpointStore } from './checkpoint-store.js';
import { checkPins, checkServerUrl, PinsError, toVerifierPins, type PinsJson } from './pins.js';

export interface ClientOptions {
  /** The pins, as `kt trust --save` writes them (kt-pins.json); checked strictly. */
  pins: PinsJson;
  /** The directory's URL; default: the pins' `server`. */
  server?: string;
  /** Where the newest checkpoint is kept between runs (default: memory, lost when the process ends). */
  store?: CheckpointStore;
  /** The fetch function (default: the platform's `fetch`). */
  fetch?: Fetch;
  /** Called with the two signed checkpoints when the log is caught in a rollback or a fork. */
  onEvidence?: (evidence: CheckpointEvidence) => void;
  /** Milliseconds since the epoch, for checkpoint freshness (default: Date.now). */
  now?: () => number;
  /**
   * How old, in seconds, an answer from a replica that lags behind the newest checkpoint this client kept may
   * be and still be taken (this client's own bound, never the server's; default: the pins' `maxLagSeconds`,
   * else 0: such an answer is a rollback). See `LookupClientOptions.maxLagSeconds`.
   */
  maxLagSeconds?: number;
}

export interface KtClient {
  /** The verified lookup of (provider, account): present, deleted, absent or not enrolled. */
  lookup(provider: string, account: string): Promise<LookupResult>;
  /** The verified history of (provider, account) after version `since` (default: every version). */
  history(provider: string, account: string, since?: Pick<MapLeaf, 'version' | 'historyHash'>): Promise<HistoryResult>;
  /**
   * Runs any request of the underlying lookup client with the kept checkpoint loaded before and saved
   * after, as `lookup` and `history` do: for example the owner's daily check (verifier/client/daily-check.ts).
   */
  withLookupClient<T>(request: (client: LookupClient) => Promise<T>): Promise<T>;
  /** The newest checkpoint note accepted, once one is loaded or accepted. */
  checkpoint(): string | undefined;
}

/** Parses the store's text: `kt`'s state file, `{"origin", "checkpoint"}`, of this log only. */
function keptCheckpoint(text: string | undefined, origin: string): string | undefined {
  if (text === undefined) return undefined;
  let kept: { origin?: unknown; checkpoint?: unknown };
  try {
    kept = JSON.parse(text);
  } catch {
    throw new PinsError('bad_state', 'the checkpoint store does not hold a kt state (JSON)');
  }
  // Anything else (another file given by mistake, an identity key) is refused rather than overwritten.
  if (!isKtState(kept)) throw new PinsError('bad_state', 'the checkpoint store does not hold a kt state');
  if (kept.origin !== undefined && kept.origin !== origin)
    throw new PinsError('bad_state', `the checkpoint store is for the log ${String(kept.origin)}, not ${origin}`);
  if (kept.checkpoint !== undefined && typeof kept.checkpoint !== 'string')
    throw new PinsError('bad_state', 'the checkpoint store holds no checkpoint note');
  return kept.checkpoint as string | undefined;
}

/** An object of `origin` and `checkpoint` only, either of them absent: what a client saves (and `kt lookup`). */
export function isKtState(v: unknown): v is { origin?: unknown; checkpoint?: unknown } {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.keys(v).every((k) => k === 'origin' || k === 'checkpoint')
  );
}

/**
 * Runs requests of `client` with the checkpoint kept in `store`: loaded before the first request (a failed
 * read, such as a busy file or a denied localStorage, is tried again next time) and saved after each, one
 * save at a time so that a slow earlier save never lands after a later one.
 */
function keptIn(store: CheckpointStore, origin: string, client: LookupClient) {
  let loaded: Promise<void> | undefined;
  const load = () => {
    loaded ??= store.load().then(
      (text) => {
        client.state.checkpoint ??= keptCheckpoint(text, origin);
      },
      (e) => {
        loaded = undefined;
        throw e;
      },
    );
    return loaded;
  };
  // Another client sharing the store (a second tab, `kt` and a script on one file) may have kept a newer
  // checkpoint since this one read it: it is merged first (proven consistent; the larger is kept), so the
  // store never goes back to an older tree. Without a lock, a write between this read and this write can
  // still be overtaken by one older; the next save of either client repairs it.
  const save = async () => {
    const stored = keptCheckpoint(await store.load(), origin);
    if (stored !== undefined && stored !== client.state.checkpoint) await client.merge(stored);
    const now = client.state.checkpoint;
    if (now !== undefined && now !== stored)
      await store.save(`${JSON.stringify({ origin, checkpoint: now }, null, 2)}\n`);
  };
  let saving: Promise<void> = Promise.resolve();
  return async <T>(request: () => Promise<T>): Promise<T> => {
    await load();
    const result = await request();
    saving = saving.catch(() => undefined).then(save);
    await saving;
    return result;
  };
}

/** A client of one directory under the given pins; nothing is fetched until the first call. */
export function createClient(options: ClientOptions): KtClient {
  const pins = checkPins(options.pins);
  const server = checkServerUrl(options.server ?? pins.server, 'server');
  const client = new LookupClient({
    baseUrl: server,
    pins: { ...toVerifierPins(pins), now: options.now },
    fetch: options.fetch,
    onEvidence: options.onEvidence,
    maxLagSeconds: options.maxLagSeconds ?? pins.maxLagSeconds,
    now: options.now,
  });
  const run = keptIn(options.store ?? memoryStore(), pins.origin, client);
  return {
    lookup: (provider, account) => run(() => client.lookup(provider, account)),
    history: (provider, account, since) =>
      run(() => client.history(provider, account, since?.version, since?.historyHash)),
    withLookupClient: (request) => run(() => request(client)),
    checkpoint: () => client.state.checkpoint,
  };
}
