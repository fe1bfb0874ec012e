/**
 * The provider's UpdateTBS signature of an update a deployment takes (docs/PROTOCOL.md section 22.3: statement
 * version v is KEYTRANS version v - 1), checked two ways that refuse exactly the same inputs: `updateSignatureFits`,
 * the client's synchronous check (verifier/keytrans/signatures.ts, @noble), and `updateSignatureVerifies`, the
 * server's check at acceptance, on the platform's WebCrypto after wasm-free-crypto's strict pre-checks (a key or
 * R that is non-canonical or of small order, an S not below L, a signature of the wrong length: all refused
 * before the platform sees them), which Node runs off the event loop, many times faster than @noble.
 */
import { SignatureError, verifySignature } from '../../wasm-free-crypto/signatures.js';
import type { KeyTransUpdate } from '../directory/keytrans-hook.js';
import { KeyTransError } from '../../verifier/keytrans/errors.js';
import { verifyUpdateSignature } from '../../verifier/keytrans/signatures.js';
import { encodeUpdateTbs } from '../../verifier/keytrans/signed-structures.js';
import type { Configuration } from '../../verifier/keytrans/types.js';

/** The statement and signature of an update, at its statement version. */
type SignedUpdate = Pick<KeyTransUpdate, 'version' | 'statement' | 'signature'>;

/** Whether `u`'s signature is the leaf key's of UpdateTBS at KEYTRANS version `u.version - 1` (synchronous). */
export function updateSignatureFits(config: Configuration, label: Uint8Array, u: SignedUpdate): boolean {
  if (u.signature === null) return false;
  try {
    verifyUpdateSignature(config, label, u.version - 1, { value: u.statement, suffix: { signature: u.signature } });
    return true;
  } catch (e) {
    if (e instanceof KeyTransError) return false;
    throw e;
  }
}

/**
 * The same answer as `updateSignatureFits`, from WebCrypto for the Ed25519 suite (KT_128_SHA256_Ed25519, the only
 * one the directory's deployments use; any other configuration is checked synchronously).
 */
export async function updateSignatureVerifies(
  config: Configuration,
  label: Uint8Array,
  u: SignedUpdate,
): Promise<boolean> {
  const { signature } = u;
  if (signature === null) return false;
  const ed25519 = config.ciphersuite === 0x0002 && config.mode === 'thirdPartyManagement';
  if (!ed25519 || config.leafPublicKey === undefined) return updateSignatureFits(config, label, u);
  const tbs = encodeUpdateTbs(config, label, u.version - 1, u.statement);
  try {
    return await verifySignature('ed25519', config.leafPublicKey, tbs, signature);
  } catch (e) {
    if (e instanceof SignatureError) return false; // a malformed key or signature: kt_bad_signature to a client
    throw e;
  }
}
