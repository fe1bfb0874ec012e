/**
 * The directory's hashes, each with its own domain: `D(name)` is the UTF-8 of `kt/v1/<name>` followed by
 * one 0x00 byte, and no domain string is a prefix of another. The VRF input of an account, its label
 * (derived from the VRF output, never from the identifier itself), the commitment to a signed statement
 * under a secret random opening, and the per-label history hash chain that links every version of an
 * account to the one before, so that an owner who saw version v can check every later version.
 */
import { concatBytes, u32be, u64be, utf8 } from '../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';
import { MAX_ACCOUNT_BYTES, MAX_PROVIDER_ID_BYTES, providerIdValid } from './account.js';

/** The domain separator `kt/v1/<name>\0`. */
export function domain(name: string): Uint8Array {
  return utf8(`kt/v1/${name}\u0000`);
}

const VRF_DOMAIN = domain('vrf');
const LABEL_DOMAIN = domain('label');
const COMMITMENT_DOMAIN = domain('commitment');
const HISTORY_DOMAIN = domain('history');

export const OPENING_LENGTH = 32;
/** historyHash_0: 32 zero bytes. */
export const HISTORY_ZERO = new Uint8Array(32);

/**
 * VRF input alpha for (provider, account): D("vrf") || u8 len || provider || u16 len || account. The provider must
 * be a provider id (1..253 bytes) and the account 1..256 bytes of UTF-8 (docs/PROTOCOL.md sections 12.1 and 12.2),
 * so that each length fits its prefix and no two inputs share an encoding; anything longer throws a RangeError,
 * never a wrapped length. Every caller checks both first and refuses with its own error; the account is canonical.
 */
export function vrfAlpha(provider: string, account: string): Uint8Array {
  if (!providerIdValid(provider))
    throw new RangeError(`the VRF input needs a provider id (a DNS name of 1..${MAX_PROVIDER_ID_BYTES} bytes)`);
  const p = utf8(provider);
  const a = utf8(account);
  if (a.length < 1 || a.length > MAX_ACCOUNT_BYTES)
    throw new RangeError(`the VRF input needs an account of 1..${MAX_ACCOUNT_BYTES} bytes, not ${a.length}`);
  return concatBytes(VRF_DOMAIN, new Uint8Array([p.length]), p, new Uint8Array([a.length >> 8, a.length & 0xff]), a);
}

/** label = SHA-256(D("label") || beta), beta the 64-byte VRF output. */
export function labelFromVrfOutput(beta: Uint8Array): Uint8Array {
  return sha256(LABEL_DOMAIN, beta);
}

/**
 * The bytes a commitment covers: the statement and the provider's signature over it,
 * `u32 len || statement || u16 len || signature` (a length that does not fit its prefix throws).
 */
export function signedStatementBytes(statement: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length > 0xffff) throw new RangeError('a signature of more than 65,535 bytes does not fit its prefix');
  return concatBytes(
    u32be(statement.length),
    statement,
    new Uint8Array([signature.length >> 8, signature.length & 0xff]),
    signature,
  );
}

/** commitment_v = SHA-256(D("commitment") || opening (32 random bytes) || signed statement bytes). */
export function commitment(opening: Uint8Array, signedStatement: Uint8Array): Uint8Array {
  if (opening.length !== OPENING_LENGTH) throw new RangeError('opening must be 32 bytes');
  return sha256(COMMITMENT_DOMAIN, opening, signedStatement);
}

/** historyHash_v = SHA-256(D("history") || historyHash_{v-1} || u64 v || commitment_v). */
export function historyHash(previous: Uint8Array, version: number, commitmentV: Uint8Array): Uint8Array {
  return sha256(HISTORY_DOMAIN, previous, u64be(version), commitmentV);
}
