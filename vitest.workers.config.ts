/**
 * The Worker tests (`npm run test:worker`): `test/api/worker/*.worker.ts` run inside workerd with
 * @cloudflare/vitest-pool-workers, against the real Worker entry (api/worker/worker.ts) and its Durable Object,
 * configured from wrangler.toml, in two projects with different Worker settings:
 * - `log`: a log-only Worker (`KT_LOG_ONLY`) with a test-only append route (test/api/worker/log-only-worker.ts),
 *   for the log's tests. Node-side,
 *   this file reads the tiles-300 vectors (test/vectors/tiles-300) and hands them to the tests as a JSON
 *   binding, and sets a fixed test log key.
 * - `directory`: the full Worker, its D1 replica in two index shards. Its globalSetup (test/fixtures/worker-directory.ts, in Node) makes the keys, a
 *   test root CA and a provider leaf, and records the Node server's answers to the directory script; they
 *   become the Worker's secrets and the `KT_FIXTURE` binding. Epochs come an hour after queued work and
 *   heartbeats daily, so that the tests
 *   close them by running the Durable Object's alarm themselves (`runDurableObjectAlarm`).
 * - `shards`: the full Worker, its D1 replica in 32 index shards (test/api/worker/many-shards.worker.ts).
 * - `witnessed`: the full Worker with a witness (started in Node by test/fixtures/worker-witness.ts) named
 *   in WITNESSES: each epoch's checkpoint is served with its cosignature.
 * - `sigsum`: the full Worker whose one witness is sigsum-go's `sigsum-witness` (started in Node by
 *   test/fixtures/worker-sigsum-witness.ts), its origin in sigsum's form.
 */
import { readFileSync } from 'node:fs';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { sha256 } from './wasm-free-crypto/sha256.js';
import { utf8 } from './wasm-free-crypto/bytes.js';
import { encodeSignerKey } from './wasm-free-crypto/note.js';
import type { ProvidedContext } from 'vitest';

const VECTORS = new URL('./test/vectors/', import.meta.url);
const TILES_300 = ['tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1'];

const ORIGIN = 'example.com/kt-worker-test';
/** A fixture as the JSON value a binding holds (what miniflare passes to the Worker). */
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v));
const worker = { main: './api/worker/worker.ts', wrangler: { configPath: './wrangler.toml' } };
/** The log project's Worker: the production one with a test-only append route (test/api/worker/log-only-worker.ts). */
const logOnlyWorker = { ...worker, main: './test/api/worker/log-only-worker.ts' };
const timeouts = { testTimeout: 60_000, hookTimeout: 60_000 };
/** The shards of the `shards` project's D1 replica. */
const SHARDS = 32;

/**
 * The vars of a full Worker whose one witness (quorum 1) is the fixture's: epochs an hour after queued work,
 * heartbeats every 10 ms, so that the tests close epochs by running the alarm.
 */
function witnessedBindings(f: ProvidedContext['ktWitnessed'], operatorToken: string): Record<string, string> {
  return {
    LOG_ORIGIN: f.origin,
    LOG_SIGNER_KEY: f.logSignerKey,
    VRF_SECRET_KEY: f.vrfSecretKeyHex,
    OPERATOR_TOKEN: operatorToken,
    TRUSTED_ROOTS_PEM: f.rootPem,
    EPOCH_INTERVAL_MS: '3600000',
    HEARTBEAT_MS: '10',
    RECEIPT_DEADLINE_MS: '7300000',
    WITNESSES: JSON.stringify([{ key: f.witnessKey, url: f.witnessUrl }]),
    WITNESS_QUORUM: '1',
  };
}

/**
 * The miniflare options of a full Worker over the directory fixture, its D1 replica in `shards` databases (INDEX,
 * INDEX_1, ...): epochs an hour after queued work and heartbeats daily, so that the tests close them by running
 * the alarm; `more` bindings besides.
 */
function replicatedDirectory(f: ProvidedContext['ktDirectory'], shards: number, more: Record<string, string> = {}) {
  return {
    d1Databases: ['INDEX', ...Array.from({ length: shards - 1 }, (_, i) => `INDEX_${i + 1}`)],
    bindings: {
      INDEX_SHARDS: String(shards),
      LOG_ORIGIN: f.origin,
      LOG_SIGNER_KEY: f.logSignerKey,
      VRF_SECRET_KEY: f.vrfSecretKeyHex,
      OPERATOR_TOKEN: f.operatorToken,
      TRUSTED_ROOTS_PEM: f.rootPem,
      EPOCH_INTERVAL_MS: '3600000',
      HEARTBEAT_MS: '86400000',
      // At least two epoch intervals plus 10 s (api/wiring/settings.ts).
      RECEIPT_DEADLINE_MS: '7300000',
      ...more,
      KT_FIXTURE: asJson(f),
    },
  };
}

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            ...logOnlyWorker,
            miniflare: {
              bindings: {
                LOG_ORIGIN: ORIGIN,
                // A fixed test key, so the Worker's checkpoints can be recomputed byte for byte in the tests.
                LOG_SIGNER_KEY: encodeSignerKey(ORIGIN, sha256(utf8('kt-directory worker test log key'))),
                KT_LOG_ONLY: '1',
                // The object keeps only the log's right edge once R2 holds the rest (test/api/worker/r2.worker.ts).
                OBJECT_STORAGE: 'edge',
                // tiles-300 vector path -> base64 of its bytes.
                TILES_300: Object.fromEntries(
                  TILES_300.map((p) => [p, readFileSync(new URL(`tiles-300/${p}`, VECTORS)).toString('base64')]),
                ),
              },
            },
          }),
        ],
        test: { name: 'log', include: ['test/api/worker/{log,do-storage,entry,r2}.worker.ts'], ...timeouts },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => {
            const f = inject('ktDirectory');
            return {
              ...worker,
              // The directory replicated to two D1 index shards (api/worker/d1-layout.ts): INDEX and INDEX_1.
              miniflare: replicatedDirectory(f, 2, {
                // One web client's origin may read the lookup routes (test/api/worker/directory-cors.worker.ts).
                LOOKUP_ORIGINS: JSON.stringify(['https://web.chat.example']),
              }),
            };
          }),
        ],
        test: {
          name: 'directory',
          include: ['test/api/worker/{directory*,d1*}.worker.ts'],
          globalSetup: ['test/fixtures/worker-directory.ts'],
          ...timeouts,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => {
            const f = inject('ktDirectory');
            return {
              ...worker,
              // The replica over 32 shards (5 bits of prefix): INDEX and INDEX_1 ... INDEX_31.
              miniflare: replicatedDirectory(f, SHARDS),
            };
          }),
        ],
        test: {
          name: 'shards',
          include: ['test/api/worker/many-shards.worker.ts'],
          globalSetup: ['test/fixtures/worker-directory.ts'],
          ...timeouts,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => {
            const f = inject('ktWitnessed');
            return {
              ...worker,
              miniflare: {
                bindings: { ...witnessedBindings(f, 'worker-witnessed-operator-token'), KT_WITNESSED: asJson(f) },
              },
            };
          }),
        ],
        test: {
          name: 'witnessed',
          include: ['test/api/worker/witnessed.worker.ts'],
          globalSetup: ['test/fixtures/worker-witness.ts'],
          ...timeouts,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => {
            const f = inject('ktSigsum');
            return {
              ...worker,
              miniflare: {
                bindings: { ...witnessedBindings(f, 'worker-sigsum-operator-token'), KT_SIGSUM: asJson(f) },
              },
            };
          }),
        ],
        test: {
          name: 'sigsum',
          include: ['test/api/worker/sigsum-witnessed.worker.ts'],
          globalSetup: ['test/fixtures/worker-sigsum-witness.ts'],
          ...timeouts,
        },
      },
    ],
  },
});
