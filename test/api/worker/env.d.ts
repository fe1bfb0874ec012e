/** Types of the Worker tests' `env` and `exports` (from `cloudflare:workers`): the Worker's Env plus test bindings. */
import type { Env as WorkerEnv } from '../../../api/worker/worker.js';
import type { DirectoryFixture } from './directory-script.js';
import type { WitnessedFixture } from '../../fixtures/worker-witness.js';
import type { SigsumFixture } from '../../fixtures/worker-sigsum-witness.js';

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      /** Project `log` only: tiles-300 vectors (see vitest.workers.config.ts), vector path -> base64 of its bytes. */
      TILES_300: Record<string, string>;
      /** Projects `directory` and `shards`: keys, PKI and the Node server's answers (test/fixtures/worker-directory.ts). */
      KT_FIXTURE: DirectoryFixture;
      /** Project `witnessed` only: keys and the witness (test/fixtures/worker-witness.ts). */
      KT_WITNESSED: WitnessedFixture;
      /** Project `sigsum` only: keys and sigsum's witness (test/fixtures/worker-sigsum-witness.ts). */
      KT_SIGSUM: SigsumFixture;
    }
    interface GlobalProps {
      mainModule: typeof import('../../../api/worker/worker.js');
      durableNamespaces: 'LogSequencer' | 'LookupLimiterObject';
    }
  }
}
