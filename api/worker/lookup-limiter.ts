/**
 * The lookup rate limit shared by every Worker isolate, apart from the writer: Durable Objects of their own
 * (`LookupLimiter`, the binding `LIMITER`), `LIMITER_SHARDS` of them (default 4, at most 64), each holding the
 * token buckets of the clients whose key (the IPv4 address or IPv6 prefix, api/app/rate-limit-keys.ts) hashes to
 * it, with the same buckets, settings and cost rules as the Node server's (api/wiring/rate-limits.ts: a lookup one
 * token, an absent name `absentLookupCost`). An isolate answering lookups from D1 (isolate-reads.ts) charges
 * through `RemoteLookupLimit`, one RPC per charge, so that a client's allowance is the same however many isolates
 * serve it and whichever answers. Buckets live in the objects' memory: an evicted object forgets them (every
 * client starts with a full burst again), as a restarted Node server does.
 */
import { DurableObject } from 'cloudflare:workers';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import type { RateLimitOptions, TokenBuckets } from '../app/middleware.js';
import type { LookupLimiter } from '../app/rate-limit-lookups.js';
import { RequestMetrics } from '../app/request-metrics.js';
import { rateLimits } from '../wiring/rate-limits.js';
import { ConfigError, settingsFromVars, type SettingVars } from '../wiring/settings.js';

export const DEFAULT_LIMITER_SHARDS = 4;
const MAX_LIMITER_SHARDS = 64;

/** The limiter objects' number from `LIMITER_SHARDS`; a malformed value throws (the Worker is not configured). */
export function limiterShards(vars: { LIMITER_SHARDS?: string }): number {
  if (vars.LIMITER_SHARDS === undefined) return DEFAULT_LIMITER_SHARDS;
  const n = Number(vars.LIMITER_SHARDS);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMITER_SHARDS)
    throw new ConfigError(`LIMITER_SHARDS must be an integer from 1 to ${MAX_LIMITER_SHARDS}`);
  return n;
}

/** FNV-1a of a client key: which limiter object holds its bucket. */
export function limiterOf(client: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < client.length; i++) h = Math.imul(h ^ client.charCodeAt(i), 0x01000193) >>> 0;
  return h % shards;
}

/** One limiter object: the lookup buckets of its clients. */
export class LookupLimiterObject extends DurableObject<SettingVars> {
  private buckets: TokenBuckets | undefined;

  /** RPC: takes `cost` tokens of `client` (`credit` as TokenBuckets.take): 0, or the seconds to wait. */
  async take(client: string, cost: number, credit = 0): Promise<number> {
    this.buckets ??= rateLimits(settingsFromVars(this.env), new RequestMetrics()).lookup;
    return this.buckets.take(client, cost, credit);
  }
}

/** A limiter object that could not be asked: 503, answered by the isolate (never forwarded to the writer). */
export class LimiterUnavailable extends CodedError<'rate_limit_unavailable'> {
  override readonly name = 'LimiterUnavailable';
}

/** What an isolate needs of the limiter objects' namespace. */
export interface LimiterNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): { take(client: string, cost: number, credit?: number): Promise<number> };
}

/** The isolate's side: each charge is an RPC to the client's limiter object. */
export class RemoteLookupLimit implements LookupLimiter {
  constructor(
    readonly opts: RateLimitOptions,
    private readonly ns: LimiterNamespace,
    private readonly shards: number,
  ) {}

  async take(client: string, cost: number, credit = 0): Promise<number> {
    const stub = this.ns.get(this.ns.idFromName(`lookup-${limiterOf(client, this.shards)}`));
    let wait: number;
    try {
      wait = await stub.take(client, cost, credit);
    } catch (e) {
      // Not answered without a charge, nor sent to the writer (isolate-reads.ts answers this 503 itself): the
      // writer would charge only its own buckets, and take the load when the limiters are overloaded.
      throw new LimiterUnavailable(
        'rate_limit_unavailable',
        `the rate limiter cannot be reached now (${(e as Error).message}); retry`,
      );
    }
    if (wait > 0) this.opts.refused?.();
    return wait;
  }
}
