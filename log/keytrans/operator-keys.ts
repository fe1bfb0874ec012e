/**
 * The keys with which the directory operates its KEYTRANS deployments (docs/PROTOCOL.md section 22.2), derived
 * from the directory's VRF secret with HKDF-SHA256 (RFC 5869) under a salt and labels that no other use of that
 * secret shares, so that no new secret has to be kept or backed up: the tree-head signing key (Ed25519, one for
 * every deployment) and each provider's VRF key (ECVRF-EDWARDS25519-SHA512-TAI, from the provider's id too). A VRF key per provider keeps one account name's search keys
 * unrelated across providers' deployments, and apart from the directory's own labels.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519KeyPairFromSeed } from '../../wasm-free-crypto/ed25519.js';
import { vrfEvaluate, vrfPublicKey } from '../../wasm-free-crypto/vrf.js';
import type { VrfProver } from '../directory/vrf-prover.js';

const SALT = new TextEncoder().encode('kt-directory keytrans v1');
const derive = (secret: Uint8Array, info: string) => hkdf(sha256, secret, SALT, new TextEncoder().encode(info), 32);

/** The operator's keys for one provider's deployment. */
export interface OperatorKeys {
  headSecretKey: Uint8Array;
  headPublicKey: Uint8Array;
  vrfPublicKey: Uint8Array;
  /** ECVRF output truncated to 32 bytes (KT_128_SHA256_Ed25519) and proof of an encoded VrfInput, at once. */
  vrf(input: Uint8Array): { output: Uint8Array; proof: Uint8Array };
  /** The same through the directory's VRF prover (the Node server's pool of threads), as a write. */
  vrfWrite(input: Uint8Array): Promise<{ output: Uint8Array; proof: Uint8Array }>;
}

/** The keys of `providerId`'s deployment, from the directory's VRF secret; `prover` proves the writes' VRFs. */
export function operatorKeys(vrfSecretKey: Uint8Array, providerId: string, prover?: VrfProver): OperatorKeys {
  const headSecretKey = derive(vrfSecretKey, 'tree head signing key');
  const vrfSecret = derive(vrfSecretKey, `vrf key of provider ${providerId}`);
  const evaluate = (input: Uint8Array) => {
    const { output, proof } = vrfEvaluate(vrfSecret, input);
    return { output: output.slice(0, 32), proof };
  };
  return {
    headSecretKey,
    headPublicKey: ed25519KeyPairFromSeed(headSecretKey).publicKey,
    vrfPublicKey: vrfPublicKey(vrfSecret),
    vrf: evaluate,
    vrfWrite: async (input) => {
      if (!prover) return evaluate(input);
      const { output, proof } = await prover.prove(input, 'write', vrfSecret);
      return { output: output.slice(0, 32), proof };
    },
  };
}
