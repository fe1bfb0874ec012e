/**
 * The label of a name (docs/PROTOCOL.md section 11): the one step every proof starts with, shared by the
 * sequencer (directory.ts) and the readers of its store (directory-reader.ts). A known name's label and
 * VRF proof are one store read; an unknown name's VRF proof is computed by the prover, after the caller's
 * charge for it (the API's rate limit), which may refuse it.
 */
import { utf8 } from '../../wasm-free-crypto/bytes.js';
import { MAX_ACCOUNT_BYTES, providerIdValid } from '../../verifier/formats/account.js';
import { labelFromVrfOutput, vrfAlpha } from '../../verifier/formats/directory-hashes.js';
import { DirectoryError } from './errors.js';
import type { DirectoryStore, NamedAccount } from './store.js';
import type { VrfPriority, VrfProver } from './vrf-prover.js';

/**
 * The label and VRF proof of (provider, account), and its account row if it has one; the account must be
 * canonical. A provider id or an account beyond its bound (docs/PROTOCOL.md sections 12.1 and 12.2) is
 * refused first, before the store or the VRF.
 */
export async function labelOfName(
  store: Pick<DirectoryStore, 'accountByName'>,
  prover: VrfProver,
  name: { provider: string; account: string },
  beforeVrf?: () => void | Promise<void>,
  priority: VrfPriority = 'read',
): Promise<{ label: Uint8Array; vrfProof: Uint8Array; stored?: NamedAccount }> {
  const { provider, account } = name;
  if (!providerIdValid(provider))
    throw new DirectoryError('bad_request', 'not a provider id (a lower-case DNS name of at most 253 bytes)');
  if (account.length === 0 || account.length > MAX_ACCOUNT_BYTES || utf8(account).length > MAX_ACCOUNT_BYTES)
    throw new DirectoryError('bad_request', `an account is 1..${MAX_ACCOUNT_BYTES} bytes of UTF-8`);
  const stored = await store.accountByName(provider, account);
  if (stored) return { label: stored.account.label, vrfProof: stored.account.vrfProof, stored };
  await beforeVrf?.();
  const { proof, output } = await prover.prove(vrfAlpha(provider, account), priority);
  return { label: labelFromVrfOutput(output), vrfProof: proof };
}
