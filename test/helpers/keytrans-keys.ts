/**
 * Keys and configurations of KEYTRANS deployments for tests (KT_128_SHA256_Ed25519): the operator's head key and
 * VRF key from fixed seeds, a configuration in contactMonitoring or thirdPartyManagement mode (the latter with a
 * provider's leaf key), and the provider's UpdateTBS signature of an update.
 */
import type { DeploymentKeys, LabelUpdate } from '../../log/keytrans/deployment-writer.js';
import { encodeUpdateTbs } from '../../verifier/keytrans/signed-structures.js';
import { KT_128_SHA256_Ed25519 } from '../../verifier/keytrans/suites.js';
import type { Configuration, DeploymentMode } from '../../verifier/keytrans/types.js';
import { ed25519KeyPairFromSeed, ed25519Sign } from '../../wasm-free-crypto/ed25519.js';
import { vrfEvaluate, vrfPublicKey } from '../../wasm-free-crypto/vrf.js';

const seed = (b: number) => new Uint8Array(32).fill(b);

export const HEAD_SEED = seed(1);
export const VRF_SECRET = seed(2);
export const LEAF_SEED = seed(3);

/** A configuration of `mode` under the test keys. */
export function testConfig(mode: Exclude<DeploymentMode, 'thirdPartyAuditing'>): Configuration {
  return {
    ciphersuite: 0x0002,
    mode,
    signaturePublicKey: ed25519KeyPairFromSeed(HEAD_SEED).publicKey,
    vrfPublicKey: vrfPublicKey(VRF_SECRET),
    ...(mode === 'thirdPartyManagement' ? { leafPublicKey: ed25519KeyPairFromSeed(LEAF_SEED).publicKey } : {}),
    maxAhead: 5_000,
    maxBehind: 86_400_000,
    reasonableMonitoringWindow: 3_600_000,
    maximumLifetime: null,
  };
}

/** The operator's keys for `config`, with the VRF computed inline. */
export function testKeys(config: Configuration): DeploymentKeys {
  return {
    suite: KT_128_SHA256_Ed25519,
    config,
    headSecretKey: HEAD_SEED,
    vrf: async (input) => {
      const { output, proof } = vrfEvaluate(VRF_SECRET, input);
      return { output: output.slice(0, 32), proof };
    },
  };
}

/** An update of `label` to `value` as version `version`, signed by the leaf key when the mode needs it. */
export function testUpdate(config: Configuration, label: Uint8Array, version: number, value: Uint8Array): LabelUpdate {
  if (config.mode !== 'thirdPartyManagement') return { label, value: { value, suffix: {} } };
  const signature = ed25519Sign(LEAF_SEED, encodeUpdateTbs(config, label, version, value));
  return { label, value: { value, suffix: { signature } } };
}
