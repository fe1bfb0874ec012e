/**
 * The limits of `POST /v1/bindings`, charged before any signature is checked (docs/PROTOCOL.md section 7):
 * each statement of a batch takes a token of its client's bucket (by address, rate-limit-keys.ts) and one
 * of its provider's bucket, the provider read from the statement's first bytes by a cheap strict decode
 * (format byte, then the length-prefixed provider id, which must be a valid one). A statement whose
 * provider cannot be read that way is charged to its client only: the full decoding refuses it before any
 * signature. The batch is charged whole or not at all; a bucket that cannot pay refuses it 429.
 */
import type { Context } from 'hono';
import { providerIdValid } from '../../verifier/formats/account.js';
import { STATEMENT_FORMAT } from '../../verifier/formats/statement.js';
import { clientOf, takeAll, type TokenBuckets } from './middleware.js';

/** The buckets of publication: per client address and per provider. */
export interface PublishLimits {
  perAddress: TokenBuckets;
  perProvider: TokenBuckets;
}

/** The provider id a statement's encoding names (docs/PROTOCOL.md section 12.4), or null if it names none. */
export function statementProvider(statement: Uint8Array): string | null {
  if (statement.length < 2 || statement[0] !== STATEMENT_FORMAT) return null;
  const length = statement[1];
  if (statement.length < 2 + length) return null;
  let id = '';
  for (let i = 2; i < 2 + length; i++) id += String.fromCharCode(statement[i]);
  return providerIdValid(id) ? id : null;
}

/**
 * Charges a batch of `statements` (null for an item whose envelope is malformed: its client pays for it)
 * to request `c`'s client and to each provider named; throws `RateLimited` if any bucket cannot pay.
 */
export function chargePublication(limits: PublishLimits, c: Context, statements: (Uint8Array | null)[]): void {
  const perProvider = new Map<string, number>();
  for (const s of statements) {
    const provider = s && statementProvider(s);
    if (provider) perProvider.set(provider, (perProvider.get(provider) ?? 0) + 1);
  }
  takeAll([
    [limits.perAddress, clientOf(limits.perAddress, c), statements.length],
    ...[...perProvider].map(([provider, n]): [TokenBuckets, string, number] => [limits.perProvider, provider, n]),
  ]);
}
