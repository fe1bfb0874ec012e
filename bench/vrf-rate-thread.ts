/**
 * A thread of the new-accounts bench's reference (directory-bench.ts): it proves VRF inputs with
 * `vrfProve` for `workerData.ms` milliseconds, as fast as it can, then posts how many it proved and in how
 * long. Several run at once, one per core, to measure what the cores prove together.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { vrfProve } from '../wasm-free-crypto/vrf.js';

const { secretKey, ms } = workerData as { secretKey: Uint8Array; ms: number };
const alpha = new Uint8Array(4);
let proofs = 0;
const start = performance.now();
while (performance.now() - start < ms) {
  new DataView(alpha.buffer).setUint32(0, proofs);
  vrfProve(secretKey, alpha);
  proofs++;
}
parentPort!.postMessage({ proofs, ms: performance.now() - start });
