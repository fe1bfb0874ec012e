/**
 * The KEYTRANS client over HTTP (docs/PROTOCOL.md section 22.5): the thin I/O around the synchronous checks of
 * verifier/keytrans/ and verifier/keytrans-anchor/, for one provider's deployment. It fetches the deployment's
 * Configuration (kept with the client's state on first use; a different one later is refused: every head the
 * client holds is signed over the one it kept), sends draft-05 requests with the tree size it holds, verifies the
 * answers, checks the head against the witnessed C2SP checkpoint (the anchor) and only then keeps the new state,
 * through the same two-method store as the lookup client's, with what a search that must be monitored leaves to
 * keep of its label (label-state.ts). A search answered at a head newer than the anchor fetched beside it (an epoch
 * in between) is asked again once. An owner's monitoring is asked again while the log stops early having verified
 * more, and one that stops having verified nothing is the owner's alert (owner.ts `checkOwnerProgress`).
 */
import { equalBytes, fromHex, toHex } from '../../wasm-free-crypto/bytes.js';
import { request, type Fetch } from '../http/request.js';
import { ClientError, relayedCode, VerifyError } from '../verification/errors.js';
import type { CheckpointVerifier } from '../verification/checkpoint-policy.js';
import { AnchorError, parseKeyTransAnchor, verifyKeyTransAnchor } from '../keytrans-anchor/anchor.js';
import type { GlobalState } from '../keytrans/head.js';
import {
  decodeMessage,
  encodeMessage,
  KEYTRANS_MEDIA_TYPE,
  type Message,
  type MessageType,
} from '../keytrans/messages.js';
import { KeyTransError } from '../keytrans/errors.js';
import { labelAfterSearch, retainedFor } from '../keytrans/label-state.js';
import type { RetainedVersion } from '../keytrans/monitor.js';
import {
  checkMadeVersions,
  checkOwnerProgress,
  type OwnerState,
  verifyOwnerInit,
  verifyOwnerMonitor,
} from '../keytrans/owner.js';
import { verifySearch } from '../keytrans/search.js';
import { decodeConfiguration, encodeConfiguration } from '../keytrans/signed-structures.js';
import { decodeState, encodeState, type ClientState, type TextStore } from '../keytrans/state.js';
import { cipherSuite } from '../keytrans/suites.js';
import type { Configuration } from '../keytrans/types.js';
import { rightmostDistinguished } from '../keytrans/view.js';

export interface KeyTransClientOptions {
  /** The directory's base URL. */
  server: string;
  provider: string;
  fetch: Fetch;
  /** The C2SP pins and witness policy of the directory's log. */
  checkpoints: CheckpointVerifier;
  /** Where the client's state for this provider is kept. */
  store: TextStore;
  now?: () => number;
}

/** A verified search: the version (KEYTRANS numbering, from 0) and value, at the anchored head of `epoch`. */
export interface KeyTransFound {
  version: number;
  value: Uint8Array;
  treeSize: number;
  epoch: number;
}

interface Kept {
  config: Configuration | null;
  state: ClientState;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

export class KeyTransClient {
  constructor(private readonly o: KeyTransClientOptions) {}

  private url(path: string): string {
    return `${this.o.server.replace(/\/+$/, '')}${path}`;
  }

  /** The answer's body, or the ClientError its JSON error (or its status) says. */
  private async body(res: Response, what: string): Promise<Response> {
    if (res.ok) return res;
    const json = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    const code = json.error?.code ? relayedCode(json.error.code) : 'http_error';
    throw new ClientError(code, `${what}: HTTP ${res.status}: ${json.error?.message ?? 'no message'}`);
  }

  private async load(): Promise<Kept> {
    const text = await this.o.store.load();
    if (text === undefined) return { config: null, state: decodeState(undefined) };
    let kept: { config?: unknown; state?: unknown };
    try {
      kept = JSON.parse(text);
    } catch {
      throw new ClientError('bad_replay_state', 'the KEYTRANS state file is not JSON');
    }
    if (typeof kept?.config !== 'string' || typeof kept.state !== 'string')
      throw new ClientError('bad_replay_state', 'the KEYTRANS state file is not {"config","state"}');
    return { config: decodeConfiguration(fromHex(kept.config)), state: decodeState(kept.state) };
  }

  private async save(config: Configuration, state: ClientState): Promise<void> {
    const text = JSON.stringify({ config: toHex(encodeConfiguration(config)), state: encodeState(state) });
    await this.o.store.save(text);
  }

  /** The deployment's configuration: the one kept, which the directory must still serve. */
  private async config(kept: Kept): Promise<Configuration> {
    const path = `/keytrans/v1/${encodeURIComponent(this.o.provider)}/config`;
    const res = await this.body(await request(this.o.fetch, this.url(path)), path);
    const served = decodeConfiguration(new Uint8Array(await res.arrayBuffer()));
    if (kept.config && !equalBytes(encodeConfiguration(kept.config), encodeConfiguration(served)))
      throw new VerifyError(
        'keytrans_config_changed',
        `${this.o.provider}'s KEYTRANS configuration is not the one kept`,
      );
    return served;
  }

  private async post<K extends MessageType, R extends MessageType>(
    config: Configuration,
    path: string,
    type: K,
    message: Message<K>,
    reply: R,
  ): Promise<Message<R>> {
    const ctx = { suite: config.ciphersuite, mode: config.mode };
    const url = this.url(`/keytrans/v1/${encodeURIComponent(this.o.provider)}/${path}`);
    const init = {
      method: 'POST',
      headers: { 'Content-Type': KEYTRANS_MEDIA_TYPE },
      body: encodeMessage(type, message, ctx) as Uint8Array<ArrayBuffer>,
    };
    const res = await this.body(await request(this.o.fetch, url, init), path);
    const requestHasVersion = (message as { version?: number | null }).version != null;
    return decodeMessage(reply, new Uint8Array(await res.arrayBuffer()), { ...ctx, requestHasVersion });
  }

  /**
   * Checks `state`'s head against the served anchor: its epoch, or null if the anchor is of a newer head (search
   * again). An anchor of an older head (a reader behind another) is fetched again once before it is an error.
   */
  private async anchored(state: GlobalState, config: Configuration, again = true): Promise<number | null> {
    const res = await this.body(await request(this.o.fetch, this.url('/keytrans/v1/anchor')), '/keytrans/v1/anchor');
    const anchor = parseKeyTransAnchor(await res.json());
    try {
      verifyKeyTransAnchor(this.o.checkpoints, anchor, this.o.provider, cipherSuite(config.ciphersuite), state);
      return anchor.epoch;
    } catch (e) {
      if (e instanceof AnchorError && e.code === 'anchor_newer_head') return null;
      if (e instanceof AnchorError && e.code === 'anchor_older_head' && again) {
        await new Promise((r) => setTimeout(r, 1000));
        return this.anchored(state, config, false);
      }
      throw e;
    }
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** One verified and anchored search; the state kept only once both passed. */
  private async searchOnce(config: Configuration, state: ClientState, label: Uint8Array, version: number | null) {
    const req = { last: state.global?.treeHead.treeSize ?? null, label, version };
    const res = await this.post(config, 'search', 'SearchRequest', req, 'SearchResponse');
    const result = verifySearch(cipherSuite(config.ciphersuite), config, state.global, req, res, this.now());
    return { result, epoch: await this.anchored(result.state, config) };
  }

  /** Searches `account` (its greatest version, or `version`), verified and anchored. */
  async search(account: string, version: number | null = null): Promise<KeyTransFound> {
    const kept = await this.load();
    const config = await this.config(kept);
    const label = utf8(account);
    let { result, epoch } = await this.searchOnce(config, kept.state, label, version);
    if (epoch === null) {
      ({ result, epoch } = await this.searchOnce(config, { ...kept.state, global: result.state }, label, version));
      if (epoch === null) throw new AnchorError('anchor_head_mismatch', 'the anchored head moved twice; try again');
    }
    const labels = new Map(kept.state.labels);
    const held = labelAfterSearch(labels.get(toHex(label)), result);
    if (held) labels.set(toHex(label), held);
    await this.save(config, { global: result.state, labels });
    return { version: result.version, value: result.value.value, treeSize: result.state.treeHead.treeSize, epoch };
  }

  /**
   * The owner's monitoring ("Owner Algorithm", the second algorithm): asked again from the new start while the log
   * stops early having verified more; one that stops having verified nothing is the alert (`checkOwnerProgress`).
   */
  private async monitorOwner(
    config: Configuration,
    global: GlobalState,
    label: Uint8Array,
    owner: OwnerState,
    retained: Map<number, RetainedVersion>,
  ) {
    const suite = cipherSuite(config.ciphersuite);
    for (;;) {
      const { starting: start, versionAtStarting: greatestVersion } = owner;
      const req = { last: global.treeHead.treeSize, label, entries: [], start, greatestVersion };
      const res = await this.post(config, 'owner/monitor', 'OwnerMonitorRequest', req, 'OwnerMonitorResponse');
      const result = verifyOwnerMonitor(suite, config, global, owner, retained, req, res, this.now());
      if (checkOwnerProgress(owner, result)) return result;
      ({ state: global, owner } = result);
    }
  }

  /** The owner's Owner Initialization at the rightmost distinguished log entry of the head held. */
  private async initOwner(config: Configuration, global: GlobalState, label: Uint8Array) {
    const timestampOf = (p: number) => global.frontier.find((e) => e.position === p)?.timestamp ?? 0;
    const start = rightmostDistinguished(global.treeHead.treeSize, timestampOf, config.reasonableMonitoringWindow);
    const req = { last: global.treeHead.treeSize, label, start: start ?? 0 };
    const res = await this.post(config, 'owner/init', 'OwnerInitRequest', req, 'OwnerInitResponse');
    return verifyOwnerInit(cipherSuite(config.ciphersuite), config, global, req, res, this.now());
  }

  /**
   * The owner's check of `account`: initialised on first use, monitored from where it stopped after. A version
   * the owner did not process is its alert ('kt_greatest_version'), unless it is among `made`, the versions the
   * owner says it made since its last check (KEYTRANS numbering): then the owner's monitoring starts again from
   * the newest distinguished log entry, once every version after the one it held is found among them.
   */
  async ownerMonitor(
    account: string,
    opts: { made?: readonly number[] } = {},
  ): Promise<{ treeSize: number; starting: number; version: number | null }> {
    await this.search(account); // the newest anchored head, and the timestamps the start is chosen by
    const kept = await this.load();
    const config = kept.config!;
    const global = kept.state.global!;
    const label = utf8(account);
    const key = toHex(label);
    const held = kept.state.labels.get(key);
    let result;
    if (!held?.owner) result = await this.initOwner(config, global, label);
    else {
      try {
        result = await this.monitorOwner(config, global, label, held.owner, held.retained);
      } catch (e) {
        if (!(e instanceof KeyTransError && e.code === 'kt_greatest_version') || !opts.made?.length) throw e;
        result = await this.initOwner(config, global, label);
        checkMadeVersions(held.owner.versionAtStarting, result.owner.versionAtStarting, opts.made);
      }
    }
    if ((await this.anchored(result.state, config)) === null)
      throw new ClientError('unavailable', 'a new epoch was served while the owner checked: run the check again');
    const labels = new Map(kept.state.labels);
    const contact = held?.contact ?? [];
    labels.set(key, {
      contact,
      owner: result.owner,
      retained: retainedFor(contact, result.owner, [held?.retained, result.retained]),
    });
    await this.save(config, { global: result.state, labels });
    const { starting, versionAtStarting } = result.owner;
    return { treeSize: result.state.treeHead.treeSize, starting, version: versionAtStarting };
  }
}
