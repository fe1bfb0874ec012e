/**
 * The directory part of the app's dependencies (`createApp(deps)`), built the same way by the Node server
 * (api/node/server.ts) and the Worker's Durable Object (api/worker/open-directory.ts): the route service over a
 * `Directory` (lookups, history and discovery from log/directory/proof-builder.ts; submission, enrolment and revocation
 * queued for the next epoch), the receipt signer, operator token and per-client lookup rate limit, the
 * /metrics gauges and the directory's fields of /v1/config. Pure: no Node or Workers imports.
 */
import { toBase64, toHex } from '../../wasm-free-crypto/bytes.js';
import type { NoteSigner } from '../../wasm-free-crypto/note.js';
import type { Directory } from '../../log/directory/directory.js';
import { proveDiscovery, proveHistory, proveLookup, proveMonitorCheck } from '../../log/directory/proof-builder.js';
import type { AppDeps } from '../app/app.js';
import { TokenBuckets, type RateLimitOptions } from '../app/middleware.js';

/** What the builder needs besides the directory (the Node server passes its `DataDir`). */
export interface DirectoryDepsOptions {
  /** The log's note signer: signs publication receipts. */
  signer: NoteSigner;
  /** The operator's bearer token for enrolment and revocation. */
  operatorToken: string;
  epochIntervalMs: number;
  heartbeatMs: number;
  /** Per-client lookup rate limit: burst size and sustained requests per second. */
  lookupBurst: number;
  lookupRatePerSecond: number;
  /** Witness endpoints (their cosigner keys are served in /v1/config) and the quorum clients should require. */
  witnesses?: { key: string }[];
  witnessQuorum?: number;
  /** Lookups whose token a trusted front already took (the Worker's D1 path; see RateLimitOptions.admitted). */
  lookupAdmitted?: RateLimitOptions['admitted'];
}

export type DirectoryDeps = Pick<AppDeps, 'directory' | 'metrics'> & { config: Partial<AppDeps['config']> };

/** The directory part of the app's dependencies. */
export function directoryDeps(dir: Directory, opts: DirectoryDepsOptions): DirectoryDeps {
  return {
    directory: {
      service: {
        lookup: (p, a) => proveLookup(dir, p, a),
        history: (p, a, since) => proveHistory(dir, p, a, since),
        monitor: (p, a, version) => proveMonitorCheck(dir, p, a, version),
        discover: (a) => proveDiscovery(dir, a),
        submit: (s, sig) => dir.submit(s, sig),
        enrol: (chain) => dir.enrol(chain),
        revoke: async (p, fp, reason) => dir.revoke(p, fp, reason),
      },
      receiptSigner: opts.signer,
      operatorToken: opts.operatorToken,
      lookupRateLimit: new TokenBuckets({
        capacity: opts.lookupBurst,
        refillPerSecond: opts.lookupRatePerSecond,
        admitted: opts.lookupAdmitted,
      }),
    },
    metrics: {
      queueDepth: () => dir.queueDepth,
      epoch: () => dir.epoch,
      lastEpochSeconds: () => dir.lastEpochMs / 1000,
    },
    config: {
      vrfKey: toBase64(dir.vrfPublicKey),
      witnesses: (opts.witnesses ?? []).map((w) => w.key),
      witnessQuorum: opts.witnessQuorum ?? 0,
      epochIntervalMs: opts.epochIntervalMs,
      heartbeatMs: opts.heartbeatMs,
      providers: () =>
        dir.credentials.all().map((c) => ({
          providerId: c.entry.providerId,
          fingerprint: toHex(c.fingerprint),
          algorithm: c.entry.algorithm,
          notBefore: c.entry.notBefore,
          notAfter: c.entry.notAfter,
          revoked: c.revokedIndex !== null,
        })),
    },
  };
}
