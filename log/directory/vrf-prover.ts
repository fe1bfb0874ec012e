/**
 * Who computes the directory's VRF proofs (RFC 9381, `wasm-free-crypto/vrf.ts`): a label for a name the
 * store does not know costs one proof, about 5 ms of CPU. The directory asks a `VrfProver` for it, saying
 * whether the proof serves a read (a lookup) or a write (a submission), so that a platform can move the work
 * off its request loop and favour writes: the Node server hands it to a pool of threads
 * (api/node/vrf-pool.ts), which refuses reads with `overloaded` when its read queue is full. The default,
 * and the Worker's, computes the proof at once on the caller's thread. Pure: no platform imports.
 */
import { vrfEvaluate } from '../../wasm-free-crypto/vrf.js';

/** What a VRF proof is computed for: a read may be refused under load, a write is favoured. */
export type VrfPriority = 'read' | 'write';

/** A VRF proof (80 bytes) and the output (beta, 64 bytes) it proves. */
export interface VrfEvaluation {
  proof: Uint8Array;
  output: Uint8Array;
}

/**
 * Computes VRF proofs of inputs `alpha` under the directory's secret key, with their outputs (so that the
 * caller, which trusts its own prover, does not decode the proof again to hash it).
 */
export interface VrfProver {
  /**
   * `secretKey`, if given, proves under that key instead of the directory's: a KEYTRANS deployment's VRF key
   * (log/keytrans/operator-keys.ts), whose proofs cost the same and are as much a write's.
   */
  prove(alpha: Uint8Array, priority: VrfPriority, secretKey?: Uint8Array): Promise<VrfEvaluation>;
}

/** The prover that computes each proof at once, on the caller's thread. */
export function inlineVrfProver(secretKey: Uint8Array): VrfProver {
  return { prove: async (alpha, _priority, key) => vrfEvaluate(key ?? secretKey, alpha) };
}
