/**
 * The entry of one thread of the VRF pool (api/node/vrf-pool.ts): it receives the directory's VRF secret
 * key once, in `workerData`, then answers each `{ id, alpha }` message with `{ id, proof }` (RFC 9381 proof,
 * 80 bytes) or `{ id, error }` (the failure's message, which never holds the key). It says `{ ready: true }`
 * once it listens. On Linux it first lowers its own scheduling priority (nice +10: Linux's nice value is
 * per thread), so that the server's event loop (epochs, writes, stored lookups) runs before VRF work when
 * the cores are busy.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { vrfProve } from '../../wasm-free-crypto/vrf.js';

/** How much less urgent a VRF thread is than the event loop, as a nice value (Linux only). */
const THREAD_NICE = 10;

/** A request of the pool, and the thread's answers. */
export type ThreadRequest = { id: number; alpha: Uint8Array };
export type ThreadAnswer = { id: number; proof: Uint8Array } | { id: number; error: string } | { ready: true };

function lowerPriority(): void {
  if (process.platform !== 'linux') return; // elsewhere setpriority applies to the whole process
  try {
    setPriority(THREAD_NICE);
  } catch {
    // raising one's own nice value is always allowed; if the call fails anyway, run at normal priority
  }
}

function answer(request: ThreadRequest): ThreadAnswer {
  try {
    return { id: request.id, proof: vrfProve(secretKey, request.alpha) };
  } catch (e) {
    return { id: request.id, error: (e as Error).message };
  }
}

const port = parentPort;
const secretKey = (workerData as { secretKey: Uint8Array }).secretKey;
if (!port) throw new Error('vrf-pool-thread.ts runs only as a worker thread of api/node/vrf-pool.ts');
lowerPriority();
port.on('message', (request: ThreadRequest) => port.postMessage(answer(request)));
port.postMessage({ ready: true } satisfies ThreadAnswer);
