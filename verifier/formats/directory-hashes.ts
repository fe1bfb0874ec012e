/**
 * The directory's hashes, each with its own domain: `D(name)` is the UTF-8 of `kt/v1/<name>` followed by
 * one 0x00 byte, and no domain string is a prefix of another. The VRF input of an account, its label
 * (derived from the VRF output, never from the identifier itself), the commitment to a signed statement
 * under a secret random opening, and the per-label history hash chain that links every version of an
 * account to the one before, so that an owner who saw version v can check every later version.
 */
import { concatBytes, u32be, u64be, utf8 } from '../../wasm-free-crypto/bytes.js';
import { sha256 } from '../../wasm-free-crypto/sha256.js';

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

/** VRF input alpha for (provider, account): D("vrf") || u8 len || provider || u16 len || account. */
export function vrfAlpha(provider: string, account: string): Uint8Array {
  const p = utf8(provider);
  const a = utf8(account);
  return concatBytes(VRF_DOMAIN, new Uint8Array([p.length]), p, new Uint8Array([a.length >> 8, a.length & 0xff]), a);
}

/** label = SHA-256(D("label") || beta), beta the 64-byte VRF output. */
export function labelFromVrfOutput(beta: Uint8Array): Uint8Array {
  return sha256(LABEL_DOMAIN, beta);
}

/**
 * The bytes a commitment covers: the statement and the provider's signature over it,
 * `u32 len || statement || u16 len || signature`.
 */
export function signedStatementBytes(statement: Uint8Array, signature: Uint8Array): Uint8Array {
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
