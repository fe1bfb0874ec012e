/**
 * The API's limits and checks: per-client token buckets (lookups are rate limited so that the directory
 * cannot be scraped, as the DMA lets providers require, and publications so that signatures are not checked
 * for free), where a request may cost several tokens and clients are keyed by address or IPv6 prefix
 * (rate-limit-keys.ts), and the operator's bearer-token check, compared in constant time, with a limit on
 * failed attempts. Their refusals are the API's JSON errors (errors.ts): 429 `rate_limited` with Retry-After.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { equalBytes, utf8 } from '../../wasm-free-crypto/bytes.js';
import { CodedError } from '../../wasm-free-crypto/errors.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { errorResponse } from './errors.js';
import { clientKey } from './rate-limit-keys.js';

export interface RateLimitOptions {
  /** Tokens a client may spend in a burst (for lookups: lookups, a present one costing one token). */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
  /** Identifies the client (default: `clientKey` of the connection's address on Node, else `cf-connecting-ip`). */
  clientKey?: (c: Context) => string;
  /** The prefix length IPv6 clients are bucketed by, for the default client key (default 64). */
  ipv6PrefixBits?: number;
  now?: () => number;
  /** Buckets kept at most (least recently used dropped). */
  maxClients?: number;
  /** For the lookup limit: what a lookup of a name the directory does not know costs in all (default 1). */
  absentCost?: number;
  /** Called on every refusal (for `kt_rate_limited_total`). */
  refused?: () => void;
}

/** The connection's address: Node's socket when served by @hono/node-server, else `cf-connecting-ip`. */
function remoteAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? c.req.header('cf-connecting-ip');
}

/**
 * Token buckets per client key, least recently used dropped beyond `maxClients`. A charge may cost several
 * tokens: it is admitted while the client holds at least one token, and takes its whole cost, which may
 * leave the balance below zero; the client then waits until it has repaid it. So a charge larger than what
 * is left (or than the whole burst) is never refused for ever, and a client's average rate still holds: a
 * burst overshoots by at most one charge.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(readonly opts: RateLimitOptions) {}

  /** The bucket of `key`, refilled up to now and made the most recently used. */
  private refilled(key: string): { tokens: number; at: number } {
    const { capacity, refillPerSecond } = this.opts;
    const t = (this.opts.now ?? Date.now)();
    const b = this.buckets.get(key) ?? { tokens: capacity, at: t };
    b.tokens = Math.min(capacity, b.tokens + ((Math.max(t, b.at) - b.at) / 1000) * refillPerSecond);
    b.at = Math.max(t, b.at);
    this.buckets.delete(key);
    this.buckets.set(key, b);
    if (this.buckets.size > (this.opts.maxClients ?? 100_000)) this.buckets.delete(this.buckets.keys().next().value!);
    return b;
  }

  /**
   * The seconds `key` must wait before a charge is admitted (0: now), taking nothing. `credit`: tokens the
   * client prepaid for what this charge belongs to (a lookup's own token, taken with its request's).
   */
  wait(key: string, credit = 0): number {
    const need = 1 - credit - this.refilled(key).tokens;
    return need <= 0 ? 0 : Math.max(1, Math.ceil(need / this.opts.refillPerSecond));
  }

  /** Charges `cost` tokens to `key`: 0 if the charge was admitted, else the seconds to wait (a refusal). */
  take(key: string, cost = 1, credit = 0): number {
    const wait = this.wait(key, credit);
    if (wait > 0) {
      this.opts.refused?.();
      return wait;
    }
    this.buckets.get(key)!.tokens -= cost;
    return 0;
  }
}

/** A client that cannot pay for what it asked: answered 429 `rate_limited` with `Retry-After`. */
export class RateLimited extends CodedError<'rate_limited'> {
  override readonly name = 'RateLimited';
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', 'too many requests from this client; retry later');
  }
}

/** The 429 answer of an empty bucket. */
export function rateLimitedResponse(retryAfterSeconds: number): Response {
  return errorResponse('rate_limited', 'too many requests from this client; retry later', {
    'Retry-After': String(retryAfterSeconds),
  });
}

/** The key of the client of `c` in `buckets`: its own function, or the address's (api/app/rate-limit-keys.ts). */
export function clientOf(buckets: { readonly opts: RateLimitOptions }, c: Context): string {
  return buckets.opts.clientKey?.(c) ?? clientKey(remoteAddress(c), buckets.opts.ipv6PrefixBits ?? 64);
}

/**
 * Takes each of `charges` (buckets, key, cost) only if every one is admitted; else takes none and throws
 * `RateLimited` with the longest wait, each refusing bucket counting a refusal.
 */
export function takeAll(charges: [TokenBuckets, string, number][]): void {
  let longest = 0;
  for (const [buckets, key] of charges) {
    const wait = buckets.wait(key);
    if (wait > 0) buckets.opts.refused?.();
    longest = Math.max(longest, wait);
  }
  if (longest > 0) throw new RateLimited(longest);
  for (const [buckets, key, cost] of charges) buckets.take(key, cost);
}

/**
 * Requires `Authorization: Bearer <token>`. Both sides are hashed before a constant-time comparison, so
 * the time taken depends neither on the token's bytes nor on its length. Given `failures`, each refused
 * attempt takes a token of its client's bucket, and a client whose bucket is empty is answered 429 before
 * its token is looked at.
 */
export function operatorAuth(token: string | undefined, failures?: TokenBuckets): MiddlewareHandler {
  const expected = sha256(utf8(token ?? ''));
  return async (c, next) => {
    const client = failures ? clientOf(failures, c) : '';
    const wait = failures?.wait(client) ?? 0;
    if (wait > 0) {
      failures!.opts.refused?.();
      return rateLimitedResponse(wait);
    }
    const given = /^Bearer (\S+)$/.exec(c.req.header('Authorization') ?? '')?.[1] ?? '';
    if (!token || !equalBytes(sha256(utf8(given)), expected)) {
      failures?.take(client);
      return errorResponse('unauthorized', 'operator token required');
    }
    await next();
  };
}
