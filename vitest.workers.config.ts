/**
 * The Worker tests (`npm run test:worker`): `test/worker/*.worker.ts` run inside workerd with
 * @cloudflare/vitest-pool-workers, against the real Worker entry (api/worker.ts) and its Durable Object,
 * configured from wrangler.toml. Node-side, this file reads the shared tiles-300 vectors (never copied into
 * the project) and hands them to the tests as a JSON binding, and sets a fixed test log key and the
 * TEST-ONLY append route.
 */
import { readFileSync } from 'node:fs';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { sha256 } from './wasm-free-crypto/sha256.js';
import { utf8 } from './wasm-free-crypto/bytes.js';
import { encodeSignerKey } from './wasm-free-crypto/note.js';

const VECTORS = new URL('../shared/vectors/', import.meta.url);
const TILES_300 = ['tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1'];

const ORIGIN = 'example.com/kt-worker-test';

export default defineConfig({
  plugins: [
    cloudflareTest({
      main: './api/worker.ts',
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          LOG_ORIGIN: ORIGIN,
          // A fixed test key, so the Worker's checkpoints can be recomputed byte for byte in the tests.
          LOG_SIGNER_KEY: encodeSignerKey(ORIGIN, sha256(utf8('kt-directory worker test log key'))),
          KT_TEST_APPEND: '1',
          // tiles-300 vector path -> base64 of its bytes.
          TILES_300: Object.fromEntries(TILES_300.map((p) => [p, readFileSync(new URL(`tiles-300/${p}`, VECTORS)).toString('base64')])),
        },
      },
    }),
  ],
  test: {
    include: ['test/worker/**/*.worker.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
