/**
 * What the lookup routes charge to their client's bucket, counted in lookups and weighted by their cost
 * (docs/PROTOCOL.md section 7): every lookup of a request (one for a GET, each item of a batch, each
 * provider of a discovery, the lookup that ends a history or daily check) costs one token before any of
 * them is made, and a lookup of a name the directory does not know costs `absentCost - 1` more, charged
 * after the store read says it is unknown but before its VRF proof is computed (the costly part). A lookup
 * is admitted while the client's balance, counting the tokens its request prepaid for the lookups not yet
 * made, this one's included, is at least one token (middleware.ts, `TokenBuckets`); else the request is
 * refused 429 with Retry-After (`RateLimited`), and the lookups already made are spent.
 */
import type { Context } from 'hono';
import { clientOf, RateLimited, type RateLimitOptions } from './middleware.js';

/**
 * Where a client's lookup tokens are: the process's own `TokenBuckets` (middleware.ts), or on the Worker a
 * limiter object shared by every isolate (api/worker/lookup-limiter.ts), whose answer comes back later.
 */
export interface LookupLimiter {
  readonly opts: RateLimitOptions;
  /** Takes `cost` tokens of `client` (`credit` as TokenBuckets.take): 0, or the seconds to wait (a refusal). */
  take(client: string, cost: number, credit?: number): number | Promise<number>;
}

/** The charges of one request's lookups (settled at once with local buckets, later with a limiter object). */
export interface LookupMeter {
  /** Charges `n` lookups at the present cost; throws `RateLimited` if the client cannot pay. */
  lookups(n: number): void | Promise<void>;
  /**
   * Charges the surcharge of an absent name, before its VRF proof; throws `RateLimited` if it is refused.
   * `left`: the lookups of the request charged and not yet made, this one included (default 1).
   */
  absent(left?: number): void | Promise<void>;
}

function settle(wait: number): void {
  if (wait > 0) throw new RateLimited(wait);
}

/** Takes `cost` tokens of `client` (`credit` as TokenBuckets.take), or throws `RateLimited`. */
function charge(buckets: LookupLimiter, client: string, cost: number, credit = 0): void | Promise<void> {
  if (cost <= 0) return;
  const wait = buckets.take(client, cost, credit);
  return typeof wait === 'number' ? settle(wait) : wait.then(settle);
}

/** The meter of request `c` against the lookup limit `buckets`. */
export function lookupMeter(buckets: LookupLimiter, c: Context): LookupMeter {
  const client = clientOf(buckets, c);
  const surcharge = (buckets.opts.absentCost ?? 1) - 1;
  return {
    lookups: (n) => charge(buckets, client, n),
    absent: (left = 1) => charge(buckets, client, surcharge, left),
  };
}
