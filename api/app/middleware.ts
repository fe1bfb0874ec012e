/**
 * Named middleware factories for the API: a per-client token-bucket rate limit (lookups are rate limited so
 * that the directory cannot be scraped, as the DMA lets providers require) and an operator bearer-token
 * check compared in constant time. Their refusals are the API's JSON errors (errors.ts).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { equalBytes, utf8 } from '../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { errorResponse } from './errors.js';

export interface RateLimitOptions {
  /** Requests a client may make in a burst. */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
  /** Identifies the client (default: the connection's remote address on Node, else a shared bucket). */
  clientKey?: (c: Context) => string;
  now?: () => number;
  /** Buckets kept at most (least recently used dropped). */
  maxClients?: number;
  /**
   * Whether a trusted front already took this request's token: on Workers, a lookup the Worker's D1 path
   * forwards to the Durable Object through an RPC that says so in the app's environment, which no request
   * can set. Such requests pass without taking another. Unset on Node.
   */
  admitted?: (c: Context) => boolean;
}

/** Node's remote address when served by @hono/node-server; 'unknown' elsewhere. */
function remoteAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? c.req.header('cf-connecting-ip') ?? 'unknown';
}

/** Token buckets per client key, least recently used dropped beyond `maxClients`. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(readonly opts: RateLimitOptions) {}

  /** Takes a token for `key`: 0 if there was one, else the seconds to wait before retrying. */
  take(key: string): number {
    const { capacity, refillPerSecond } = this.opts;
    const t = (this.opts.now ?? Date.now)();
    const b = this.buckets.get(key) ?? { tokens: capacity, at: t };
    b.tokens = Math.min(capacity, b.tokens + ((t - b.at) / 1000) * refillPerSecond);
    b.at = t;
    this.buckets.delete(key);
    this.buckets.set(key, b);
    if (this.buckets.size > (this.opts.maxClients ?? 100_000)) this.buckets.delete(this.buckets.keys().next().value!);
    if (b.tokens < 1) return Math.ceil((1 - b.tokens) / refillPerSecond);
    b.tokens -= 1;
    return 0;
  }
}

/** The 429 answer of an empty bucket. */
export function rateLimitedResponse(retryAfterSeconds: number): Response {
  return errorResponse('rate_limited', 'too many requests from this client; retry later', {
    'Retry-After': String(retryAfterSeconds),
  });
}

/**
 * A token bucket per client; an empty bucket answers 429 `rate_limited` with Retry-After. Given
 * `TokenBuckets`, it shares them (the Worker's own lookup path takes from the same buckets).
 */
export function rateLimit(limits: RateLimitOptions | TokenBuckets): MiddlewareHandler {
  const buckets = limits instanceof TokenBuckets ? limits : new TokenBuckets(limits);
  const key = buckets.opts.clientKey ?? remoteAddress;
  return async (c, next) => {
    if (buckets.opts.admitted?.(c)) return next();
    const wait = buckets.take(key(c));
    if (wait > 0) return rateLimitedResponse(wait);
    await next();
  };
}

/**
 * Requires `Authorization: Bearer <token>`. Both sides are hashed before a constant-time comparison, so
 * the time taken depends neither on the token's bytes nor on its length.
 */
export function operatorAuth(token: string | undefined): MiddlewareHandler {
  const expected = sha256(utf8(token ?? ''));
  return async (c, next) => {
    const given = /^Bearer (\S+)$/.exec(c.req.header('Authorization') ?? '')?.[1] ?? '';
    if (!token || !equalBytes(sha256(utf8(given)), expected))
      return errorResponse('unauthorized', 'operator token required');
    await next();
  };
}
