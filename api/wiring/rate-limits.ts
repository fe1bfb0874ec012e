/**
 * The rate limits of a server, from its settings (README, "Settings"; docs/PROTOCOL.md section 7): the
 * lookup limit, counted in lookups with an absent name weighted by `absentLookupCost`; the publication
 * limits per client address and per provider; and a small fixed limit on failed operator authentications
 * (10 at once, then one every 6 s per client). Clients are keyed by IPv4 address or IPv6 prefix
 * (`ipv6PrefixLength`). Every refusal is counted in `/metrics` by kind (`kt_rate_limited_total`).
 */
import { TokenBuckets } from '../app/middleware.js';
import type { PublishLimits } from '../app/rate-limit-publish.js';
import type { RequestMetrics } from '../app/request-metrics.js';
import type { Settings } from './settings.js';

export interface RateLimits {
  lookup: TokenBuckets;
  publish: PublishLimits;
  operatorAuthFailures: TokenBuckets;
}

/** Failed operator authentications a client may make at once, and how many more per second. */
const OPERATOR_AUTH_FAILURES = { capacity: 10, refillPerSecond: 1 / 6 };

/** The buckets of every limit, refusals counted in `requests`. */
export function rateLimits(settings: Settings, requests: RequestMetrics): RateLimits {
  const ipv6PrefixBits = settings.ipv6PrefixLength;
  return {
    lookup: new TokenBuckets({
      capacity: settings.lookupBurst,
      refillPerSecond: settings.lookupRatePerSecond,
      absentCost: settings.absentLookupCost,
      ipv6PrefixBits,
      refused: () => requests.rateLimited.count('lookup'),
    }),
    publish: {
      perAddress: new TokenBuckets({
        capacity: settings.publishBurst,
        refillPerSecond: settings.publishRatePerSecond,
        ipv6PrefixBits,
        refused: () => requests.rateLimited.count('publish_address'),
      }),
      perProvider: new TokenBuckets({
        capacity: settings.providerPublishBurst,
        refillPerSecond: settings.providerPublishRatePerSecond,
        refused: () => requests.rateLimited.count('publish_provider'),
      }),
    },
    operatorAuthFailures: new TokenBuckets({
      ...OPERATOR_AUTH_FAILURES,
      ipv6PrefixBits,
      refused: () => requests.rateLimited.count('operator_auth'),
    }),
  };
}
