/**
 * The search keys of versions a deployment's trees do not hold (a responder asks for the VRF output and proof of
 * VrfInput{label, version} to prove a version absent, draft-ietf-keytrans-protocol-05 "Searching the Tree"),
 * each a VRF proof of about 5 ms: computed once and kept, by provider and encoded VrfInput, up to a bound, the
 * least recently used dropped first. The sequencer and reader processes (deployments.ts) and the Worker's
 * isolates (api/worker/d1-keytrans-reader.ts) keep one each.
 */
import { encodeVrfInput } from '../../verifier/keytrans/signed-structures.js';
import { toHex } from '../../wasm-free-crypto/bytes.js';
import type { SearchKey } from './deployment-view.js';

/** Proves a VrfInput with a deployment's VRF key (operator-keys.ts). */
export type VrfEvaluate = (input: Uint8Array) => { output: Uint8Array; proof: Uint8Array };

export class SearchKeys {
  private readonly kept = new Map<string, SearchKey>();

  constructor(private readonly bound = 10_000) {}

  /** The search key of `label` version `version` in `provider`'s deployment, proven with `vrf` unless kept. */
  of(provider: string, label: Uint8Array, version: number, vrf: () => VrfEvaluate): SearchKey {
    const input = encodeVrfInput({ label, version });
    const name = `${provider}\u0000${toHex(input)}`;
    let key = this.kept.get(name);
    this.kept.delete(name);
    if (!key) {
      const { output: vrfOutput, proof: vrfProof } = vrf()(input);
      key = { vrfOutput, vrfProof };
    }
    this.kept.set(name, key);
    if (this.kept.size > this.bound) this.kept.delete(this.kept.keys().next().value!);
    return key;
  }
}
